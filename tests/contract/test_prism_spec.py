"""Every kind of request xsync sends to Xero passes the validation of Xero's own OpenAPI document.

xsync's real client and Xero side talk over loopback to Prism serving `xero_accounting.yaml`
with request validation on. The replies are the document's example data, which xsync may not be
able to use; each test asserts only that the mock (and the document's body schemas) accepted
every request it sent, and names the request and the rule when not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from prism_harness import Exchange, Prism, Recorder, check_bodies

from xsync.errors import XsyncError
from xsync.model.records import Line
from xsync.model.side import Action, Change
from xsync.sides.xero import NO_ID_LIST, XeroSide
from xsync.xero.client import StaticTokens, XeroClient

TENANT = "8a9f6c3e-5d4b-4a3c-9e2f-1b0a9c8d7e6f"
CONTACT = "5cc8cf28-567e-4d43-b287-687cfcaec47c"
INVOICE = "ed255415-e141-4150-aab7-89c3bbbb851c"
LINE = "5f7a612b-fdcc-4d33-90fa-a9f6bc6db32f"
CURSOR = "2024-05-01T10:15:30+00:00"
READ = ["contacts", "invoices", "bills", "payments", "credit_notes", "accounts", "tax_rates"]
BY_ID = ["contacts", "invoices", "bills", "payments", "credit_notes"]


class Harness:
    def __init__(self, prism: Prism) -> None:
        self.prism = prism
        self.recorder = Recorder()
        self.now = 1000.0
        self.client = XeroClient(
            api_url=prism.url, tenant_id=TENANT, tokens=StaticTokens("contract-token"),
            transport=self.recorder, sleep=self._sleep, clock=lambda: self.now, max_retries=0,
        )
        self.side = XeroSide(self.client)

    def _sleep(self, seconds: float) -> None:
        self.now += seconds

    def drive(self, action: Callable[[], Any]) -> None:
        """Run one xsync action; the mock's example replies may be beyond xsync's reading."""
        try:
            result = action()
            if isinstance(result, Iterator):
                list(result)
        except (XsyncError, ValueError, KeyError, TypeError):
            pass

    def refused(self) -> list[Exchange]:
        assert self.recorder.exchanges, "xsync sent no request"
        check_bodies(self.prism.spec, self.recorder.exchanges)
        return [e for e in self.recorder.exchanges if e.problems]

    def assert_accepted(self) -> None:
        refused = self.refused()
        assert not refused, "requests the Xero API document refuses:\n" + "\n".join(
            e.describe() for e in refused)


@pytest.fixture
def xero(prism: Prism) -> Iterator[Harness]:
    harness = Harness(prism)
    yield harness
    harness.client.close()


def _contact_change(action: Action, xero_id: str | None) -> Change:
    fields = {
        "name": 'Ava "Quotes" & Co', "email": "ava@example.com", "phone": "02 9999 0000",
        "abn": "53 004 085 616", "address_line1": "1 Main St", "city": "Sydney",
        "region": "NSW", "postal_code": "2000", "country": "Australia", "status": "active",
    }
    return Change(key=f"contacts:{action}", action=action,
                  id=xero_id, fields=fields if action != "delete" else {},
                  idempotency_key=f"outbox-contacts-{action}")


def _document_change(entity: str, action: Action, xero_id: str | None) -> Change:
    fields = {
        "number": "INV-0042" if entity == "invoices" else "SUP-9",
        "contact_id": CONTACT, "date": "2024-05-01", "due_date": "2024-05-31",
        "reference": "PO 17", "currency": "AUD", "amounts_are": "exclusive", "status": "draft",
    }
    lines = [
        Line(id=LINE if xero_id else None, fields={
            "position": "1", "description": "Consulting", "quantity": "2.5",
            "unit_price": "123.4567", "account_code": "200", "tax_type": "OUTPUT",
            "discount_rate": "10.00",
        }),
        Line(id=None, fields={
            "position": "2", "description": "Travel", "quantity": "1.0000",
            "unit_price": "80.00", "account_code": "200", "tax_type": "OUTPUT",
        }),
    ]
    if action in ("delete", "void"):
        return Change(key=f"{entity}:{action}", action=action,
                      id=xero_id, idempotency_key=f"outbox-{entity}-{action}")
    return Change(key=f"{entity}:{action}", action=action,
                  id=xero_id, fields=fields, lines=lines,
                  idempotency_key=f"outbox-{entity}-{action}")


# -- reads -------------------------------------------------------------------------------------


@pytest.mark.parametrize("entity", READ)
def test_a_full_scan_is_a_valid_request(xero: Harness, entity: str) -> None:
    xero.drive(lambda: xero.side.scan(entity, None))
    xero.assert_accepted()


@pytest.mark.parametrize("entity", READ)
def test_an_incremental_scan_sends_a_valid_if_modified_since(xero: Harness, entity: str) -> None:
    xero.drive(lambda: xero.side.scan(entity, CURSOR))
    if entity != "tax_rates":
        assert any("if-modified-since" in e.headers for e in xero.recorder.exchanges)
    xero.assert_accepted()


@pytest.mark.parametrize("entity", BY_ID)
def test_a_read_by_ids_is_a_valid_request(xero: Harness, entity: str) -> None:
    xero.drive(lambda: xero.side.fetch(entity, [INVOICE, CONTACT]))
    # an endpoint without an IDs filter (Payments) is asked with a `where` on its ids
    wanted = "where=" if entity in NO_ID_LIST else "IDs="
    assert any(wanted in e.query for e in xero.recorder.exchanges)
    xero.assert_accepted()


@pytest.mark.parametrize("entity", ["invoices", "bills"])
def test_a_lookup_by_invoice_numbers_is_a_valid_request(xero: Harness, entity: str) -> None:
    xero.drive(lambda: xero.side.find(entity, "number", ["INV-0042", "SUP/9 (a)"]))
    assert any("InvoiceNumbers=" in e.query for e in xero.recorder.exchanges)
    xero.assert_accepted()


@pytest.mark.parametrize("field", ["name", "email", "abn"])
def test_a_contact_lookup_by_where_is_a_valid_request(xero: Harness, field: str) -> None:
    values = ['Ava "Quotes" & Co', "back\\slash", "ava@example.com", "53 004 085 616"]
    xero.drive(lambda: xero.side.find("contacts", field, values))
    assert any("where=" in e.query for e in xero.recorder.exchanges)
    xero.assert_accepted()


def test_the_status_check_of_the_organisation_is_a_valid_request(xero: Harness) -> None:
    xero.drive(lambda: xero.client.get("Organisation"))
    xero.assert_accepted()


# -- writes ------------------------------------------------------------------------------------


def test_a_batch_of_contact_writes_is_a_valid_request(xero: Harness) -> None:
    changes = [_contact_change("create", None), _contact_change("update", CONTACT),
               _contact_change("delete", CONTACT)]
    xero.drive(lambda: xero.side.write("contacts", changes))
    posts = [e for e in xero.recorder.exchanges if e.method == "POST"]
    assert posts and all("idempotency-key" in e.headers for e in posts)
    xero.assert_accepted()


@pytest.mark.parametrize("entity", ["invoices", "bills"])
def test_a_batch_of_document_writes_is_a_valid_request(xero: Harness, entity: str) -> None:
    changes = [_document_change(entity, "create", None),
               _document_change(entity, "update", INVOICE),
               _document_change(entity, "void", INVOICE),
               _document_change(entity, "delete", INVOICE)]
    xero.drive(lambda: xero.side.write(entity, changes))
    posts = [e for e in xero.recorder.exchanges if e.method == "POST"]
    assert posts and all("idempotency-key" in e.headers for e in posts)
    assert all("summarizeErrors=false" in e.query for e in posts)
    assert any(item.get("LineItemID") == LINE for e in posts
               for doc in e.body["Invoices"] for item in doc.get("LineItems", []))
    xero.assert_accepted()


# -- four decimal places -----------------------------------------------------------------------


def test_the_document_accepts_unitdp_where_xsync_reads_and_writes_documents(
    xero: Harness,
) -> None:
    params = {"where": 'Type=="ACCREC"', "unitdp": 4}
    xero.drive(lambda: xero.client.iter_pages("Invoices", params=params))
    xero.drive(lambda: xero.client.get_by_ids("Invoices", [INVOICE], params={"unitdp": 4}))
    xero.drive(lambda: xero.client.iter_pages("CreditNotes", params={"unitdp": 4}))
    element = {"InvoiceID": INVOICE, "LineItems": [
        {"LineItemID": LINE, "UnitAmount": Decimal("123.4567"), "Quantity": Decimal("2.5")}]}
    xero.drive(lambda: xero.client.write_batch(
        "Invoices", "POST", [element], keys=["k"], idempotency_key="unitdp-check",
        params={"unitdp": 4}))
    xero.assert_accepted()


# -- the check itself --------------------------------------------------------------------------


def test_the_check_names_a_request_the_document_refuses(xero: Harness) -> None:
    xero.drive(lambda: xero.client.get("Contacts", params={"includeArchived": "yes"}))
    bad_line = {"InvoiceID": INVOICE, "LineItems": [{"LineItemID": "line-1"}]}
    xero.drive(lambda: xero.client.write_batch(
        "Invoices", "POST", [bad_line], keys=["k"], idempotency_key="bad-body"))
    refused = xero.refused()
    problems = "\n".join(e.describe() for e in refused)
    assert "includearchived must be boolean" in problems
    assert "/Invoices/0/LineItems/0/LineItemID" in problems and "uuid" in problems
