"""What the ops store does with a file it cannot use: a schema without a contract column, a lock
held by another program, a corrupt or truncated file, a path in a missing folder. Each is a
named xsync error with its exit code, never an sqlite3 traceback, and nothing is read or written.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from xsync.errors import (
    ConfigError,
    ExitCode,
    OpsSchemaError,
    OpsStoreBusy,
    OpsStoreUnreadable,
)
from xsync.model.side import Change
from xsync.sides.ops_sqlite import SqliteOpsStore, contract_columns, create_ops_db

STAMP = "2026-11-05T00:00:00Z"
SHORT = 0.05  # seconds: the busy timeout of these tests


def _seeded(path: Path, invoices: int = 3) -> None:
    create_ops_db(path)
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO contacts (id, name, status, updated_at) "
                 f"VALUES ('C1', 'Acme', 'active', '{STAMP}')")
    conn.executemany(
        "INSERT INTO invoices (id, number, contact_id, date, reference, status, total, "
        "updated_at) VALUES (?, ?, 'C1', '2026-11-02', ?, 'approved', '10.00', ?)",
        [(f"I{n:05d}", f"INV-{n}", f"PO {n} " + "x" * 200, STAMP) for n in range(invoices)])
    conn.commit()
    conn.close()


# -- the schema contract -------------------------------------------------------------------------

def test_a_dropped_contract_column_stops_at_open_naming_table_and_column(tmp_path):
    path = tmp_path / "ops.db"
    _seeded(path)
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE invoices DROP COLUMN reference")
    conn.commit()
    conn.close()
    with pytest.raises(OpsSchemaError) as caught:
        SqliteOpsStore(path)
    assert caught.value.exit_code == ExitCode.USAGE
    assert "invoices.reference" in str(caught.value)
    assert caught.value.data["table"] == "invoices"
    assert caught.value.data["column"] == "reference"


def test_a_column_dropped_while_open_stops_the_next_scan_before_reading(tmp_path):
    path = tmp_path / "ops.db"
    _seeded(path)
    store = SqliteOpsStore(path)
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE invoices DROP COLUMN reference")
    conn.commit()
    conn.close()
    with pytest.raises(OpsSchemaError, match=r"invoices\.reference"):
        store.scan("invoices", None)
    with pytest.raises(OpsSchemaError, match=r"invoices\.reference"):
        store.write("invoices", [Change("k", "update", "I00000", {"number": "INV-9"})])
    # the contacts still read: their table is whole
    assert [r.id for r in store.scan("contacts", None).records] == ["C1"]


def test_a_missing_contract_table_stops_at_open(tmp_path):
    path = tmp_path / "ops.db"
    _seeded(path)
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE bill_lines")
    conn.commit()
    conn.close()
    with pytest.raises(OpsSchemaError, match="bill_lines") as caught:
        SqliteOpsStore(path)
    assert caught.value.data["table"] == "bill_lines"
    # the table is not quietly created again
    conn = sqlite3.connect(path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    assert "bill_lines" not in tables


def test_extra_columns_and_tables_are_fine_and_a_new_file_gets_the_schema(tmp_path):
    path = tmp_path / "ops.db"
    _seeded(path)
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE invoices ADD COLUMN crm_stage TEXT")
    conn.execute("CREATE TABLE jobs (id TEXT)")
    conn.commit()
    conn.close()
    assert len(SqliteOpsStore(path).scan("invoices", None).records) == 3

    fresh = tmp_path / "fresh.db"
    SqliteOpsStore(fresh).close()
    conn = sqlite3.connect(fresh)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    assert tables == set(contract_columns())


def test_the_contract_is_the_schema_the_readme_lists():
    columns = contract_columns()
    assert columns["invoices"][:6] == ("id", "number", "contact_id", "date", "due_date",
                                       "reference")
    assert "discount_rate" in columns["bill_lines"] and "bill_id" in columns["bill_lines"]
    assert set(columns) == {"contacts", "invoices", "invoice_lines", "bills", "bill_lines",
                            "payments", "credit_notes", "credits", "allocations", "accounts",
                            "tax_rates"}


# -- locks ---------------------------------------------------------------------------------------

def test_a_write_lock_held_past_the_busy_timeout_fails_the_write_whole(tmp_path):
    path = tmp_path / "ops.db"
    _seeded(path)
    store = SqliteOpsStore(path, busy_timeout=SHORT)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("UPDATE contacts SET name = 'Held' WHERE id = 'C1'")
    with pytest.raises(OpsStoreBusy) as caught:
        store.write("invoices", [Change("k", "update", "I00000", {"number": "INV-9"})])
    assert caught.value.exit_code == ExitCode.UNREACHABLE
    assert str(path) in str(caught.value) and "locked" in str(caught.value)
    # a reader is not blocked by a write still in progress
    assert len(store.scan("invoices", None).records) == 3
    other.execute("ROLLBACK")
    other.close()
    # once the other program is done, the same write goes through
    [result] = store.write("invoices", [Change("k", "update", "I00000", {"number": "INV-9"})])
    assert result.ok and result.record is not None
    assert result.record.fields["number"] == "INV-9"


def test_an_exclusive_lock_fails_reads_and_opening_with_busy(tmp_path):
    path = tmp_path / "ops.db"
    _seeded(path)
    store = SqliteOpsStore(path, busy_timeout=SHORT)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(OpsStoreBusy, match="locked"):
            store.scan("invoices", None)
        with pytest.raises(OpsStoreBusy):
            store.fetch("invoices", ["I00000"])
        with pytest.raises(OpsStoreBusy):
            SqliteOpsStore(path, busy_timeout=SHORT)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert len(store.scan("invoices", None).records) == 3


# -- damaged files -------------------------------------------------------------------------------

def test_a_file_of_random_bytes_is_unreadable_naming_the_path(tmp_path):
    path = tmp_path / "ops.db"
    path.write_bytes(os.urandom(8192))
    with pytest.raises(OpsStoreUnreadable) as caught:
        SqliteOpsStore(path)
    assert caught.value.exit_code == ExitCode.UNREACHABLE
    assert str(path) in str(caught.value)
    with pytest.raises(OpsStoreUnreadable):
        create_ops_db(path)


def test_a_database_truncated_to_half_is_unreadable_not_shorter(tmp_path):
    path = tmp_path / "ops.db"
    _seeded(path, invoices=400)
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.truncate(size // 2)
    with pytest.raises(OpsStoreUnreadable) as caught:
        SqliteOpsStore(path)
    message = str(caught.value)
    assert message.startswith(f"{path} is truncated: it holds {size // 2} bytes of the {size}")


def test_pages_damaged_after_open_make_the_scan_unreadable(tmp_path):
    path = tmp_path / "ops.db"
    _seeded(path, invoices=400)
    store = SqliteOpsStore(path)
    page = sqlite3.connect(path).execute("PRAGMA page_size").fetchone()[0]
    size = path.stat().st_size
    with path.open("r+b") as handle:
        # every page but the first (the schema) turns to garbage, the length unchanged
        handle.seek(page)
        handle.write(b"\xa5" * (size - page))
    with pytest.raises(OpsStoreUnreadable) as caught:
        store.scan("invoices", None)
    assert str(path) in str(caught.value)
    assert "sqlite3" not in str(caught.value) and "malformed" not in str(caught.value)


def test_a_path_in_a_missing_folder_is_a_config_error_naming_it(tmp_path):
    path = tmp_path / "no-such-folder" / "ops.db"
    with pytest.raises(ConfigError) as caught:
        SqliteOpsStore(path)
    assert caught.value.exit_code == ExitCode.USAGE
    assert str(path) in str(caught.value)
    with pytest.raises(ConfigError, match="no-such-folder"):
        create_ops_db(path)
    assert not path.parent.exists()


def test_a_folder_where_the_file_should_be_is_unreadable(tmp_path):
    path = tmp_path / "ops.db"
    path.mkdir()
    with pytest.raises(OpsStoreUnreadable, match="cannot be opened"):
        SqliteOpsStore(path)


# -- changes the table refuses -------------------------------------------------------------------

def test_a_change_the_table_refuses_keeps_its_own_result_with_a_sentence(tmp_path):
    path = tmp_path / "ops.db"
    _seeded(path)
    store = SqliteOpsStore(path)
    results = store.write("contacts", [
        Change("a", "create", None, {"name": None, "status": "active"}),
        Change("b", "update", "C1", {"status": "sent"}),
        Change("c", "create", None, {"name": "Fine Co", "status": "active"}),
        Change("d", "create", "C1", {"name": "Same id", "status": "active"}),
    ])
    assert [r.ok for r in results] == [False, False, True, False]
    reasons = [r.errors[0] for r in results if not r.ok]
    assert "name is empty" in reasons[0]
    assert "contact C1: status 'sent' is not allowed" in reasons[1]
    assert "contact C1" in reasons[2] and "already has a row" in reasons[2]
    for reason in reasons:
        assert "constraint" not in reason and "sqlite" not in reason.lower(), reason
    # the refused changes left nothing; the good one is there
    names = {r.fields["name"] for r in store.scan("contacts", None).records}
    assert names == {"Acme", "Fine Co"}


def test_one_refused_create_in_a_batch_of_creates_is_refused_alone(tmp_path):
    """A first import writes its creates in bulk; a row the table refuses sends the batch
    back to one-by-one, so only that record fails."""
    path = tmp_path / "ops.db"
    _seeded(path)
    store = SqliteOpsStore(path)
    changes = [Change(f"k{n}", "create", None, {"name": f"Customer {n}", "status": "active"})
               for n in range(5)]
    changes[2] = Change("k2", "create", None, {"name": None, "status": "active"})
    results = store.write("contacts", changes)
    assert [r.ok for r in results] == [True, True, False, True, True]
    assert "name is empty" in results[2].errors[0]
    names = {r.fields["name"] for r in store.scan("contacts", None).records}
    assert {f"Customer {n}" for n in (0, 1, 3, 4)} <= names
    assert all(r.record is not None for r in results if r.ok)
