"""Reading Xero: every entity as the canonical record it must become, odd values included, and
every value xsync cannot read refused with a sentence naming the record, the field and the value.

The records are spelled out whole (fields, their order and types, lines, ``updated_at``), so any
change in what a Xero element reads as, however the reading is done, fails here."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xsync.model.money import money, quantity
from xsync.model.records import Line, Record
from xsync.sides.xero_map import Tracking, Unmappable, allocation_elements, record_from_xero

TRACKING = Tracking({"job": "Region", "site": "Site"})
NOV_4_2026 = datetime(2026, 11, 4, 1, 0, tzinfo=UTC)
OCT_21_2018 = datetime(2018, 10, 21, tzinfo=UTC)

CONTACT = {
    "ContactID": "c-1", "Name": "  Acme Pty Ltd ", "EmailAddress": "ap@acme.test",
    "TaxNumber": "12 345 678 901", "ContactStatus": "ACTIVE",
    "Phones": [{"PhoneType": "MOBILE", "PhoneNumber": "0400 000 000"},
               {"PhoneType": "DEFAULT", "PhoneAreaCode": "02", "PhoneNumber": "9999 1234"}],
    # an empty street address: the postal one is read instead
    "Addresses": [{"AddressType": "STREET", "AddressLine1": "", "City": ""},
                  {"AddressType": "POBOX", "AddressLine1": "PO Box 7", "City": "Sydney",
                   "Region": "NSW", "PostalCode": "2001", "Country": "Australia"}],
    "MergedToContactID": "00000000-0000-0000-0000-000000000000",
    "UpdatedDateUTC": "/Date(1793754000000+0000)/",
}
CONTACT_GONE = {"ContactID": "c-2", "Name": "Gone", "ContactStatus": "GDPRREQUEST",
                "MergedToContactID": "c-1", "Phones": [{"PhoneType": "DEFAULT",
                                                        "PhoneNumber": ""}],
                "UpdatedDateUTC": "2026-11-04T01:00:00"}
INVOICE = {
    "Type": "ACCREC", "InvoiceID": "i-1", "InvoiceNumber": " INV-0042 ", "Reference": "  ",
    "Contact": {"ContactID": "c-1", "Name": "Acme"},
    # 2014-12-30T11:00Z, already the 31st at +13:00
    "Date": "/Date(1419937200000+1300)/", "DueDate": "2015-01-30T00:00:00",
    "Status": "SUBMITTED", "CurrencyCode": "AUD",
    "SubTotal": Decimal("100.00"), "TotalTax": Decimal("10.005"), "Total": 110,
    "AmountPaid": Decimal("0.0000"), "AmountCredited": Decimal("-0.00"),
    "AmountDue": Decimal("110.00"),
    "UpdatedDateUTC": "/Date(1419937200123+1300)/",
    "LineItems": [
        {"LineItemID": "li-1", "Description": " Labour ", "Quantity": 3,
         "UnitAmount": Decimal("1.23456"), "AccountCode": "200", "TaxType": "OUTPUT",
         "TaxAmount": Decimal("0.37"), "LineAmount": Decimal("3.70"),
         "DiscountRate": Decimal("12.5"),
         "Tracking": [{"Name": " region", "Option": " North "},
                      {"Name": "Other", "Option": "x"}]},
        {"Description": "Note only"},
        {"LineItemID": "li-3", "Quantity": Decimal("1E+1"), "UnitAmount": Decimal("-0.00001"),
         "TaxAmount": 0, "LineAmount": Decimal("-12.345"), "DiscountRate": None,
         "Tracking": [{"Name": "Site", "Option": "Depot 2"}]},
    ],
}
BILL = {"Type": "ACCPAY", "InvoiceID": "b-1", "InvoiceNumber": "SUP-9",
        "Contact": {"ContactID": "c-2"}, "Date": "/Date(1539993600000-0800)/",
        "DueDate": "/Date(1539993600000)/", "FullyPaidOnDate": "2018-10-21T10:00:00Z",
        "Status": "PAID", "LineAmountTypes": "Inclusive", "Total": Decimal("55.5"),
        "UpdatedDateUTC": "/Date(1540000000000)/"}
PAYMENTS = [
    {"PaymentID": "p-1", "Invoice": {"InvoiceID": "b-1", "Type": "ACCPAY"},
     "Date": "/Date(1540080000000+0000)/", "Amount": Decimal("55.50"), "Reference": "EFT",
     "Status": "AUTHORISED", "PaymentType": "ACCPAYPAYMENT",
     "UpdatedDateUTC": "/Date(1540080000000+0000)/"},
    {"PaymentID": "p-2", "Invoice": {"InvoiceID": "i-1", "Type": "ACCREC"},
     "Date": "/Date(1540080000000+1000)/", "Amount": 20, "Status": "DELETED",
     "UpdatedDateUTC": "/Date(1540080000000+0000)/"},
    {"PaymentID": "p-3", "CreditNote": {"CreditNoteID": "cn-1"}, "Amount": Decimal("5.00"),
     "Date": "/Date(1540080000000)/", "PaymentType": "ARCREDITPAYMENT",
     "UpdatedDateUTC": "/Date(1540080000000)/"},
    {"PaymentID": "p-4", "Prepayment": {"PrepaymentID": "pp-1"}, "Amount": Decimal("1"),
     "Date": "/Date(1540080000000)/", "UpdatedDateUTC": "/Date(1540080000000)/"},
]
CREDIT_NOTE = {
    "CreditNoteID": "cn-1", "CreditNoteNumber": "CN-3", "Type": "ACCRECCREDIT",
    "Contact": {"ContactID": "c-1"}, "Date": "/Date(1540080000000+1300)/",
    "Total": Decimal("30.00"), "RemainingCredit": Decimal("0.00"), "Status": "PAID",
    "UpdatedDateUTC": "/Date(1540080000000)/",
    "Allocations": [
        {"AllocationID": "a-0", "IsDeleted": True, "Amount": Decimal("9.00"),
         "Date": "/Date(1540080000000)/", "Invoice": {"InvoiceID": "i-0"}},
        {"AllocationID": "a-1", "Amount": Decimal("30.00"), "Date": "/Date(1540080000000)/",
         "Invoice": {"InvoiceID": "i-1"}},
    ],
}
OVERPAYMENT = {
    "OverpaymentID": "op-1", "Type": "RECEIVE-OVERPAYMENT", "Contact": {"ContactID": "c-1"},
    "Date": "/Date(1540080000000)/", "Reference": "over", "Total": Decimal("12.00"),
    "RemainingCredit": Decimal("2.00"), "Status": "AUTHORISED",
    "UpdatedDateUTC": "/Date(1540080000000)/",
    "Allocations": [{"AllocationID": "a-2", "Amount": Decimal("10.00"),
                     "Date": "/Date(1540166400000)/", "Invoice": {"InvoiceID": "i-1"}}],
}
PREPAYMENT = {"PrepaymentID": "pp-1", "Type": "RECEIVE-PREPAYMENT",
              "Contact": {"ContactID": "c-2"}, "Date": "2018-10-21",
              "Total": 100, "RemainingCredit": 100, "Status": "AUTHORISED",
              "UpdatedDateUTC": "2018-10-21T00:00:00+10:00"}
ACCOUNTS = [{"AccountID": "ac-1", "Code": "200", "Name": "Sales", "Type": "REVENUE",
             "TaxType": "OUTPUT", "Status": "ACTIVE",
             "UpdatedDateUTC": "/Date(1540080000000)/"},
            {"AccountID": "ac-2", "Code": "090", "Name": "Old bank", "Type": "BANK",
             "Status": "ARCHIVED"},
            {"AccountID": "ac-3", "Code": "999", "Name": "Odd", "Status": "WEIRD"}]
TAX_RATES = [{"TaxType": "OUTPUT", "Name": "GST on Income",
              "EffectiveRate": Decimal("10.0000"), "DisplayTaxRate": Decimal("10.0000"),
              "Status": "ACTIVE"},
             {"TaxType": "EXEMPTOUTPUT", "Name": "GST Free", "DisplayTaxRate": 0},
             {"TaxType": "NONE", "Name": "No tax"}]


def _line(position: int, line_id: str | None, **fields: str | None) -> Line:
    names = ("description", "quantity", "unit_price", "account_code", "tax_type",
             "tax_amount", "line_amount", "discount_rate", "job", "site")
    return Line(id=line_id, fields={"position": str(position),
                                    **{name: fields.get(name) for name in names}})


INVOICE_LINES = [
    _line(1, "li-1", description="Labour", quantity="3.00", unit_price="1.2346",
          account_code="200", tax_type="OUTPUT", tax_amount="0.37", line_amount="3.70",
          discount_rate="12.50", job="North"),
    _line(2, None, description="Note only"),
    _line(3, "li-3", quantity="10.00", unit_price="0.00", tax_amount="0.00",
          line_amount="-12.35", site="Depot 2"),
]
EXPECTED: list[tuple[str, dict[str, Any], Record]] = [
    ("contacts", CONTACT, Record("contacts", "c-1", {
        "name": "Acme Pty Ltd", "email": "ap@acme.test", "phone": "02 9999 1234",
        "abn": "12 345 678 901", "address_line1": "PO Box 7", "city": "Sydney",
        "region": "NSW", "postal_code": "2001", "country": "Australia", "status": "active",
        "merged_into": None}, None, NOV_4_2026)),
    ("contacts", CONTACT_GONE, Record("contacts", "c-2", {
        "name": "Gone", "email": None, "phone": None, "abn": None, "address_line1": None,
        "city": None, "region": None, "postal_code": None, "country": None,
        "status": "archived", "merged_into": "c-1"}, None, NOV_4_2026)),
    ("invoices", INVOICE, Record("invoices", "i-1", {
        "number": "INV-0042", "contact_id": "c-1", "date": "2014-12-31",
        "due_date": "2015-01-30", "reference": None, "currency": "AUD",
        "amounts_are": "exclusive", "status": "draft", "subtotal": "100.00",
        "total_tax": "10.01", "total": "110.00", "amount_paid": "0.00",
        "amount_credited": "0.00", "amount_due": "110.00", "paid_on": None},
        INVOICE_LINES, datetime(2014, 12, 30, 11, 0, 0, 123000, tzinfo=UTC))),
    ("bills", BILL, Record("bills", "b-1", {
        "number": "SUP-9", "contact_id": "c-2", "date": "2018-10-19",
        "due_date": "2018-10-20", "reference": None, "currency": None,
        "amounts_are": "inclusive", "status": "paid", "subtotal": None, "total_tax": None,
        "total": "55.50", "amount_paid": None, "amount_credited": None, "amount_due": None,
        "paid_on": "2018-10-21"}, [], datetime(2018, 10, 20, 1, 46, 40, tzinfo=UTC))),
    ("payments", PAYMENTS[0], Record("payments", "p-1", {
        "invoice_id": None, "bill_id": "b-1", "credit_note_id": None, "credit_id": None,
        "date": "2018-10-21", "amount": "55.50", "reference": "EFT",
        "status": "authorised"}, None, OCT_21_2018)),
    ("payments", PAYMENTS[1], Record("payments", "p-2", {
        "invoice_id": "i-1", "bill_id": None, "credit_note_id": None, "credit_id": None,
        "date": "2018-10-21", "amount": "20.00", "reference": None, "status": "reversed"},
        None, OCT_21_2018)),
    ("payments", PAYMENTS[2], Record("payments", "p-3", {
        "invoice_id": None, "bill_id": None, "credit_note_id": "cn-1", "credit_id": None,
        "date": "2018-10-21", "amount": "5.00", "reference": None, "status": "authorised"},
        None, OCT_21_2018)),
    ("payments", PAYMENTS[3], Record("payments", "p-4", {
        "invoice_id": None, "bill_id": None, "credit_note_id": None, "credit_id": "pp-1",
        "date": "2018-10-21", "amount": "1.00", "reference": None, "status": "authorised"},
        None, OCT_21_2018)),
    ("credit_notes", CREDIT_NOTE, Record("credit_notes", "cn-1", {
        "number": "CN-3", "contact_id": "c-1", "invoice_id": "i-1", "date": "2018-10-21",
        "total": "30.00", "remaining": "0.00", "status": "paid"}, None, OCT_21_2018)),
    ("credits", OVERPAYMENT, Record("credits", "op-1", {
        "kind": "overpayment", "contact_id": "c-1", "date": "2018-10-21",
        "reference": "over", "total": "12.00", "remaining": "2.00", "status": "approved"},
        None, OCT_21_2018)),
    ("credits", PREPAYMENT, Record("credits", "pp-1", {
        "kind": "prepayment", "contact_id": "c-2", "date": "2018-10-21", "reference": None,
        "total": "100.00", "remaining": "100.00", "status": "approved"},
        None, datetime(2018, 10, 20, 14, 0, tzinfo=UTC))),
    ("allocations", allocation_elements("CreditNotes", CREDIT_NOTE)[0],
     Record("allocations", "a-1", {
         "kind": "credit_note", "credit_note_id": "cn-1", "credit_id": None,
         "invoice_id": "i-1", "amount": "30.00", "date": "2018-10-21", "status": "applied"},
         None, OCT_21_2018)),
    ("allocations", allocation_elements("Overpayments", OVERPAYMENT)[0],
     Record("allocations", "a-2", {
         "kind": "overpayment", "credit_note_id": None, "credit_id": "op-1",
         "invoice_id": "i-1", "amount": "10.00", "date": "2018-10-22", "status": "applied"},
         None, OCT_21_2018)),
    ("accounts", ACCOUNTS[0], Record("accounts", "ac-1", {
        "code": "200", "name": "Sales", "type": "REVENUE", "tax_type": "OUTPUT",
        "status": "active"}, None, OCT_21_2018)),
    ("accounts", ACCOUNTS[1], Record("accounts", "ac-2", {
        "code": "090", "name": "Old bank", "type": "BANK", "tax_type": None,
        "status": "archived"})),
    ("accounts", ACCOUNTS[2], Record("accounts", "ac-3", {
        "code": "999", "name": "Odd", "type": None, "tax_type": None, "status": "active"})),
    ("tax_rates", TAX_RATES[0], Record("tax_rates", "OUTPUT", {
        "tax_type": "OUTPUT", "name": "GST on Income", "rate": "10.00", "status": "active"})),
    ("tax_rates", TAX_RATES[1], Record("tax_rates", "EXEMPTOUTPUT", {
        "tax_type": "EXEMPTOUTPUT", "name": "GST Free", "rate": "0.00", "status": "active"})),
    ("tax_rates", TAX_RATES[2], Record("tax_rates", "NONE", {
        "tax_type": "NONE", "name": "No tax", "rate": None, "status": "active"})),
]


def _exactly(record: Record) -> tuple[Any, ...]:
    """Everything a record holds, types and field order included (== alone would let a
    Decimal pass for its text's number or a reordered dict for the same fields)."""
    lines = None if record.lines is None else [
        (line.id, list(line.fields.items()), [type(v) for v in line.fields.values()])
        for line in record.lines]
    return (record.entity, record.id, list(record.fields.items()),
            [type(v) for v in record.fields.values()], lines, repr(record.updated_at))


@pytest.mark.parametrize(("entity", "element", "expected"), EXPECTED,
                         ids=[f"{e}-{r.id}" for e, _, r in EXPECTED])
def test_each_entity_reads_as_its_canonical_record(entity, element, expected):
    assert _exactly(record_from_xero(entity, element, TRACKING)) == _exactly(expected)


def test_without_tracking_mapped_lines_carry_no_job_or_site():
    record = record_from_xero("invoices", INVOICE)
    assert record.lines is not None
    assert [(ln.fields["job"], ln.fields["site"]) for ln in record.lines] == [(None, None)] * 3
    assert record.lines[0].fields["unit_price"] == "1.2346"


def _with_line(index: int, **values: Any) -> dict[str, Any]:
    items = [dict(item) for item in INVOICE["LineItems"]]
    items[index].update(values)
    return {**INVOICE, "LineItems": items}


def _without(element: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in element.items() if k not in names}


INV = "Xero invoice  INV-0042 : "
ALLOCATION = allocation_elements("Overpayments", OVERPAYMENT)[0]
BAD: list[tuple[str, dict[str, Any], str]] = [
    ("invoices", {**INVOICE, "Total": "1e3"}, INV + "Total '1e3' is not a value xsync can read"),
    ("invoices", {**INVOICE, "Total": 110.0}, INV + "Total 110.0 is not a value xsync can read"),
    ("invoices", {**INVOICE, "Total": True}, INV + "Total True is not a value xsync can read"),
    ("invoices", {**INVOICE, "SubTotal": Decimal("Infinity")},
     INV + "SubTotal Decimal('Infinity') is not a value xsync can read"),
    ("invoices", {**INVOICE, "AmountDue": Decimal("NaN")},
     INV + "AmountDue Decimal('NaN') is not a value xsync can read"),
    ("invoices", {**INVOICE, "AmountDue": Decimal("1E+40")},
     INV + "AmountDue Decimal('1E+40') is not a value xsync can read"),
    ("invoices", {**INVOICE, "Date": "/Date(abc)/"},
     INV + "Date '/Date(abc)/' is not a value xsync can read"),
    ("invoices", {**INVOICE, "Date": "/Date(1419937200000+1399)/"},
     INV + "Date '/Date(1419937200000+1399)/' is not a value xsync can read"),
    ("invoices", {**INVOICE, "DueDate": "30/01/2015"},
     INV + "DueDate '30/01/2015' is not a value xsync can read"),
    ("invoices", {**INVOICE, "FullyPaidOnDate": 20150130},
     INV + "FullyPaidOnDate 20150130 is not a value xsync can read"),
    ("invoices", {**INVOICE, "Status": "WEIRD"},
     INV + "Status 'WEIRD' is not one of AUTHORISED, DELETED, DRAFT, PAID, SUBMITTED, VOIDED"),
    ("invoices", {**INVOICE, "LineAmountTypes": "Gross"},
     INV + "LineAmountTypes 'Gross' is not one of Exclusive, Inclusive, NoTax"),
    # the first value that cannot be read is the one named
    ("invoices", {**INVOICE, "Date": "soon", "Total": "junk"},
     INV + "Date 'soon' is not a value xsync can read"),
    ("invoices", {**_with_line(2, LineAmount="x"), "Total": "y"},
     INV + "Total 'y' is not a value xsync can read"),
    ("invoices", _with_line(1, Quantity=0.5),
     INV + "line 2: Quantity 0.5 is not a value xsync can read"),
    ("invoices", _with_line(0, UnitAmount="1.23456"),
     INV + "line 1: UnitAmount '1.23456' is not a value xsync can read"),
    ("invoices", _with_line(2, TaxAmount=Decimal("sNaN")),
     INV + "line 3: TaxAmount Decimal('sNaN') is not a value xsync can read"),
    ("invoices", _with_line(2, DiscountRate="ten"),
     INV + "line 3: DiscountRate 'ten' is not a value xsync can read"),
    ("invoices", _without(INVOICE, "InvoiceID"), INV + "InvoiceID is missing"),
    ("invoices", {**INVOICE, "UpdatedDateUTC": "yesterday"},
     INV + "UpdatedDateUTC 'yesterday' is not a value xsync can read"),
    ("invoices", {**_without(INVOICE, "InvoiceNumber"), "Total": "z"},
     "Xero invoice i-1: Total 'z' is not a value xsync can read"),
    ("bills", {**BILL, "Total": Decimal("-Infinity")},
     "Xero bill SUP-9: Total Decimal('-Infinity') is not a value xsync can read"),
    ("payments", {**PAYMENTS[0], "Amount": "55.5.0"},
     "Xero payment p-1: Amount '55.5.0' is not a value xsync can read"),
    ("payments", {**PAYMENTS[0], "Status": "VOIDED"},
     "Xero payment p-1: Status 'VOIDED' is not one of AUTHORISED, DELETED"),
    ("contacts", {**CONTACT, "ContactStatus": "DELETED"},
     "Xero contact   Acme Pty Ltd : ContactStatus 'DELETED' is not one of ACTIVE, ARCHIVED, "
     "GDPRREQUEST"),
    ("credit_notes", {**CREDIT_NOTE, "Date": "/Date(1)/x"},
     "Xero credit note CN-3: Date '/Date(1)/x' is not a value xsync can read"),
    ("credits", {**OVERPAYMENT, "RemainingCredit": [1]},
     "Xero credit op-1: RemainingCredit [1] is not a value xsync can read"),
    ("allocations", {**ALLOCATION, "Kind": "gift"},
     "Xero allocation a-2: Kind 'gift' is not one of credit_note, overpayment, prepayment"),
    ("allocations", {**ALLOCATION, "Amount": {}},
     "Xero allocation a-2: Amount {} is not a value xsync can read"),
]


@pytest.mark.parametrize(("entity", "element", "message"), BAD,
                         ids=[m.split(": ", 1)[1][:40] for _, _, m in BAD])
def test_a_value_xsync_cannot_read_is_refused_by_name(entity, element, message):
    with pytest.raises(Unmappable) as refused:
        record_from_xero(entity, element, TRACKING)
    assert str(refused.value) == message


# what Xero's JSON holds where money and quantities go: Decimals of any exponent (NaN and
# Infinity included), ints, and what it should never hold
numbers = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True, places=None),
    st.decimals(min_value=-10**9, max_value=10**9, places=6),
    st.integers(min_value=-10**30, max_value=10**30),
    st.sampled_from([Decimal("-0"), Decimal("0E-10"), Decimal("1E+27"), Decimal("5.0000"),
                     Decimal("sNaN"), Decimal("0.00005"), Decimal("-0.005"), True, 1.5, "1.25",
                     "1.23456", "", None]),
)


def _read_as(convert: Any, value: Any) -> str | None:
    try:
        return convert(value)
    except (ValueError, ArithmeticError, TypeError):
        return "refused"


def _refused_or(record: Record | None, read: Any) -> Any:
    return "refused" if record is None else read(record)


def _map(element: dict[str, Any]) -> Record | None:
    try:
        return record_from_xero("invoices", element)
    except Unmappable:
        return None


@given(numbers, numbers)
def test_money_and_quantities_read_as_money_and_quantity_write_them(total, unit_price):
    """A document's money reads as :func:`money` words it and a line's unit price as
    :func:`quantity` does; a value either refuses is refused."""
    record = _map({**INVOICE, "LineItems": INVOICE["LineItems"][:1], "Total": total})
    assert _refused_or(record, lambda r: r.fields["total"]) == _read_as(money, total)
    record = _map(_with_line(0, UnitAmount=unit_price))
    assert _refused_or(record, lambda r: r.lines[0].fields["unit_price"]) == \
        _read_as(quantity, unit_price)


def test_equal_quantities_of_other_spellings_read_alike():
    spellings = [5, Decimal("5"), Decimal("5.0000"), Decimal("5.00000000"), Decimal("0.5E+1")]
    read = [record_from_xero("invoices", _with_line(0, Quantity=q)).lines[0]
            .fields["quantity"] for q in spellings]
    assert read == ["5.00"] * len(spellings)
    refused = _map(_with_line(0, Quantity=True))
    assert refused is None
