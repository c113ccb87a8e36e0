"""Two MemoryStores (ops and Xero), a movable clock, and an engine over an in-memory state db."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from xsync.sides.memory import ChangedScanStore, MemoryStore
from xsync.state.db import open_state
from xsync.state.ledger import Ledger
from xsync.sync import Engine, Rules, RunResult, default_rules


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float = 600) -> None:
        self.now += timedelta(seconds=seconds)


class World:
    """Both sides, the state db, and a way to build an engine over them."""

    def __init__(self, rules: Rules | None = None, *, balances: bool = False,
                 changed_scans: bool = True) -> None:
        self.clock = Clock()
        # the ops side lists changed rows as ops.db does, or (a plugin side) every row
        store = ChangedScanStore if changed_scans else MemoryStore
        self.ops = store(name="ops", clock=self.clock)
        self.xero = MemoryStore(name="xero", clock=self.clock, balances=balances)
        self.state = open_state(None)
        self.rules = rules or default_rules()

    def engine(self, rules: Rules | None = None) -> Engine:
        return Engine(self.state, self.ops, self.xero, rules or self.rules, now=self.clock)

    def sync(self, mode: str = "sync", **flags: bool) -> RunResult:
        self.clock.tick(1)
        return self.engine().run(mode, **flags)

    def contact(self, side: str, name: str, **fields: str | None) -> str:
        store = self.ops if side == "ops" else self.xero
        return store.put("contacts", {"name": name, "status": "active", **fields}).id

    def invoice(self, side: str, number: str, contact_id: str, *, status: str = "approved",
                lines: list[dict[str, str | None]] | None = None, **fields: str | None) -> str:
        store = self.ops if side == "ops" else self.xero
        lines = lines if lines is not None else [
            {"position": "1", "description": "Labour", "quantity": "2.00",
             "unit_price": "100.00", "account_code": "200", "tax_type": "OUTPUT"}]
        data = {"number": number, "contact_id": contact_id, "date": "2026-03-01",
                "status": status, "currency": "AUD", "amounts_are": "exclusive", **fields}
        return store.put("invoices", data, lines).id

    def xero_id(self, entity: str, ops_id: str) -> str | None:
        return Ledger(self.state).links(entity).get(ops_id)

    def ops_id(self, entity: str, xero_id: str) -> str | None:
        return Ledger(self.state).ops_id_of(entity, xero_id)


