"""The side contract, run over the MemoryStore as either side, the SQLite ops store, and the
Xero side over the in-process sandbox.

Other sides reuse it: ``from xsync.sync.contract import SideContract`` and subclass it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from syncworld import Clock

from xsync.model.side import Change, ChangeResult, Side
from xsync.sandbox.app import Sandbox
from xsync.sandbox.clock import Clock as SandboxClock
from xsync.sides.memory import MemoryStore
from xsync.sides.xero import XeroSide
from xsync.sync.contract import SideContract
from xsync.xero.client import StaticTokens, XeroClient

SANDBOX_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class TestMemoryAsOps(SideContract):
    def make_side(self) -> Side:
        self.clock = Clock()
        return MemoryStore(name="ops", clock=self.clock)

    def advance(self, side: Side) -> None:
        self.clock.tick()


class TestMemoryAsXero(TestMemoryAsOps):
    def make_side(self) -> Side:
        self.clock = Clock()
        return MemoryStore(name="xero", clock=self.clock)


def test_memory_xero_replays_an_idempotency_key_without_applying_twice() -> None:
    from xsync.model.side import Change

    side = MemoryStore(name="xero")
    change = Change("k", "create", None, {"name": "Once"}, idempotency_key="key-1")
    first = side.write("contacts", [change])
    again = side.write("contacts", [change])
    assert first[0].id == again[0].id
    assert len(side.all("contacts")) == 1


def test_memory_xero_refuses_edits_of_paid_documents() -> None:
    from xsync.model.side import Change

    side = MemoryStore(name="xero")
    invoice = side.put("invoices", {"number": "P-1", "status": "paid"}, [])
    [result] = side.write("invoices", [Change("e", "update", invoice.id, {"reference": "x"})])
    assert not result.ok and "valid status" in result.errors[0]


class TestSqliteOpsStore(SideContract):
    """The shipped ops store keeps the same contract."""

    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.folder = tmp_path
        self.made = 0

    def make_side(self) -> Side:
        from xsync.sides.ops_sqlite import SqliteOpsStore

        self.made += 1
        self.tick = 0
        return SqliteOpsStore(self.folder / f"ops{self.made}.db", now=self._now)

    def _now(self) -> str:
        return f"2026-03-02T09:{self.tick:02d}:00Z"

    def advance(self, side: Side) -> None:
        self.tick += 1


class OutboxKeyedXeroSide(XeroSide):
    """XeroSide given a fresh idempotency key per change, as the engine's outbox always does.

    XeroSide falls back to the plan keys when a change has none, and the suite reuses plan keys
    ("k") across unrelated writes; tests/sides/test_xero_side.py shows that fallback on its own.
    """

    def write(self, entity: str, changes: Sequence[Change]) -> list[ChangeResult]:
        for change in changes:
            change.idempotency_key = change.idempotency_key or f"outbox-{uuid.uuid4()}"
        return super().write(entity, changes)


class TestXeroSideOverSandbox(SideContract):
    """XeroSide over the in-process sandbox: the engine's Xero, as close to Xero as tests get.

    Contacts, invoices and bills are what XeroSide writes; the suite writes only contacts and
    invoices, so it runs whole.
    """

    @pytest.fixture(autouse=True)
    def _sandboxes(self) -> Iterator[None]:
        self.opened: list[tuple[XeroClient, Sandbox]] = []
        yield
        for client, sandbox in self.opened:
            client.close()
            sandbox.close()

    def make_side(self) -> Side:
        self.sandbox = sandbox = Sandbox(seed="empty", clock=SandboxClock(SANDBOX_START))

        def sleep(seconds: float) -> None:
            sandbox.advance_clock(seconds)

        client = XeroClient(
            api_url="http://sandbox.test/api.xro/2.0", tenant_id=sandbox.tenant_ids[0],
            tokens=StaticTokens(sandbox.client_credentials_token()),
            transport=httpx.WSGITransport(app=sandbox.app),
            # The client's pauses move the sandbox's clock: no real sleeping.
            sleep=sleep, clock=lambda: sandbox.now().timestamp(),
        )
        self.opened.append((client, sandbox))
        return OutboxKeyedXeroSide(client)

    def test_find_when_offered_returns_matching_records(self) -> None:
        super().test_find_when_offered_returns_matching_records()

    def advance(self, side: Side) -> None:
        # Past XeroSide's If-Modified-Since overlap, so "later" is later for Xero too.
        self.sandbox.advance_clock(60)
