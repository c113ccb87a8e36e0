"""`examples/money.sql` runs against the ops.db schema as the README shows it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from xsync.sides.ops_sqlite import SqliteOpsStore, create_ops_db

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "money.sql"


def test_the_money_example_fills_a_fresh_ops_db_and_its_rows_read(tmp_path: Path) -> None:
    path = tmp_path / "ops.db"
    create_ops_db(path)
    conn = sqlite3.connect(path)
    conn.executescript(EXAMPLE.read_text())
    conn.close()
    store = SqliteOpsStore(path, tracked=("job", "site"))
    try:
        [bill] = store.scan("bills", None).records
        [job] = store.scan("invoices", None).records
    finally:
        store.close()
    assert bill.lines and (bill.lines[0].fields["job"], bill.lines[0].fields["site"]) == (
        "J-100", "Balmain")
    assert job.lines and job.lines[0].fields["job"] == "J-100"
