"""XeroSide over the in-process sandbox: the cursor advances, and the overlap catches late writes.

A sync that never advances its cursor re-reads all of Xero every run (and spends the day's calls);
one without the If-Modified-Since overlap misses a change Xero stamped just before the newest one
it had shown. The sandbox's call counters tell how many pages a scan read.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from xsync.model.side import Change
from xsync.sandbox.app import Sandbox
from xsync.sandbox.clock import Clock
from xsync.sides.xero import XeroSide
from xsync.xero.client import StaticTokens, XeroClient

START = datetime(2026, 3, 2, 9, 0, 0, 250_000, tzinfo=UTC)
BASE = "http://sandbox.test"
INVOICES = "/api.xro/2.0/Invoices"


class Org:
    """A sandbox organisation, a raw admin/API client to shape it, and XeroSide over it."""

    def __init__(self) -> None:
        # Limits high enough that pacing never moves the clock between writes and scans.
        self.sandbox = Sandbox(seed="empty", clock=Clock(START), minute_limit=10_000,
                               day_limit=100_000)
        token = self.sandbox.client_credentials_token()
        transport = httpx.WSGITransport(app=self.sandbox.app)
        self.http = httpx.Client(transport=transport, base_url=BASE,
                                 headers={"Authorization": f"Bearer {token}"})
        self.client = XeroClient(
            api_url=BASE + "/api.xro/2.0", tenant_id=self.sandbox.tenant_ids[0],
            tokens=StaticTokens(token), transport=transport,
            sleep=self._sleep, clock=lambda: self.sandbox.now().timestamp(),
        )
        reply = self.http.put("/api.xro/2.0/Contacts", json={"Contacts": [{"Name": "Bulk Pty"}]})
        assert reply.status_code == 200, reply.text
        self.contact_id = reply.json()["Contacts"][0]["ContactID"]

    def _sleep(self, seconds: float) -> None:
        # The client's pauses move the sandbox's clock: no real sleeping.
        self.sandbox.advance_clock(seconds)

    def side(self, **kw: Any) -> XeroSide:
        return XeroSide(self.client, **kw)

    def create_invoices(self, count: int, prefix: str = "BULK") -> list[str]:
        ids: list[str] = []
        for start in range(0, count, 50):
            batch = [self._invoice(f"{prefix}-{n:05d}") for n in range(start,
                                                                       min(start + 50, count))]
            reply = self.http.put(INVOICES, json={"Invoices": batch})
            assert reply.status_code == 200, reply.text
            ids += [i["InvoiceID"] for i in reply.json()["Invoices"]]
        return ids

    def _invoice(self, number: str) -> dict[str, Any]:
        return {"Type": "ACCREC", "Contact": {"ContactID": self.contact_id},
                "InvoiceNumber": number, "Status": "DRAFT", "Date": "2026-03-01",
                "DueDate": "2026-03-31",
                "LineItems": [{"Description": "Work", "Quantity": 1, "UnitAmount": "10.00",
                               "AccountCode": "200"}]}

    def touch(self, invoice_id: str, reference: str) -> None:
        reply = self.http.post(f"{INVOICES}/{invoice_id}",
                               json={"Invoices": [{"InvoiceID": invoice_id,
                                                   "Reference": reference}]})
        assert reply.status_code == 200, reply.text

    def invoice_reads(self) -> int:
        endpoint = self.sandbox.get_counters()["endpoints"].get("GET /Invoices") or {}
        return int(endpoint.get("calls", 0))

    def close(self) -> None:
        self.client.close()
        self.http.close()
        self.sandbox.close()


@pytest.fixture
def org() -> Iterator[Org]:
    made = Org()
    yield made
    made.close()


def test_a_second_scan_of_over_a_thousand_invoices_reads_one_page(org: Org) -> None:
    ids = org.create_invoices(1_050)
    org.sandbox.advance_clock(60)
    newest = ids[7]
    org.touch(newest, "the newest before the first scan")
    side = org.side()

    org.sandbox.reset_counters()
    first = side.scan("invoices", None)
    assert first.complete and len(first.records) == 1_050
    assert org.invoice_reads() == 2  # 1,000 a page

    org.sandbox.advance_clock(60)  # well past the overlap
    changed = {ids[3], ids[1_040]}
    for invoice_id in changed:
        org.touch(invoice_id, "changed after the first scan")

    org.sandbox.reset_counters()
    second = side.scan("invoices", first.cursor)
    assert org.invoice_reads() == 1
    # What changed, and the newest record already seen (the overlap reads it again): no more.
    assert {r.id for r in second.records} == changed | {newest}
    assert second.cursor is not None and first.cursor is not None
    assert datetime.fromisoformat(second.cursor) > datetime.fromisoformat(first.cursor)

    org.sandbox.advance_clock(60)
    org.sandbox.reset_counters()
    third = side.scan("invoices", second.cursor)
    assert org.invoice_reads() == 1
    assert {r.id for r in third.records} <= changed  # only the overlap of the last ones


def test_a_change_in_the_same_second_as_the_cursor_is_seen_next_scan(org: Org) -> None:
    [seen, late] = org.create_invoices(2)
    org.sandbox.advance_clock(10)
    org.touch(seen, "newest at the first scan")  # 09:00:10.250
    side = org.side()
    first = side.scan("invoices", None)
    org.sandbox.advance_clock(0.5)
    org.touch(late, "same second, after the scan")  # 09:00:10.750
    second = side.scan("invoices", first.cursor)
    assert late in {r.id for r in second.records}


def test_a_change_stamped_just_before_the_cursor_is_seen_next_scan(org: Org) -> None:
    """Xero stamps UpdatedDateUTC when a write starts; a slow write can land after a scan has
    shown a newer one. The overlap is what finds it."""
    [seen, late] = org.create_invoices(2)
    org.sandbox.advance_clock(30)
    org.touch(seen, "newest at the first scan")  # 09:00:30.250
    side = org.side()
    first = side.scan("invoices", None)
    assert first.cursor is not None
    stamped = datetime.fromisoformat(first.cursor) - timedelta(seconds=3)
    org.sandbox.set_clock(stamped)
    org.touch(late, "stamped 3 s before the cursor, visible only now")
    org.sandbox.set_clock(stamped + timedelta(seconds=60))
    second = side.scan("invoices", first.cursor)
    assert late in {r.id for r in second.records}


def test_an_overlap_shorter_than_the_lag_misses_the_late_change(org: Org) -> None:
    """The same late write with a 1 s overlap: why the default is wider than Xero's lag."""
    [seen, late] = org.create_invoices(2)
    org.sandbox.advance_clock(30)
    org.touch(seen, "newest at the first scan")
    side = org.side(overlap_seconds=1)
    first = side.scan("invoices", None)
    assert first.cursor is not None
    stamped = datetime.fromisoformat(first.cursor) - timedelta(seconds=3)
    org.sandbox.set_clock(stamped)
    org.touch(late, "stamped 3 s before the cursor")
    org.sandbox.set_clock(stamped + timedelta(seconds=60))
    second = side.scan("invoices", first.cursor)
    assert late not in {r.id for r in second.records}


def test_writes_without_idempotency_keys_do_not_collide(org: Org) -> None:
    side = org.side()
    [first] = side.write("contacts", [Change("k", "create", None, {"name": "First Pty"})])
    [second] = side.write("contacts", [Change("k", "create", None, {"name": "Second Pty"})])
    assert first.ok and second.ok
    assert first.id != second.id


@pytest.mark.parametrize("name", ['O"Brien & Co', "Back\\Slash Pty", "C:\\books\\"])
def test_find_by_a_name_with_a_quote_or_a_backslash(org: Org, name: str) -> None:
    reply = org.http.put("/api.xro/2.0/Contacts", json={"Contacts": [{"Name": name}]})
    assert reply.status_code == 200, reply.text
    wanted = reply.json()["Contacts"][0]["ContactID"]
    found = org.side().find("contacts", "name", [name, "Plain Pty"])
    assert [r.id for r in found] == [wanted]


def test_records_sharing_one_stamp_are_not_read_again_once_the_cursor_settles(org: Org) -> None:
    """A bulk import stamps a thousand records in one second: the overlap would read them all
    on every cycle. Once Xero's clock is well past the cursor, the next scan starts after it."""
    org.create_invoices(1_050)  # the sandbox's clock stands still: one stamp for all
    side = org.side()
    first = side.scan("invoices", None)
    assert len(first.records) == 1_050
    org.sandbox.advance_clock(120)
    org.sandbox.reset_counters()
    second = side.scan("invoices", first.cursor)
    # the overlap still covers the stamp: read once more, and the cursor is now settled
    assert len(second.records) == 1_050
    org.sandbox.advance_clock(120)
    org.sandbox.reset_counters()
    third = side.scan("invoices", second.cursor)
    assert org.invoice_reads() == 1
    assert third.records == []
    late = org.create_invoices(1, prefix="LATE")
    org.sandbox.reset_counters()
    fourth = side.scan("invoices", third.cursor)
    assert [r.id for r in fourth.records] == late


# an invoice as Xero lists it, readable
GOOD = {"InvoiceID": "11111111-1111-1111-1111-111111111111", "Type": "ACCREC",
        "InvoiceNumber": "INV-1", "Status": "AUTHORISED", "LineAmountTypes": "Exclusive",
        "Contact": {"ContactID": "22222222-2222-2222-2222-222222222222"},
        "Date": "/Date(1772409600000+0000)/", "CurrencyCode": "AUD", "LineItems": [],
        "UpdatedDateUTC": "/Date(1772409600000+0000)/"}


def _serving(*invoices: dict[str, Any]) -> XeroSide:
    """A Xero side over a Xero that answers every read with ``invoices`` (a first page)."""
    def respond(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        return httpx.Response(200, json={"Invoices": list(invoices) if page == 1 else []})

    return XeroSide(XeroClient(api_url=BASE + "/api.xro/2.0", tenant_id="t",
                               tokens=StaticTokens("token"),
                               transport=httpx.MockTransport(respond)))


def test_a_value_of_an_odd_shape_rejects_its_record_alone() -> None:
    good = GOOD
    odd = {**good, "InvoiceID": "33333333-3333-3333-3333-333333333333",
           "InvoiceNumber": "INV-2", "Status": ["AUTHORISED"]}
    scan = _serving(good, odd).scan("invoices", None)
    assert [r.id for r in scan.records] == [good["InvoiceID"]]
    assert [rid for rid, _ in scan.rejected] == [odd["InvoiceID"]]
    assert "unexpected shape" in scan.rejected[0][1]


def test_a_fetch_leaves_out_a_record_it_cannot_map_and_names_it_once() -> None:
    # a record left out of a fetch must not read as gone: the side names it, and the engine
    # holds it unknown (a fetch by id is how a rejected record's retry reads it)
    good = GOOD
    bad = {**good, "InvoiceID": "33333333-3333-3333-3333-333333333333",
           "InvoiceNumber": "INV-2", "Date": "yesterday"}
    side = _serving(good, bad)
    found = side.fetch("invoices", [good["InvoiceID"], bad["InvoiceID"]])
    assert [r.id for r in found] == [good["InvoiceID"]]
    [(rid, reason)] = side.unreadable("invoices")
    assert rid == bad["InvoiceID"] and "INV-2" in reason and "yesterday" in reason
    assert side.unreadable("invoices") == []
