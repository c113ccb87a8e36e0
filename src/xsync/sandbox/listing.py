"""Response envelopes and list GETs: filters, If-Modified-Since, where/order, paging.

A list is ordered by ``UpdatedDateUTC`` then write order unless ``order`` says otherwise, so that
If-Modified-Since plus paging walks every record exactly once. Without ``page`` every match is
returned and no ``pagination`` block is sent; Invoices and CreditNotes then come without
``LineItems`` (Xero shows lines only on paged lists and single GETs). ``pageSize`` is clamped to
1..1000 (default 100). The fast path splices stored JSON text without parsing it.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from xsync.sandbox import query, xjson
from xsync.sandbox.context import Ctx
from xsync.sandbox.problems import query_error
from xsync.sandbox.store import FLAG_UNITDP4

PROVIDER_NAME = "xsync sandbox"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
_SUMMARY_DROP = (
    "LineItems",
    "Payments",
    "CreditNotes",
    "Prepayments",
    "Overpayments",
    "Allocations",
)


@dataclass
class Reply:
    """A handler's answer: HTTP status and JSON text."""

    status: int
    text: str


def envelope(ctx: Ctx, key: str, texts: list[str], pagination: dict[str, int] | None = None) -> str:
    head: dict[str, Any] = {
        "Id": str(uuid.uuid4()),
        "Status": "OK",
        "ProviderName": PROVIDER_NAME,
        "DateTimeUTC": f"/Date({ctx.now_ms()})/",
    }
    if pagination is not None:
        head["pagination"] = pagination
    return xjson.dumps(head)[:-1] + f',"{key}":[' + ",".join(texts) + "]}"


def ok(ctx: Ctx, key: str, docs: list[dict[str, Any]]) -> Reply:
    return Reply(200, envelope(ctx, key, [xjson.dumps(d) for d in docs]))


@dataclass
class ListSpec:
    kind: str
    key: str
    pageable: bool = True
    ims: bool = True
    lines: bool = False
    conditions: list[tuple[str, tuple[Any, ...]]] | None = None
    predicate: Callable[[dict[str, Any]], bool] | None = None
    columns: dict[str, str] | None = None


def ims_floor_ms(ctx: Ctx) -> int | None:
    """If-Modified-Since as epoch ms truncated to the second; None when absent or unreadable."""
    raw = ctx.headers.get("if-modified-since")
    instant = xjson.parse_instant(raw) if raw else None
    return xjson.ms(instant.replace(microsecond=0)) if instant else None


def _int_arg(ctx: Ctx, name: str) -> int | None:
    raw = ctx.arg(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise query_error(f"{name} must be an integer") from None


def list_documents(ctx: Ctx, spec: ListSpec) -> Reply:
    conds = ["tenant_id = ?"]
    params: list[Any] = [ctx.tenant]
    for cond, args in spec.conditions or ():
        conds.append(cond)
        params.extend(args)
    if spec.ims:
        floor = ims_floor_ms(ctx)
        if floor is not None:
            conds.append("updated_ms >= ?")
            params.append(floor)
    try:
        where = query.compile_where(ctx.arg("where") or "", spec.columns)
        order = query.order_keys(ctx.arg("order") or "")
    except query.QuerySyntaxError as exc:
        raise query_error(str(exc)) from None
    pred = where.pred
    if where.sql is not None:
        conds.append(f"({where.sql[0]})")
        params.extend(where.sql[1])
    page = _int_arg(ctx, "page") if spec.pageable else None
    size = _int_arg(ctx, "pageSize") if spec.pageable else None
    paged = page is not None or size is not None
    page = max(page or 1, 1)
    size = min(max(size or DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE)
    summary = ctx.flag("summaryOnly")
    strip_lines = spec.lines and (summary or not paged)
    unitdp4 = ctx.arg("unitdp") == "4"
    filtered = where.sql is None or spec.predicate is not None
    sql = " AND ".join(conds)
    conn = ctx.store.conn
    # rows are kept in the order of their change time: an order by it, ascending, is theirs
    stored_order = not order or (len(order) == 1 and not order[0][1]
                                 and [p.lower() for p in order[0][0]] == ["updateddateutc"])
    with ctx.store.lock:
        if not filtered and stored_order:
            count = conn.execute(
                f"SELECT COUNT(*) FROM {spec.kind} WHERE {sql}", params
            ).fetchone()[0]
            limit = f" LIMIT {size} OFFSET {(page - 1) * size}" if paged else ""
            rows = conn.execute(
                f"SELECT json, flags FROM {spec.kind} WHERE {sql} "
                f"ORDER BY updated_ms, rowid{limit}",
                params,
            ).fetchall()
            texts = [_render_text(t, f, strip_lines, summary, unitdp4) for t, f in rows]
        else:
            rows = conn.execute(
                f"SELECT json FROM {spec.kind} WHERE {sql} ORDER BY updated_ms, rowid", params
            ).fetchall()
            docs = [xjson.loads(r[0]) for r in rows]
            docs = [d for d in docs if pred(d) and (spec.predicate is None or spec.predicate(d))]
            query.sort_documents(docs, order)
            count = len(docs)
            if paged:
                docs = docs[(page - 1) * size : page * size]
            texts = [xjson.dumps(shape(d, strip_lines, summary, unitdp4)) for d in docs]
    pagination = None
    if paged:
        pagination = {
            "page": page,
            "pageSize": size,
            "pageCount": math.ceil(count / size) if count else 0,
            "itemCount": count,
        }
    return Reply(200, envelope(ctx, spec.key, texts, pagination))


def _render_text(text: str, flags: int, strip_lines: bool, summary: bool, unitdp4: bool) -> str:
    if not strip_lines and not summary and (unitdp4 or not flags & FLAG_UNITDP4):
        return text
    return xjson.dumps(shape(xjson.loads(text), strip_lines, summary, unitdp4))


def shape(doc: dict[str, Any], strip_lines: bool, summary: bool, unitdp4: bool) -> dict[str, Any]:
    """Trim a stored document for the request: no lines, summary, unit amounts at 2 dp."""
    if summary:
        for key in _SUMMARY_DROP:
            doc.pop(key, None)
    elif strip_lines:
        doc.pop("LineItems", None)
    if not unitdp4:
        round_units(doc)
    return doc


def round_units(doc: dict[str, Any]) -> None:
    for line in doc.get("LineItems") or ():
        unit = line.get("UnitAmount")
        if unit is not None:
            line["UnitAmount"] = xjson.money(unit)
