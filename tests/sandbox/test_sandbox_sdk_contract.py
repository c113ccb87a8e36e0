"""Contract: Xero's official Python SDK, pointed at the live sandbox, reads every endpoint into its
models and drives a document life cycle, as it would against Xero."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sandbox_helpers import Live

from xsync.sandbox.app import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

sdk = pytest.importorskip("xero_python")

from xero_python.accounting import AccountingApi  # noqa: E402
from xero_python.accounting.models import (  # noqa: E402
    Account,
    Allocation,
    Allocations,
    Contact,
    Contacts,
    CreditNote,
    CreditNotes,
    Invoice,
    Invoices,
    LineItem,
    Payment,
    Payments,
)
from xero_python.api_client import ApiClient  # noqa: E402
from xero_python.api_client.configuration import Configuration  # noqa: E402
from xero_python.api_client.oauth2 import OAuth2Token, TokenApi  # noqa: E402
from xero_python.exceptions import AccountingBadRequestException  # noqa: E402
from xero_python.identity import IdentityApi  # noqa: E402

TODAY = date(2026, 11, 24)


class Sdk:
    """The SDK wired to a live sandbox, with its token kept in a dict."""

    def __init__(self, live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
        base = live.base_url
        for attr in ("refresh_token_url", "client_credentials_token_url"):
            monkeypatch.setattr(TokenApi, attr, base + "/connect/token")
        monkeypatch.setattr(TokenApi, "revoke_token_url", base + "/connect/revocation")
        self.saved: dict[str, Any] = {}
        config = Configuration(oauth2_token=OAuth2Token(
            client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET))
        self.client = ApiClient(config, oauth2_token_getter=lambda: self.saved["token"],
                                oauth2_token_saver=self._save)
        tokens = live.sandbox.grant_tokens()
        tokens["scope"] = tokens["scope"].split()
        self.client.set_oauth2_token(tokens)
        self.accounting = AccountingApi(self.client, base_url=base + "/api.xro/2.0")
        self.identity = IdentityApi(self.client, base_url=base)
        self.tenant = live.sandbox.tenant_ids[0]

    def _save(self, token: dict[str, Any]) -> None:
        self.saved["token"] = token


@pytest.fixture
def xero(live_sandbox: Live, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sdk]:
    yield Sdk(live_sandbox, monkeypatch)


def line(amount: str, account: str = "200", tax: str = "OUTPUT") -> LineItem:
    return LineItem(description="Consulting", quantity=Decimal("1"),
                    unit_amount=Decimal(amount), account_code=account, tax_type=tax)


def test_every_read_endpoint_deserialises(xero: Sdk) -> None:
    api, t = xero.accounting, xero.tenant
    org = api.get_organisations(t).organisations[0]
    assert org.name == "Demo Company (AU)" and org.base_currency.value == "AUD"
    accounts = api.get_accounts(t).accounts
    assert any(a.code == "200" for a in accounts)
    rates = api.get_tax_rates(t).tax_rates
    assert any(r.tax_type == "OUTPUT" for r in rates)

    contacts = api.get_contacts(t, page=1).contacts
    assert contacts
    first = contacts[0]
    assert api.get_contact(t, first.contact_id).contacts[0].name == first.name
    numbered = next(c for c in contacts if c.contact_number)
    found = api.get_contact_by_contact_number(t, numbered.contact_number).contacts[0]
    assert found.contact_id == numbered.contact_id

    invoices = api.get_invoices(t, page=1).invoices
    assert invoices
    one = api.get_invoice(t, invoices[0].invoice_id).invoices[0]
    assert one.line_items and isinstance(one.total, float | Decimal)

    payments = api.get_payments(t).payments
    assert api.get_payment(t, payments[0].payment_id).payments[0].amount
    notes = api.get_credit_notes(t, page=1).credit_notes
    note = api.get_credit_note(t, notes[0].credit_note_id).credit_notes[0]
    assert note.credit_note_id == notes[0].credit_note_id
    allocated = next((n for n in notes if n.allocations), None)
    if allocated is not None:
        assert allocated.allocations[0].amount > 0


def test_connections_through_the_identity_api(xero: Sdk) -> None:
    connections = xero.identity.get_connections()
    assert [c.tenant_id for c in connections] == [xero.tenant]
    assert connections[0].tenant_type == "ORGANISATION"


def test_sdk_refresh_and_client_credentials(xero: Sdk, live_sandbox: Live) -> None:
    old = xero.saved["token"]["refresh_token"]
    new = xero.client.refresh_oauth2_token()
    assert new["refresh_token"] != old
    assert xero.accounting.get_organisations(xero.tenant).organisations
    cc = xero.client.get_client_credentials_token()
    assert "refresh_token" not in cc
    assert xero.accounting.get_organisations(xero.tenant).organisations


def test_document_life_cycle(xero: Sdk) -> None:
    api, t = xero.accounting, xero.tenant
    made = api.create_contacts(t, Contacts(contacts=[
        Contact(name="SDK Contract Pty", contact_number="SDK-001",
                email_address="ap@sdk.example")]))
    contact = made.contacts[0]
    by_number = api.get_contact_by_contact_number(t, "SDK-001").contacts[0]
    assert by_number.contact_id == contact.contact_id

    def invoice(amount: str, status: str = "DRAFT") -> Invoice:
        created = api.create_invoices(t, Invoices(invoices=[Invoice(
            type="ACCREC", contact=Contact(contact_id=contact.contact_id), date=TODAY,
            due_date=TODAY, line_items=[line(amount)], status=status)]))
        return created.invoices[0]

    draft = invoice("100.00")
    assert draft.status == "DRAFT" and draft.total == Decimal("110.00")
    approved = api.update_invoice(t, draft.invoice_id, Invoices(invoices=[Invoice(
        invoice_id=draft.invoice_id, status="AUTHORISED")])).invoices[0]
    assert approved.status == "AUTHORISED"

    for amount in ("60.00", "50.00"):
        api.create_payments(t, Payments(payments=[Payment(
            invoice=Invoice(invoice_id=draft.invoice_id), account=Account(code="090"),
            amount=Decimal(amount), date=TODAY)]))
    paid = api.get_invoice(t, draft.invoice_id).invoices[0]
    assert paid.status == "PAID" and paid.amount_due == 0
    assert len(api.get_payments(t, where=f'Invoice.InvoiceID==guid("{draft.invoice_id}")')
               .payments) == 2

    target = invoice("200.00", "AUTHORISED")
    note = api.create_credit_notes(t, CreditNotes(credit_notes=[CreditNote(
        type="ACCRECCREDIT", contact=Contact(contact_id=contact.contact_id), date=TODAY,
        line_items=[line("50.00")], status="AUTHORISED")])).credit_notes[0]
    api.create_credit_note_allocation(t, note.credit_note_id, Allocations(allocations=[
        Allocation(invoice=Invoice(invoice_id=target.invoice_id), amount=Decimal("55.00"),
                   date=TODAY)]))
    allocated = api.get_credit_note(t, note.credit_note_id).credit_notes[0]
    assert allocated.remaining_credit == 0
    assert allocated.allocations and allocated.allocations[0].amount == Decimal("55.00")
    assert api.get_invoice(t, target.invoice_id).invoices[0].amount_due == Decimal("165.00")

    to_void = invoice("10.00", "AUTHORISED")
    voided = api.update_invoice(t, to_void.invoice_id, Invoices(invoices=[Invoice(
        invoice_id=to_void.invoice_id, status="VOIDED")])).invoices[0]
    assert voided.status == "VOIDED"
    to_delete = invoice("10.00")
    deleted = api.update_invoice(t, to_delete.invoice_id, Invoices(invoices=[Invoice(
        invoice_id=to_delete.invoice_id, status="DELETED")])).invoices[0]
    assert deleted.status == "DELETED"

    with pytest.raises(AccountingBadRequestException) as refused:
        api.update_invoice(t, draft.invoice_id, Invoices(invoices=[Invoice(
            invoice_id=draft.invoice_id, reference="edited after payment")]))
    assert refused.value.error_data["Type"] == "ValidationException"
    assert refused.value.reason
