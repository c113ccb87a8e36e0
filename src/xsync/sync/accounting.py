"""Xero's accounting rules, as the engine must respect them before it writes.

- PAID, VOIDED and DELETED documents cannot be edited, nor can an approved one with a payment or
  credit applied: an ops edit of such a document becomes a conflict that says why.
- DELETED is reachable only from draft; VOIDED only from approved with nothing applied. An ops
  delete of an approved document therefore voids it, and a delete or void of a document with
  money applied is a conflict.
- ``paid`` is set by Xero when payments cover the total; ops cannot set it.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from xsync.model.records import Fields

DOCUMENTS = frozenset({"invoices", "bills"})
TERMINAL = frozenset({"deleted", "void"})


def _amount(value: str | None) -> Decimal:
    try:
        return Decimal(value or "0")
    except InvalidOperation:
        return Decimal(0)


def money_applied(fields: Fields) -> bool:
    return _amount(fields.get("amount_paid")) != 0 or _amount(fields.get("amount_credited")) != 0


def locked_reason(entity: str, label: str, fields: Fields) -> str | None:
    """Why Xero will refuse any edit of this document, or ``None`` when it accepts edits."""
    if entity not in DOCUMENTS:
        return None
    status = fields.get("status")
    noun = "invoice" if entity == "invoices" else "bill"
    if status == "paid":
        return f"{noun} {label} is paid in Xero, and Xero does not allow editing paid documents"
    if status in TERMINAL:
        word = "voided" if status == "void" else "deleted"
        return f"{noun} {label} is {word} in Xero, and cannot be edited"
    if status == "approved" and money_applied(fields):
        return (f"{noun} {label} has a payment or credit applied in Xero; remove it there "
                "before editing")
    return None


def status_write(entity: str, label: str, xero: Fields, wanted: str | None
                 ) -> tuple[str, str | None, str | None]:
    """How to move a Xero document from its status to ``wanted``.

    Returns (action, status both sides end with, conflict reason): action is "update",
    "delete", "void" or "conflict".
    """
    current = xero.get("status")
    noun = "invoice" if entity == "invoices" else "bill"
    if entity not in DOCUMENTS:
        return "update", wanted, None
    if wanted in TERMINAL:
        if current == "draft":
            return "delete", "deleted", None
        if current == "approved" and not money_applied(xero):
            return "void", "void", None
        return ("conflict", None,
                f"{noun} {label} is {current} in Xero with money applied; it cannot be "
                f"{'deleted' if wanted == 'deleted' else 'voided'} until that is removed")
    if wanted == "paid":
        return ("conflict", None,
                f"{noun} {label}: Xero sets paid itself when payments cover the total")
    if wanted == "draft" and current != "draft":
        return ("conflict", None,
                f"{noun} {label} is {current} in Xero, which cannot return it to draft")
    return "update", wanted, None
