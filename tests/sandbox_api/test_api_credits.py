"""Overpayments and prepayments: made by RECEIVE-OVERPAYMENT / RECEIVE-PREPAYMENT bank
transactions, listed with paging and If-Modified-Since, allocated to invoices and refunded."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from api_helpers import Client

from xsync.sandbox.clock import Clock


def _received(client: Client, contact_id: str, typ: str, amount: str = "300.00",
              date: str = "2026-03-05") -> dict[str, Any]:
    res = client.put("/BankTransactions", {"BankTransactions": [{
        "Type": typ, "Contact": {"ContactID": contact_id}, "BankAccount": {"Code": "090"},
        "Date": date, "LineAmountTypes": "NoTax",
        "LineItems": [{"Description": "Money received", "Quantity": 1, "UnitAmount": amount,
                       "AccountCode": "200"}]}]})
    assert res.status == 200, res.raw
    return res.json["BankTransactions"][0]


def _credit(client: Client, key: str, credit_id: str) -> dict[str, Any]:
    got = client.get(f"/{key}/{credit_id}")
    assert got.status == 200, got.raw
    return got.json[key][0]


def test_a_receive_overpayment_makes_an_overpayment_allocated_to_an_invoice(
        client: Client) -> None:
    contact = client.contact()["ContactID"]
    invoice = client.invoice(contact)  # 100.00 + GST = 110.00
    bank = _received(client, contact, "RECEIVE-OVERPAYMENT")
    over = _credit(client, "Overpayments", bank["OverpaymentID"])
    assert (over["Type"], over["Status"], over["Total"], over["RemainingCredit"]) == (
        "RECEIVE-OVERPAYMENT", "AUTHORISED", Decimal("300.00"), Decimal("300.00"))
    assert over["Contact"]["ContactID"] == contact

    put = client.put(f"/Overpayments/{over['OverpaymentID']}/Allocations", {"Allocations": [{
        "Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Amount": "110.00",
        "Date": "2026-03-06"}]})
    assert put.status == 200, put.raw
    allocation = put.json["Allocations"][0]
    got = client.get(f"/Invoices/{invoice['InvoiceID']}").json["Invoices"][0]
    assert (got["Status"], got["AmountDue"], got["AmountCredited"]) == (
        "PAID", Decimal("0.00"), Decimal("110.00"))
    assert got["Overpayments"][0]["OverpaymentID"] == over["OverpaymentID"]
    over = _credit(client, "Overpayments", over["OverpaymentID"])
    assert over["RemainingCredit"] == Decimal("190.00")
    too_much = client.put(f"/Overpayments/{over['OverpaymentID']}/Allocations", {
        "Allocations": [{"Invoice": {"InvoiceID": client.invoice(contact)["InvoiceID"]},
                         "Amount": "200.00", "Date": "2026-03-06"}]})
    assert too_much.status == 400

    undone = client.delete(
        f"/Overpayments/{over['OverpaymentID']}/Allocations/{allocation['AllocationID']}")
    assert undone.status == 200 and undone.json["IsDeleted"] is True
    got = client.get(f"/Invoices/{invoice['InvoiceID']}").json["Invoices"][0]
    assert (got["Status"], got["AmountDue"]) == ("AUTHORISED", Decimal("110.00"))
    # the bank transaction that made it cannot be edited
    edit = client.post(f"/BankTransactions/{bank['BankTransactionID']}", {"Reference": "x"})
    assert edit.status == 400


def test_a_prepayment_refunded_in_cash_and_the_refund_deleted(client: Client) -> None:
    contact = client.contact()["ContactID"]
    bank = _received(client, contact, "RECEIVE-PREPAYMENT", "500.00")
    pre_id = bank["PrepaymentID"]
    refund = client.put("/Payments", {"Payments": [{
        "Prepayment": {"PrepaymentID": pre_id}, "Account": {"Code": "090"},
        "Amount": "500.00", "Date": "2026-03-07"}]})
    assert refund.status == 200, refund.raw
    payment = refund.json["Payments"][0]
    assert payment["PaymentType"] == "ARPREPAYMENTPAYMENT"
    assert payment["Prepayment"]["PrepaymentID"] == pre_id
    pre = _credit(client, "Prepayments", pre_id)
    assert (pre["Status"], pre["RemainingCredit"]) == ("PAID", Decimal("0.00"))
    deleted = client.post(f"/Payments/{payment['PaymentID']}", {"Status": "DELETED"})
    assert deleted.status == 200, deleted.raw
    pre = _credit(client, "Prepayments", pre_id)
    assert (pre["Status"], pre["RemainingCredit"]) == ("AUTHORISED", Decimal("500.00"))


def test_lists_page_and_honour_if_modified_since(client: Client, clock: Clock) -> None:
    contact = client.contact()["ContactID"]
    first = _received(client, contact, "RECEIVE-OVERPAYMENT")
    clock.advance(3600)
    _received(client, contact, "RECEIVE-OVERPAYMENT")
    _received(client, contact, "RECEIVE-PREPAYMENT")
    listed = client.get("/Overpayments", page=1)
    assert listed.status == 200
    assert len(listed.json["Overpayments"]) == 2 and listed.json["pagination"]["page"] == 1
    assert listed.json["Overpayments"][0]["OverpaymentID"] == first["OverpaymentID"]
    since = client.get("/Overpayments", {"If-Modified-Since": "2026-03-15T01:30:00"}, page=1)
    later = [o["OverpaymentID"] for o in since.json["Overpayments"]]
    assert first["OverpaymentID"] not in later and len(later) == 1
    assert len(client.get("/Prepayments", page=1).json["Prepayments"]) == 1
    wrong = client.put("/Overpayments", {"Overpayments": []})
    assert wrong.status == 405
