"""Overpayments and prepayments: money received (or paid) that is not yet an invoice's.

Xero creates one when a bank transaction of Type ``RECEIVE-OVERPAYMENT``/``SPEND-OVERPAYMENT``
or ``RECEIVE-PREPAYMENT``/``SPEND-PREPAYMENT`` is saved: same contact, date, lines and total,
``AUTHORISED``, ``RemainingCredit`` the total; the bank transaction carries its
``OverpaymentID``/``PrepaymentID``. It is never created or edited through its own endpoint.

An allocation (``PUT /Overpayments/{id}/Allocations``, ``PUT /Prepayments/{id}/Allocations``)
needs an AUTHORISED credit and invoice of the same contact and side (RECEIVE ↔ ACCREC, SPEND ↔
ACCPAY), ``0 < Amount ≤ RemainingCredit`` and ``≤ AmountDue``; it lowers the credit's
RemainingCredit (PAID at zero) and adds to the invoice's ``Overpayments[]``/``Prepayments[]`` and
``AmountCredited`` (which Xero defines as credit notes + overpayments + prepayments), so its
AmountDue falls. ``DELETE …/Allocations/{AllocationID}`` undoes one (``IsDeleted: true``). A cash
refund is a payment against the credit (see :mod:`xsync.sandbox.payments`).

Routes: ``GET /Overpayments`` and ``GET /Prepayments`` (If-Modified-Since, where/order, paging,
``unitdp``), ``GET …/{id}``, and the allocation pair above.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from xsync.sandbox import allocations, batch, contacts, xjson
from xsync.sandbox.context import Ctx
from xsync.sandbox.documents import (
    INVOICE,
    Flavour,
    posted_amount_and_date,
    rebalance,
    reference,
)
from xsync.sandbox.listing import ListSpec, Reply, envelope, list_documents, shape
from xsync.sandbox.problems import ApiError, Invalid, not_found, validation_error

OVERPAYMENT = Flavour(
    "overpayments", "Overpayments", "OverpaymentID", "", ("RECEIVE-OVERPAYMENT",
                                                         "SPEND-OVERPAYMENT"),
    "Overpayment", "",
)
PREPAYMENT = Flavour(
    "prepayments", "Prepayments", "PrepaymentID", "", ("RECEIVE-PREPAYMENT", "SPEND-PREPAYMENT"),
    "Prepayment", "",
)
FLAVOURS = (OVERPAYMENT, PREPAYMENT)
# the bank transaction Type that makes each, and the side of the invoices it may pay
BANK_TYPES = {t: fl for fl in FLAVOURS for t in fl.types}
INVOICE_SIDE = {"RECEIVE": "ACCREC", "SPEND": "ACCPAY"}


def flavour_of(kind: str) -> Flavour:
    return OVERPAYMENT if kind == "overpayments" else PREPAYMENT


def side(doc: dict[str, Any]) -> str:
    """ACCREC for a credit received from a customer, ACCPAY for one paid to a supplier."""
    return INVOICE_SIDE[str(doc["Type"]).split("-", 1)[0]]


def from_bank_transaction(ctx: Ctx, bank: dict[str, Any]) -> dict[str, Any]:
    """The overpayment or prepayment a ``*-OVERPAYMENT``/``*-PREPAYMENT`` bank transaction
    makes; the bank transaction learns its id."""
    fl = BANK_TYPES[bank["Type"]]
    doc: dict[str, Any] = {
        fl.id_field: str(uuid.uuid4()),
        "Type": bank["Type"],
        "Contact": bank["Contact"],
        "Date": bank["Date"],
        "DateString": bank["DateString"],
        "Status": "AUTHORISED",
        "LineAmountTypes": bank["LineAmountTypes"],
        "LineItems": [dict(line) for line in bank["LineItems"]],
        "SubTotal": bank["SubTotal"],
        "TotalTax": bank["TotalTax"],
        "Total": bank["Total"],
        "RemainingCredit": bank["Total"],
        "AppliedAmount": xjson.money(0),
        "Allocations": [],
        "Payments": [],
        "CurrencyCode": bank["CurrencyCode"],
        "CurrencyRate": bank["CurrencyRate"],
        "Reference": bank.get("Reference") or "",
        "HasAttachments": False,
    }
    bank[fl.id_field] = doc[fl.id_field]
    rebalance(ctx, fl, doc)
    return doc


def route(fl: Flavour) -> Any:
    def handler(ctx: Ctx, method: str, rest: list[str], body: bytes) -> Reply:
        if len(rest) >= 2 and rest[1].lower() == "allocations":
            return _allocations(ctx, fl, method, rest, body)
        if len(rest) > 1:
            raise not_found()
        if method != "GET":
            raise _method_not_allowed()
        if rest:
            doc = _get(ctx, fl, rest[0])
            shaped = shape(doc, False, False, ctx.arg("unitdp") == "4")
            return Reply(200, envelope(ctx, fl.key, [xjson.dumps(shaped)]))
        columns = {"type": "type", "status": "status", "contact.contactid": "contact_id",
                   fl.id_field.lower(): "id"}
        return list_documents(ctx, ListSpec(fl.kind, fl.key, lines=True, columns=columns))

    return handler


def _method_not_allowed() -> ApiError:
    return ApiError(405, {"Title": "Method Not Allowed", "Status": 405,
                          "Detail": "The method is not allowed for this resource"})


def _get(ctx: Ctx, fl: Flavour, ref: str) -> dict[str, Any]:
    doc = ctx.store.get(fl.kind, ctx.tenant, ref.lower()) if contacts.is_uuid(ref) else None
    if doc is None:
        raise not_found()
    return doc


def _allocations(ctx: Ctx, fl: Flavour, method: str, rest: list[str], body: bytes) -> Reply:
    credit_id = rest[0].lower()
    if len(rest) == 2 and method == "PUT":
        _get(ctx, fl, credit_id)
        items = batch.elements(batch.parse_body(body), "Allocations")
        return batch.run(ctx, "Allocations", "HasErrors", items,
                         lambda raw: allocate(ctx, fl, credit_id, raw))
    if len(rest) == 3 and method == "DELETE":
        with ctx.store.transaction():
            try:
                answer = delete(ctx, fl, credit_id, rest[2].lower())
            except Invalid as exc:
                raise validation_error({}, exc.messages) from None
        return Reply(200, xjson.dumps(answer))
    if len(rest) in (2, 3):
        raise _method_not_allowed()
    raise not_found()


def _invoice(ctx: Ctx, raw: dict[str, Any]) -> dict[str, Any]:
    ref: dict[str, Any] = raw["Invoice"] if isinstance(raw.get("Invoice"), dict) else {}
    if not ref.get("InvoiceID"):
        raise Invalid("An Invoice (InvoiceID) must be specified for the allocation.")
    doc = ctx.store.get("invoices", ctx.tenant, str(ref["InvoiceID"]).lower())
    if doc is None:
        raise Invalid("The invoice specified for the allocation could not be found.")
    return doc


def _short(fl: Flavour, doc: dict[str, Any]) -> dict[str, Any]:
    return {fl.id_field: doc[fl.id_field], "Type": doc["Type"],
            "Contact": {"ContactID": doc["Contact"]["ContactID"], "Name": doc["Contact"]["Name"]},
            "Total": doc["Total"], "RemainingCredit": doc["RemainingCredit"]}


def allocate(ctx: Ctx, fl: Flavour, credit_id: str, raw: dict[str, Any]) -> dict[str, Any]:
    credit = ctx.store.get(fl.kind, ctx.tenant, credit_id)
    if credit is None:
        raise not_found()
    invoice = _invoice(ctx, raw)
    noun = fl.noun.lower()
    if credit["Status"] != "AUTHORISED":
        raise Invalid(f"Only AUTHORISED {noun}s with remaining credit can be allocated.")
    if invoice["Status"] != "AUTHORISED":
        raise Invalid("Invoice not of valid status for modification")
    if side(credit) != invoice["Type"]:
        raise Invalid(f"A {credit['Type']} {noun} can only be allocated to {side(credit)} "
                      "invoices.")
    if credit["Contact"]["ContactID"] != invoice["Contact"]["ContactID"]:
        raise Invalid(f"The {noun} and the invoice must be for the same contact.")
    amount, day = posted_amount_and_date(ctx, raw, "allocation")
    if amount > Decimal(credit["RemainingCredit"]):
        raise Invalid(f"The amount allocated exceeds the remaining credit on the {noun}.")
    if amount > Decimal(invoice["AmountDue"]):
        raise Invalid("The amount allocated exceeds the amount due on the invoice.")
    allocation_id = str(uuid.uuid4())
    date_text = xjson.ms_date(day)
    credit["Allocations"].append({"AllocationID": allocation_id, "Amount": amount,
                                  "Date": date_text, "Invoice": reference(INVOICE, invoice)})
    invoice.setdefault(fl.key, []).append({
        fl.id_field: credit[fl.id_field], "AllocationID": allocation_id, "AppliedAmount": amount,
        "Date": date_text, "DateString": xjson.iso_date(day), "Total": credit["Total"],
    })
    invoice["AmountCredited"] = xjson.money(Decimal(invoice["AmountCredited"]) + amount)
    rebalance(ctx, fl, credit)
    rebalance(ctx, INVOICE, invoice)
    return {"AllocationID": allocation_id, "Amount": amount, "Date": date_text,
            "Invoice": reference(INVOICE, invoice), fl.noun: _short(fl, credit),
            "IsDeleted": False}


def delete(ctx: Ctx, fl: Flavour, credit_id: str, allocation_id: str) -> dict[str, Any]:
    """Remove an allocation; 404 when the credit or allocation is unknown."""
    credit, invoice, found = allocations.withdraw(ctx, fl, credit_id, allocation_id)
    return {"AllocationID": allocation_id, "Amount": found["Amount"], "Date": found["Date"],
            "Invoice": reference(INVOICE, invoice), fl.noun: _short(fl, credit),
            "IsDeleted": True}
