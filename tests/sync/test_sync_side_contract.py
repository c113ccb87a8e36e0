"""The side contract, run over the MemoryStore as either side.

Other sides reuse it: ``from xsync.sync.contract import SideContract`` and subclass it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from syncworld import Clock

from xsync.model.side import Side
from xsync.sides.memory import MemoryStore
from xsync.sync.contract import SideContract


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
