"""Credit note allocations: apply credit to invoices of the same side and contact, and undo it.

An allocation needs an AUTHORISED credit note and invoice, ``0 < Amount ≤ RemainingCredit`` and
``≤ AmountDue``. It updates the credit note (``Allocations[]``, RemainingCredit, PAID at zero) and
the invoice (``CreditNotes[]``, AmountCredited, AmountDue, PAID at zero). Deleting an allocation
restores both and answers the allocation with ``IsDeleted: true``.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from xsync.sandbox import webhooks, xjson
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
from xsync.sandbox.problems import Invalid, not_found

_SIDE = {"ACCRECCREDIT": "ACCREC", "ACCPAYCREDIT": "ACCPAY"}


def _invoice(ctx: Ctx, raw: dict[str, Any]) -> dict[str, Any]:
    ref: dict[str, Any] = raw["Invoice"] if isinstance(raw.get("Invoice"), dict) else {}
    if ref.get("InvoiceID"):
        doc = ctx.store.get("invoices", ctx.tenant, str(ref["InvoiceID"]).lower())
    elif ref.get("InvoiceNumber"):
        found = ctx.store.find(
            "invoices",
            ctx.tenant,
            "number = ? AND status != 'DELETED'",
            (str(ref["InvoiceNumber"]),),
        )
        doc = found[0] if len(found) == 1 else None
    else:
        raise Invalid("An Invoice (InvoiceID) must be specified for the allocation.")
    if doc is None:
        raise Invalid("The invoice specified for the allocation could not be found.")
    return doc


def allocate(ctx: Ctx, credit_note_id: str, raw: dict[str, Any]) -> dict[str, Any]:
    webhooks.changed(ctx)
    note = ctx.store.get("creditnotes", ctx.tenant, credit_note_id)
    if note is None:
        raise not_found()
    invoice = _invoice(ctx, raw)
    if note["Status"] != "AUTHORISED":
        raise Invalid("Only AUTHORISED credit notes with remaining credit can be allocated.")
    if invoice["Status"] != "AUTHORISED":
        raise Invalid("Invoice not of valid status for modification")
    if _SIDE[note["Type"]] != invoice["Type"]:
        raise Invalid(
            f"A {note['Type']} credit note can only be allocated to {_SIDE[note['Type']]} invoices."
        )
    if note["Contact"]["ContactID"] != invoice["Contact"]["ContactID"]:
        raise Invalid("The credit note and the invoice must be for the same contact.")
    amount, day = posted_amount_and_date(ctx, raw, "allocation")
    if amount > Decimal(note["RemainingCredit"]):
        raise Invalid("The amount allocated exceeds the remaining credit on the credit note.")
    if amount > Decimal(invoice["AmountDue"]):
        raise Invalid("The amount allocated exceeds the amount due on the invoice.")
    allocation_id = str(uuid.uuid4())
    date_text = xjson.ms_date(day)
    note["Allocations"].append(
        {
            "AllocationID": allocation_id,
            "Amount": amount,
            "Date": date_text,
            "Invoice": reference(INVOICE, invoice),
        }
    )
    invoice["CreditNotes"].append(
        {
            "CreditNoteID": note["CreditNoteID"],
            "CreditNoteNumber": note.get("CreditNoteNumber", ""),
            "AllocationID": allocation_id,
            "AppliedAmount": amount,
            "Date": date_text,
            "DateString": xjson.iso_date(day),
            "Total": note["Total"],
            "HasErrors": False,
        }
    )
    invoice["AmountCredited"] = xjson.money(Decimal(invoice["AmountCredited"]) + amount)
    rebalance(ctx, CREDIT_NOTE, note)
    rebalance(ctx, INVOICE, invoice)
    return _answer(note, invoice, allocation_id, amount, date_text, deleted=False)


def _answer(
    note: dict[str, Any],
    invoice: dict[str, Any],
    allocation_id: str,
    amount: Any,
    date_text: str,
    *,
    deleted: bool,
) -> dict[str, Any]:
    return {
        "AllocationID": allocation_id,
        "Amount": amount,
        "Date": date_text,
        "Invoice": reference(INVOICE, invoice),
        "CreditNote": reference(CREDIT_NOTE, note),
        "IsDeleted": deleted,
    }


def withdraw(ctx: Ctx, fl: Flavour, credit_id: str,
             allocation_id: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Remove one allocation of a credit (a credit note, an overpayment or a prepayment, as
    ``fl`` says) from the credit and its invoice, and restore both balances; (credit, invoice,
    the allocation removed). 404 when the credit or allocation is unknown; refused in a locked
    period."""
    webhooks.changed(ctx)
    credit = ctx.store.get(fl.kind, ctx.tenant, credit_id)
    if credit is None:
        raise not_found()
    found = next((a for a in credit["Allocations"] if a["AllocationID"] == allocation_id), None)
    if found is None:
        raise not_found()
    lock = ctx.period_lock()
    day = xjson.stored_date(found["Date"])
    if lock and day and day <= lock:
        raise Invalid(lock_message(lock))
    credit["Allocations"] = [a for a in credit["Allocations"]
                             if a["AllocationID"] != allocation_id]
    invoice = ctx.store.get("invoices", ctx.tenant, found["Invoice"]["InvoiceID"])
    if invoice is None:
        raise not_found()
    invoice[fl.key] = [c for c in invoice.get(fl.key, [])
                       if c.get("AllocationID") != allocation_id]
    invoice["AmountCredited"] = xjson.money(
        Decimal(invoice["AmountCredited"]) - Decimal(found["Amount"]))
    rebalance(ctx, fl, credit)
    rebalance(ctx, INVOICE, invoice)
    return credit, invoice, found


def delete(ctx: Ctx, credit_note_id: str, allocation_id: str) -> dict[str, Any]:
    """Remove an allocation; 404 when the note or allocation is unknown."""
    note, invoice, found = withdraw(ctx, CREDIT_NOTE, credit_note_id, allocation_id)
    return _answer(note, invoice, allocation_id, found["Amount"], found["Date"], deleted=True)
