"""What the sandbox refuses of a deposit made as a prepayment, and of its allocation, as Xero
does: receive money of type RECEIVE-PREPAYMENT needs a contact, a bank account that is one, and
lines on an account; an allocation needs an approved invoice of the same customer and no more
than the credit has left or the invoice owes; a PUT replayed with its idempotency key makes
nothing twice."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from api_helpers import Client


def _deposit(contact_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "Type": "RECEIVE-PREPAYMENT", "Contact": {"ContactID": contact_id},
        "BankAccount": {"Code": "090"}, "Date": "2026-03-05", "Reference": "Deposit",
        "LineAmountTypes": "Inclusive",
        "LineItems": [{"Description": "Deposit", "Quantity": 1, "UnitAmount": "550.00",
                       "AccountCode": "200", "TaxType": "OUTPUT"}],
        **fields,
    }


def _put(client: Client, body: dict[str, Any], **headers: str) -> Any:
    return client.put("/BankTransactions", {"BankTransactions": [body]}, headers=headers or None,
                      summarizeErrors="false")


def _messages(res: Any) -> list[str]:
    return [m["Message"] for item in res.json.get("BankTransactions") or
            res.json.get("Allocations") or [] for m in item.get("ValidationErrors") or []]


def test_a_deposit_is_refused_without_what_xero_needs(client: Client) -> None:
    contact = client.contact()["ContactID"]
    cases = [
        (_deposit(contact, BankAccount=None), "A BankAccount (AccountID or Code) must be"),
        (_deposit(contact, BankAccount={"Code": "200"}), "must be an active bank account"),
        (_deposit(contact, Contact=None), "A Contact must be specified"),
        (_deposit(contact, LineItems=[]), "at least one line item"),
        (_deposit(contact, LineItems=[{"Description": "Deposit", "UnitAmount": "10.00"}]),
         "Account code '' is not a valid code"),
        (_deposit(contact, LineItems=[{"Description": "Deposit", "UnitAmount": "10.00",
                                       "AccountCode": "090"}]), "not a valid code"),
    ]
    for body, message in cases:
        res = _put(client, body)
        assert any(message in m for m in _messages(res)), (message, res.raw)
    assert client.get("/Prepayments").json["Prepayments"] == []


def test_a_deposit_replayed_with_its_key_makes_one_prepayment(client: Client) -> None:
    contact = client.contact()["ContactID"]
    first = _put(client, _deposit(contact), **{"Idempotency-Key": "deposit-1"})
    again = _put(client, _deposit(contact), **{"Idempotency-Key": "deposit-1"})
    assert first.status == again.status == 200
    made = first.json["BankTransactions"][0]
    assert again.json["BankTransactions"][0]["PrepaymentID"] == made["PrepaymentID"]
    [prepayment] = client.get("/Prepayments").json["Prepayments"]
    assert (prepayment["PrepaymentID"], prepayment["Total"], prepayment["RemainingCredit"]) == (
        made["PrepaymentID"], Decimal("550.00"), Decimal("550.00"))


def test_an_allocation_of_a_deposit_is_refused_where_xero_refuses_it(client: Client) -> None:
    contact = client.contact()["ContactID"]
    other = client.contact("Other Customer")["ContactID"]
    pre = _put(client, _deposit(contact)).json["BankTransactions"][0]["PrepaymentID"]
    draft = client.invoice(contact, status="DRAFT")
    theirs = client.invoice(other)
    owing = client.invoice(contact)  # 100.00 + GST = 110.00

    def allocate(invoice: dict[str, Any], amount: str) -> Any:
        return client.put(f"/Prepayments/{pre}/Allocations", {"Allocations": [{
            "Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Amount": amount,
            "Date": "2026-03-06"}]}, summarizeErrors="false")

    cases = [
        (allocate(draft, "10.00"), "not of valid status"),
        (allocate(theirs, "10.00"), "same contact"),
        (allocate(owing, "120.00"), "exceeds the amount due"),
        (allocate(owing, "0"), "greater than zero"),
    ]
    for res, message in cases:
        assert any(message in m for m in _messages(res)), (message, res.raw)
    assert allocate(owing, "110.00").status == 200
    more = client.invoice(contact, lines=[{"Description": "Big job", "Quantity": 1,
                                            "UnitAmount": "1000.00", "AccountCode": "200"}])
    res = allocate(more, "500.00")
    assert any("exceeds the remaining credit" in m for m in _messages(res)), res.raw
    got = client.get(f"/Prepayments/{pre}").json["Prepayments"][0]
    assert got["RemainingCredit"] == Decimal("440.00") and len(got["Allocations"]) == 1
