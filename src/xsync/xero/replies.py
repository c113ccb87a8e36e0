"""Reading Xero's replies: error envelopes become typed exceptions, batch replies become one
:class:`ElementResult` per element sent.

Invariants: exceptions carry Xero's parsed body and messages, never a token or a header value;
a batch reply is matched to its input by position, and the match is checked on the fields Xero
echoes (InvoiceNumber, ContactNumber, ...) whenever both sides carry them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from xsync.errors import (
    DailyLimitReached,
    ElementError,
    RateLimited,
    XeroError,
    XeroForbidden,
    XeroNotFound,
    XeroResponseMismatch,
    XeroTransientError,
    XeroUnauthorized,
    XeroUrlTooLong,
    XeroValidationError,
)

ZERO_ID = "00000000-0000-0000-0000-000000000000"
MINUTE_PROBLEMS = frozenset({"minute", "appminute", "concurrent"})
# Fields Xero echoes back that identify an element independently of its position.
ECHO_FIELDS = ("InvoiceNumber", "ContactNumber", "CreditNoteNumber", "Reference")


@dataclass(frozen=True)
class ElementResult:
    """What became of one element of a batch write.

    ``index`` is the element's position in the caller's input, ``key`` the caller's record key,
    ``xero_id`` the id Xero gave it (InvoiceID, ContactID, ...; None when it was refused),
    ``status`` Xero's StatusAttributeString (OK, WARNING, ERROR), ``messages`` the validation
    error messages, ``warnings`` the warning messages and ``element`` the element Xero returned.
    """

    index: int
    key: str
    ok: bool
    xero_id: str | None
    status: str | None
    messages: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    element: dict[str, Any] = field(default_factory=dict)

    def error(self) -> ElementError:
        return ElementError(self.index, self.messages, record_id=self.key, xero_id=self.xero_id)


def id_field(collection: str) -> str:
    """`Invoices` → `InvoiceID`, `CreditNotes` → `CreditNoteID`, `Allocations` → `AllocationID`."""
    name = collection.rstrip("/").rsplit("/", 1)[-1]
    return (name[:-1] if name.endswith("s") else name) + "ID"


def _messages(items: Any) -> list[str]:
    out: list[str] = []
    for item in items or ():
        if isinstance(item, Mapping):
            text = item.get("Message") or item.get("Description")
            if text:
                out.append(str(text))
        elif item:
            out.append(str(item))
    return out


def element_result(index: int, key: str, element: Mapping[str, Any], id_name: str) -> ElementResult:
    messages = _messages(element.get("ValidationErrors"))
    status = element.get("StatusAttributeString")
    failed = bool(
        messages
        or status == "ERROR"
        or element.get("HasErrors")
        or element.get("HasValidationErrors")
    )
    xero_id = element.get(id_name)
    if not xero_id or xero_id == ZERO_ID:
        xero_id = None
    return ElementResult(
        index=index,
        key=key,
        ok=not failed,
        xero_id=xero_id,
        status=status,
        messages=messages,
        warnings=_messages(element.get("Warnings")),
        element=dict(element),
    )


def match_batch(
    sent: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    returned: Sequence[Mapping[str, Any]],
    *,
    offset: int,
    id_name: str,
) -> list[ElementResult]:
    """Pair each returned element with the one sent at the same position, checking echoes."""
    if len(returned) != len(sent):
        raise XeroResponseMismatch(
            "Xero returned a different number of elements than were sent",
            sent=len(sent),
            returned=len(returned),
        )
    results = []
    for i, (mine, theirs) in enumerate(zip(sent, returned, strict=True)):
        for name in ECHO_FIELDS:
            if mine.get(name) and theirs.get(name) and mine[name] != theirs[name]:
                raise XeroResponseMismatch(
                    "a batch reply is out of order", index=offset + i, field=name
                )
        results.append(element_result(offset + i, keys[i], theirs, id_name))
    return results


def summarised_errors(
    body: Mapping[str, Any],
    sent: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    *,
    offset: int,
    id_name: str,
) -> list[ElementError]:
    """Map a summarised 400's `Elements[]` (failures only) back to the elements sent."""
    errors = []
    claimed: set[int] = set()
    for element in body.get("Elements") or ():
        index = _find(element, sent, claimed)
        xero_id = element.get(id_name)
        errors.append(
            ElementError(
                offset + index if index is not None else -1,
                _messages(element.get("ValidationErrors")) or [str(body.get("Message", ""))],
                record_id=keys[index] if index is not None else None,
                xero_id=xero_id if xero_id and xero_id != ZERO_ID else None,
            )
        )
    return errors


def _find(
    element: Mapping[str, Any], sent: Sequence[Mapping[str, Any]], claimed: set[int]
) -> int | None:
    for name in (*ECHO_FIELDS, "Name"):
        value = element.get(name)
        if not value:
            continue
        hits = [i for i, s in enumerate(sent) if s.get(name) == value and i not in claimed]
        if len(hits) == 1:
            claimed.add(hits[0])
            return hits[0]
    if len(sent) == 1 and not claimed:
        claimed.add(0)
        return 0
    return None


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def local_time(moment: datetime) -> str:
    """A moment as the user reads a clock: date and time in the machine's zone, with its offset
    (`2026-11-25 11:00 AEDT (UTC+11:00)`; `2026-11-25 00:00 UTC` where the zone is UTC)."""
    local = moment.astimezone()
    offset = local.strftime("%z")
    offset = f"{offset[:3]}:{offset[3:]}" if offset else ""
    name = local.tzname() or ""
    if offset in ("+00:00", "-00:00", "") and name in ("UTC", "GMT", ""):
        return f"{local:%Y-%m-%d %H:%M} UTC"
    return f"{local:%Y-%m-%d %H:%M} {name} (UTC{offset})".replace("  ", " ")


def rate_limit_error(
    status: int, headers: Mapping[str, str], body: Any, request: str
) -> RateLimited:
    """A 429. Without `X-Rate-Limit-Problem`, or with a minute-type one, it can be waited out; a
    problem Xero names and xsync does not know is taken for the day limit, the safe reading."""
    problem = (headers.get("x-rate-limit-problem") or "").strip().lower()
    retry_after = _retry_after(headers)
    if not problem or problem in MINUTE_PROBLEMS:
        # Xero always names the day limit; a bare 429 comes from the minute or concurrency ones.
        what = f"Xero's {problem} rate limit was hit" if problem else "Xero answered 429"
        return RateLimited(
            what, retry_after=retry_after, problem=problem or None, status=status, body=body,
            request=request,
        )
    resume_at = (
        datetime.now(UTC) + timedelta(seconds=retry_after) if retry_after is not None else None
    )
    when = f"; resume after {local_time(resume_at)}" if resume_at else ""
    return DailyLimitReached(
        f"Xero's daily call limit for this organisation is used up{when}",
        retry_after=retry_after, problem=problem, resume_at=resume_at,
        status=status, body=body, request=request,
    )


def error_for(
    status: int, headers: Mapping[str, str], body: Any, request: str, *, id_list: bool = False
) -> XeroError:
    """The typed exception for a non-2xx reply. ``request`` is `METHOD path` (no query)."""
    info = body if isinstance(body, Mapping) else {}
    detail = str(info.get("Message") or info.get("Detail") or info.get("Title") or "")
    kw: dict[str, Any] = {"status": status, "body": body, "request": request}
    if status == 429:
        return rate_limit_error(status, headers, body, request)
    if status == 400:
        elements = [
            ElementError(i, _messages(e.get("ValidationErrors")))
            for i, e in enumerate(info.get("Elements") or ())
            if isinstance(e, Mapping)
        ]
        return XeroValidationError(detail or "Xero rejected the request", elements=elements, **kw)
    if status == 401:
        return XeroUnauthorized(detail or "Xero refused the access token", **kw)
    if status == 403:
        return XeroForbidden(detail or "Xero refused access to this organisation", **kw)
    if status == 404:
        if id_list:
            return XeroUrlTooLong("Xero answered 404 to a long id-list request", **kw)
        return XeroNotFound(detail or "not found in Xero", **kw)
    if status >= 500 or status in (408, 425):
        return XeroTransientError(detail or f"Xero answered {status}", **kw)
    return XeroError(detail or f"Xero answered {status}", **kw)
