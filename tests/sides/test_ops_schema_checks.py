"""The ops store checks an entity's tables against the contract once while the schema stands
still, and again as soon as anyone changes it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from xsync.errors import OpsSchemaError
from xsync.model.side import Change
from xsync.sides.ops_sqlite import SqliteOpsStore, create_ops_db

STAMP = "2026-11-05T00:00:00Z"


def _seeded(path: Path) -> None:
    create_ops_db(path)
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO contacts (id, name, status, updated_at) "
                 f"VALUES ('C1', 'Acme', 'active', '{STAMP}')")
    conn.execute("INSERT INTO invoices (id, number, contact_id, date, status, updated_at) "
                 f"VALUES ('I1', 'INV-1', 'C1', '2026-11-02', 'approved', '{STAMP}')")
    conn.commit()
    conn.close()


def _schema_reads(store: SqliteOpsStore, call: object) -> int:
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    assert callable(call)
    call()
    store.conn.set_trace_callback(None)
    return sum("pragma_table_info" in s for s in statements)


def test_the_tables_are_checked_once_while_the_schema_stands_still(tmp_path: Path) -> None:
    path = tmp_path / "ops.db"
    _seeded(path)
    store = SqliteOpsStore(path)
    assert _schema_reads(store, lambda: store.scan("invoices", None)) > 0
    again = [lambda: store.scan("invoices", None), lambda: store.fetch("invoices", ["I1"]),
             lambda: store.scan_changed("invoices", {}),
             lambda: store.write("invoices", [Change("k", "update", "I1", {"reference": "x"})])]
    for call in again:
        assert _schema_reads(store, call) == 0
    store.close()


def test_a_column_dropped_after_a_scan_stops_the_next_one(tmp_path: Path) -> None:
    path = tmp_path / "ops.db"
    _seeded(path)
    store = SqliteOpsStore(path)
    assert [r.id for r in store.scan("invoices", None).records] == ["I1"]
    store.write("invoices", [Change("k", "update", "I1", {"reference": "PO-1"})])
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE invoices DROP COLUMN reference")
    conn.commit()
    conn.close()
    with pytest.raises(OpsSchemaError, match=r"invoices\.reference"):
        store.scan("invoices", None)
    with pytest.raises(OpsSchemaError, match=r"invoices\.reference"):
        store.write("invoices", [Change("k", "update", "I1", {"number": "INV-9"})])
    assert [r.id for r in store.scan("contacts", None).records] == ["C1"]
    store.close()


def test_a_table_dropped_between_runs_stops_the_next_open(tmp_path: Path) -> None:
    path = tmp_path / "ops.db"
    _seeded(path)
    store = SqliteOpsStore(path)
    store.scan("invoices", None)
    store.close()
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE invoice_lines")
    conn.commit()
    conn.close()
    with pytest.raises(OpsSchemaError, match="invoice_lines"):
        SqliteOpsStore(path)
