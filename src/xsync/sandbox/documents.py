"""Invoices and credit notes: validation, status machine, lines, totals and balances.

Status machine: DRAFT/SUBMITTED → DRAFT, SUBMITTED, AUTHORISED or DELETED; AUTHORISED → VOIDED
(only with nothing applied); PAID is set automatically when nothing is left due (and undone when a
payment or allocation is removed); VOIDED and DELETED are final. A document with a payment or
allocation cannot be edited. Nothing dated on or before the organisation's PeriodLockDate can be
created or changed. ACCREC invoice numbers are unique (auto-generated ``INV-0001`` when missing);
ACCPAY numbers are free text and may repeat.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from xsync.sandbox import contacts, lines, xjson
from xsync.sandbox.context import Ctx
from xsync.sandbox.problems import Invalid

STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED")
_NEXT = {
    "DRAFT": {"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"},
    "SUBMITTED": {"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"},
    "AUTHORISED": {"AUTHORISED", "VOIDED"},
}
APPLIED_MESSAGE = (
    "This document cannot be edited as it has a payment or credit note allocated to it"
)
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Flavour:
    kind: str
    key: str
    id_field: str
    number_field: str
    types: tuple[str, str]
    noun: str
    prefix: str

    @property
    def sales_type(self) -> str:
        return self.types[0]


INVOICE = Flavour(
    "invoices", "Invoices", "InvoiceID", "InvoiceNumber", ("ACCREC", "ACCPAY"), "Invoice", "INV-"
)
CREDIT_NOTE = Flavour(
    "creditnotes",
    "CreditNotes",
    "CreditNoteID",
    "CreditNoteNumber",
    ("ACCRECCREDIT", "ACCPAYCREDIT"),
    "Credit Note",
    "CN-",
)


def status_message(fl: Flavour) -> str:
    return f"{fl.noun} not of valid status for modification"


def lock_message(lock: date) -> str:
    return (
        f"The document date cannot be on or before the period lock date ({lock.isoformat()}). "
        "Documents in a locked period cannot be created or edited."
    )


def posted_amount_and_date(ctx: Ctx, raw: dict[str, Any], noun: str) -> tuple[Decimal, date]:
    """A payment's or an allocation's Amount (> 0) and Date (today if absent, after the lock)."""
    try:
        amount = xjson.money(raw.get("Amount"))
    except ValueError:
        raise Invalid(f"The {noun} Amount must be a number.") from None
    if amount <= 0:
        raise Invalid(f"The {noun} amount must be greater than zero.")
    try:
        day = xjson.parse_doc_date(raw["Date"]) if raw.get("Date") else ctx.today()
    except ValueError:
        raise Invalid(f"Date '{raw.get('Date')}' is not a valid date") from None
    lock = ctx.period_lock()
    if lock and day <= lock:
        raise Invalid(lock_message(lock))
    return amount, day


def applied_total(fl: Flavour, doc: dict[str, Any]) -> Decimal:
    if fl is INVOICE:
        return Decimal(doc.get("AmountPaid", 0)) + Decimal(doc.get("AmountCredited", 0))
    return Decimal(doc["Total"]) - Decimal(doc.get("RemainingCredit", doc["Total"]))


def find_existing(
    ctx: Ctx, fl: Flavour, raw: dict[str, Any], doc_id: str | None, upsert: bool
) -> dict[str, Any] | None:
    target = doc_id or raw.get(fl.id_field)
    if target:
        existing = ctx.store.get(fl.kind, ctx.tenant, str(target).lower())
        if existing is None:
            raise Invalid(f"{fl.noun} with {fl.id_field} {target} could not be found.")
        return existing
    number = raw.get(fl.number_field)
    if upsert and fl is INVOICE and number and raw.get("Type", "ACCREC") == "ACCREC":
        found = ctx.store.find(
            fl.kind,
            ctx.tenant,
            "number = ? AND type = 'ACCREC' AND status != 'DELETED'",
            (str(number),),
        )
        return found[0] if found else None
    return None


def save(
    ctx: Ctx, fl: Flavour, raw: dict[str, Any], *, upsert: bool, doc_id: str | None = None
) -> dict[str, Any]:
    """Create or update one invoice or credit note from a request element; raises ``Invalid``."""
    existing = find_existing(ctx, fl, raw, doc_id, upsert)
    lock = ctx.period_lock()
    if existing is not None:
        return _update(ctx, fl, raw, existing, lock)
    status = raw.get("Status") or "DRAFT"
    if status not in ("DRAFT", "SUBMITTED", "AUTHORISED"):
        raise Invalid(status_message(fl))
    doc: dict[str, Any] = {fl.id_field: str(uuid.uuid4()), "Status": status}
    return _build(ctx, fl, raw, doc, created=True, lock=lock)


def _update(
    ctx: Ctx, fl: Flavour, raw: dict[str, Any], existing: dict[str, Any], lock: date | None
) -> dict[str, Any]:
    current = existing["Status"]
    requested = raw.get("Status") or current
    if requested not in STATUSES:
        raise Invalid(f"Status '{requested}' is not a valid {fl.noun.lower()} status")
    if current in ("VOIDED", "DELETED"):
        raise Invalid(status_message(fl))
    if current == "PAID" or applied_total(fl, existing) != 0:
        raise Invalid(APPLIED_MESSAGE)
    if requested not in _NEXT[current]:
        raise Invalid(status_message(fl))
    old_date = xjson.stored_date(existing.get("Date"))
    if lock and old_date and old_date <= lock:
        raise Invalid(lock_message(lock))
    if raw.get("Type") and raw["Type"] != existing["Type"]:
        raise Invalid(f"The Type of an existing {fl.noun.lower()} cannot be changed")
    doc = dict(existing)
    if requested in ("VOIDED", "DELETED"):
        doc["Status"] = requested
        _balances(fl, doc)
        return _store(ctx, fl, doc)
    doc["Status"] = requested
    return _build(ctx, fl, raw, doc, created=False, lock=lock)


def _build(
    ctx: Ctx,
    fl: Flavour,
    raw: dict[str, Any],
    doc: dict[str, Any],
    *,
    created: bool,
    lock: date | None,
) -> dict[str, Any]:
    errors: list[str] = []
    if created:
        typ = raw.get("Type")
        if typ not in fl.types:
            raise Invalid(f"{fl.noun} Type must be one of {', '.join(fl.types)}")
        doc["Type"] = typ
    sales = doc["Type"] == fl.sales_type
    if created or "Contact" in raw:
        doc["Contact"] = contacts.summary(contacts.resolve_for_document(ctx, raw.get("Contact")))
    _dates(ctx, raw, doc, created, errors)
    amount_types = raw.get("LineAmountTypes", doc.get("LineAmountTypes", "Exclusive"))
    if amount_types not in ("Exclusive", "Inclusive", "NoTax"):
        errors.append(
            f"LineAmountTypes '{amount_types}' is not valid (Exclusive, Inclusive or NoTax)"
        )
        amount_types = "Exclusive"
    doc["LineAmountTypes"] = amount_types
    _plain_fields(ctx, raw, doc, errors)
    if "LineItems" in raw:
        items = lines.merge_lines(doc.get("LineItems", []), raw["LineItems"], errors=errors)
    else:
        items = [dict(line) for line in doc.get("LineItems", [])]
    strict = doc["Status"] in ("SUBMITTED", "AUTHORISED")
    unitdp4 = ctx.arg("unitdp") == "4"
    for line in items:
        lines.compute_line(
            ctx,
            line,
            amount_types=amount_types,
            sales=sales,
            strict=strict,
            unitdp4=unitdp4,
            errors=errors,
        )
    sums = lines.totals(items, amount_types)
    doc["LineItems"] = items
    doc.update({k: sums[k] for k in ("SubTotal", "TotalTax", "Total")})
    if sums["TotalDiscount"]:
        doc["TotalDiscount"] = sums["TotalDiscount"]
    else:
        doc.pop("TotalDiscount", None)
    if sums["Total"] < 0:
        errors.append(f"The {fl.noun.lower()} total must be zero or positive.")
    day = xjson.stored_date(doc.get("Date"))
    if lock and day and day <= lock:
        errors.append(lock_message(lock))
    _number(ctx, fl, raw, doc, created, errors)
    if errors:
        raise Invalid(*errors)
    if created:
        _initial_balances(fl, doc)
    _balances(fl, doc)
    saved = _store(ctx, fl, doc)
    contacts.mark_role(ctx, doc["Contact"]["ContactID"], customer=sales)
    return saved


def _dates(
    ctx: Ctx, raw: dict[str, Any], doc: dict[str, Any], created: bool, errors: list[str]
) -> None:
    for field in ("Date", "DueDate", "ExpectedPaymentDate", "PlannedPaymentDate"):
        if raw.get(field):
            try:
                set_date(doc, field, xjson.parse_doc_date(raw[field]))
            except ValueError:
                errors.append(f"{field} '{raw[field]}' is not a valid date")
    if "Date" not in doc:
        set_date(doc, "Date", ctx.today())
    if "DueDate" not in doc and doc["Type"] in ("ACCREC", "ACCPAY"):
        terms = ctx.organisation.get("PaymentTerms", {}).get(
            "Sales" if doc["Type"] == "ACCREC" else "Bills", {}
        )
        days = int(terms.get("Day", 30))
        set_date(
            doc, "DueDate", (xjson.stored_date(doc["Date"]) or ctx.today()) + timedelta(days=days)
        )


def set_date(doc: dict[str, Any], field: str, day: date) -> None:
    doc[field] = xjson.ms_date(day)
    if field in ("Date", "DueDate"):
        doc[f"{field}String"] = xjson.iso_date(day)


def _plain_fields(ctx: Ctx, raw: dict[str, Any], doc: dict[str, Any], errors: list[str]) -> None:
    for field in ("Reference", "Url", "BrandingThemeID", "SentToContact"):
        if field in raw:
            doc[field] = raw[field]
    currency = (
        raw.get("CurrencyCode") or doc.get("CurrencyCode") or ctx.organisation["BaseCurrency"]
    )
    if currency != ctx.organisation["BaseCurrency"]:
        errors.append(f"The currency {currency} is not enabled for this organisation.")
    doc["CurrencyCode"] = ctx.organisation["BaseCurrency"]
    doc["CurrencyRate"] = Decimal("1.000000")
    doc.setdefault("HasAttachments", False)
    doc.setdefault("HasErrors", False)


def _number(
    ctx: Ctx,
    fl: Flavour,
    raw: dict[str, Any],
    doc: dict[str, Any],
    created: bool,
    errors: list[str],
) -> None:
    field = fl.number_field
    if field in raw and raw[field] is not None:
        doc[field] = str(raw[field]).strip()
    number = doc.get(field) or ""
    if len(number) > 255:
        errors.append(f"{fl.noun} number must be 255 characters or fewer")
    if doc["Type"] != fl.sales_type:
        doc[field] = number
        return
    if not number:
        if errors:
            return
        while True:
            candidate = f"{fl.prefix}{ctx.store.next_number(ctx.tenant, fl.kind):04d}"
            if not _number_taken(ctx, fl, candidate, doc[fl.id_field]):
                doc[field] = candidate
                return
    if fl is INVOICE and _number_taken(ctx, fl, number, doc[fl.id_field]):
        errors.append("Invoice # must be unique.")


def _number_taken(ctx: Ctx, fl: Flavour, number: str, own_id: str) -> bool:
    return bool(
        ctx.store.find(
            fl.kind,
            ctx.tenant,
            "number = ? AND type = ? AND status != 'DELETED' AND id != ?",
            (number, fl.sales_type, own_id),
        )
    )


def _initial_balances(fl: Flavour, doc: dict[str, Any]) -> None:
    if fl is INVOICE:
        doc.update(
            {
                "Payments": [],
                "CreditNotes": [],
                "Prepayments": [],
                "Overpayments": [],
                "AmountPaid": ZERO,
                "AmountCredited": ZERO,
            }
        )
    else:
        doc.update({"Allocations": [], "Payments": []})


def _balances(fl: Flavour, doc: dict[str, Any]) -> None:
    """Outstanding amounts and the automatic AUTHORISED ↔ PAID move."""
    total = Decimal(doc["Total"])
    if fl is INVOICE:
        due = total - Decimal(doc["AmountPaid"]) - Decimal(doc["AmountCredited"])
        doc["IsDiscounted"] = "TotalDiscount" in doc
        doc["AmountDue"] = ZERO if doc["Status"] in ("VOIDED", "DELETED") else xjson.money(due)
        dates = [p["Date"] for p in doc["Payments"]] + [c["Date"] for c in doc["CreditNotes"]]
        dates += [c["Date"] for key in ("Overpayments", "Prepayments")
                  for c in doc.get(key) or () if c.get("Date")]
    else:
        used = sum((Decimal(a["Amount"]) for a in doc["Allocations"]), ZERO)
        used += sum((Decimal(p["Amount"]) for p in doc["Payments"]), ZERO)
        due = total - used
        doc["RemainingCredit"] = (
            ZERO if doc["Status"] in ("VOIDED", "DELETED") else xjson.money(due)
        )
        doc["AppliedAmount"] = xjson.money(used)
        dates = [a["Date"] for a in doc["Allocations"]] + [p["Date"] for p in doc["Payments"]]
    if doc["Status"] == "AUTHORISED" and due == 0:
        doc["Status"] = "PAID"
    elif doc["Status"] == "PAID" and due != 0:
        doc["Status"] = "AUTHORISED"
    if doc["Status"] == "PAID" and fl.kind in ("invoices", "creditnotes"):
        paid_on = max(
            (xjson.stored_date(d) for d in dates), default=None, key=lambda d: d or date.min
        )
        set_paid_on = paid_on or xjson.stored_date(doc["Date"])
        if set_paid_on:
            doc["FullyPaidOnDate"] = xjson.ms_date(set_paid_on)
    else:
        doc.pop("FullyPaidOnDate", None)


def rebalance(ctx: Ctx, fl: Flavour, doc: dict[str, Any]) -> dict[str, Any]:
    """Recompute balances after a payment or allocation change and store with a new timestamp."""
    _balances(fl, doc)
    return _store(ctx, fl, doc)


def _store(ctx: Ctx, fl: Flavour, doc: dict[str, Any]) -> dict[str, Any]:
    now = ctx.now_ms()
    doc["UpdatedDateUTC"] = xjson.ms_timestamp(now)
    doc["UpdatedDateUTCString"] = xjson.iso_timestamp(now)
    ctx.store.put(fl.kind, ctx.tenant, doc, now)
    return doc


def reference(fl: Flavour, doc: dict[str, Any]) -> dict[str, Any]:
    """The short form of a document embedded in payments and allocations."""
    out: dict[str, Any] = {
        "Type": doc["Type"],
        fl.id_field: doc[fl.id_field],
        fl.number_field: doc.get(fl.number_field, ""),
        "Contact": {"ContactID": doc["Contact"]["ContactID"], "Name": doc["Contact"]["Name"]},
        "CurrencyCode": doc["CurrencyCode"],
        "HasErrors": False,
        "LineItems": [],
    }
    if fl is INVOICE:
        out.update({"Payments": [], "CreditNotes": [], "Prepayments": [], "Overpayments": []})
    return out
