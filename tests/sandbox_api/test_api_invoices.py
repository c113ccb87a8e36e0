"""Invoices: totals, numbering, lines, status machine and validation messages."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from api_helpers import Client, Result


def _err(res: Result) -> list[str]:
    assert res.status == 400, res.raw
    assert res.headers["Content-Type"].startswith("application/json")
    body = res.json
    assert body["ErrorNumber"] == 10 and body["Type"] == "ValidationException"
    assert body["Message"] == "A validation exception occurred"
    return res.error_messages()


def test_create_computes_per_line_tax_and_envelope(client: Client) -> None:
    contact = client.contact()
    res = client.put(
        "/Invoices",
        {
            "Invoices": [
                {
                    "Type": "ACCREC",
                    "Contact": {"ContactID": contact["ContactID"]},
                    "Date": "2026-03-01",
                    "DueDate": "2026-03-31T00:00:00",
                    "Status": "AUTHORISED",
                    "LineItems": [
                        {
                            "Description": "a",
                            "Quantity": 3,
                            "UnitAmount": "3.35",
                            "AccountCode": "200",
                        },
                        {
                            "Description": "b",
                            "Quantity": 1,
                            "UnitAmount": "0.05",
                            "AccountCode": "200",
                        },
                        {
                            "Description": "c",
                            "Quantity": 2,
                            "UnitAmount": "100",
                            "DiscountRate": "12.5",
                            "AccountCode": "200",
                            "TaxType": "EXEMPTOUTPUT",
                        },
                    ],
                }
            ]
        },
    )
    assert res.status == 200
    assert res.headers["Content-Type"] == "application/json; charset=utf-8"
    body = res.json
    assert body["Status"] == "OK" and body["Id"] and body["DateTimeUTC"].startswith("/Date(")
    assert "pagination" not in body
    inv = body["Invoices"][0]
    a, b, c = inv["LineItems"]
    assert (a["LineAmount"], a["TaxAmount"]) == (Decimal("10.05"), Decimal("1.01"))  # 1.005 half-up
    assert (b["LineAmount"], b["TaxAmount"]) == (Decimal("0.05"), Decimal("0.01"))
    assert (c["LineAmount"], c["TaxAmount"]) == (Decimal("175.00"), Decimal("0.00"))
    assert inv["SubTotal"] == Decimal("185.10") and inv["TotalTax"] == Decimal("1.02")
    assert inv["Total"] == Decimal("186.12") and inv["AmountDue"] == Decimal("186.12")
    assert inv["TotalDiscount"] == Decimal("25.00") and inv["IsDiscounted"] is True
    assert inv["InvoiceNumber"] == "INV-0001" and inv["Status"] == "AUTHORISED"
    assert (
        inv["Date"] == "/Date(1772323200000+0000)/" and inv["DateString"] == "2026-03-01T00:00:00"
    )
    assert inv["DueDate"] == "/Date(1774915200000+0000)/"
    assert inv["UpdatedDateUTC"] == "/Date(1773536400000+0000)/"
    assert inv["UpdatedDateUTCString"] == "2026-03-15T01:00:00Z"
    assert a["Quantity"] == Decimal("3.0000") and b'"Quantity":3.0000' in res.raw
    assert inv["LineAmountTypes"] == "Exclusive" and inv["CurrencyCode"] == "AUD"


def test_inclusive_and_notax(client: Client) -> None:
    cid = client.contact()["ContactID"]
    inc = client.invoice(
        cid,
        LineAmountTypes="Inclusive",
        lines=[
            {"Description": "x", "UnitAmount": "110.00", "AccountCode": "200"},
            {"Description": "y", "UnitAmount": "10.01", "AccountCode": "200"},
        ],
    )
    assert [li["TaxAmount"] for li in inc["LineItems"]] == [Decimal("10.00"), Decimal("0.91")]
    assert inc["Total"] == Decimal("120.01") and inc["SubTotal"] == Decimal("109.10")
    none = client.invoice(cid, LineAmountTypes="NoTax")
    assert none["TotalTax"] == Decimal("0.00") and none["Total"] == Decimal("100.00")


def test_invoice_number_unique_for_sales_not_bills(client: Client) -> None:
    cid = client.contact()["ContactID"]
    client.invoice(cid, InvoiceNumber="A-1")
    res = client.put(
        "/Invoices",
        {
            "Type": "ACCREC",
            "Contact": {"ContactID": cid},
            "InvoiceNumber": "A-1",
            "LineItems": [{"Description": "x", "UnitAmount": 1, "AccountCode": "200"}],
        },
    )
    assert _err(res) == ["Invoice # must be unique."]
    client.invoice(cid, typ="ACCPAY", InvoiceNumber="SUP-9")
    again = client.invoice(cid, typ="ACCPAY", InvoiceNumber="SUP-9")
    assert again["InvoiceNumber"] == "SUP-9"


def test_lines_are_kept_by_line_item_id(client: Client) -> None:
    cid = client.contact()["ContactID"]
    inv = client.invoice(
        cid,
        status="DRAFT",
        lines=[
            {"Description": "keep", "UnitAmount": 10, "AccountCode": "200"},
            {"Description": "drop", "UnitAmount": 20, "AccountCode": "200"},
        ],
    )
    keep, _drop = inv["LineItems"]
    res = client.post(
        f"/Invoices/{inv['InvoiceID']}",
        {
            "LineItems": [
                {"LineItemID": keep["LineItemID"], "UnitAmount": 15},
                {"Description": "new", "UnitAmount": 5, "AccountCode": "200"},
            ]
        },
    )
    assert res.status == 200
    lines = res.json["Invoices"][0]["LineItems"]
    assert [li["Description"] for li in lines] == ["keep", "new"]
    assert lines[0]["LineItemID"] == keep["LineItemID"] and lines[0]["UnitAmount"] == Decimal(
        "15.00"
    )
    assert lines[1]["LineItemID"] not in (keep["LineItemID"], _drop["LineItemID"])
    res = client.post(f"/Invoices/{inv['InvoiceID']}", {"Reference": "no lines sent"})
    assert [li["LineItemID"] for li in res.json["Invoices"][0]["LineItems"]] == [
        li["LineItemID"] for li in lines
    ]
    assert res.json["Invoices"][0]["Total"] == Decimal("22.00")


def test_status_transitions(client: Client) -> None:
    cid = client.contact()["ContactID"]
    auth = client.invoice(cid)
    res = client.post(f"/Invoices/{auth['InvoiceID']}", {"Status": "DELETED"})
    assert _err(res) == ["Invoice not of valid status for modification"]
    assert res.json["Elements"][0]["HasErrors"] is True
    draft = client.invoice(cid, status="DRAFT")
    assert _err(client.post(f"/Invoices/{draft['InvoiceID']}", {"Status": "VOIDED"})) == [
        "Invoice not of valid status for modification"
    ]
    deleted = client.post(f"/Invoices/{draft['InvoiceID']}", {"Status": "DELETED"}).json[
        "Invoices"
    ][0]
    assert deleted["Status"] == "DELETED"
    voided = client.post(f"/Invoices/{auth['InvoiceID']}", {"Status": "VOIDED"}).json["Invoices"][0]
    assert voided["Status"] == "VOIDED" and voided["AmountDue"] == Decimal("0.00")
    assert _err(client.post(f"/Invoices/{auth['InvoiceID']}", {"Reference": "x"})) == [
        "Invoice not of valid status for modification"
    ]
    assert _err(
        client.put("/Invoices", {"Type": "ACCREC", "Contact": {"ContactID": cid}, "Status": "PAID"})
    )


def test_no_edits_with_payment_applied(client: Client) -> None:
    cid = client.contact()["ContactID"]
    inv = client.invoice(cid)
    client.put(
        "/Payments",
        {
            "Payments": [
                {
                    "Invoice": {"InvoiceID": inv["InvoiceID"]},
                    "Account": {"Code": "090"},
                    "Amount": "10.00",
                    "Date": "2026-03-10",
                }
            ]
        },
    )
    msg = "This document cannot be edited as it has a payment or credit note allocated to it"
    assert _err(client.post(f"/Invoices/{inv['InvoiceID']}", {"Reference": "x"})) == [msg]
    assert _err(client.post(f"/Invoices/{inv['InvoiceID']}", {"Status": "VOIDED"})) == [msg]


def test_unknown_account_and_tax_type(client: Client) -> None:
    cid = client.contact()["ContactID"]
    res = client.put(
        "/Invoices",
        {
            "Type": "ACCREC",
            "Contact": {"ContactID": cid},
            "LineItems": [
                {"Description": "x", "UnitAmount": 1, "AccountCode": "999"},
                {"Description": "y", "UnitAmount": 1, "AccountCode": "200", "TaxType": "XYZ"},
            ],
        },
    )
    assert _err(res) == [
        "Account code '999' is not a valid code for this document.",
        "The TaxType code 'XYZ' does not exist or cannot be used for this type of transaction.",
    ]
    assert client.get("/Invoices").json["Invoices"] == []


def test_contact_rules_on_documents(client: Client) -> None:
    contact = client.contact("Original Name", EmailAddress="a@b.com.au")
    inv = client.invoice(
        contact["ContactID"], Contact={"ContactID": contact["ContactID"], "Name": "Renamed!"}
    )
    assert inv["Contact"]["Name"] == "Original Name"
    got = client.get(f"/Contacts/{contact['ContactID']}").json["Contacts"][0]
    assert got["Name"] == "Original Name" and got["IsCustomer"] is True
    by_name = client.put(
        "/Invoices",
        {
            "Type": "ACCPAY",
            "Contact": {"Name": "Brand New Supplier"},
            "LineItems": [{"Description": "x", "UnitAmount": 1, "AccountCode": "429"}],
        },
    )
    assert by_name.status == 200
    created = client.get("/Contacts", where='Name=="Brand New Supplier"').json["Contacts"]
    assert len(created) == 1 and created[0]["IsSupplier"] is True
    client.post(f"/Contacts/{contact['ContactID']}", {"ContactStatus": "ARCHIVED"})
    res = client.put(
        "/Invoices", {"Type": "ACCREC", "Contact": {"ContactID": contact["ContactID"]}}
    )
    assert "archived" in _err(res)[0]


def test_period_lock_date(client: Client, store) -> None:  # type: ignore[no-untyped-def]
    cid = client.contact()["ContactID"]
    inv = client.invoice(cid, status="DRAFT")
    store.set_period_lock_date(client.tenant, date(2026, 3, 1))
    org = client.get("/Organisation").json["Organisations"][0]
    assert org["PeriodLockDate"] == "/Date(1772323200000+0000)/"
    msgs = _err(client.post(f"/Invoices/{inv['InvoiceID']}", {"Reference": "late"}))
    assert "period lock date (2026-03-01)" in msgs[0]
    res = client.put(
        "/Invoices", {"Type": "ACCREC", "Contact": {"ContactID": cid}, "Date": "2026-02-10"}
    )
    assert "period lock date" in _err(res)[0]
    ok = client.put(
        "/Invoices", {"Type": "ACCREC", "Contact": {"ContactID": cid}, "Date": "2026-03-02"}
    )
    assert ok.status == 200


def test_not_found_and_unknown_paths(client: Client) -> None:
    res = client.get("/Invoices/00000000-0000-0000-0000-000000000001")
    assert res.status == 404 and res.headers["Content-Type"].startswith("application/json")
    assert res.json["Detail"] == "The resource you're looking for cannot be found"
    assert client.get("/Nonsense").status == 404
    assert client.get("/Invoices/a/b").status == 404
    assert client.delete("/Invoices").status == 405
    bad = client.call("PUT", "/Invoices", None)
    assert bad.status == 400 and bad.json["Type"] == "PostDataInvalidException"


def test_get_by_number_and_upsert_by_number(client: Client) -> None:
    cid = client.contact()["ContactID"]
    inv = client.invoice(cid, status="DRAFT", InvoiceNumber="ORD-7")
    assert client.get("/Invoices/ORD-7").json["Invoices"][0]["InvoiceID"] == inv["InvoiceID"]
    res = client.post("/Invoices", {"Type": "ACCREC", "InvoiceNumber": "ORD-7", "Reference": "upd"})
    assert res.status == 200 and res.json["Invoices"][0]["InvoiceID"] == inv["InvoiceID"]
    assert res.json["Invoices"][0]["Reference"] == "upd"
