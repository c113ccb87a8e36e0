"""What counts as an ops edit of a credit or an allocation that is in Xero (refused, since Xero
cannot change one), and what a deposit becomes on the wire."""

from __future__ import annotations

from decimal import Decimal

from xsync.model.entities import spec
from xsync.sides.xero_map import deposit_out
from xsync.sync.deposits import edited

BASE = {"fields": {"kind": "prepayment", "contact_id": "C-1", "date": "2026-11-20",
                   "reference": "Deposit", "total": "500.00", "remaining": "500.00",
                   "status": "approved", "bank_account": "090", "account_code": "200"}}
XERO = {k: v for k, v in BASE["fields"].items() if k not in ("bank_account", "account_code")}


def test_xeros_own_values_and_xeros_changes_are_not_ops_edits() -> None:
    ops = {**BASE["fields"], "remaining": "0.00", "status": "paid"}
    assert edited(spec("credits"), BASE, ops, XERO, "CR-1") is None
    # Xero moved the contact (merged there): Xero's change, not the platform's
    assert edited(spec("credits"), BASE, BASE["fields"], {**XERO, "contact_id": "C-2"},
                  "CR-1") is None
    # ops already holds what Xero holds
    assert edited(spec("credits"), BASE, {**BASE["fields"], "contact_id": "C-2"},
                  {**XERO, "contact_id": "C-2"}, "CR-1") is None


def test_an_ops_edit_names_each_field_and_the_value_to_put_back() -> None:
    ops = {**BASE["fields"], "total": "600.00", "account_code": "260"}
    said = edited(spec("credits"), BASE, ops, XERO, "CR-1")
    assert said is not None and said.startswith(
        "deposit CR-1: total and account_code changed in ops")
    assert "put it back (total = '500.00', account_code = '200')" in said


def test_accounts_a_credit_was_never_created_with_are_not_compared() -> None:
    pulled = {"fields": XERO}
    ops = {**XERO, "bank_account": "090"}
    assert edited(spec("credits"), pulled, ops, XERO, "CR-9") is None


def test_an_allocation_taken_back_in_ops_is_an_edit() -> None:
    base = {"fields": {"kind": "prepayment", "credit_note_id": None, "credit_id": "CR-1",
                       "invoice_id": "J-1", "amount": "100.00", "date": "2026-11-24",
                       "status": "applied"}}
    said = edited(spec("allocations"), base, {**base["fields"], "status": "deleted"},
                  base["fields"], "AL-1")
    assert said is not None and "put it back (status = 'applied')" in said


def test_a_deposit_is_receive_money_of_one_line_tax_included() -> None:
    element = deposit_out({**BASE["fields"], "contact_id": "x-contact", "tax_type": None})
    assert element == {
        "Type": "RECEIVE-PREPAYMENT", "Contact": {"ContactID": "x-contact"},
        "BankAccount": {"Code": "090"}, "Date": "2026-11-20", "LineAmountTypes": "Inclusive",
        "Reference": "Deposit",
        "LineItems": [{"Description": "Deposit", "Quantity": Decimal(1),
                       "UnitAmount": Decimal("500.00"), "AccountCode": "200"}]}
