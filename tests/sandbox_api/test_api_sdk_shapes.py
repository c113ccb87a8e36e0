"""Every response shape deserialises with the official xero-python SDK models.

The SDK maps JSON by the spec's PascalCase names and validates enums (an unknown enum value
raises), dates (``/Date(...)/``) and booleans, so this guards against drift from the spec.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from api_helpers import Client

xero_models = pytest.importorskip("xero_python.accounting.models")
from xero_python.api_client import ModelFinder  # noqa: E402
from xero_python.api_client.deserializer import deserialize  # noqa: E402


def _sdk(model: str, raw: bytes) -> Any:
    return deserialize(model, json.loads(raw, parse_float=Decimal), ModelFinder(xero_models))


def _v(value: Any) -> Any:
    """An SDK enum's value (some spec enums are generated as plain strings)."""
    return getattr(value, "value", value)


def _walk_enums(value: Any) -> None:
    """Touch every attribute so lazily validated setters run."""
    if isinstance(value, list):
        for item in value:
            _walk_enums(item)
    elif hasattr(value, "openapi_types"):
        for attr in value.openapi_types:
            _walk_enums(getattr(value, attr))


def test_demo_responses_deserialise_with_the_sdk(demo: Client) -> None:
    inv_page = demo.get("/Invoices", page=1, pageSize=100)
    invoices = _sdk("Invoices", inv_page.raw)
    _walk_enums(invoices)
    assert invoices.pagination.item_count == 50
    first = invoices.invoices[0]
    assert isinstance(first.total, Decimal) and isinstance(first.date, date)
    assert _v(first.line_amount_types) in ("Exclusive", "Inclusive", "NoTax")
    assert first.updated_date_utc.tzinfo is not None
    paid = next(i for i in invoices.invoices if i.status == "PAID")
    assert isinstance(paid.fully_paid_on_date, date) and paid.payments
    one = _sdk("Invoices", demo.get(f"/Invoices/{first.invoice_id}").raw)
    assert one.invoices[0].invoice_id == first.invoice_id
    _walk_enums(_sdk("Invoices", demo.get("/Invoices").raw))
    _walk_enums(_sdk("Invoices", demo.get("/Invoices", summaryOnly="true", page=1).raw))

    contacts = _sdk("Contacts", demo.get("/Contacts", includeArchived="true", page=1).raw)
    _walk_enums(contacts)
    assert {_v(c.contact_status) for c in contacts.contacts} == {"ACTIVE", "ARCHIVED"}
    assert _v(contacts.contacts[0].addresses[0].address_type) in ("POBOX", "STREET")

    payments = _sdk("Payments", demo.get("/Payments", page=1).raw)
    _walk_enums(payments)
    assert payments.payments[0].invoice.invoice_id
    _sdk("Payments", demo.get(f"/Payments/{payments.payments[0].payment_id}").raw)

    notes = _sdk("CreditNotes", demo.get("/CreditNotes", page=1).raw)
    _walk_enums(notes)
    allocated = next(n for n in notes.credit_notes if n.allocations)
    assert isinstance(allocated.remaining_credit, Decimal)
    _sdk("CreditNotes", demo.get(f"/CreditNotes/{allocated.credit_note_id}").raw)

    accounts = _sdk("Accounts", demo.get("/Accounts").raw)
    _walk_enums(accounts)
    assert any(_v(a.type) == "BANK" for a in accounts.accounts)
    rates = _sdk("TaxRates", demo.get("/TaxRates").raw)
    _walk_enums(rates)
    assert any(_v(r.report_tax_type) == "OUTPUT" for r in rates.tax_rates)
    orgs = _sdk("Organisations", demo.get("/Organisation").raw)
    _walk_enums(orgs)
    assert _v(orgs.organisations[0].base_currency) == "AUD"


def test_write_and_error_responses_deserialise(client: Client) -> None:
    cid = client.contact()["ContactID"]
    inv = client.invoice(cid)
    pay = client.put(
        "/Payments",
        {"Invoice": {"InvoiceID": inv["InvoiceID"]}, "Account": {"Code": "090"}, "Amount": "10.00"},
    )
    _walk_enums(_sdk("Payments", pay.raw))
    deleted = client.post(
        f"/Payments/{pay.json['Payments'][0]['PaymentID']}", {"Status": "DELETED"}
    )
    assert _sdk("Payments", deleted.raw).payments[0].status == "DELETED"
    batch = client.put(
        "/Invoices",
        {
            "Invoices": [
                {"Type": "ACCREC", "Contact": {"ContactID": cid}},
                {
                    "Type": "ACCREC",
                    "Contact": {"ContactID": cid},
                    "LineItems": [{"AccountCode": "999"}],
                },
            ]
        },
        summarizeErrors="false",
    )
    parsed = _sdk("Invoices", batch.raw)
    assert [i.status_attribute_string for i in parsed.invoices] == ["OK", "ERROR"]
    assert parsed.invoices[1].validation_errors[0].message.startswith("Account code '999'")
    error = client.put(
        "/Invoices",
        {"Type": "ACCREC", "Contact": {"ContactID": cid}, "LineItems": [{"AccountCode": "999"}]},
    )
    err = _sdk("Error", error.raw)
    assert err.error_number == 10 and err.elements[0].validation_errors[0].message
    note = client.put(
        "/CreditNotes",
        {
            "Type": "ACCRECCREDIT",
            "Contact": {"ContactID": cid},
            "Status": "AUTHORISED",
            "LineItems": [{"Description": "x", "UnitAmount": "5", "AccountCode": "200"}],
        },
    )
    note_id = note.json["CreditNotes"][0]["CreditNoteID"]
    alloc = client.put(
        f"/CreditNotes/{note_id}/Allocations",
        {
            "Allocations": [
                {"Amount": "1.00", "Date": "2026-03-10", "Invoice": {"InvoiceID": inv["InvoiceID"]}}
            ]
        },
    )
    allocations = _sdk("Allocations", alloc.raw)
    assert allocations.allocations[0].amount == Decimal("1.00")
    gone = client.delete(
        f"/CreditNotes/{note_id}/Allocations/{allocations.allocations[0].allocation_id}"
    )
    assert _sdk("Allocation", gone.raw).is_deleted is True
