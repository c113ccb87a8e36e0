"""Webhooks for the money that is not an invoice's: an overpayment or prepayment made, allocated,
refunded; a credit note allocated and the allocation taken back. Each change is a signed delivery
naming the credit (category OVERPAYMENT, PREPAYMENT or CREDITNOTE, with Xero's resource URL) and
the invoices whose amounts due it moved."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from test_sandbox_webhooks import KEY, Receiver, good_signature

from xsync.sandbox.app import Sandbox

API = "/api.xro/2.0"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def hooked(api: httpx.Client, sandbox: Sandbox, receiver: Receiver) -> httpx.Client:
    sandbox.add_webhook(receiver.url, KEY)
    return api


def owing_invoice(api: httpx.Client) -> dict[str, Any]:
    """An authorised sales invoice with at least 50 owing."""
    invoices = api.get(f"{API}/Invoices", params={"Statuses": "AUTHORISED"}).json()["Invoices"]
    return next(i for i in invoices if i["Type"] == "ACCREC" and i["AmountDue"] >= 50)


def received(api: httpx.Client, contact_id: str, typ: str, amount: str = "80.00") -> str:
    reply = api.put(f"{API}/BankTransactions", json={"BankTransactions": [{
        "Type": typ, "Contact": {"ContactID": contact_id}, "BankAccount": {"Code": "090"},
        "Date": "2026-11-24", "LineAmountTypes": "NoTax",
        "LineItems": [{"Description": "Money received", "Quantity": 1, "UnitAmount": amount,
                       "AccountCode": "200"}]}]})
    assert reply.status_code == 200, reply.text
    bank = reply.json()["BankTransactions"][0]
    return str(bank.get("OverpaymentID") or bank.get("PrepaymentID") or "")


def delivered(sandbox: Sandbox, receiver: Receiver) -> list[dict[str, Any]]:
    """The events delivered since the last look, each payload checked to be signed."""
    assert sandbox.webhooks_out.flush(5)
    for headers, body, status in receiver.posts:
        if json.loads(body)["events"]:  # not the intent to receive's mis-signed copies
            assert status == 200 and headers["x-xero-signature"] == good_signature(body)
    events = receiver.events()
    receiver.posts.clear()
    return events


def seen(events: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(e["eventCategory"], e["eventType"], e["resourceId"]) for e in events]


@pytest.mark.parametrize(("typ", "category", "collection"), [
    ("RECEIVE-PREPAYMENT", "PREPAYMENT", "Prepayments"),
    ("RECEIVE-OVERPAYMENT", "OVERPAYMENT", "Overpayments"),
])
def test_a_credit_received_allocated_and_refunded_is_an_event_each_time(
        hooked: httpx.Client, sandbox: Sandbox, receiver: Receiver, tenant: str, typ: str,
        category: str, collection: str) -> None:
    api = hooked
    invoice = owing_invoice(api)
    credit_id = received(api, invoice["Contact"]["ContactID"], typ)
    (made,) = delivered(sandbox, receiver)
    assert seen([made]) == [(category, "CREATE", credit_id)]
    assert made["resourceUrl"] == f"http://sandbox.test{API}/{collection}/{credit_id}"
    assert (made["tenantId"], made["tenantType"]) == (tenant, "ORGANISATION")
    assert "data" not in made

    put = api.put(f"{API}/{collection}/{credit_id}/Allocations", json={"Allocations": [{
        "Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Amount": 30, "Date": "2026-11-24"}]})
    assert put.status_code == 200, put.text
    assert seen(delivered(sandbox, receiver)) == [
        (category, "UPDATE", credit_id), ("INVOICE", "UPDATE", invoice["InvoiceID"])]

    allocation = put.json()["Allocations"][0]["AllocationID"]
    undone = api.delete(f"{API}/{collection}/{credit_id}/Allocations/{allocation}")
    assert undone.status_code == 200, undone.text
    assert seen(delivered(sandbox, receiver)) == [
        (category, "UPDATE", credit_id), ("INVOICE", "UPDATE", invoice["InvoiceID"])]

    noun = collection[:-1]
    refund = api.put(f"{API}/Payments", json={"Payments": [{
        noun: {f"{noun}ID": credit_id}, "Account": {"Code": "090"}, "Date": "2026-11-24",
        "Amount": 80}]})
    assert refund.status_code == 200, refund.text
    assert seen(delivered(sandbox, receiver)) == [(category, "UPDATE", credit_id)]
    payment_id = refund.json()["Payments"][0]["PaymentID"]
    assert api.post(f"{API}/Payments/{payment_id}",
                    json={"Status": "DELETED"}).status_code == 200
    assert seen(delivered(sandbox, receiver)) == [(category, "UPDATE", credit_id)]


def test_a_supplier_prepayment_and_plain_bank_transactions(
        hooked: httpx.Client, sandbox: Sandbox, receiver: Receiver) -> None:
    api = hooked
    contact = api.get(f"{API}/Contacts").json()["Contacts"][0]["ContactID"]
    spent = received(api, contact, "SPEND-PREPAYMENT")
    assert seen(delivered(sandbox, receiver)) == [("PREPAYMENT", "CREATE", spent)]
    received(api, contact, "RECEIVE")  # money received that is no credit: no webhook
    assert delivered(sandbox, receiver) == []


def test_a_refused_allocation_raises_nothing(hooked: httpx.Client, sandbox: Sandbox,
                                            receiver: Receiver) -> None:
    api = hooked
    invoice = owing_invoice(api)
    credit_id = received(api, invoice["Contact"]["ContactID"], "RECEIVE-PREPAYMENT", "10.00")
    delivered(sandbox, receiver)
    too_much = api.put(f"{API}/Prepayments/{credit_id}/Allocations", json={"Allocations": [{
        "Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Amount": 20, "Date": "2026-11-24"}]})
    assert too_much.status_code == 400
    assert delivered(sandbox, receiver) == []


def test_a_credit_note_allocated_across_invoices_and_taken_back(
        hooked: httpx.Client, sandbox: Sandbox, receiver: Receiver) -> None:
    api = hooked
    invoices = api.get(f"{API}/Invoices", params={"Statuses": "AUTHORISED"}).json()["Invoices"]
    by_contact: dict[str, list[dict[str, Any]]] = {}
    for i in invoices:
        if i["Type"] == "ACCREC" and i["AmountDue"] >= 20:
            by_contact.setdefault(i["Contact"]["ContactID"], []).append(i)
    contact, (a, b) = next((c, found[:2]) for c, found in by_contact.items() if len(found) >= 2)
    note = api.put(f"{API}/CreditNotes", json={"CreditNotes": [{
        "Type": "ACCRECCREDIT", "Contact": {"ContactID": contact}, "Date": "2026-11-24",
        "Status": "AUTHORISED", "LineAmountTypes": "NoTax",
        "LineItems": [{"Description": "Overcharge", "Quantity": 1, "UnitAmount": 30,
                       "AccountCode": "200"}]}]}).json()["CreditNotes"][0]
    note_id = note["CreditNoteID"]
    (made,) = delivered(sandbox, receiver)
    assert made["data"] == {"Type": "ACCRECCREDIT", "Status": "AUTHORISED"}

    # one call, two invoices: the note once, each invoice once; the note is used up: PAID
    put = api.put(f"{API}/CreditNotes/{note_id}/Allocations", json={"Allocations": [
        {"Invoice": {"InvoiceID": a["InvoiceID"]}, "Amount": 10, "Date": "2026-11-24"},
        {"Invoice": {"InvoiceID": b["InvoiceID"]}, "Amount": 20, "Date": "2026-11-24"}]})
    assert put.status_code == 200, put.text
    events = delivered(sandbox, receiver)
    assert seen(events) == [("CREDITNOTE", "UPDATE", note_id),
                            ("INVOICE", "UPDATE", a["InvoiceID"]),
                            ("INVOICE", "UPDATE", b["InvoiceID"])]
    assert events[0]["data"] == {"Type": "ACCRECCREDIT", "Status": "PAID"}
    assert events[0]["resourceUrl"].endswith(f"{API}/CreditNotes/{note_id}")

    allocation = put.json()["Allocations"][1]["AllocationID"]
    undone = api.delete(f"{API}/CreditNotes/{note_id}/Allocations/{allocation}")
    assert undone.status_code == 200, undone.text
    events = delivered(sandbox, receiver)
    assert seen(events) == [("CREDITNOTE", "UPDATE", note_id),
                            ("INVOICE", "UPDATE", b["InvoiceID"])]
    assert events[0]["data"] == {"Type": "ACCRECCREDIT", "Status": "AUTHORISED"}

    # the rest refunded in cash: an update of the note (refunds have no webhook of their own)
    refund = api.put(f"{API}/Payments", json={"Payments": [{
        "CreditNote": {"CreditNoteID": note_id}, "Account": {"Code": "090"},
        "Date": "2026-11-24", "Amount": 5}]})
    assert refund.status_code == 200, refund.text
    (refunded,) = delivered(sandbox, receiver)
    assert seen([refunded]) == [("CREDITNOTE", "UPDATE", note_id)]
    assert refunded["data"] == {"Type": "ACCRECCREDIT", "Status": "AUTHORISED"}
    # a refund of all that is left uses the note up: its event says PAID, as the note now is
    last = api.put(f"{API}/Payments", json={"Payments": [{
        "CreditNote": {"CreditNoteID": note_id}, "Account": {"Code": "090"},
        "Date": "2026-11-24", "Amount": 15}]})
    assert last.status_code == 200, last.text
    (used_up,) = delivered(sandbox, receiver)
    assert used_up["data"] == {"Type": "ACCRECCREDIT", "Status": "PAID"}
    assert api.get(f"{API}/CreditNotes/{note_id}").json()["CreditNotes"][0]["Status"] == "PAID"
    # and that refund deleted gives the credit back: AUTHORISED again
    payment = last.json()["Payments"][0]["PaymentID"]
    gone = api.post(f"{API}/Payments/{payment}", json={"Status": "DELETED"})
    assert gone.status_code == 200, gone.text
    (back,) = delivered(sandbox, receiver)
    assert back["data"] == {"Type": "ACCRECCREDIT", "Status": "AUTHORISED"}


def test_sequences_run_on_across_the_new_categories(
        hooked: httpx.Client, sandbox: Sandbox, receiver: Receiver) -> None:
    api = hooked
    invoice = owing_invoice(api)
    credit_id = received(api, invoice["Contact"]["ContactID"], "RECEIVE-OVERPAYMENT")
    api.put(f"{API}/Overpayments/{credit_id}/Allocations", json={"Allocations": [{
        "Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Amount": 5, "Date": "2026-11-24"}]})
    assert sandbox.webhooks_out.flush(5)
    first, second = receiver.payloads()
    assert (first["firstEventSequence"], first["lastEventSequence"]) == (1, 1)
    assert (second["firstEventSequence"], second["lastEventSequence"]) == (2, 3)
