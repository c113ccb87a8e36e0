"""SQLite persistence for the emulated organisations and their documents.

One table per document kind, every row holding the document exactly as the API returns it
(Xero JSON text) plus a few index columns (updated time in epoch ms, number, name key, status,
type, contact) so that lists, If-Modified-Since and paging run in SQL. The JSON text is the source
of truth; index columns are derived from it on every write by ``index_columns``.

Thread-safety: callers hold ``lock`` around any use of ``conn``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from xsync.sandbox import xjson
from xsync.sandbox.clock import Clock

KINDS: dict[str, str] = {
    "accounts": "AccountID",
    "taxrates": "TaxType",
    "contacts": "ContactID",
    "invoices": "InvoiceID",
    "creditnotes": "CreditNoteID",
    "payments": "PaymentID",
    "banktransactions": "BankTransactionID",
    "manualjournals": "ManualJournalID",
    "trackingcategories": "TrackingCategoryID",
    "overpayments": "OverpaymentID",
    "prepayments": "PrepaymentID",
}

_DOC_COLUMNS = "tenant_id, id, updated_ms, number, name_key, status, type, contact_id, flags, json"


def _schema() -> str:
    parts = [
        """CREATE TABLE IF NOT EXISTS orgs (
            tenant_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, name TEXT NOT NULL,
            json TEXT NOT NULL, counters TEXT NOT NULL DEFAULT '{}')""",
        """CREATE TABLE IF NOT EXISTS idempotency (
            tenant_id TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL,
            status INTEGER NOT NULL, body BLOB NOT NULL, headers TEXT NOT NULL,
            created_ms INTEGER NOT NULL, PRIMARY KEY (tenant_id, key))""",
    ]
    for table in KINDS:
        parts.append(
            f"""CREATE TABLE IF NOT EXISTS {table} (
            tenant_id TEXT NOT NULL, id TEXT NOT NULL, updated_ms INTEGER NOT NULL,
            number TEXT, name_key TEXT, status TEXT, type TEXT, contact_id TEXT,
            flags INTEGER NOT NULL DEFAULT 0, json TEXT NOT NULL, PRIMARY KEY (tenant_id, id))"""
        )
        parts.append(
            f"CREATE INDEX IF NOT EXISTS {table}_updated ON {table} (tenant_id, updated_ms)"
        )
        parts.append(f"CREATE INDEX IF NOT EXISTS {table}_number ON {table} (tenant_id, number)")
        parts.append(f"CREATE INDEX IF NOT EXISTS {table}_name ON {table} (tenant_id, name_key)")
        parts.append(
            f"CREATE INDEX IF NOT EXISTS {table}_contact ON {table} (tenant_id, contact_id)"
        )
    return ";\n".join(parts)


FLAG_UNITDP4 = 1


def name_key(name: str) -> str:
    """Contact names compare trimmed, with inner spaces collapsed, case-insensitively."""
    return " ".join(name.split()).casefold()


def index_columns(kind: str, doc: dict[str, Any]) -> tuple[Any, ...]:
    """(id, number, name_key, status, type, contact_id, flags) of a stored document."""
    doc_id = doc[KINDS[kind]]
    contact = (doc.get("Contact") or {}).get("ContactID")
    if kind == "accounts":
        return (doc_id, doc.get("Code"), None, doc.get("Status"), doc.get("Type"), None, 0)
    if kind == "taxrates":
        return (doc_id, None, None, doc.get("Status"), None, None, 0)
    if kind == "contacts":
        key = name_key(doc.get("Name") or "")
        number = doc.get("ContactNumber") or None
        return (doc_id, number, key, doc.get("ContactStatus"), None, None, 0)
    if kind == "payments":
        inv = (doc.get("Invoice") or doc.get("CreditNote") or doc.get("Overpayment")
               or doc.get("Prepayment") or {})
        contact = (inv.get("Contact") or {}).get("ContactID")
        target = (inv.get("InvoiceID") or inv.get("CreditNoteID") or inv.get("OverpaymentID")
                  or inv.get("PrepaymentID"))
        return (doc_id, target, None, doc.get("Status"), doc.get("PaymentType"), contact, 0)
    number = doc.get("InvoiceNumber") if kind == "invoices" else doc.get("CreditNoteNumber")
    flags = 0
    for line in doc.get("LineItems") or ():
        unit = line.get("UnitAmount")
        if isinstance(unit, xjson.Decimal) and unit != unit.quantize(xjson.TWO):
            flags |= FLAG_UNITDP4
    return (doc_id, number or None, None, doc.get("Status"), doc.get("Type"), contact, flags)


class Store:
    """Organisations and their documents in one SQLite database (``None`` = in memory)."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path or ":memory:"
        self.conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.lock = threading.RLock()
        with self.lock:
            if self.path != ":memory:":
                self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.executescript(_schema())

    # organisations ---------------------------------------------------------------------------

    def organisations(self) -> list[dict[str, Any]]:
        """Every organisation in creation order: tenant id, name and the Organisation document."""
        with self.lock:
            rows = self.conn.execute(
                "SELECT tenant_id, name, json FROM orgs ORDER BY seq"
            ).fetchall()
        out = []
        for tenant_id, name, text in rows:
            doc = xjson.loads(text)
            out.append(
                {
                    "tenant_id": tenant_id,
                    "name": name,
                    "organisation_id": doc["OrganisationID"],
                    "short_code": doc.get("ShortCode"),
                    "created_utc": doc.get("CreatedDateUTC"),
                }
            )
        return out

    def create_organisation(
        self, name: str, *, seed: str = "empty", clock: Clock | None = None, **opts: Any
    ) -> str:
        """Create an AU organisation; ``seed`` is ``"demo"`` (full demo company) or ``"empty"``.

        ``opts``: ``tenant_id`` (fixed id), ``period_lock_date`` (a ``date``), ``short_code``.
        Returns the tenant id.
        """
        from xsync.sandbox import seed as seeding

        return seeding.create(self, name, seed=seed, clock=clock or Clock(), **opts)

    def insert_organisation(self, tenant_id: str, name: str, doc: dict[str, Any]) -> None:
        with self.lock:
            seq = self.conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM orgs").fetchone()[0]
            self.conn.execute(
                "INSERT INTO orgs (tenant_id, seq, name, json) VALUES (?, ?, ?, ?)",
                (tenant_id, seq, name, xjson.dumps(doc)),
            )

    def has_organisation(self, tenant_id: str) -> bool:
        with self.lock:
            row = self.conn.execute("SELECT 1 FROM orgs WHERE tenant_id = ?", (tenant_id,))
            return row.fetchone() is not None

    def organisation(self, tenant_id: str) -> dict[str, Any]:
        with self.lock:
            row = self.conn.execute(
                "SELECT json FROM orgs WHERE tenant_id = ?", (tenant_id,)
            ).fetchone()
        if row is None:
            raise KeyError(tenant_id)
        doc: dict[str, Any] = xjson.loads(row[0])
        return doc

    def save_organisation(self, tenant_id: str, doc: dict[str, Any]) -> None:
        with self.lock:
            self.conn.execute(
                "UPDATE orgs SET json = ?, name = ? WHERE tenant_id = ?",
                (xjson.dumps(doc), doc["Name"], tenant_id),
            )

    def set_period_lock_date(
        self, tenant_id: str, day: date | None, field: str = "PeriodLockDate"
    ) -> None:
        """Set or clear the organisation's ``PeriodLockDate`` (or ``EndOfYearLockDate``);
        documents dated on or before it can no longer be created or edited."""
        with self.lock:
            doc = self.organisation(tenant_id)
            if day is None:
                doc.pop(field, None)
            else:
                doc[field] = xjson.ms_date(day)
            self.save_organisation(tenant_id, doc)

    def delete_organisation(self, tenant_id: str) -> None:
        """Remove an organisation and every document it holds."""
        with self.lock, self.transaction():
            for table in (*KINDS, "idempotency", "orgs"):
                self.conn.execute(f"DELETE FROM {table} WHERE tenant_id = ?", (tenant_id,))

    def next_number(self, tenant_id: str, counter: str) -> int:
        """Advance and return a per-organisation counter (invoice and credit note numbers)."""
        with self.lock:
            row = self.conn.execute(
                "SELECT counters FROM orgs WHERE tenant_id = ?", (tenant_id,)
            ).fetchone()
            counters = xjson.loads(row[0])
            counters[counter] = int(counters.get(counter, 0)) + 1
            self.conn.execute(
                "UPDATE orgs SET counters = ? WHERE tenant_id = ?",
                (xjson.dumps(counters), tenant_id),
            )
            return int(counters[counter])

    def set_counter(self, tenant_id: str, counter: str, value: int) -> None:
        with self.lock:
            row = self.conn.execute(
                "SELECT counters FROM orgs WHERE tenant_id = ?", (tenant_id,)
            ).fetchone()
            counters = xjson.loads(row[0])
            counters[counter] = value
            self.conn.execute(
                "UPDATE orgs SET counters = ? WHERE tenant_id = ?",
                (xjson.dumps(counters), tenant_id),
            )

    # documents -------------------------------------------------------------------------------

    def transaction(self) -> _Transaction:
        return _Transaction(self)

    def get(self, kind: str, tenant_id: str, doc_id: str) -> dict[str, Any] | None:
        with self.lock:
            row = self.conn.execute(
                f"SELECT json FROM {kind} WHERE tenant_id = ? AND id = ?", (tenant_id, doc_id)
            ).fetchone()
        return xjson.loads(row[0]) if row else None

    def find(
        self, kind: str, tenant_id: str, where: str, params: Iterable[Any]
    ) -> list[dict[str, Any]]:
        """Documents whose index columns match an SQL condition (trusted text, bound params)."""
        with self.lock:
            rows = self.conn.execute(
                f"SELECT json FROM {kind} WHERE tenant_id = ? AND ({where}) "
                "ORDER BY updated_ms, rowid",
                (tenant_id, *params),
            ).fetchall()
        return [xjson.loads(r[0]) for r in rows]

    def put(self, kind: str, tenant_id: str, doc: dict[str, Any], updated_ms: int) -> None:
        """Insert or replace a document; ``updated_ms`` orders lists and answers IMS."""
        self.put_text(kind, tenant_id, index_columns(kind, doc), updated_ms, xjson.dumps(doc))

    def put_text(
        self, kind: str, tenant_id: str, cols: tuple[Any, ...], updated_ms: int, text: str
    ) -> None:
        doc_id, number, key, status, typ, contact, flags = cols
        with self.lock:
            self.conn.execute(
                f"INSERT OR REPLACE INTO {kind} ({_DOC_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (tenant_id, doc_id, updated_ms, number, key, status, typ, contact, flags, text),
            )

    def put_many(self, kind: str, rows: Iterable[tuple[Any, ...]]) -> None:
        """Bulk insert of prepared rows in ``_DOC_COLUMNS`` order (used by generators)."""
        with self.lock:
            self.conn.executemany(
                f"INSERT OR REPLACE INTO {kind} ({_DOC_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                rows,
            )

    def close(self) -> None:
        with self.lock:
            self.conn.close()


class _Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (or ``ROLLBACK`` on error); re-entrant under the lock."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.outer = False

    def __enter__(self) -> _Transaction:
        self.store.lock.acquire()
        self.outer = not self.store.conn.in_transaction
        if self.outer:
            self.store.conn.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if self.outer:
                self.store.conn.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.store.lock.release()


def iter_texts(cursor: sqlite3.Cursor) -> Iterator[str]:
    for row in cursor:
        yield row[0]
