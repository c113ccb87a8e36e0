"""Two MemoryStores (ops, and a Xero whose ids are UUIDs as Xero's are), a movable clock, and an
engine over a state database in a file, as a workspace has it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from xsync.sides.memory import MemoryStore
from xsync.state.bas import BasLedger, StoredDoc
from xsync.state.db import open_state
from xsync.state.ledger import Ledger
from xsync.sync import Engine, Rules, RunResult, default_rules


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, 0, 250000, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float = 600) -> None:
        self.now += timedelta(seconds=seconds)


class UuidXero(MemoryStore):
    """Xero's ids are UUIDs: the state database keeps those as 16 bytes."""

    def new_id(self, entity: str) -> str:
        self._ids += 1
        return str(uuid.UUID(int=(0x5EED << 96) + self._ids))


class StateWorld:
    def __init__(self, path: Path, rules: Rules | None = None) -> None:
        self.path = path
        self.clock = Clock()
        self.ops = MemoryStore(name="ops", clock=self.clock)
        self.xero = UuidXero(name="xero", clock=self.clock)
        self.state = open_state(path)
        self.rules = rules or default_rules()

    def close(self) -> None:
        self.state.close()

    def reopen(self) -> None:
        self.state.close()
        self.state = open_state(self.path)

    @property
    def ledger(self) -> Ledger:
        return Ledger(self.state)

    def engine(self) -> Engine:
        return Engine(self.state, self.ops, self.xero, self.rules, now=self.clock)

    def sync(self, mode: str = "sync") -> RunResult:
        self.clock.tick(1)
        return self.engine().run(mode)

    def books(self) -> None:
        """Contacts and invoices made on both sides, synced, then edited on both sides (one
        field both ways: a conflict), synced again."""
        acme = self.xero.put("contacts", {"name": "Acme Pty Ltd", "status": "active",
                                          "email": "ap@acme.test"}).id
        self.ops.put("contacts", {"name": "Bolt & Co", "status": "active"})
        line = {"position": "1", "description": "Labour", "quantity": "2.00",
                "unit_price": "100.00", "account_code": "200", "tax_type": "OUTPUT"}
        for n in range(1, 4):
            self.xero.put("invoices", {"number": f"INV-{n:03d}", "contact_id": acme,
                                       "date": "2026-03-01", "status": "approved",
                                       "currency": "AUD", "amounts_are": "exclusive",
                                       "reference": f"PO {n}"}, [line, {**line, "position": "2"}])
        assert self.sync().exit_code == 0
        self.clock.tick(120)
        [first] = [r for r in self.xero.all("invoices") if r.fields["number"] == "INV-001"]
        self.xero.edit("invoices", first.id, reference="from Xero")
        ops_first = self.ledger.ops_id_of("invoices", first.id)
        assert ops_first is not None
        self.ops.edit("invoices", ops_first, reference="from ops")
        [bolt] = [r for r in self.ops.all("contacts") if r.fields["name"] == "Bolt & Co"]
        self.ops.edit("contacts", bolt.id, email="hello@bolt.test")
        self.sync()
        # two writes recorded but never answered (a run stopped): one under its usual key
        ledger = self.ledger
        [(ops_id, xero_id)] = list(ledger.links("invoices").items())[:1]
        at = self.clock().isoformat()
        ledger.outbox_add(2, "invoices", "update", "xero", f"invoices:{ops_id}:{xero_id}:xero",
                          ops_id, xero_id, {"fields": {"reference": "PO 9"}}, at)
        ledger.outbox_add(2, "contacts", "create", "ops", "an unusual key", None,
                          "00005eed-0000-0000-0000-0000000000ff", {"fields": {"name": "Zed"}},
                          at)
        # what `xsync bas` read of each side, found again through the links
        bas = BasLedger(self.state)
        for ops_id, xero_id in self.ledger.links("invoices").items():
            for side, doc_id in (("ops", ops_id), ("xero", xero_id)):
                bas.upsert([StoredDoc(side, "invoices", doc_id, "2026-03-01", None, None,
                                      f"fp-{doc_id}", {"total": "220.00"})], "2026-03-02")

    def readers(self) -> dict[str, Any]:
        """What every reader of the state database returns, as plain values."""
        ledger = self.ledger
        out: dict[str, Any] = {"link_counts": ledger.link_counts()}
        for entity in ("contacts", "invoices"):
            links = ledger.links(entity)
            out[f"links/{entity}"] = links
            out[f"link_rows/{entity}"] = ledger.link_rows(entity)
            out[f"xero_id_of/{entity}"] = {o: ledger.xero_id_of(entity, o) for o in links}
            out[f"ops_id_of/{entity}"] = {x: ledger.ops_id_of(entity, x) for x in links.values()}
            out[f"bases/{entity}"] = {
                ops_id: (b.xero_id, b.snapshot, b.ops_hash, b.xero_hash, b.ops_updated_at,
                         b.xero_updated_at, b.synced_at)
                for ops_id, b in ledger.bases(entity).items()}
        entries = ledger.audit()
        out["audit"] = [e.to_json() for e in entries]
        middle = entries[len(entries) // 2].at
        out["audit/since"] = [e.id for e in ledger.audit(since=middle)]
        out["audit/entity"] = [e.id for e in ledger.audit(entity="invoices")]
        some = next(e for e in entries if e.xero_id)
        out["audit/record"] = [e.id for e in ledger.audit(record=some.xero_id)]
        out["conflicts"] = [c.to_json() for c in ledger.conflicts(open_only=False)]
        out["runs"] = ledger.runs()
        out["outbox"] = ledger.outbox_counts()
        out["outbox/unfinished"] = ledger.outbox_unfinished()
        out["outbox/rows"] = [ledger.outbox_row(r["id"]) for r in out["outbox/unfinished"]]
        out["outbox/pending"] = ledger.outbox_pending("contacts", "ops")
        out["bas/twins"] = [(d.side, d.id, d.twin) for d in
                            BasLedger(self.state).in_period("2000-01-01", "2100-01-01", True)]
        return out
