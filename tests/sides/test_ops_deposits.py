"""A deposit row of `credits` (and its allocation) as the ops store reads them: the accounts
Xero needs to make the prepayment come with it, and an older `ops.db` gets their columns."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from xsync.sides.ops_sqlite import SqliteOpsStore, create_ops_db

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "money.sql"


def test_the_money_example_deposit_reads_with_the_accounts_xero_needs(tmp_path: Path) -> None:
    path = tmp_path / "ops.db"
    create_ops_db(path)
    conn = sqlite3.connect(path)
    conn.executescript(EXAMPLE.read_text())
    conn.close()
    store = SqliteOpsStore(path, tracked=("job", "site"))
    try:
        [deposit] = store.scan("credits", None).records
        [applied] = store.scan("allocations", None).records
    finally:
        store.close()
    assert {k: deposit.fields[k] for k in ("kind", "contact_id", "total", "bank_account",
                                           "account_code", "tax_type")} == {
        "kind": "prepayment", "contact_id": "C-7", "total": "500.00", "bank_account": "090",
        "account_code": "200", "tax_type": "OUTPUT"}
    assert (applied.fields["credit_id"], applied.fields["invoice_id"], applied.fields["amount"],
            applied.fields["date"], applied.fields["status"]) == (
        "DEP-1", "J-2001", "300.00", None, "applied")


def test_an_older_credits_table_gets_the_deposit_columns_and_keeps_its_rows(
        tmp_path: Path) -> None:
    path = tmp_path / "ops.db"
    create_ops_db(path)
    conn = sqlite3.connect(path)
    for column in ("bank_account", "account_code", "tax_type"):
        conn.execute(f"ALTER TABLE credits DROP COLUMN {column}")
    conn.execute("INSERT INTO credits (id, kind, contact_id, date, total, remaining, status, "
                 "updated_at) VALUES ('CR-9', 'overpayment', 'C-1', '2026-11-02', '10.00', "
                 "'10.00', 'approved', '2026-11-02T09:00:00Z')")
    conn.commit()
    conn.close()
    store = SqliteOpsStore(path)
    try:
        [credit] = store.scan("credits", None).records
    finally:
        store.close()
    assert (credit.fields["total"], credit.fields["bank_account"]) == ("10.00", None)


def test_blank_deposit_accounts_read_as_none(tmp_path: Path) -> None:
    path = tmp_path / "ops.db"
    create_ops_db(path)
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO credits (id, kind, contact_id, date, total, updated_at, "
                 "bank_account, account_code) VALUES ('CR-1', 'prepayment', 'C-1', "
                 "'2026-11-02', '10.00', '2026-11-02T09:00:00Z', '  ', '')")
    conn.commit()
    conn.close()
    store = SqliteOpsStore(path)
    try:
        [credit] = store.scan("credits", None).records
    finally:
        store.close()
    assert (credit.fields["bank_account"], credit.fields["account_code"]) == (None, None)
