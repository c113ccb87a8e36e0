"""A credit note refunded in cash: a payment against it, as Xero takes one, and its deletion."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from api_helpers import Client


def _note(client: Client, contact_id: str, amount: str = "110.00") -> dict[str, Any]:
    res = client.put("/CreditNotes", {"CreditNotes": [{
        "Type": "ACCRECCREDIT", "Contact": {"ContactID": contact_id}, "Status": "AUTHORISED",
        "LineAmountTypes": "Inclusive", "Date": "2026-03-10",
        "LineItems": [{"Description": "Refund", "Quantity": 1, "UnitAmount": amount,
                       "AccountCode": "200", "TaxType": "OUTPUT"}]}]})
    assert res.status == 200, res.raw
    return res.json["CreditNotes"][0]


def _refund(client: Client, note_id: str, amount: str):  # type: ignore[no-untyped-def]
    return client.put("/Payments", {"Payments": [{
        "CreditNote": {"CreditNoteID": note_id}, "Account": {"Code": "090"},
        "Amount": amount, "Date": "2026-03-12"}]})


def test_a_refund_lowers_the_remaining_credit_and_its_deletion_restores_it(
        client: Client) -> None:
    note = _note(client, client.contact()["ContactID"])
    part = _refund(client, note["CreditNoteID"], "10.00")
    assert part.status == 200, part.raw
    payment = part.json["Payments"][0]
    assert payment["PaymentType"] == "ARCREDITPAYMENT"
    assert payment["CreditNote"]["CreditNoteID"] == note["CreditNoteID"]
    got = client.get(f"/CreditNotes/{note['CreditNoteID']}").json["CreditNotes"][0]
    assert got["RemainingCredit"] == Decimal("100.00") and got["Status"] == "AUTHORISED"
    rest = _refund(client, note["CreditNoteID"], "100.00")
    assert rest.status == 200
    got = client.get(f"/CreditNotes/{note['CreditNoteID']}").json["CreditNotes"][0]
    assert got["RemainingCredit"] == Decimal("0.00") and got["Status"] == "PAID"
    too_much = _refund(client, note["CreditNoteID"], "1.00")
    assert too_much.status == 400

    deleted = client.post(f"/Payments/{payment['PaymentID']}", {"Status": "DELETED"})
    assert deleted.status == 200, deleted.raw
    got = client.get(f"/CreditNotes/{note['CreditNoteID']}").json["CreditNotes"][0]
    assert got["RemainingCredit"] == Decimal("10.00") and got["Status"] == "AUTHORISED"
