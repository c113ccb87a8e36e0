"""Bank transactions (spend and receive money): validation, lines, totals, status, lock dates.

A bank transaction is ``SPEND`` or ``RECEIVE`` money on a ``BANK`` account, with a contact and
at least one line (``…-OVERPAYMENT`` and ``…-PREPAYMENT`` ones also make the overpayment or
prepayment they carry, see :mod:`xsync.sandbox.credits`, and cannot be edited); its lines are
computed as invoice lines are (tax per line, half-up). It is ``AUTHORISED`` when created (Xero
has no draft spend or receive money) and can be edited, or ``DELETED`` (``{"Status":
"DELETED"}``), unless it is reconciled; a deleted transaction is final. Nothing dated on or
before the organisation's lock date can be created, edited or deleted.

Routes: ``GET /BankTransactions`` (If-Modified-Since, where/order, paging, ``unitdp``),
``GET /BankTransactions/{id}``, ``PUT`` (create), ``POST`` (create or update by
``BankTransactionID``) and ``POST /BankTransactions/{id}``.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from xsync.sandbox import batch, contacts, credits, lines, xjson
from xsync.sandbox.context import Ctx
from xsync.sandbox.documents import lock_message, set_date
from xsync.sandbox.listing import ListSpec, Reply, envelope, list_documents, shape
from xsync.sandbox.problems import ApiError, Invalid, not_found

KIND = "banktransactions"
KEY = "BankTransactions"
ID_FIELD = "BankTransactionID"
TYPES = ("RECEIVE", "SPEND", "RECEIVE-OVERPAYMENT", "SPEND-OVERPAYMENT", "RECEIVE-PREPAYMENT",
         "SPEND-PREPAYMENT")
CREDIT_MESSAGE = ("This Bank Transaction cannot be edited as it is an overpayment or a "
                  "prepayment; allocate or refund the credit instead")
STATUS_MESSAGE = "Bank Transaction not of valid status for modification"
RECONCILED_MESSAGE = "This Bank Transaction cannot be edited as it has been reconciled"


def method_not_allowed() -> ApiError:
    return ApiError(
        405,
        {
            "Title": "Method Not Allowed",
            "Status": 405,
            "Detail": "The method is not allowed for this resource",
        },
    )


def route(ctx: Ctx, method: str, rest: list[str], body: bytes) -> Reply:
    """``/BankTransactions[/{id}]``."""
    if len(rest) > 1:
        raise not_found()
    if rest:
        existing = ctx.store.get(KIND, ctx.tenant, rest[0].lower()) if contacts.is_uuid(
            rest[0]
        ) else None
        if existing is None:
            raise not_found()
        if method == "GET":
            shaped = shape(existing, False, False, ctx.arg("unitdp") == "4")
            return Reply(200, envelope(ctx, KEY, [xjson.dumps(shaped)]))
        if method != "POST":
            raise method_not_allowed()
        items = batch.elements(batch.parse_body(body), KEY)
        item = items[0] if len(items) == 1 else {}
        doc_id = existing[ID_FIELD]
        return batch.single(
            ctx, KEY, "HasErrors", item, lambda raw: save(ctx, raw, doc_id=doc_id)
        )
    if method == "GET":
        columns = {
            "type": "type",
            "status": "status",
            "contact.contactid": "contact_id",
            "banktransactionid": "id",
        }
        return list_documents(ctx, ListSpec(KIND, KEY, lines=True, columns=columns))
    if method in ("PUT", "POST"):
        return batch.run_writes(ctx, method, KEY, "HasErrors", body,
                                lambda raw, creates: save(ctx, raw, creates_only=creates))
    raise method_not_allowed()


def save(
    ctx: Ctx, raw: dict[str, Any], *, doc_id: str | None = None, creates_only: bool = False
) -> dict[str, Any]:
    """Create or update one bank transaction from a request element; raises ``Invalid``."""
    found = batch.existing(ctx, KIND, doc_id or raw.get(ID_FIELD), creates_only, "bank transaction",
                           "Bank Transaction", ID_FIELD)
    if found is not None:
        return _update(ctx, raw, found)
    status = raw.get("Status") or "AUTHORISED"
    if status != "AUTHORISED":
        raise Invalid(STATUS_MESSAGE)
    doc: dict[str, Any] = {ID_FIELD: str(uuid.uuid4()), "Status": "AUTHORISED"}
    return _build(ctx, raw, doc, created=True)


def _update(ctx: Ctx, raw: dict[str, Any], existing: dict[str, Any]) -> dict[str, Any]:
    current = existing["Status"]
    requested = raw.get("Status") or current
    if existing["Type"] in credits.BANK_TYPES:
        raise Invalid(CREDIT_MESSAGE)
    if current != "AUTHORISED" or requested not in ("AUTHORISED", "DELETED"):
        raise Invalid(STATUS_MESSAGE)
    if existing.get("IsReconciled") and set(raw) - {ID_FIELD, "IsReconciled"}:
        raise Invalid(RECONCILED_MESSAGE)
    _check_lock(ctx, xjson.stored_date(existing.get("Date")))
    if raw.get("Type") and raw["Type"] != existing["Type"]:
        raise Invalid("The Type of an existing bank transaction cannot be changed")
    doc = dict(existing)
    if requested == "DELETED":
        doc["Status"] = "DELETED"
        return _store(ctx, doc)
    return _build(ctx, raw, doc, created=False)


def _check_lock(ctx: Ctx, day: Any) -> None:
    lock = ctx.period_lock()
    if lock and day and day <= lock:
        raise Invalid(lock_message(lock))


def _bank_account(ctx: Ctx, ref: Any) -> dict[str, Any]:
    ref = ref if isinstance(ref, dict) else {}
    account = None
    if ref.get("AccountID"):
        account = ctx.account_by_id(str(ref["AccountID"]))
    elif ref.get("Code"):
        account = ctx.accounts.get(str(ref["Code"]))
    else:
        raise Invalid("A BankAccount (AccountID or Code) must be specified.")
    if account is None or account["Status"] != "ACTIVE" or account["Type"] != "BANK":
        raise Invalid("The BankAccount specified must be an active bank account.")
    return {"AccountID": account["AccountID"], "Code": account["Code"], "Name": account["Name"]}


def _build(ctx: Ctx, raw: dict[str, Any], doc: dict[str, Any], *, created: bool) -> dict[str, Any]:
    errors: list[str] = []
    if created:
        typ = raw.get("Type")
        if typ not in TYPES:
            raise Invalid(f"Bank Transaction Type must be one of {', '.join(TYPES)}")
        doc["Type"] = typ
    if created or "BankAccount" in raw:
        doc["BankAccount"] = _bank_account(ctx, raw.get("BankAccount"))
    if created or "Contact" in raw:
        if not raw.get("Contact"):
            raise Invalid("A Contact must be specified for this type of transaction")
        doc["Contact"] = contacts.summary(contacts.resolve_for_document(ctx, raw.get("Contact")))
    if raw.get("Date"):
        try:
            set_date(doc, "Date", xjson.parse_doc_date(raw["Date"]))
        except ValueError:
            errors.append(f"Date '{raw['Date']}' is not a valid date")
    if "Date" not in doc:
        set_date(doc, "Date", ctx.today())
    amount_types = raw.get("LineAmountTypes", doc.get("LineAmountTypes", "Exclusive"))
    if amount_types not in ("Exclusive", "Inclusive", "NoTax"):
        errors.append(
            f"LineAmountTypes '{amount_types}' is not valid (Exclusive, Inclusive or NoTax)"
        )
        amount_types = "Exclusive"
    doc["LineAmountTypes"] = amount_types
    for field in ("Reference", "Url"):
        if field in raw:
            doc[field] = str(raw[field] or "")
    if "IsReconciled" in raw:
        doc["IsReconciled"] = bool(raw["IsReconciled"])
    doc.setdefault("IsReconciled", False)
    currency = raw.get("CurrencyCode") or ctx.organisation["BaseCurrency"]
    if currency != ctx.organisation["BaseCurrency"]:
        errors.append(f"The currency {currency} is not enabled for this organisation.")
    doc["CurrencyCode"] = ctx.organisation["BaseCurrency"]
    doc["CurrencyRate"] = Decimal("1.000000")
    doc.setdefault("HasAttachments", False)
    if "LineItems" in raw:
        items = lines.merge_lines(doc.get("LineItems", []), raw["LineItems"], errors=errors)
    else:
        items = [dict(line) for line in doc.get("LineItems", [])]
    if not items:
        errors.append("A Bank Transaction must have at least one line item")
    unitdp4 = ctx.arg("unitdp") == "4"
    for line in items:
        lines.compute_line(
            ctx,
            line,
            amount_types=amount_types,
            sales=doc["Type"].startswith("RECEIVE"),
            strict=True,
            unitdp4=unitdp4,
            errors=errors,
        )
    sums = lines.totals(items, amount_types)
    doc["LineItems"] = items
    doc.update({k: sums[k] for k in ("SubTotal", "TotalTax", "Total")})
    if sums["Total"] < 0:
        errors.append("The bank transaction total must be zero or positive.")
    lock = ctx.period_lock()
    day = xjson.stored_date(doc.get("Date"))
    if lock and day and day <= lock:
        errors.append(lock_message(lock))
    if errors:
        raise Invalid(*errors)
    if created and doc["Type"] in credits.BANK_TYPES:
        credits.from_bank_transaction(ctx, doc)
    return _store(ctx, doc)


def _store(ctx: Ctx, doc: dict[str, Any]) -> dict[str, Any]:
    now = ctx.now_ms()
    doc["UpdatedDateUTC"] = xjson.ms_timestamp(now)
    ctx.store.put(KIND, ctx.tenant, doc, now)
    return doc
