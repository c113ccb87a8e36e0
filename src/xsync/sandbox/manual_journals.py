"""Manual journals: narration, balanced journal lines with tax, status machine, lock dates.

A journal line's ``LineAmount`` is a debit when positive and a credit when negative; its
``TaxType`` defaults to the account's and its ``TaxAmount`` is computed per line, half-up, with
the line's sign: Exclusive ``round2(LineAmount × r)``, Inclusive ``round2(LineAmount × r/(1+r))``,
NoTax (the default for journals) 0. A journal needs a narration and at least two lines, and its
debits must equal its credits, tax included (Exclusive journals post the tax on top of each
line). Statuses: DRAFT → DRAFT, POSTED or DELETED; POSTED → POSTED or VOIDED; VOIDED and DELETED
are final. Nothing dated on or before the organisation's lock date can be created or changed.

Routes: ``GET /ManualJournals`` (If-Modified-Since, where/order, paging; lines are always
included), ``GET /ManualJournals/{id}``, ``PUT`` (create), ``POST`` (create or update by
``ManualJournalID``) and ``POST /ManualJournals/{id}``.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from xsync.sandbox import batch, contacts, xjson
from xsync.sandbox.bank_transactions import method_not_allowed
from xsync.sandbox.context import Ctx
from xsync.sandbox.documents import lock_message, set_date
from xsync.sandbox.listing import ListSpec, Reply, list_documents, ok
from xsync.sandbox.problems import Invalid, not_found

KIND = "manualjournals"
KEY = "ManualJournals"
ID_FIELD = "ManualJournalID"
STATUSES = ("DRAFT", "POSTED", "DELETED", "VOIDED")
_NEXT = {"DRAFT": {"DRAFT", "POSTED", "DELETED"}, "POSTED": {"POSTED", "VOIDED"}}
STATUS_MESSAGE = "Manual Journal not of valid status for modification"
_LINE_FIELDS = ("LineAmount", "AccountCode", "AccountID", "Description", "TaxType", "TaxAmount",
                "Tracking")


def route(ctx: Ctx, method: str, rest: list[str], body: bytes) -> Reply:
    """``/ManualJournals[/{id}]``."""
    if len(rest) > 1:
        raise not_found()
    if rest:
        existing = (
            ctx.store.get(KIND, ctx.tenant, rest[0].lower()) if contacts.is_uuid(rest[0]) else None
        )
        if existing is None:
            raise not_found()
        if method == "GET":
            return ok(ctx, KEY, [existing])
        if method != "POST":
            raise method_not_allowed()
        items = batch.elements(batch.parse_body(body), KEY)
        item = items[0] if len(items) == 1 else {}
        doc_id = existing[ID_FIELD]
        return batch.single(ctx, KEY, "HasErrors", item, lambda raw: save(ctx, raw, doc_id=doc_id))
    if method == "GET":
        columns = {"status": "status", "manualjournalid": "id"}
        return list_documents(ctx, ListSpec(KIND, KEY, columns=columns))
    if method in ("PUT", "POST"):
        return batch.run_writes(ctx, method, KEY, "HasErrors", body,
                                lambda raw, creates: save(ctx, raw, creates_only=creates))
    raise method_not_allowed()


def save(
    ctx: Ctx, raw: dict[str, Any], *, doc_id: str | None = None, creates_only: bool = False
) -> dict[str, Any]:
    """Create or update one manual journal from a request element; raises ``Invalid``."""
    found = batch.existing(ctx, KIND, doc_id or raw.get(ID_FIELD), creates_only, "manual journal",
                           "Manual Journal", ID_FIELD)
    if found is not None:
        return _update(ctx, raw, found)
    status = raw.get("Status") or "DRAFT"
    if status not in ("DRAFT", "POSTED"):
        raise Invalid(STATUS_MESSAGE)
    doc: dict[str, Any] = {ID_FIELD: str(uuid.uuid4()), "Status": status}
    return _build(ctx, raw, doc, created=True)


def _update(ctx: Ctx, raw: dict[str, Any], existing: dict[str, Any]) -> dict[str, Any]:
    current = existing["Status"]
    requested = raw.get("Status") or current
    if requested not in STATUSES:
        raise Invalid(f"Status '{requested}' is not a valid manual journal status")
    if current not in _NEXT or requested not in _NEXT[current]:
        raise Invalid(STATUS_MESSAGE)
    lock = ctx.period_lock()
    old_date = xjson.stored_date(existing.get("Date"))
    if lock and old_date and old_date <= lock:
        raise Invalid(lock_message(lock))
    doc = dict(existing)
    doc["Status"] = requested
    if requested in ("VOIDED", "DELETED"):
        return _store(ctx, doc)
    return _build(ctx, raw, doc, created=False)


def _build(ctx: Ctx, raw: dict[str, Any], doc: dict[str, Any], *, created: bool) -> dict[str, Any]:
    errors: list[str] = []
    if "Narration" in raw or created:
        narration = str(raw.get("Narration") or "").strip()
        if not narration:
            errors.append("Narration cannot be empty")
        doc["Narration"] = narration
    if raw.get("Date"):
        try:
            set_date(doc, "Date", xjson.parse_doc_date(raw["Date"]))
        except ValueError:
            errors.append(f"Date '{raw['Date']}' is not a valid date")
    if "Date" not in doc:
        set_date(doc, "Date", ctx.today())
    doc.pop("DateString", None)
    amount_types = raw.get("LineAmountTypes", doc.get("LineAmountTypes", "NoTax"))
    if amount_types not in ("Exclusive", "Inclusive", "NoTax"):
        errors.append(
            f"LineAmountTypes '{amount_types}' is not valid (Exclusive, Inclusive or NoTax)"
        )
        amount_types = "NoTax"
    doc["LineAmountTypes"] = amount_types
    if "Url" in raw:
        doc["Url"] = str(raw["Url"] or "")
    if "ShowOnCashBasisReports" in raw:
        doc["ShowOnCashBasisReports"] = bool(raw["ShowOnCashBasisReports"])
    doc.setdefault("ShowOnCashBasisReports", True)
    doc.setdefault("HasAttachments", False)
    if "JournalLines" in raw:
        sent = raw["JournalLines"]
        if not isinstance(sent, list):
            errors.append("JournalLines must be a list")
            sent = []
        journal_lines = [_line(ctx, item, amount_types, errors) for item in sent]
    else:
        journal_lines = [
            _line(ctx, {k: v for k, v in line.items() if k != "TaxAmount"}, amount_types, errors)
            for line in doc.get("JournalLines", [])
        ]
    if len(journal_lines) < 2:
        errors.append("A manual journal must have at least two journal lines")
    _balanced(journal_lines, amount_types, errors)
    doc["JournalLines"] = journal_lines
    lock = ctx.period_lock()
    day = xjson.stored_date(doc.get("Date"))
    if lock and day and day <= lock:
        errors.append(lock_message(lock))
    if errors:
        raise Invalid(*errors)
    return _store(ctx, doc)


def _line(ctx: Ctx, item: Any, amount_types: str, errors: list[str]) -> dict[str, Any]:
    if not isinstance(item, dict):
        errors.append("Each journal line must be an object")
        return {}
    line: dict[str, Any] = {k: item[k] for k in _LINE_FIELDS if k in item}
    try:
        amount = xjson.money(item.get("LineAmount"))
    except ValueError:
        errors.append("Each journal line must have a LineAmount")
        return line
    if amount == 0:
        errors.append("A journal line amount cannot be zero")
    account = None
    if line.get("AccountID") and not line.get("AccountCode"):
        account = ctx.account_by_id(str(line["AccountID"]))
    elif line.get("AccountCode"):
        account = ctx.accounts.get(str(line["AccountCode"]))
    if account is None or account["Status"] != "ACTIVE":
        code = line.get("AccountCode") or line.get("AccountID") or ""
        errors.append(f"Account code '{code}' is not a valid code for this document.")
        return line
    line["AccountCode"] = account["Code"]
    line["AccountID"] = account["AccountID"]
    tax_type = str(line.get("TaxType") or account["TaxType"])
    rate = ctx.tax_rates.get(tax_type)
    if rate is None or rate["Status"] != "ACTIVE":
        errors.append(
            f"The TaxType code '{tax_type}' does not exist or cannot be used for this type of "
            "transaction."
        )
        return line
    line["TaxType"] = tax_type
    pct = Decimal(rate["EffectiveRate"]) / Decimal(100)
    if amount_types == "NoTax":
        tax = Decimal("0.00")
    elif "TaxAmount" in item and item["TaxAmount"] is not None:
        try:
            tax = xjson.money(item["TaxAmount"])
        except ValueError:
            errors.append("TaxAmount must be a number")
            tax = Decimal("0.00")
    elif amount_types == "Inclusive":
        tax = xjson.money(amount * pct / (1 + pct))
    else:
        tax = xjson.money(amount * pct)
    line["LineAmount"] = amount
    line["TaxAmount"] = tax
    line.setdefault("Description", "")
    line.setdefault("Tracking", [])
    line["IsBlank"] = False
    return line


def _balanced(journal_lines: list[dict[str, Any]], amount_types: str, errors: list[str]) -> None:
    debits = credits = Decimal("0.00")
    for line in journal_lines:
        amount = line.get("LineAmount")
        if not isinstance(amount, Decimal):
            return
        gross = amount + line["TaxAmount"] if amount_types == "Exclusive" else amount
        if gross > 0:
            debits += gross
        else:
            credits -= gross
    if debits != credits:
        errors.append(f"The total debits ({debits}) must equal total credits ({credits})")


def _store(ctx: Ctx, doc: dict[str, Any]) -> dict[str, Any]:
    now = ctx.now_ms()
    doc["UpdatedDateUTC"] = xjson.ms_timestamp(now)
    ctx.store.put(KIND, ctx.tenant, doc, now)
    return doc
