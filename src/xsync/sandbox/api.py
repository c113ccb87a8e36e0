"""The Accounting API router: ``AccountingApi.handle`` answers one request for one organisation.

Paths are relative to ``/api.xro/2.0`` and matched case-insensitively. Unknown paths and ids
answer 404 with a JSON body; a known path with another method answers 405. Validation failures
answer Xero's 400 ``ValidationException``. PUT/POST honour ``Idempotency-Key``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from xsync.sandbox import (
    accounts,
    allocations,
    bank_transactions,
    batch,
    contacts,
    credits,
    documents,
    idempotency,
    manual_journals,
    payments,
    tracking,
    xjson,
)
from xsync.sandbox.clock import Clock
from xsync.sandbox.context import Ctx
from xsync.sandbox.documents import CREDIT_NOTE, INVOICE, Flavour
from xsync.sandbox.listing import ListSpec, Reply, envelope, list_documents, ok, shape
from xsync.sandbox.problems import ApiError, Invalid, not_found, validation_error
from xsync.sandbox.store import Store

JSON_TYPE = "application/json; charset=utf-8"


@dataclass
class ApiResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def _csv(ctx: Ctx, name: str) -> list[str]:
    raw = ctx.arg(name)
    return [part.strip() for part in raw.split(",") if part.strip()] if raw else []


def _in(column: str, values: list[str]) -> tuple[str, tuple[Any, ...]]:
    return f"{column} IN ({','.join('?' * len(values))})", tuple(values)


class AccountingApi:
    """Routes Accounting API requests to the document modules, inside the store's lock."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def handle(
        self,
        tenant_id: str,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: Mapping[str, str],
        body: bytes,
    ) -> ApiResponse:
        method = method.upper()
        headers = {k.lower(): v for k, v in headers.items()}
        ctx = Ctx(self.store, self.clock, tenant_id, query, headers)
        with self.store.lock:
            try:
                if not self.store.has_organisation(tenant_id):
                    raise ApiError(
                        403,
                        {
                            "Title": "Forbidden",
                            "Status": 403,
                            "Detail": "AuthorizationUnsuccessful",
                        },
                    )
                key = headers.get("idempotency-key")
                if key is not None and method in ("PUT", "POST"):
                    return self._idempotent(ctx, key, method, path, body)
                return self._respond(self._dispatch(ctx, method, path, body))
            except ApiError as exc:
                return self._respond(Reply(exc.status, xjson.dumps(exc.body)))

    def _idempotent(self, ctx: Ctx, key: str, method: str, path: str, body: bytes) -> ApiResponse:
        idempotency.check_key(key)
        print_ = idempotency.fingerprint(method, path, dict(ctx.query), body)
        now = ctx.now_ms()
        cached = idempotency.lookup(self.store.conn, ctx.tenant, key, print_, now)
        if cached is not None:
            return ApiResponse(cached.status, cached.body, dict(cached.headers))
        try:
            response = self._respond(self._dispatch(ctx, method, path, body))
        except ApiError as exc:
            response = self._respond(Reply(exc.status, xjson.dumps(exc.body)))
        stored = idempotency.Cached(response.status, response.body, response.headers)
        idempotency.remember(self.store.conn, ctx.tenant, key, print_, now, stored)
        return response

    @staticmethod
    def _respond(reply: Reply) -> ApiResponse:
        headers = {"Content-Type": JSON_TYPE, "Xero-Correlation-Id": str(uuid.uuid4())}
        return ApiResponse(reply.status, reply.text.encode("utf-8"), headers)

    def _dispatch(self, ctx: Ctx, method: str, path: str, body: bytes) -> Reply:
        parts = [p for p in path.strip("/").split("/") if p]
        if not parts:
            raise not_found()
        resource = parts[0].lower()
        handler = _ROUTES.get(resource)
        if handler is None:
            raise not_found()
        return handler(ctx, method, parts[1:], body)


def _method_not_allowed() -> ApiError:
    return ApiError(
        405,
        {
            "Title": "Method Not Allowed",
            "Status": 405,
            "Detail": "The method is not allowed for this resource",
        },
    )


def _single_invalid(fn: Callable[[], dict[str, Any]], echo: dict[str, Any]) -> dict[str, Any]:
    try:
        return fn()
    except Invalid as exc:
        raise validation_error(echo, exc.messages) from None


# --- settings -------------------------------------------------------------------------------


def _organisation(ctx: Ctx, method: str, rest: list[str], body: bytes) -> Reply:
    if rest:
        raise not_found()
    if method != "GET":
        raise _method_not_allowed()
    return ok(ctx, "Organisations", [ctx.organisation])


def _accounts(ctx: Ctx, method: str, rest: list[str], body: bytes) -> Reply:
    if len(rest) > 1:
        raise not_found()
    if rest:
        doc = ctx.store.get("accounts", ctx.tenant, rest[0].lower())
        if doc is None:
            raise not_found()
        if method == "POST":
            item = accounts.one_element(batch.elements(batch.parse_body(body), "Accounts"))
            account_id = doc["AccountID"]
            return batch.single(ctx, "Accounts", "HasValidationErrors", item,
                                lambda raw: accounts.update(ctx, account_id, raw))
        if method != "GET":
            raise _method_not_allowed()
        return ok(ctx, "Accounts", [doc])
    if method == "PUT":
        item = accounts.one_element(batch.elements(batch.parse_body(body), "Accounts"))
        return batch.single(ctx, "Accounts", "HasValidationErrors", item,
                            lambda raw: accounts.create(ctx, raw))
    if method != "GET":
        raise _method_not_allowed()
    return list_documents(ctx, ListSpec("accounts", "Accounts", pageable=False))


def _tax_rates(ctx: Ctx, method: str, rest: list[str], body: bytes) -> Reply:
    if method != "GET":
        raise _method_not_allowed()
    if rest:
        doc = ctx.store.get("taxrates", ctx.tenant, rest[0].upper()) if len(rest) == 1 else None
        if doc is None:
            raise not_found()
        return ok(ctx, "TaxRates", [doc])
    return list_documents(ctx, ListSpec("taxrates", "TaxRates", pageable=False, ims=False))


# --- contacts -------------------------------------------------------------------------------


def _contacts(ctx: Ctx, method: str, rest: list[str], body: bytes) -> Reply:
    if len(rest) == 2 and rest[1].lower() == "merge":
        return _merge_contacts(ctx, method, rest[0], body)
    if len(rest) > 1:
        raise not_found()
    if rest:
        existing = contacts.get(ctx, rest[0])
        if existing is None:
            raise not_found()
        if method == "GET":
            return ok(ctx, "Contacts", [existing])
        if method != "POST":
            raise _method_not_allowed()
        items = batch.elements(batch.parse_body(body), "Contacts")
        item = items[0] if len(items) == 1 else {}
        cid = existing["ContactID"]
        return batch.single(
            ctx,
            "Contacts",
            "HasValidationErrors",
            item,
            lambda raw: contacts.save(ctx, raw, upsert=False, contact_id=cid),
        )
    if method == "GET":
        return list_documents(ctx, _contact_list_spec(ctx))
    if method in ("PUT", "POST"):
        items = batch.elements(batch.parse_body(body), "Contacts")
        upsert = method == "POST"
        return batch.run(
            ctx,
            "Contacts",
            "HasValidationErrors",
            items,
            lambda raw: contacts.save(ctx, raw, upsert=upsert),
        )
    raise _method_not_allowed()


def _merge_contacts(ctx: Ctx, method: str, ref: str, body: bytes) -> Reply:
    """``POST /Contacts/{id}/Merge`` with ``{"MergedToContactID": ...}``: sandbox only, for what
    Xero's screens do."""
    if method != "POST":
        raise _method_not_allowed()
    source = contacts.get(ctx, ref)
    if source is None:
        raise not_found()
    raw = batch.parse_body(body)
    echo = raw if isinstance(raw, dict) else {}
    target = str(echo.get("MergedToContactID") or "")
    with ctx.store.transaction():
        merged = _single_invalid(lambda: contacts.merge(ctx, source["ContactID"], target), echo)
    return ok(ctx, "Contacts", [merged])


def _contact_list_spec(ctx: Ctx) -> ListSpec:
    conds = []
    ids = [i.lower() for i in _csv(ctx, "IDs")]
    if ids:
        conds.append(_in("id", ids))
    if not ctx.flag("includeArchived") and not ids:
        conds.append(("status != 'ARCHIVED'", ()))
    term = (ctx.arg("searchTerm") or "").strip().lower()
    pred = None
    if term:
        fields = ("Name", "FirstName", "LastName", "ContactNumber", "EmailAddress")
        pred = lambda d: any(term in str(d.get(f) or "").lower() for f in fields)  # noqa: E731
    columns = {"contactstatus": "status", "contactid": "id", "contactnumber": "number"}
    return ListSpec("contacts", "Contacts", conditions=conds, predicate=pred, columns=columns)


# --- invoices and credit notes --------------------------------------------------------------


def _documents(fl: Flavour) -> Callable[[Ctx, str, list[str], bytes], Reply]:
    def handler(ctx: Ctx, method: str, rest: list[str], body: bytes) -> Reply:
        if fl is CREDIT_NOTE and len(rest) >= 2 and rest[1].lower() == "allocations":
            return _allocations(ctx, method, rest, body)
        if len(rest) > 1:
            raise not_found()
        if rest:
            existing = _get_document(ctx, fl, rest[0])
            if method == "GET":
                return _single_document(ctx, fl, existing)
            if method != "POST":
                raise _method_not_allowed()
            items = batch.elements(batch.parse_body(body), fl.key)
            item = items[0] if len(items) == 1 else {}
            doc_id = existing[fl.id_field]
            return batch.single(
                ctx,
                fl.key,
                "HasErrors",
                item,
                lambda raw: documents.save(ctx, fl, raw, upsert=False, doc_id=doc_id),
            )
        if method == "GET":
            return list_documents(ctx, _document_list_spec(ctx, fl))
        if method in ("PUT", "POST"):
            items = batch.elements(batch.parse_body(body), fl.key)
            upsert = method == "POST"
            return batch.run(
                ctx,
                fl.key,
                "HasErrors",
                items,
                lambda raw: documents.save(ctx, fl, raw, upsert=upsert),
            )
        raise _method_not_allowed()

    return handler


def _get_document(ctx: Ctx, fl: Flavour, ref: str) -> dict[str, Any]:
    doc = ctx.store.get(fl.kind, ctx.tenant, ref.lower()) if contacts.is_uuid(ref) else None
    if doc is None:
        found = ctx.store.find(fl.kind, ctx.tenant, "number = ?", (ref,))
        doc = found[0] if found else None
    if doc is None:
        raise not_found()
    return doc


def _single_document(ctx: Ctx, fl: Flavour, doc: dict[str, Any]) -> Reply:
    shaped = shape(doc, strip_lines=False, summary=False, unitdp4=ctx.arg("unitdp") == "4")
    return Reply(200, envelope(ctx, fl.key, [xjson.dumps(shaped)]))


def _document_list_spec(ctx: Ctx, fl: Flavour) -> ListSpec:
    conds = []
    for param, column, lower in (
        ("IDs", "id", True),
        ("ContactIDs", "contact_id", True),
        ("Statuses", "status", False),
    ):
        values = _csv(ctx, param)
        if values and (fl is INVOICE or param == "IDs"):
            conds.append(_in(column, [v.lower() if lower else v.upper() for v in values]))
    numbers = _csv(ctx, "InvoiceNumbers") if fl is INVOICE else []
    if numbers:
        conds.append(_in("number", numbers))
    term = (ctx.arg("searchTerm") or "").strip().lower()
    pred = None
    if term:
        fields = (fl.number_field, "Reference")
        pred = lambda d: any(term in str(d.get(f) or "").lower() for f in fields)  # noqa: E731
    columns = {
        "type": "type",
        "status": "status",
        fl.number_field.lower(): "number",
        "contact.contactid": "contact_id",
        fl.id_field.lower(): "id",
    }
    return ListSpec(fl.kind, fl.key, lines=True, conditions=conds, predicate=pred, columns=columns)


def _allocations(ctx: Ctx, method: str, rest: list[str], body: bytes) -> Reply:
    note_id = rest[0].lower()
    if len(rest) == 2 and method == "PUT":
        if ctx.store.get("creditnotes", ctx.tenant, note_id) is None:
            raise not_found()
        items = batch.elements(batch.parse_body(body), "Allocations")
        return batch.run(
            ctx,
            "Allocations",
            "HasErrors",
            items,
            lambda raw: allocations.allocate(ctx, note_id, raw),
        )
    if len(rest) == 3 and method == "DELETE":
        with ctx.store.transaction():
            answer = _single_invalid(lambda: allocations.delete(ctx, note_id, rest[2].lower()), {})
        return Reply(200, xjson.dumps(answer))
    if len(rest) in (2, 3):
        raise _method_not_allowed()
    raise not_found()


# --- payments -------------------------------------------------------------------------------


def _payments(ctx: Ctx, method: str, rest: list[str], body: bytes) -> Reply:
    if len(rest) > 1:
        raise not_found()
    if rest:
        existing = ctx.store.get("payments", ctx.tenant, rest[0].lower())
        if existing is None:
            raise not_found()
        if method == "GET":
            return ok(ctx, "Payments", [existing])
        if method != "POST":
            raise _method_not_allowed()
        raw = batch.parse_body(body)
        echo = raw if isinstance(raw, dict) else {}
        with ctx.store.transaction():
            deleted = _single_invalid(
                lambda: payments.delete(ctx, existing["PaymentID"], raw), echo
            )
        return ok(ctx, "Payments", [deleted])
    if method == "GET":
        columns = {"status": "status", "paymentid": "id", "paymenttype": "type"}
        return list_documents(ctx, ListSpec("payments", "Payments", columns=columns))
    if method in ("PUT", "POST"):
        items = batch.elements(batch.parse_body(body), "Payments")
        return batch.run(
            ctx, "Payments", "HasValidationErrors", items, lambda raw: payments.create(ctx, raw)
        )
    raise _method_not_allowed()


_ROUTES: dict[str, Callable[[Ctx, str, list[str], bytes], Reply]] = {
    "organisation": _organisation,
    "organisations": _organisation,
    "accounts": _accounts,
    "taxrates": _tax_rates,
    "contacts": _contacts,
    "invoices": _documents(INVOICE),
    "creditnotes": _documents(CREDIT_NOTE),
    "payments": _payments,
    "banktransactions": bank_transactions.route,
    "manualjournals": manual_journals.route,
    "trackingcategories": tracking.route,
    "overpayments": credits.route(credits.OVERPAYMENT),
    "prepayments": credits.route(credits.PREPAYMENT),
}
