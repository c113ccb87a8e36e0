"""An ops.db made before a column or table joined the contract gets it, empty, on first open."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from xsync.sides.ops_schema import ADDED_COLUMNS, ADDED_TABLES, SCHEMA_SCRIPTS
from xsync.sides.ops_sqlite import SqliteOpsStore


def _older_file(path: Path) -> None:
    """The contract as it was before its added columns, with one payment in it."""
    conn = sqlite3.connect(path)
    for script in SCHEMA_SCRIPTS:
        conn.executescript(script)
    for table, column, _ in ADDED_COLUMNS:
        conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    for table in ADDED_TABLES:
        conn.execute(f"DROP TABLE {table}")
    conn.execute("INSERT INTO payments (id, invoice_id, date, amount, status, updated_at) "
                 "VALUES ('P1', 'I1', '2026-11-02', '10.00', 'authorised', "
                 "'2026-11-02T09:00:00Z')")
    conn.commit()
    conn.close()


def test_an_older_ops_db_gets_the_added_columns_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "ops.db"
    _older_file(path)
    store = SqliteOpsStore(path)
    try:
        [payment] = store.scan("payments", None).records
    finally:
        store.close()
    assert payment.fields["invoice_id"] == "I1" and payment.fields["bill_id"] is None
    conn = sqlite3.connect(path)
    columns = {r[1] for r in conn.execute("PRAGMA table_info(payments)")}
    conn.close()
    assert "bill_id" in columns


def test_the_doctor_check_passes_an_older_file_that_xsync_will_complete(tmp_path: Path) -> None:
    from xsync.sides.ops_schema import check_schema, table_columns

    path = tmp_path / "ops.db"
    _older_file(path)
    conn = sqlite3.connect(path)
    try:
        check_schema(path, table_columns(conn))
    finally:
        conn.close()


def test_an_older_ops_db_gets_the_credits_and_allocations_tables(
        tmp_path: Path) -> None:
    path = tmp_path / "ops.db"
    _older_file(path)
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE IF EXISTS credits")
    conn.execute("DROP TABLE IF EXISTS allocations")
    conn.commit()
    conn.close()
    store = SqliteOpsStore(path)
    try:
        assert store.scan("credits", None).records == []
        assert store.scan("allocations", None).records == []
        [payment] = store.scan("payments", None).records
    finally:
        store.close()
    assert payment.fields["credit_id"] is None
    conn = sqlite3.connect(path)
    credits = [r[1] for r in conn.execute("PRAGMA table_info(credits)")]
    allocations = [r[1] for r in conn.execute("PRAGMA table_info(allocations)")]
    conn.close()
    assert allocations == ["id", "kind", "credit_note_id", "credit_id", "invoice_id", "amount",
                           "date", "status", "updated_at"]
    assert credits == ["id", "kind", "contact_id", "date", "reference", "total", "remaining",
                       "status", "updated_at", "bank_account", "account_code", "tax_type"]
