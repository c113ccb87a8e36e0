"""Batch writes (PUT/POST of a list) with Xero's non-atomic semantics and summarizeErrors.

Each element is saved inside its own SAVEPOINT: a failing element leaves no trace, the valid
ones are kept whatever happens to the others. ``summarizeErrors=false`` answers 200 with one
element per input, in input order, each marked OK or ERROR; otherwise (Xero's live default) any
failure answers 400 ``ValidationException`` echoing only the failed elements.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from xsync.sandbox import xjson
from xsync.sandbox.context import Ctx
from xsync.sandbox.listing import Reply, envelope
from xsync.sandbox.problems import Invalid, bad_request, validation_body

Saver = Callable[[dict[str, Any]], dict[str, Any]]


def parse_body(body: bytes) -> Any:
    if not body.strip():
        raise bad_request("The request body is empty")
    try:
        return xjson.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("The request body could not be parsed as JSON") from None


def elements(payload: Any, key: str) -> list[Any]:
    """The documents of a request: ``{"Invoices": [...]}``, a bare list, or one object."""
    if isinstance(payload, dict):
        for name, value in payload.items():
            if name.lower() == key.lower():
                if not isinstance(value, list):
                    raise bad_request(f"{key} must be a list")
                return value
        return [payload]
    if isinstance(payload, list):
        return payload
    raise bad_request(f"Expected a JSON object with {key}")


def _attempt(ctx: Ctx, point: str, item: Any, key: str, save: Saver) -> dict[str, Any]:
    """Save one element inside a SAVEPOINT, undoing all its writes if it fails."""
    conn = ctx.store.conn
    conn.execute(f"SAVEPOINT {point}")
    try:
        if not isinstance(item, dict):
            raise Invalid(f"Each element of {key} must be a JSON object")
        doc = save(item)
    except BaseException:
        conn.execute(f"ROLLBACK TO {point}")
        conn.execute(f"RELEASE {point}")
        raise
    conn.execute(f"RELEASE {point}")
    return doc


def _failed(item: Any, error_flag: str, exc: Invalid) -> dict[str, Any]:
    failed = dict(item) if isinstance(item, dict) else {}
    failed.update(
        {
            error_flag: True,
            "StatusAttributeString": "ERROR",
            "ValidationErrors": [{"Message": m} for m in exc.messages],
        }
    )
    return failed


def run(ctx: Ctx, key: str, error_flag: str, items: list[Any], save: Saver) -> Reply:
    summarize = (ctx.arg("summarizeErrors") or "true").strip().lower() != "false"
    results: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    with ctx.store.transaction():
        for index, item in enumerate(items):
            try:
                results.append(_attempt(ctx, f"element_{index}", item, key, save))
            except Invalid as exc:
                failed = _failed(item, error_flag, exc)
                results.append(failed)
                failures.append(failed)
    if failures and summarize:
        return Reply(400, xjson.dumps(validation_body(failures)))
    texts = []
    for doc in results:
        if not summarize and "StatusAttributeString" not in doc:
            doc = {**doc, "StatusAttributeString": "OK"}
        texts.append(xjson.dumps(doc))
    return Reply(200, envelope(ctx, key, texts))


def single(ctx: Ctx, key: str, error_flag: str, item: Any, save: Saver) -> Reply:
    """One document (``POST /Things/{id}``): 200 with it, or 400 ValidationException."""
    with ctx.store.transaction():
        try:
            doc = _attempt(ctx, "single", item, key, save)
        except Invalid as exc:
            failed = _failed(item, error_flag, exc)
            failed.pop("StatusAttributeString")
            return Reply(400, xjson.dumps(validation_body([failed])))
    return Reply(200, envelope(ctx, key, [xjson.dumps(doc)]))


def run_writes(ctx: Ctx, method: str, key: str, error_flag: str, body: bytes,
               save: Callable[[dict[str, Any], bool], dict[str, Any]]) -> Reply:
    """``PUT`` (creates only) or ``POST`` (creates and updates) of a list of ``key`` elements;
    ``save(element, creates_only)`` saves one."""
    items = elements(parse_body(body), key)
    creates_only = method == "PUT"
    return run(ctx, key, error_flag, items, lambda raw: save(raw, creates_only))


def existing(ctx: Ctx, kind: str, target: Any, creates_only: bool, what: str, noun: str,
             id_field: str) -> dict[str, Any] | None:
    """The stored document an element names (``target``: its id), or ``None`` for a new one.
    Raises ``Invalid`` for an id given to a PUT, or one that names nothing (``what``: the kind
    in words, ``noun``: as Xero's messages name it)."""
    if not target:
        return None
    if creates_only:
        raise Invalid(f"PUT creates {what}s; use POST to update one.")
    found = ctx.store.get(kind, ctx.tenant, str(target).lower())
    if found is None:
        raise Invalid(f"{noun} with {id_field} {target} could not be found.")
    return found
