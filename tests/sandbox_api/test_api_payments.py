"""Payments and credit note allocations: balances, automatic PAID, deletion rules."""

from __future__ import annotations

from decimal import Decimal

from api_helpers import Client


def _pay(client: Client, invoice_id: str, amount: str, **extra: object):  # type: ignore[no-untyped-def]
    body = {
        "Invoice": {"InvoiceID": invoice_id},
        "Account": {"Code": "090"},
        "Amount": amount,
        "Date": "2026-03-10",
        **extra,
    }
    return client.put("/Payments", {"Payments": [body]})


def test_payment_updates_invoice_and_paid_status(client: Client, clock) -> None:  # type: ignore[no-untyped-def]
    inv = client.invoice(client.contact()["ContactID"])  # total 110.00
    clock.advance(5)
    part = _pay(client, inv["InvoiceID"], "10.00")
    assert part.status == 200
    pay = part.json["Payments"][0]
    assert pay["PaymentType"] == "ACCRECPAYMENT" and pay["Status"] == "AUTHORISED"
    assert pay["Amount"] == Decimal("10.00") and pay["Account"]["Code"] == "090"
    got = client.get(f"/Invoices/{inv['InvoiceID']}").json["Invoices"][0]
    assert got["AmountPaid"] == Decimal("10.00") and got["AmountDue"] == Decimal("100.00")
    assert got["Status"] == "AUTHORISED" and got["Payments"][0]["PaymentID"] == pay["PaymentID"]
    assert got["UpdatedDateUTC"] == "/Date(1773536405000+0000)/"
    rest = client.post(
        "/Payments",
        {
            "InvoiceNumber": inv["InvoiceNumber"],
            "Account": {"Code": "090"},
            "Amount": "100.00",
            "Date": "2026-03-12",
        },
    )
    assert rest.status == 200
    paid = client.get(f"/Invoices/{inv['InvoiceID']}").json["Invoices"][0]
    assert paid["Status"] == "PAID" and paid["AmountDue"] == Decimal("0.00")
    assert paid["FullyPaidOnDate"] == "/Date(1773273600000+0000)/"
    # deleting a payment re-opens the invoice
    res = client.post(f"/Payments/{pay['PaymentID']}", {"Status": "DELETED"})
    assert res.status == 200 and res.json["Payments"][0]["Status"] == "DELETED"
    reopened = client.get(f"/Invoices/{inv['InvoiceID']}").json["Invoices"][0]
    assert reopened["Status"] == "AUTHORISED" and reopened["AmountDue"] == Decimal("10.00")
    assert "FullyPaidOnDate" not in reopened and len(reopened["Payments"]) == 1


def test_payment_validation(client: Client) -> None:
    cid = client.contact()["ContactID"]
    inv = client.invoice(cid)
    draft = client.invoice(cid, status="DRAFT")
    cases = [
        (
            _pay(client, inv["InvoiceID"], "110.01"),
            "The payment amount exceeds the amount outstanding on this document.",
        ),
        (_pay(client, inv["InvoiceID"], "0"), "The payment amount must be greater than zero."),
        (
            _pay(client, draft["InvoiceID"], "1.00"),
            "Payments can only be made against Authorised documents.",
        ),
        (
            client.put(
                "/Payments",
                {
                    "Invoice": {"InvoiceID": inv["InvoiceID"]},
                    "Account": {"Code": "200"},
                    "Amount": "1.00",
                },
            ),
            "Account code '200' is not a bank account",
        ),
    ]
    for res, message in cases:
        assert res.status == 400
        assert res.json["Type"] == "ValidationException"
        assert res.error_messages()[0].startswith(message)
        assert res.json["Elements"][0]["HasValidationErrors"] is True
    assert client.get("/Payments").json["Payments"] == []


def test_payment_delete_accepts_only_status(client: Client) -> None:
    inv = client.invoice(client.contact()["ContactID"])
    pay = _pay(client, inv["InvoiceID"], "5.00").json["Payments"][0]
    res = client.post(f"/Payments/{pay['PaymentID']}", {"Status": "DELETED", "Amount": "4.00"})
    assert res.status == 400 and res.error_messages() == ["Only Status accepted for updates"]
    res = client.post(f"/Payments/{pay['PaymentID']}", {"Amount": "4.00"})
    assert res.error_messages() == ["Only Status accepted for updates"]
    assert client.get(f"/Payments/{pay['PaymentID']}").json["Payments"][0]["Status"] == "AUTHORISED"
    assert client.get("/Payments/00000000-0000-0000-0000-000000000009").status == 404


def test_credit_note_allocation_lifecycle(client: Client) -> None:
    cid = client.contact()["ContactID"]
    inv = client.invoice(cid)  # 110.00
    res = client.put(
        "/CreditNotes",
        {
            "CreditNotes": [
                {
                    "Type": "ACCRECCREDIT",
                    "Contact": {"ContactID": cid},
                    "Status": "AUTHORISED",
                    "Date": "2026-03-02",
                    "LineItems": [
                        {
                            "Description": "refund",
                            "Quantity": 1,
                            "UnitAmount": "200",
                            "AccountCode": "200",
                        }
                    ],
                }
            ]
        },
    )
    assert res.status == 200
    note = res.json["CreditNotes"][0]
    assert note["Total"] == Decimal("220.00") and note["RemainingCredit"] == Decimal("220.00")
    assert note["CreditNoteNumber"] == "CN-0001"
    too_much = client.put(
        f"/CreditNotes/{note['CreditNoteID']}/Allocations",
        {
            "Allocations": [
                {
                    "Amount": "111.00",
                    "Date": "2026-03-05",
                    "Invoice": {"InvoiceID": inv["InvoiceID"]},
                }
            ]
        },
    )
    assert too_much.status == 400
    assert too_much.error_messages() == [
        "The amount allocated exceeds the amount due on the invoice."
    ]
    ok = client.put(
        f"/CreditNotes/{note['CreditNoteID']}/Allocations",
        {
            "Allocations": [
                {
                    "Amount": "110.00",
                    "Date": "2026-03-05",
                    "Invoice": {"InvoiceID": inv["InvoiceID"]},
                }
            ]
        },
    )
    assert ok.status == 200
    alloc = ok.json["Allocations"][0]
    assert alloc["Amount"] == Decimal("110.00") and alloc["IsDeleted"] is False
    paid = client.get(f"/Invoices/{inv['InvoiceID']}").json["Invoices"][0]
    assert paid["Status"] == "PAID" and paid["AmountCredited"] == Decimal("110.00")
    assert paid["CreditNotes"][0]["CreditNoteID"] == note["CreditNoteID"]
    assert paid["CreditNotes"][0]["AppliedAmount"] == Decimal("110.00")
    cn = client.get(f"/CreditNotes/{note['CreditNoteID']}").json["CreditNotes"][0]
    assert cn["RemainingCredit"] == Decimal("110.00") and len(cn["Allocations"]) == 1
    edit = client.post(f"/CreditNotes/{note['CreditNoteID']}", {"Reference": "x"})
    assert edit.error_messages() == [
        "This document cannot be edited as it has a payment or credit note allocated to it"
    ]
    gone = client.delete(f"/CreditNotes/{note['CreditNoteID']}/Allocations/{alloc['AllocationID']}")
    assert gone.status == 200 and gone.json["IsDeleted"] is True
    reopened = client.get(f"/Invoices/{inv['InvoiceID']}").json["Invoices"][0]
    assert reopened["Status"] == "AUTHORISED" and reopened["AmountDue"] == Decimal("110.00")
    assert reopened["CreditNotes"] == []
    assert (
        client.delete(
            f"/CreditNotes/{note['CreditNoteID']}/Allocations/{alloc['AllocationID']}"
        ).status
        == 404
    )


def test_credit_note_paid_when_fully_allocated_and_side_rules(client: Client) -> None:
    cid = client.contact()["ContactID"]
    inv = client.invoice(cid)
    bill = client.invoice(cid, typ="ACCPAY")
    note = client.put(
        "/CreditNotes",
        {
            "Type": "ACCRECCREDIT",
            "Contact": {"ContactID": cid},
            "Status": "AUTHORISED",
            "LineItems": [{"Description": "x", "UnitAmount": "10", "AccountCode": "200"}],
        },
    ).json["CreditNotes"][0]
    wrong = client.put(
        f"/CreditNotes/{note['CreditNoteID']}/Allocations",
        {"Amount": "1.00", "Invoice": {"InvoiceID": bill["InvoiceID"]}},
    )
    assert wrong.status == 400 and "ACCREC invoices" in wrong.error_messages()[0]
    client.put(
        f"/CreditNotes/{note['CreditNoteID']}/Allocations",
        {"Amount": "11.00", "Invoice": {"InvoiceID": inv["InvoiceID"]}},
    )
    cn = client.get(f"/CreditNotes/{note['CreditNoteID']}").json["CreditNotes"][0]
    assert cn["Status"] == "PAID" and cn["RemainingCredit"] == Decimal("0.00")
    draft = client.put(
        "/CreditNotes",
        {
            "Type": "ACCRECCREDIT",
            "Contact": {"ContactID": cid},
            "LineItems": [{"Description": "x", "UnitAmount": "10", "AccountCode": "200"}],
        },
    ).json["CreditNotes"][0]
    res = client.put(
        f"/CreditNotes/{draft['CreditNoteID']}/Allocations",
        {"Amount": "1.00", "Invoice": {"InvoiceID": inv["InvoiceID"]}},
    )
    assert res.status == 400 and "AUTHORISED" in res.error_messages()[0]
