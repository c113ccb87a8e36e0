"""A deposit the ops platform records, and its allocation to an invoice, are requests Xero's own
OpenAPI document accepts: the prepayment is made by `PUT /BankTransactions`, applied by
`PUT /Prepayments/{id}/Allocations`, and read back by a `where` on its id."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prism_harness import Prism
from test_prism_spec import CONTACT, INVOICE, Harness

from xsync.model.side import Change

PREPAYMENT = "aea95d78-ea48-456b-9b08-6bc012600072"


@pytest.fixture
def xero(prism: Prism) -> Iterator[Harness]:
    harness = Harness(prism)
    yield harness
    harness.client.close()


def test_a_deposit_its_allocation_and_their_read_back_are_valid_requests(xero: Harness) -> None:
    deposit = Change(key="credits:CR-1::xero", action="create", id=None, fields={
        "kind": "prepayment", "contact_id": CONTACT, "date": "2024-05-01",
        "reference": "Deposit, kitchen", "total": "1100.00", "bank_account": "090",
        "account_code": "200", "tax_type": "OUTPUT"}, idempotency_key="outbox-credits-create")
    allocation = Change(key="allocations:AL-1::xero", action="create", id=None, fields={
        "kind": "prepayment", "credit_note_id": None, "credit_id": PREPAYMENT,
        "invoice_id": INVOICE, "amount": "800.00", "date": "2024-05-02", "status": "applied"},
        idempotency_key="outbox-allocations-create")
    xero.drive(lambda: xero.side.write("credits", [deposit]))
    xero.drive(lambda: xero.side.write("allocations", [allocation]))
    xero.drive(lambda: xero.side.fetch("credits", [PREPAYMENT]))
    puts = [e for e in xero.recorder.exchanges if e.method == "PUT"]
    assert [e.path.rsplit("/2.0", 1)[-1] for e in puts] == [
        "/BankTransactions", f"/Prepayments/{PREPAYMENT}/Allocations"]
    assert all("idempotency-key" in e.headers for e in puts)
    # the body check finds an operation by its path as the document writes it
    puts[1].path = "/Prepayments/{PrepaymentID}/Allocations"
    xero.assert_accepted()
    [bank] = puts[0].body["BankTransactions"]
    assert (bank["Type"], bank["BankAccount"], bank["LineItems"][0]["AccountCode"]) == (
        "RECEIVE-PREPAYMENT", {"Code": "090"}, "200")
