"""Errors the emulated API answers with, in Xero's shapes.

- ``ApiError``: a whole-request failure (status + JSON body), raised anywhere below the router.
- ``Invalid``: one document's validation messages; batches turn it into an element with
  ``ValidationErrors`` and single-document calls into Xero's ``ValidationException`` envelope.
"""

from __future__ import annotations

from typing import Any

NOT_FOUND_DETAIL = "The resource you're looking for cannot be found"


class ApiError(Exception):
    """A request that fails as a whole."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body


class Invalid(Exception):
    """A document failed validation; ``messages`` are Xero's ``ValidationErrors`` texts."""

    def __init__(self, *messages: str) -> None:
        super().__init__(*messages)
        self.messages = list(messages)


def not_found() -> ApiError:
    return ApiError(404, {"Title": "NotFound", "Status": 404, "Detail": NOT_FOUND_DETAIL})


def bad_request(
    message: str, *, number: int = 14, kind: str = "PostDataInvalidException"
) -> ApiError:
    return ApiError(400, {"ErrorNumber": number, "Type": kind, "Message": message})


def query_error(message: str) -> ApiError:
    return bad_request(message, number=16, kind="QueryParseException")


def validation_body(elements: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": elements,
    }


def validation_error(element: dict[str, Any], messages: list[str]) -> ApiError:
    """Xero's 400 for a single document: the element echoed with its ValidationErrors."""
    return ApiError(400, validation_body([with_errors(element, messages)]))


def with_errors(element: dict[str, Any], messages: list[str]) -> dict[str, Any]:
    out = dict(element)
    out["ValidationErrors"] = [{"Message": m} for m in messages]
    return out
