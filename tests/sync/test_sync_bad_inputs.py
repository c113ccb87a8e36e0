"""Bad rows of ops.db through a whole sync, one kind at a time.

Each kind of bad row is added twice: as a new row, and over a row already linked to Xero. The
sync names both (exit 4) and carries on: good changes in the same entity and elsewhere still go
through, nothing else Xero holds is touched, the linked row keeps its link and base and its
twin is left as it was. Once the rows are fixed, the next sync is clean, the new row is in Xero
(where ops pushes that entity) and the one after has nothing to do."""

from __future__ import annotations

import copy
import json
import sqlite3
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from xsync.sides.memory import MemoryStore
from xsync.sides.ops_sqlite import SqliteOpsStore
from xsync.state.db import open_state
from xsync.state.ledger import Ledger
from xsync.sync import Engine, RunResult, default_rules

sys.path.append(str(Path(__file__).resolve().parents[1]))
from bad_rows import CASES, LINE_OF, PYTHON_TEXT, TEMPLATES, Bad, add_bad_row, insert, seed

OPS_TABLES = ("contacts", "invoices", "invoice_lines", "bills", "bill_lines", "payments",
              "credit_notes", "accounts")
# entities ops pushes to Xero; payments and credit notes only come from Xero
PUSHED = {"contacts", "invoices", "bills"}
# the linked row each kind of bad row is also written over (payments and credit notes: the
# ones pulled from Xero, whose ids the ops store makes up)
LINKED_ROW = {"contacts": "C1", "invoices": "I1", "invoice_lines": "L1", "bills": "B1",
              "bill_lines": "BL1"}
NOUN = {"contacts": "contact", "invoices": "invoice", "bills": "bill", "payments": "payment",
        "credit_notes": "credit note"}
GOOD_PHONE = "+61 2 9999 0000"
# a good change in the bad row's own entity: (ops row, field, value) made in ops
PUSHED_CHANGE = {"contacts": ("C2", "phone", GOOD_PHONE), "invoices": ("I3", "reference", "PO-77"),
                 "bills": ("B2", "reference", "PO-88")}
# (field, value) made in Xero, to the payment or credit note that is not spoilt
PULLED_CHANGE = {"payments": ("reference", "EFT-77"), "credit_notes": ("remaining", "4.00")}


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class Workspace:
    """ops.db over the real store, Xero in memory, and the engine's state, all on one clock
    that starts after the corpus's stamps."""

    def __init__(self, folder: Path) -> None:
        self.now = datetime(2026, 11, 6, 9, 0, tzinfo=UTC)
        self.path = folder / "ops.db"
        seed(self.path)
        self.ops = SqliteOpsStore(self.path, now=lambda: _stamp(self.now))
        self.xero = MemoryStore(name="xero", clock=lambda: self.now)
        for code, name, kind, tax in (("200", "Sales", "REVENUE", "OUTPUT"),
                                      ("300", "Purchases", "EXPENSE", "INPUT")):
            self.xero.put("accounts", {"code": code, "name": name, "type": kind,
                                       "tax_type": tax, "status": "active"})
        self.state = open_state(None)
        # Xero ids of the payments and credit notes made in Xero: one to spoil, one to change
        self.pulled: dict[str, list[str]] = {}

    def clock(self) -> datetime:
        return self.now

    def sync(self) -> RunResult:
        self.now += timedelta(minutes=10)
        return Engine(self.state, self.ops, self.xero, default_rules(), now=self.clock).run(
            "sync")

    def later(self) -> str:
        """A change time newer than any the store or the engine has seen."""
        self.now += timedelta(minutes=1)
        return _stamp(self.now)

    def link(self, entity: str, ops_id: str) -> str | None:
        return Ledger(self.state).links(entity).get(ops_id)

    def ops_of(self, entity: str, xero_id: str) -> str:
        ops_id = Ledger(self.state).ops_id_of(entity, xero_id)
        assert ops_id is not None, (entity, xero_id)
        return ops_id

    def ledger(self, table: str) -> list[tuple[Any, ...]]:
        return sorted(self.state.conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)

    def base(self, entity: str, ops_id: str) -> tuple[Any, ...]:
        base = Ledger(self.state).bases(entity).get(ops_id)
        return () if base is None else (base.xero_id, base.snapshot, base.ops_hash,
                                        base.xero_hash)

    def rows(self) -> dict[str, list[tuple[Any, ...]]]:
        with sqlite3.connect(self.path) as conn:
            return {t: conn.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall()
                    for t in OPS_TABLES}

    def execute(self, sql: str, params: list[Any]) -> None:
        conn = sqlite3.connect(self.path)
        # values outside xsync's own CHECK rules, as a platform's ops.db may hold them
        conn.execute("PRAGMA ignore_check_constraints = ON")
        conn.execute(sql, params)
        conn.commit()
        conn.close()

    def values(self, table: str, row_id: str, names: list[str]) -> dict[str, Any]:
        with sqlite3.connect(self.path) as conn:
            found = conn.execute(f"SELECT {', '.join(names)} FROM {table} WHERE id = ?",
                                 [row_id]).fetchone()
        assert found is not None, (table, row_id)
        return dict(zip(names, found, strict=True))

    def insert(self, table: str, values: dict[str, Any]) -> None:
        conn = sqlite3.connect(self.path)
        insert(conn, table, values)
        conn.commit()
        conn.close()

    def update(self, table: str, row_id: str, values: dict[str, Any]) -> None:
        sets = ", ".join(f"{name} = ?" for name in values)
        self.execute(f"UPDATE {table} SET {sets} WHERE id = ?", [*values.values(), row_id])

    def touch(self, table: str, row_id: str) -> None:
        """Stamp a row (a line: its document) as changed now."""
        if table in LINE_OF:
            doc_table, owner_col = LINE_OF[table]
            row_id = str(self.values(table, row_id, [owner_col])[owner_col])
            table = doc_table
        self.update(table, row_id, {"updated_at": self.later()})


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace(tmp_path)
    # a second linked invoice and bill, beside the ones the bad rows spoil
    ws.insert("invoices", {"id": "I3", **TEMPLATES["invoices"], "number": "INV-3",
                           "contact_id": "C2"})
    ws.insert("invoice_lines", {"id": "L3", "invoice_id": "I3", **TEMPLATES["invoice_lines"]})
    ws.insert("bills", {"id": "B2", **TEMPLATES["bills"], "number": "SUP-2", "contact_id": "C2"})
    ws.insert("bill_lines", {"id": "BL3", "bill_id": "B2", **TEMPLATES["bill_lines"]})
    first = ws.sync()
    assert first.exit_code == 0, first.to_json()
    # two payments and two credit notes made in Xero, pulled into ops
    invoice, contact = ws.link("invoices", "I1"), ws.link("contacts", "C1")
    assert invoice and contact
    for reference in ("EFT", "EFT-2"):
        ws.pulled.setdefault("payments", []).append(ws.xero.put("payments", {
            "invoice_id": invoice, "date": "2026-11-09", "amount": "10.00",
            "reference": reference, "status": "authorised"}).id)
    for number in ("CN-9", "CN-10"):
        ws.pulled.setdefault("credit_notes", []).append(ws.xero.put("credit_notes", {
            "number": number, "contact_id": contact, "invoice_id": invoice, "date": "2026-11-09",
            "total": "10.00", "remaining": "10.00", "status": "approved"}).id)
    second = ws.sync()
    assert second.exit_code == 0, second.to_json()
    yield ws
    ws.ops.close()


def _linked_row(ws: Workspace, case: Bad) -> tuple[str, str, str, str] | None:
    """(table, row id, entity, the id it is rejected under) of the linked row the case also
    spoils; none for a line naming a document that does not exist (it belongs to no record)."""
    if case.owner is not None:
        return None
    if case.table in LINKED_ROW:
        row_id = LINKED_ROW[case.table]
    else:
        row_id = ws.ops_of(case.table, ws.pulled[case.table][0])
    if case.table in LINE_OF:
        doc_table, owner_col = LINE_OF[case.table]
        owner = str(ws.values(case.table, row_id, [owner_col])[owner_col])
        return case.table, row_id, doc_table, owner
    return case.table, row_id, case.table, row_id


def _who(table: str, row_id: str) -> str:
    return f"line {row_id}" if table in LINE_OF else f"{NOUN[table]} {row_id}"


def _assert_names(reason: str, who: str, case: Bad) -> None:
    assert who in reason, reason
    assert case.field in reason, reason
    assert case.shown in reason, reason
    assert not any(text in reason for text in PYTHON_TEXT), reason


def _xero(ws: Workspace) -> dict[str, Any]:
    return json.loads(json.dumps(ws.xero.snapshot()))


def test_forty_kinds_or_more_are_tried_on_new_and_on_linked_rows() -> None:
    assert len({c.kind for c in CASES}) == len(CASES) >= 40
    assert len([c for c in CASES if c.owner is None]) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c.kind for c in CASES])
def test_a_bad_row_is_named_the_rest_syncs_and_it_syncs_once_fixed(ws: Workspace,
                                                                    case: Bad) -> None:
    links_before = ws.ledger("links")
    linked = _linked_row(ws, case)
    base_before: tuple[Any, ...] = ()
    original: dict[str, Any] = {}
    if linked is not None:
        table, row_id, linked_entity, rejected_as = linked
        base_before = ws.base(linked_entity, rejected_as)
        assert base_before, linked
        original = ws.values(table, row_id, list(case.values))
        ws.update(table, row_id, case.values)
        if "updated_at" not in case.values:
            # the platform stamps every change it makes (the ops store contract)
            ws.touch(table, row_id)
    entity, rejected_id, who = add_bad_row(ws.path, case)
    # good changes that must go through: a contact's phone, and one in the bad row's entity
    ws.update("contacts", "C2", {"phone": GOOD_PHONE, "updated_at": ws.later()})
    pulled: tuple[str, str, str] | None = None
    if entity in PULLED_CHANGE:
        name, value = PULLED_CHANGE[entity]
        neighbour = ws.pulled[entity][1]
        ws.xero.edit(entity, neighbour, **{name: value})
        pulled = (ws.ops_of(entity, neighbour), name, value)
    elif entity != "contacts":
        row_id, name, value = PUSHED_CHANGE[entity]
        ws.update(entity, row_id, {name: value, "updated_at": ws.later()})
    xero_before = _xero(ws)
    ops_before = ws.rows()

    result = ws.sync()

    assert result.exit_code == 4, result.to_json()
    reasons = {(r.entity, r.ops_id): r.reason for r in result.rejected}
    wanted = {(entity, rejected_id)} | ({(linked[2], linked[3])} if linked else set())
    assert set(reasons) == wanted, result.to_json()
    _assert_names(reasons[(entity, rejected_id)], who, case)
    if linked is not None:
        _assert_names(reasons[(linked[2], linked[3])], _who(linked[0], linked[1]), case)
    # the good changes went through, and nothing else in Xero moved: nothing created,
    # deleted, voided or changed, the spoilt row's twin included
    xero_after = _xero(ws)
    expected = copy.deepcopy(xero_before)
    for ent in {"contacts", entity} & set(PUSHED_CHANGE):
        row_id, name, value = PUSHED_CHANGE[ent]
        twin = ws.link(ent, row_id)
        assert twin is not None
        assert xero_after[ent][twin]["fields"][name] == value
        expected[ent][twin]["fields"][name] = value
    assert xero_after == expected
    # links and bases stay; the ops rows, bad ones included, are as they were (apart from the
    # change pulled from Xero)
    assert ws.ledger("links") == links_before
    if linked is not None:
        assert ws.base(linked[2], linked[3]) == base_before
    ops_after = ws.rows()
    if pulled is not None:
        row_id, name, value = pulled
        assert ws.values(entity, row_id, [name]) == {name: value}
        ops_before[entity] = [r for r in ops_before[entity] if r[0] != row_id]
        ops_after[entity] = [r for r in ops_after[entity] if r[0] != row_id]
    assert ops_after == ops_before

    # fixed: the new row gets its template's values, the linked one its own again
    if case.owner is not None:
        doc_table = LINE_OF[case.table][0]
        ws.insert(doc_table, {"id": case.owner, **TEMPLATES[doc_table], "updated_at": ws.later()})
    else:
        new_id = "X-LINE" if case.table in LINE_OF else "X-1"
        ws.update(case.table, new_id, {k: TEMPLATES[case.table].get(k) for k in case.values})
        ws.touch(case.table, new_id)
    if linked is not None:
        ws.update(linked[0], linked[1], original)
        ws.touch(linked[0], linked[1])

    fixed = ws.sync()

    assert fixed.exit_code == 0, fixed.to_json()
    assert fixed.rejected == []
    xero_fixed = _xero(ws)
    if entity in PUSHED:
        xero_id = ws.link(entity, rejected_id)
        assert xero_id is not None, fixed.to_json()
        twin_record = ws.xero.get(entity, xero_id)
        assert twin_record is not None
        label = "name" if entity == "contacts" else "number"
        assert twin_record.fields[label] == TEMPLATES[entity][label]
        if case.table in LINE_OF:
            assert twin_record.lines is not None
            assert [ln.fields["unit_price"] for ln in twin_record.lines] == ["10.00"]
        del xero_fixed[entity][xero_id]
    else:
        # Xero's alone: a fixed ops row is not pushed
        assert ws.link(entity, rejected_id) is None
    # the linked row, back as it was, changed nothing in Xero
    assert xero_fixed == xero_after
    # every link made before, the spoilt row's included, is still there as it was
    assert set(links_before) <= set(ws.ledger("links"))
    # and nothing is left to do
    again = ws.sync()
    assert again.exit_code == 0 and not again.applied, again.to_json()


def test_a_linked_line_moved_to_a_document_that_does_not_exist_leaves_its_twin(
        ws: Workspace) -> None:
    twin = ws.link("invoices", "I1")
    assert twin is not None
    before = _xero(ws)
    ws.update("invoice_lines", "L1", {"invoice_id": "I-404"})
    ws.touch("invoices", "I1")

    result = ws.sync()

    assert result.exit_code == 4
    # the line is named, and so is the document it left: held back, not one line shorter
    assert sorted((r.ops_id, "line L1" in r.reason) for r in result.rejected) == [
        ("I-404", True), ("I1", True)]
    assert _xero(ws)["invoices"][twin] == before["invoices"][twin]
