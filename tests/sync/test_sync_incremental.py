"""Cycles cost what changed, not what exists, on an organisation larger than a page.

A cycle with nothing changed reads at most one page per entity (If-Modified-Since from the
cursor; bills included, though they flow to Xero only). A cycle with k records changed on each
side fetches, by id, no record Xero did not change: what Xero did not list is known from the
base. The engine runs over the real ops store and the Xero side over the in-process sandbox.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from syncworld import World

import xsync.sync.planner as planner
from xsync.sandbox.app import Sandbox
from xsync.sandbox.clock import Clock
from xsync.sandbox.generate import generate_organisation
from xsync.sides.ops_sqlite import SqliteOpsStore
from xsync.sides.xero import XeroSide
from xsync.state.db import open_state
from xsync.sync import Engine, default_rules
from xsync.xero.client import StaticTokens, XeroClient

START = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
BASE = "http://sandbox.test"


class Recording(httpx.BaseTransport):
    """Every request the Xero client sends, as (method, path, query)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.sent: list[tuple[str, str, dict[str, str]]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.method, request.url.path.rsplit("/", 1)[-1],
                          dict(request.url.params)))
        return self.inner.handle_request(request)


class Books:
    def __init__(self, folder: Path, invoices: int) -> None:
        self.sandbox = Sandbox(seed="empty", clock=Clock(START), minute_limit=100_000,
                               day_limit=1_000_000)
        self.tenant = generate_organisation(self.sandbox.store, "Large Pty Ltd",
                                            invoices=invoices, clock=self.sandbox.clock)
        self.sandbox.identity.connect(self.tenant)
        token = self.sandbox.client_credentials_token(self.tenant)
        self.wire = Recording(httpx.WSGITransport(app=self.sandbox.app))
        self.http = httpx.Client(transport=httpx.WSGITransport(app=self.sandbox.app),
                                 base_url=BASE + "/api.xro/2.0",
                                 headers={"Authorization": f"Bearer {token}",
                                          "xero-tenant-id": self.tenant})
        client = XeroClient(api_url=BASE + "/api.xro/2.0", tenant_id=self.tenant,
                            tokens=StaticTokens(token), transport=self.wire,
                            sleep=self.sandbox.advance_clock,
                            clock=lambda: self.sandbox.now().timestamp())
        self.ops = SqliteOpsStore(folder / "ops.db")
        self.engine = Engine(open_state(folder / "state.db"), self.ops, XeroSide(client),
                             default_rules(), now=self.sandbox.now)

    def cycle(self, mode: str = "sync") -> int:
        # two minutes pass between cycles, well past the If-Modified-Since overlap (and well
        # within the access token's half hour)
        self.sandbox.advance_clock(120)
        self.wire.sent.clear()
        return self.engine.run(mode).exit_code

    def reads(self) -> Counter[str]:
        """GETs per entity read (invoices and bills share /Invoices, told apart by Type)."""
        return Counter(f"{path} {query.get('where', '')}".strip()
                       for method, path, query in self.wire.sent if method == "GET")

    def by_id(self) -> list[str]:
        return [i for method, _, query in self.wire.sent if method == "GET"
                for i in query.get("IDs", "").split(",") if i]


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> Books:
    # about 20% of them bills: more than a page of each
    books = Books(tmp_path_factory.mktemp("books"), invoices=5_500)
    assert books.cycle("pull") == 0
    assert books.cycle() == 0
    return books


def test_a_cycle_with_nothing_changed_reads_one_page_per_entity(books: Books) -> None:
    assert books.cycle() == 0
    reads = books.reads()
    assert reads, "the cycle read nothing at all"
    assert max(reads.values()) == 1, reads
    assert books.by_id() == []
    assert not [s for s in books.wire.sent if s[0] != "GET"], "a cycle with nothing changed wrote"


def test_k_changes_on_each_side_fetch_no_record_xero_did_not_change(books: Books) -> None:
    rows = books.ops.conn.execute(
        "SELECT id, number FROM invoices WHERE status = 'approved' ORDER BY number").fetchall()
    mine, theirs = rows[:5], rows[5:10]
    for row in mine:
        books.ops.conn.execute("UPDATE invoices SET reference = ?, updated_at = ? WHERE id = ?",
                               [f"ops {row['number']}", "2026-10-02T09:00:00Z", row["id"]])
    numbers = ",".join(row["number"] for row in theirs)
    found = books.http.get("/Invoices", params={"InvoiceNumbers": numbers}).json()["Invoices"]
    for invoice in found:
        reply = books.http.post(f"/Invoices/{invoice['InvoiceID']}", json={"Invoices": [{
            "InvoiceID": invoice["InvoiceID"], "Reference": f"xero {invoice['InvoiceNumber']}"}]})
        assert reply.status_code == 200, reply.text

    assert books.cycle() == 0
    assert books.by_id() == [], "records Xero did not change were fetched by id"
    assert books.reads()['Invoices Type=="ACCREC"'] == 1
    by_number = {inv["InvoiceNumber"]: inv for inv in books.http.get(
        "/Invoices", params={"InvoiceNumbers": ",".join(r["number"] for r in mine), "page": "1"}
    ).json()["Invoices"]}
    for row in mine:
        invoice = by_number[row["number"]]
        assert invoice["Reference"] == f"ops {row['number']}"
        assert len(invoice["LineItems"]) == 3
    for row in theirs:
        got = books.ops.conn.execute("SELECT reference FROM invoices WHERE id = ?",
                                     [row["id"]]).fetchone()[0]
        assert got == f"xero {row['number']}"
    # and the next cycle is quiet again
    assert books.cycle() == 0
    assert max(books.reads().values()) == 1


def test_an_unchanged_ops_row_is_hashed_once_then_trusted_by_its_change_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A row whose content proved it unchanged, with a change time well in the past, is not
    hashed again while its change time stays; an edit, which moves the change time, is seen."""
    world = World()
    world.ops.incremental = False  # lists every row, as the SQLite ops store does
    ids = [world.contact("ops", f"Customer {n}") for n in range(3)]
    assert world.sync().exit_code == 0  # stored with the change times of the same instant
    hashed: list[str] = []
    real = planner.record_hash
    from_ops: set[int] = set()
    scan = world.ops.scan

    def tagged(entity, cursor):  # type: ignore[no-untyped-def]
        result = scan(entity, cursor)
        from_ops.update(id(r) for r in result.records)
        return result

    def counting(record):  # type: ignore[no-untyped-def]
        if id(record) in from_ops:
            hashed.append(record.id)
        return real(record)

    monkeypatch.setattr(world.ops, "scan", tagged)
    monkeypatch.setattr(planner, "record_hash", counting)
    world.clock.tick(600)
    assert world.sync().exit_code == 0
    assert sorted(set(hashed) & set(ids)) == sorted(ids)  # proved by content, once
    hashed.clear()
    world.clock.tick(600)
    assert world.sync().exit_code == 0
    assert not set(hashed) & set(ids)  # trusted by their change time
    world.ops.edit("contacts", ids[1], email="new@customer.test")
    world.clock.tick(600)
    assert world.sync().exit_code == 0
    assert [c.fields["email"] for c in world.xero.all("contacts")
            if c.fields["name"] == "Customer 1"] == ["new@customer.test"]
