"""What commands other than a sync ask of the SQLite ops store: how many rows it holds (before
`xsync init --example` fills it), and which categories decide lines' accounts (for `xsync
doctor`). Every SQL statement on `ops.db` lives in ``xsync.sides``."""

from __future__ import annotations

import sqlite3
from pathlib import Path

# documents and the tables their lines are in, with the column naming the document
LINE_TABLES = (("invoices", "invoice_lines", "invoice_id"), ("bills", "bill_lines", "bill_id"))


def rows_held(path: Path, tables: tuple[str, ...] = ("contacts", "invoices", "bills")) -> int:
    conn = sqlite3.connect(path)
    try:
        return sum(int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
                   for table in tables)
    finally:
        conn.close()


def run_script(path: Path, sql: str) -> None:
    """Run ``sql`` on ``ops.db`` in one transaction."""
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.executescript(sql)
    finally:
        conn.close()


def category_uses(conn: sqlite3.Connection) -> dict[str, tuple[int, list[str]]]:
    """category -> (lines it decides the account of, the documents using it, by date): the
    lines naming no account code but a category."""
    found: dict[str, tuple[int, list[str]]] = {}
    for doc, line, owner in LINE_TABLES:
        rows = conn.execute(
            f"SELECT l.category, coalesce(d.number, d.id, l.{owner}) FROM {line} l "
            f"LEFT JOIN {doc} d ON d.id = l.{owner} WHERE l.category IS NOT NULL AND "
            "l.category != '' AND (l.account_code IS NULL OR l.account_code = '') "
            "ORDER BY l.category, d.date, d.id").fetchall()
        for category, document in rows:
            count, docs = found.get(str(category), (0, []))
            if document is not None and str(document) not in docs:
                docs.append(str(document))
            found[str(category)] = (count + 1, docs)
    return found
