"""Xero JSON <-> canonical records: nothing lost, nothing sent that Xero computes."""

from __future__ import annotations

from decimal import Decimal

from xsync.model.records import Line
from xsync.model.side import Change
from xsync.sides.xero_map import element_for_change, record_from_xero

INVOICE = {
    "Type": "ACCREC",
    "InvoiceID": "8f1c0a4e-0000-4000-8000-000000000001",
    "InvoiceNumber": "INV-0042",
    "Reference": "Job 17",
    "Contact": {"ContactID": "c-1", "Name": "Acme"},
    # 2026-11-02 00:00 UTC, written with a +1300 offset that must not shift the date
    "Date": "/Date(1793577600000+1300)/",
    "DueDate": "/Date(1796169600000+0000)/",
    "Status": "PAID",
    "LineAmountTypes": "Inclusive",
    "SubTotal": Decimal("100.00"),
    "TotalTax": Decimal("10.00"),
    "Total": Decimal("110.00"),
    "AmountDue": Decimal("0.00"),
    "AmountPaid": Decimal("110.00"),
    "AmountCredited": Decimal("0.00"),
    "FullyPaidOnDate": "/Date(1793750400000+0000)/",
    "CurrencyCode": "AUD",
    "UpdatedDateUTC": "/Date(1793754000000+0000)/",
    "LineItems": [
        {"LineItemID": "li-1", "Description": "Labour", "Quantity": Decimal("2.5"),
         "UnitAmount": Decimal("44.0000"), "AccountCode": "200", "TaxType": "OUTPUT",
         "TaxAmount": Decimal("10.00"), "LineAmount": Decimal("110.00")},
    ],
}


def test_invoice_reads_into_canonical_text():
    record = record_from_xero("invoices", INVOICE)
    assert record.id == INVOICE["InvoiceID"]
    assert record.fields["date"] == "2026-11-02"
    assert record.fields["status"] == "paid"
    assert record.fields["amounts_are"] == "inclusive"
    assert record.fields["total"] == "110.00"
    assert record.fields["paid_on"] == "2026-11-04"
    assert record.fields["contact_id"] == "c-1"
    assert record.updated_at is not None and record.updated_at.tzinfo is not None
    line = record.lines[0]
    assert line.id == "li-1"
    assert line.fields["quantity"] == "2.50"
    assert line.fields["unit_price"] == "44.00"
    assert line.fields["tax_type"] == "OUTPUT"


def test_update_sends_line_ids_and_never_computed_fields():
    change = Change(
        key="k", action="update", id=INVOICE["InvoiceID"],
        fields={"reference": "Job 18", "total": "999.00", "status": "approved"},
        lines=[Line(id="li-1", fields={"description": "Labour", "quantity": "2.50",
                                       "unit_price": "44.00", "account_code": "200",
                                       "tax_type": "OUTPUT", "line_amount": "110.00"}),
               Line(id=None, fields={"description": "Skip bin", "quantity": "1.00",
                                     "unit_price": "300.00", "account_code": "200",
                                     "tax_type": "OUTPUT"})],
    )
    element = element_for_change("invoices", change)
    assert element["InvoiceID"] == INVOICE["InvoiceID"]
    assert element["Reference"] == "Job 18"
    assert element["Status"] == "AUTHORISED"
    assert "Total" not in element
    assert element["LineItems"][0]["LineItemID"] == "li-1"
    assert "LineAmount" not in element["LineItems"][0]
    assert "LineItemID" not in element["LineItems"][1]
    assert element["LineItems"][1]["UnitAmount"] == Decimal("300.00")


def test_contact_referenced_by_id_only_and_archive_on_delete():
    create = element_for_change("invoices", Change(key="k", action="create", id=None, fields={
        "number": "INV-1", "contact_id": "c-9", "date": "2026-11-02", "status": "approved",
        "amounts_are": "exclusive"}, lines=[]))
    assert create["Contact"] == {"ContactID": "c-9"}
    assert create["Type"] == "ACCREC"
    archived = element_for_change("contacts", Change(key="k", action="delete", id="c-9"))
    assert archived == {"ContactID": "c-9", "ContactStatus": "ARCHIVED"}


def test_contact_round_trip_of_phone_and_address():
    xero = {"ContactID": "c-1", "Name": "Acme", "ContactStatus": "ACTIVE",
            "Phones": [{"PhoneType": "DEFAULT", "PhoneAreaCode": "02", "PhoneNumber": "9999 1234"}],
            "Addresses": [{"AddressType": "POBOX", "AddressLine1": "PO Box 1", "City": "Sydney"},
                          {"AddressType": "STREET", "AddressLine1": "1 George St",
                           "City": "Sydney", "Region": "NSW", "PostalCode": "2000",
                           "Country": "Australia"}]}
    record = record_from_xero("contacts", xero)
    assert record.fields["phone"] == "02 9999 1234"
    assert record.fields["address_line1"] == "1 George St"
    out = element_for_change("contacts", Change(key="k", action="update", id="c-1",
                                                fields=dict(record.fields)))
    again = record_from_xero("contacts", {**xero, **out})
    assert again.fields == record.fields
