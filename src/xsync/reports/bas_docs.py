"""Each side's documents as the BAS reconciliation reads them (:class:`~xsync.reports.bas.Doc`).

Pure functions over Xero JSON elements (parsed with Decimal money) and canonical records.

- Xero: invoices and bills (``Invoices``), credit notes of both kinds, spend and receive money
  (``BankTransactions``) and manual journals, with the money that settled each (payments,
  allocations, refunds) for the cash basis.
- Ops: the store's invoices, bills and credit notes as canonical records. A line without its
  GST gets it from its rate, per line, half-up, as Xero would; a document whose stated GST
  (``total_tax``) differs from its lines' keeps the stated figure (the store rounded per
  document), the difference on its largest line. An ops credit note keeps no lines: its total
  is spread over the labels as its Xero twin's lines are, else as its invoice's, else as GST on
  income.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from xsync.model.records import Record
from xsync.reports.bas import ZERO, Doc, Flow, TaxLine, round2

STATUS_IN = {"DRAFT": "draft", "SUBMITTED": "draft", "AUTHORISED": "approved", "PAID": "paid",
             "VOIDED": "void", "DELETED": "deleted", "POSTED": "approved", "ARCHIVED": "void"}
_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{2,4})?\)/$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Rates:
    """The organisation's tax rates: tax type → (``ReportTaxType``, rate as a fraction)."""

    def __init__(self, rows: Iterable[tuple[str, str, Decimal]]) -> None:
        self.report: dict[str, str] = {}
        self.rate: dict[str, Decimal] = {}
        for tax_type, report, percent in rows:
            self.report[tax_type] = report
            self.rate[tax_type] = percent / 100

    @classmethod
    def from_xero(cls, elements: Iterable[dict[str, Any]]) -> Rates:
        return cls((str(el.get("TaxType")), str(el.get("ReportTaxType") or "NONE"),
                    _dec(el.get("EffectiveRate", el.get("DisplayTaxRate")) or 0))
                   for el in elements if el.get("TaxType"))

    def to_json(self) -> list[list[str]]:
        return [[t, self.report[t], str(self.rate[t] * 100)] for t in sorted(self.report)]

    @classmethod
    def from_json(cls, rows: Sequence[Sequence[str]]) -> Rates:
        return cls((r[0], r[1], Decimal(r[2])) for r in rows)


def _dec(value: Any) -> Decimal:
    if value is None or value == "":
        return ZERO
    if isinstance(value, float):
        raise ValueError(f"{value!r} is a float, not an amount")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not an amount") from None


def xero_date(value: Any) -> date | None:
    """A Xero document date (``/Date(ms+0000)/`` or ISO): its UTC calendar date."""
    if not isinstance(value, str) or not value:
        return None
    match = _MS_DATE.match(value.strip())
    if match:
        return (_EPOCH + timedelta(milliseconds=int(match.group(1)))).date()
    return date.fromisoformat(value[:10])


def xero_stamp(value: Any) -> str | None:
    """``UpdatedDateUTC`` as ISO UTC."""
    if not isinstance(value, str) or not value:
        return None
    match = _MS_DATE.match(value.strip())
    if match:
        return (_EPOCH + timedelta(milliseconds=int(match.group(1)))).isoformat()
    return value


def fingerprint(doc: Doc) -> str:
    """What a document posts to the BAS: date, status, lines, total and settlements."""
    text = json.dumps([doc.entity, doc.date.isoformat() if doc.date else None, doc.status,
                       doc.flow, doc.credit, [[ln.tax_type, str(ln.net), str(ln.tax)]
                                              for ln in doc.lines], str(doc.total),
                       sorted([d.isoformat(), str(a)] for d, a in doc.payments),
                       doc.on_cash_basis])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _finish(doc: Doc) -> Doc:
    doc.fingerprint = fingerprint(doc)
    return doc


def _line(item: dict[str, Any], amounts: str, flow: Flow | None = None) -> TaxLine:
    amount = _dec(item.get("LineAmount"))
    tax = ZERO if amounts == "NoTax" else _dec(item.get("TaxAmount"))
    net = amount - tax if amounts == "Inclusive" else amount
    return TaxLine(str(item.get("TaxType") or "NONE"), net, tax, flow)


def _settled(entries: Iterable[dict[str, Any]], amount_key: str = "Amount"
             ) -> list[tuple[date, Decimal]]:
    out = []
    for entry in entries:
        day = xero_date(entry.get("Date"))
        if day is not None and not entry.get("IsDeleted"):
            out.append((day, _dec(entry.get(amount_key, entry.get("Amount")))))
    return out


def from_xero(endpoint: str, el: dict[str, Any]) -> Doc:
    """One Xero element of ``Invoices``, ``CreditNotes``, ``BankTransactions`` or
    ``ManualJournals``; ``ValueError`` naming the field on data it cannot read."""
    amounts = str(el.get("LineAmountTypes") or "Exclusive")
    contact = (el.get("Contact") or {}).get("Name")
    status = STATUS_IN.get(str(el.get("Status") or ""), "draft")
    if endpoint == "Invoices":
        sale = el.get("Type") == "ACCREC"
        paid = _settled(el.get("Payments") or [])
        for key in ("CreditNotes", "Prepayments", "Overpayments"):
            paid += _settled(el.get(key) or [], "AppliedAmount")
        return _finish(Doc("xero", "invoices" if sale else "bills", str(el["InvoiceID"]),
                           el.get("InvoiceNumber") or None, contact, xero_date(el.get("Date")),
                           status, "sale" if sale else "purchase", False,
                           [_line(i, amounts) for i in el.get("LineItems") or []],
                           _dec(el.get("Total")), paid))
    if endpoint == "CreditNotes":
        sale = el.get("Type") == "ACCRECCREDIT"
        paid = _settled(el.get("Allocations") or []) + _settled(el.get("Payments") or [])
        return _finish(Doc("xero", "credit_notes", str(el["CreditNoteID"]),
                           el.get("CreditNoteNumber") or None, contact,
                           xero_date(el.get("Date")), status, "sale" if sale else "purchase",
                           True, [_line(i, amounts) for i in el.get("LineItems") or []],
                           _dec(el.get("Total")), paid))
    if endpoint == "BankTransactions":
        day = xero_date(el.get("Date"))
        total = _dec(el.get("Total"))
        return _finish(Doc("xero", "bank_transactions", str(el["BankTransactionID"]),
                           el.get("Reference") or None, contact, day, status,
                           "sale" if str(el.get("Type", "")).startswith("RECEIVE") else "purchase",
                           False, [_line(i, amounts) for i in el.get("LineItems") or []],
                           total, [(day, total)] if day else []))
    if endpoint == "ManualJournals":
        lines = []
        for item in el.get("JournalLines") or []:
            flow: Flow = "sale" if _dec(item.get("LineAmount")) < 0 else "purchase"
            lines.append(_line(item, amounts, flow))
        narration = str(el.get("Narration") or "")
        return _finish(Doc("xero", "manual_journals", str(el["ManualJournalID"]),
                           narration[:40] or None, None, xero_date(el.get("Date")), status,
                           "purchase", False, lines, ZERO,
                           on_cash_basis=bool(el.get("ShowOnCashBasisReports", True))))
    raise ValueError(f"no BAS reading of {endpoint}")


# -- the ops side --------------------------------------------------------------------------------


def _ops_lines(record: Record, rates: Rates) -> tuple[list[TaxLine], Decimal | None]:
    amounts = record.fields.get("amounts_are") or "exclusive"
    lines: list[TaxLine] = []
    for line in record.lines or []:
        f = line.fields
        tax_type = f.get("tax_type") or "NONE"
        if f.get("line_amount") is not None:
            amount = _dec(f["line_amount"])
        else:
            gross = _dec(f.get("quantity") or "1") * _dec(f.get("unit_price"))
            amount = round2(gross * (100 - _dec(f.get("discount_rate"))) / 100)
        rate = rates.rate.get(tax_type, ZERO)
        if amounts == "no_tax":
            tax = ZERO
        elif f.get("tax_amount") is not None:
            tax = _dec(f["tax_amount"])
        elif amounts == "inclusive":
            tax = round2(amount * rate / (1 + rate))
        else:
            tax = round2(amount * rate)
        lines.append(TaxLine(tax_type, amount - tax if amounts == "inclusive" else amount, tax))
    stated = record.fields.get("total_tax")
    if stated is None or not lines or amounts == "no_tax":
        return lines, None
    wanted = _dec(stated)
    drift = wanted - sum((ln.tax for ln in lines), ZERO)
    if drift:
        big = max(range(len(lines)), key=lambda i: abs(lines[i].net))
        old = lines[big]
        net = old.net - drift if amounts == "inclusive" else old.net
        lines[big] = TaxLine(old.tax_type, net, old.tax + drift)
        return lines, wanted
    return lines, None


def from_ops(record: Record, rates: Rates, contacts: dict[str, str],
             payments: Sequence[tuple[date, Decimal]] = ()) -> Doc:
    """An ops invoice or bill (``payments``: the money that settled it, for the cash basis)."""
    f = record.fields
    lines, stated = _ops_lines(record, rates)
    total = _dec(f.get("total")) if f.get("total") is not None else sum(
        (ln.net + ln.tax for ln in lines), ZERO)
    paid = list(payments)
    if record.entity == "bills" and not paid and f.get("paid_on") and f.get("amount_paid"):
        paid = [(date.fromisoformat(f["paid_on"] or ""), _dec(f["amount_paid"]))]
    doc = Doc("ops", record.entity, record.id, f.get("number"),
              contacts.get(f.get("contact_id") or "", f.get("contact_id")), _iso(f.get("date")),
              f.get("status") or "draft", "sale" if record.entity == "invoices" else "purchase",
              False, lines, total, paid, stated_tax=stated)
    return _finish(doc)


def ops_credit_note(record: Record, contacts: dict[str, str], shape: Doc | None) -> Doc:
    """An ops credit note: its total spread as ``shape``'s lines are (its Xero twin, or its
    invoice), else as GST on income."""
    f = record.fields
    total = _dec(f.get("total"))
    lines = spread(total, shape.lines if shape else [])
    settled = total - _dec(f.get("remaining")) if f.get("remaining") is not None else ZERO
    day = _iso(f.get("date"))
    doc = Doc("ops", "credit_notes", record.id, f.get("number"),
              contacts.get(f.get("contact_id") or "", f.get("contact_id")), day,
              f.get("status") or "draft", "sale", True, lines, total,
              [(day, settled)] if day and settled else [])
    return _finish(doc)


def spread(total: Decimal, like: Sequence[TaxLine]) -> list[TaxLine]:
    """``total`` (GST included) over lines shaped as ``like``, cents kept exact."""
    whole = sum((ln.net + ln.tax for ln in like), ZERO)
    if not like or not whole:
        tax = round2(total / 11)
        return [TaxLine("OUTPUT", total - tax, tax)]
    if whole == total:
        return list(like)
    out = []
    left = total
    for index, line in enumerate(like):
        gross = left if index == len(like) - 1 else round2((line.net + line.tax) * total / whole)
        left -= gross
        share = line.net + line.tax
        tax = round2(line.tax * gross / share) if share else ZERO
        out.append(TaxLine(line.tax_type, gross - tax, tax))
    return out


def _iso(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None
