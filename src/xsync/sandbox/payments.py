"""Payments against invoices and bills, and cash refunds of credit notes: create (never
edit), delete by ``{"Status": "DELETED"}``.

A payment needs an AUTHORISED invoice (by InvoiceID or InvoiceNumber) or credit note (by
CreditNoteID or CreditNoteNumber: a refund), a BANK account or one with
``EnablePaymentsToAccount`` (by AccountID or Code) and 0 < Amount ≤ what is outstanding (the
invoice's AmountDue, the credit note's RemainingCredit). Creating or deleting one updates the
document's Payments[], balances (AmountPaid and AmountDue; RemainingCredit), status (PAID ↔
AUTHORISED) and UpdatedDateUTC. ``PaymentType`` tells them apart: ACCRECPAYMENT, ACCPAYPAYMENT,
ARCREDITPAYMENT (a sales credit note refunded), APCREDITPAYMENT (a supplier's refund),
AROVERPAYMENTPAYMENT and ARPREPAYMENTPAYMENT (a customer's overpayment or prepayment refunded;
``Overpayment``/``Prepayment`` by id), and their AP twins.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from xsync.sandbox import credits, webhooks, xjson
from xsync.sandbox.context import Ctx
from xsync.sandbox.documents import (
    CREDIT_NOTE,
    INVOICE,
    Flavour,
    lock_message,
    posted_amount_and_date,
    rebalance,
    reference,
)
from xsync.sandbox.problems import Invalid

ONLY_STATUS = "Only Status accepted for updates"


def _invoice(ctx: Ctx, raw: dict[str, Any]) -> dict[str, Any]:
    ref: dict[str, Any] = raw["Invoice"] if isinstance(raw.get("Invoice"), dict) else {}
    invoice_id = ref.get("InvoiceID")
    number = ref.get("InvoiceNumber") or raw.get("InvoiceNumber")
    if invoice_id:
        doc = ctx.store.get("invoices", ctx.tenant, str(invoice_id).lower())
        if doc is None:
            raise Invalid(f"Invoice with InvoiceID {invoice_id} could not be found.")
        return doc
    if number:
        found = ctx.store.find(
            "invoices", ctx.tenant, "number = ? AND status != 'DELETED'", (str(number),)
        )
        if len(found) != 1:
            raise Invalid(
                f"Invoice number {number} could not be found."
                if not found
                else f"Invoice number {number} matches more than one invoice; use InvoiceID."
            )
        return found[0]
    raise Invalid("An Invoice (InvoiceID or InvoiceNumber) must be specified for the payment.")


def _credit_note(ctx: Ctx, ref: dict[str, Any]) -> dict[str, Any]:
    note_id = ref.get("CreditNoteID")
    number = ref.get("CreditNoteNumber")
    if note_id:
        doc = ctx.store.get("creditnotes", ctx.tenant, str(note_id).lower())
        if doc is None:
            raise Invalid(f"Credit note with CreditNoteID {note_id} could not be found.")
        return doc
    found = ctx.store.find("creditnotes", ctx.tenant, "number = ? AND status != 'DELETED'",
                           (str(number or ""),)) if number else []
    if len(found) != 1:
        raise Invalid(f"Credit note number {number} could not be found.")
    return found[0]


def _credit(ctx: Ctx, fl: Flavour, ref: dict[str, Any]) -> dict[str, Any]:
    credit_id = str(ref.get(fl.id_field) or "").lower()
    doc = ctx.store.get(fl.kind, ctx.tenant, credit_id) if credit_id else None
    if doc is None:
        raise Invalid(f"{fl.noun} with {fl.id_field} {credit_id or '(none)'} could not be found.")
    return doc


def _document(ctx: Ctx, raw: dict[str, Any]) -> tuple[Flavour, dict[str, Any]]:
    """What the payment pays: an invoice, or a credit note, overpayment or prepayment
    refunded."""
    if not raw.get("Invoice"):
        if isinstance(raw.get("CreditNote"), dict):
            return CREDIT_NOTE, _credit_note(ctx, raw["CreditNote"])
        for fl in credits.FLAVOURS:
            if isinstance(raw.get(fl.noun), dict):
                return fl, _credit(ctx, fl, raw[fl.noun])
    return INVOICE, _invoice(ctx, raw)


PAYMENT_TYPES = {"ACCREC": "ACCRECPAYMENT", "ACCPAY": "ACCPAYPAYMENT",
                 "ACCRECCREDIT": "ARCREDITPAYMENT", "ACCPAYCREDIT": "APCREDITPAYMENT",
                 "RECEIVE-OVERPAYMENT": "AROVERPAYMENTPAYMENT",
                 "SPEND-OVERPAYMENT": "APOVERPAYMENTPAYMENT",
                 "RECEIVE-PREPAYMENT": "ARPREPAYMENTPAYMENT",
                 "SPEND-PREPAYMENT": "APPREPAYMENTPAYMENT"}


def _account(ctx: Ctx, raw: dict[str, Any]) -> dict[str, Any]:
    ref: dict[str, Any] = raw["Account"] if isinstance(raw.get("Account"), dict) else {}
    account = None
    if ref.get("AccountID"):
        account = ctx.account_by_id(str(ref["AccountID"]))
    elif ref.get("Code") or raw.get("Code"):
        account = ctx.accounts.get(str(ref.get("Code") or raw.get("Code")))
    else:
        raise Invalid("An Account (AccountID or Code) must be specified for the payment.")
    if account is None:
        raise Invalid("The account specified for the payment could not be found.")
    if account["Status"] != "ACTIVE" or not (
        account["Type"] == "BANK" or account.get("EnablePaymentsToAccount")
    ):
        raise Invalid(
            f"Account code '{account['Code']}' is not a bank account and does not have payments "
            "enabled; payments must be made to or from such an account."
        )
    return account


_LINK = {"invoices": "Invoice", "creditnotes": "CreditNote", "overpayments": "Overpayment",
         "prepayments": "Prepayment"}


def _linked(fl: Flavour, doc: dict[str, Any]) -> dict[str, Any]:
    if fl in credits.FLAVOURS:
        return {fl.id_field: doc[fl.id_field], "Type": doc["Type"],
                "Contact": {"ContactID": doc["Contact"]["ContactID"],
                            "Name": doc["Contact"]["Name"]}}
    return reference(fl, doc)


def create(ctx: Ctx, raw: dict[str, Any]) -> dict[str, Any]:
    """Record one payment; raises ``Invalid``."""
    webhooks.changed(ctx)  # a refund moves its credit's balance: its event reads it after
    if raw.get("PaymentID"):
        raise Invalid("Payments cannot be edited; delete the payment and create a new one.")
    flavour, invoice = _document(ctx, raw)
    account = _account(ctx, raw)
    if invoice["Status"] != "AUTHORISED":
        raise Invalid("Payments can only be made against Authorised documents.")
    amount, day = posted_amount_and_date(ctx, raw, "payment")
    outstanding = invoice["AmountDue"] if flavour is INVOICE else invoice["RemainingCredit"]
    if amount > Decimal(outstanding):
        raise Invalid("The payment amount exceeds the amount outstanding on this document.")
    now = ctx.now_ms()
    payment: dict[str, Any] = {
        "PaymentID": str(uuid.uuid4()),
        "Date": xjson.ms_date(day),
        "BankAmount": amount,
        "Amount": amount,
        "Reference": str(raw.get("Reference") or ""),
        "CurrencyRate": Decimal("1.000000"),
        "PaymentType": PAYMENT_TYPES[invoice["Type"]],
        "Status": "AUTHORISED",
        "UpdatedDateUTC": xjson.ms_timestamp(now),
        "UpdatedDateUTCString": xjson.iso_timestamp(now),
        "HasAccount": True,
        "IsReconciled": bool(raw.get("IsReconciled", False)),
        "Account": {
            "AccountID": account["AccountID"],
            "Code": account["Code"],
            "Name": account["Name"],
        },
        _LINK[flavour.kind]: _linked(flavour, invoice),
        "HasValidationErrors": False,
    }
    ctx.store.put("payments", ctx.tenant, payment, now)
    invoice["Payments"].append(
        {
            "PaymentID": payment["PaymentID"],
            "Date": payment["Date"],
            "Amount": amount,
            "Reference": payment["Reference"],
            "CurrencyRate": payment["CurrencyRate"],
            "HasAccount": False,
            "HasValidationErrors": False,
        }
    )
    if flavour is INVOICE:
        invoice["AmountPaid"] = xjson.money(Decimal(invoice["AmountPaid"]) + amount)
    rebalance(ctx, flavour, invoice)
    return payment


def delete(ctx: Ctx, payment_id: str, raw: Any) -> dict[str, Any]:
    """Delete a payment: the body must be exactly ``{"Status": "DELETED"}``; raises ``Invalid``."""
    webhooks.changed(ctx)
    if (
        isinstance(raw, dict)
        and isinstance(raw.get("Payments"), list)
        and len(raw["Payments"]) == 1
    ):
        raw = raw["Payments"][0]
    if not isinstance(raw, dict) or set(raw) - {"Status"}:
        raise Invalid(ONLY_STATUS)
    if raw.get("Status") != "DELETED":
        raise Invalid("Payments can only be updated to a Status of DELETED.")
    payment = ctx.store.get("payments", ctx.tenant, payment_id)
    if payment is None:
        raise Invalid(f"Payment {payment_id} could not be found.")
    if payment["Status"] == "DELETED":
        raise Invalid("This payment has already been deleted.")
    lock = ctx.period_lock()
    day = xjson.stored_date(payment["Date"])
    if lock and day and day <= lock:
        raise Invalid(lock_message(lock))
    now = ctx.now_ms()
    payment["Status"] = "DELETED"
    payment["UpdatedDateUTC"] = xjson.ms_timestamp(now)
    payment["UpdatedDateUTCString"] = xjson.iso_timestamp(now)
    ctx.store.put("payments", ctx.tenant, payment, now)
    for fl in (CREDIT_NOTE, *credits.FLAVOURS):
        if _LINK[fl.kind] in payment:
            note = ctx.store.get(fl.kind, ctx.tenant, payment[_LINK[fl.kind]][fl.id_field])
            if note is not None:
                note["Payments"] = [p for p in note["Payments"] if p["PaymentID"] != payment_id]
                rebalance(ctx, fl, note)
            return payment
    invoice = ctx.store.get("invoices", ctx.tenant, payment["Invoice"]["InvoiceID"])
    if invoice is not None:
        invoice["Payments"] = [p for p in invoice["Payments"] if p["PaymentID"] != payment_id]
        invoice["AmountPaid"] = xjson.money(
            Decimal(invoice["AmountPaid"]) - Decimal(payment["Amount"])
        )
        rebalance(ctx, INVOICE, invoice)
    return payment
