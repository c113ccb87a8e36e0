"""The default operations store: a SQLite database (`ops.db`) that the operations platform owns.

Its schema is a public contract (documented in the README): text ids, `YYYY-MM-DD` dates,
ISO-8601 UTC `updated_at`, money as decimal text. This module maps its rows to canonical records
and back. Rows are validated here, at the edge: a row with a malformed amount or date, an unknown
account code or a missing contact is reported in ``ScanResult.rejected`` with its reason and left
untouched, so it syncs once fixed.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from xsync.model.entities import EntitySpec, spec
from xsync.model.money import BadAmount, money, quantity
from xsync.model.records import Fields, Line, Record
from xsync.model.side import Change, ChangeResult, ScanResult

SCHEMA = """
CREATE TABLE IF NOT EXISTS contacts (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT, phone TEXT, abn TEXT,
    address_line1 TEXT, city TEXT, region TEXT, postal_code TEXT, country TEXT,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS {doc} (
    id TEXT PRIMARY KEY, number TEXT, contact_id TEXT, date TEXT, due_date TEXT,
    reference TEXT, currency TEXT NOT NULL DEFAULT 'AUD',
    amounts_are TEXT NOT NULL DEFAULT 'exclusive'
        CHECK (amounts_are IN ('exclusive', 'inclusive', 'no_tax')),
    status TEXT NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'approved', 'paid', 'void', 'deleted')),
    subtotal TEXT, total_tax TEXT, total TEXT, amount_paid TEXT, amount_credited TEXT,
    amount_due TEXT, paid_on TEXT, updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS {line} (
    id TEXT PRIMARY KEY, {owner} TEXT NOT NULL REFERENCES {doc}(id), position INTEGER,
    description TEXT, quantity TEXT, unit_price TEXT, account_code TEXT, category TEXT,
    tax_type TEXT, tax_amount TEXT, line_amount TEXT, discount_rate TEXT
);
CREATE INDEX IF NOT EXISTS {line}_owner ON {line}({owner});
"""

SCHEMA_REST = """
CREATE TABLE IF NOT EXISTS payments (
    id TEXT PRIMARY KEY, invoice_id TEXT, date TEXT, amount TEXT, reference TEXT,
    status TEXT NOT NULL DEFAULT 'authorised', updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS credit_notes (
    id TEXT PRIMARY KEY, number TEXT, contact_id TEXT, invoice_id TEXT, date TEXT,
    total TEXT, remaining TEXT, status TEXT, updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS accounts (
    code TEXT PRIMARY KEY, name TEXT, type TEXT, tax_type TEXT, status TEXT
);
CREATE TABLE IF NOT EXISTS tax_rates (
    tax_type TEXT PRIMARY KEY, name TEXT, rate TEXT, status TEXT
);
"""

# entity -> (table, line table, line owner column, id column)
TABLES: dict[str, tuple[str, str | None, str | None, str]] = {
    "contacts": ("contacts", None, None, "id"),
    "invoices": ("invoices", "invoice_lines", "invoice_id", "id"),
    "bills": ("bills", "bill_lines", "bill_id", "id"),
    "payments": ("payments", None, None, "id"),
    "credit_notes": ("credit_notes", None, None, "id"),
    "accounts": ("accounts", None, None, "code"),
    "tax_rates": ("tax_rates", None, None, "tax_type"),
}
# SQLite page cache per connection, in KiB
CACHE_KIB = 131072
# ids per SELECT ... IN (...): well below SQLite's limit on bound parameters
FETCH_CHUNK = 500
ID_PREFIX = {"contacts": "C", "invoices": "INV", "bills": "BILL", "payments": "PAY",
             "credit_notes": "CN"}


def create_ops_db(path: Path | str) -> None:
    """Create (or complete) the ops schema in ``path``. Existing rows are left as they are."""
    conn = sqlite3.connect(str(path))
    try:
        conn.executescript(SCHEMA.format(doc="invoices", line="invoice_lines", owner="invoice_id"))
        conn.executescript(SCHEMA.format(doc="bills", line="bill_lines", owner="bill_id"))
        conn.executescript(SCHEMA_REST)
        conn.commit()
    finally:
        conn.close()


def utc_now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_updated_at(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# text already in canonical form, as xsync writes it: returned as it is, without Decimal work
CANONICAL_TEXT = {
    "money": re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]{2}"),
    "quantity": re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]{2}(?:[0-9]?[1-9])?"),
}


def _canonical(kind: str, value: Any, name: str) -> str | None:
    if value is None or value == "":
        return None
    pattern = CANONICAL_TEXT.get(kind)
    if pattern is not None and type(value) is str and pattern.fullmatch(value):
        return value
    if kind == "money":
        return money(value)
    if kind == "quantity":
        return quantity(value)
    if kind == "date":
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise BadAmount(f"{name} {value!r} is not a YYYY-MM-DD date") from None
    return str(value)


class RowError(ValueError):
    """An ops row that cannot become a canonical record."""


class SqliteOpsStore:
    """The ops side over `ops.db`. ``categories`` maps an ops category to a Xero account code."""

    name = "ops"

    def __init__(self, path: Path | str, *, categories: dict[str, str] | None = None,
                 default_tax_types: dict[str, str] | None = None,
                 now: Any = utc_now_text) -> None:
        self.path = Path(path)
        create_ops_db(self.path)
        # autocommit mode: write() opens its own transaction with a savepoint per change
        self.conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        # ids are random text, so a large import touches index pages all over the file: a page
        # cache that holds them keeps each insert from rereading pages (memory, not behaviour)
        self.conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        self.categories = dict(categories or {})
        # Xero account code -> the tax type of a line that names none
        self.default_tax_types = dict(default_tax_types or {})
        self._now = now

    def close(self) -> None:
        self.conn.close()

    # -- reading -------------------------------------------------------------------------------

    def scan(self, entity: str, cursor: str | None) -> ScanResult:
        """Every row of the entity (the store is local, so a full listing is cheap and complete)."""
        table, line_table, owner, key = TABLES[entity]
        rows = self.conn.execute(f"SELECT * FROM {table} ORDER BY {key}").fetchall()
        lines = self._lines_by_owner(line_table, owner) if line_table and owner else {}
        known_accounts = self._known_accounts()
        known_contacts = self._ids("contacts") if "contact_id" in spec(entity).refs else set()
        records: list[Record] = []
        rejected: list[tuple[str, str]] = []
        newest = cursor
        stamped = entity not in ("accounts", "tax_rates")
        for row in rows:
            row_id = str(row[key])
            try:
                record = self._to_record(entity, row, lines.get(row_id, []))
                self._check_refs(record, known_accounts, known_contacts)
            except (BadAmount, RowError) as exc:
                rejected.append((row_id, str(exc)))
                continue
            records.append(record)
            stamp = row["updated_at"] if stamped else None
            if stamp and (newest is None or stamp > newest):
                newest = stamp
        return ScanResult(records=records, cursor=newest, complete=True, rejected=rejected)

    def fetch(self, entity: str, ids: Sequence[str]) -> list[Record]:
        """The records with these ids, in the order asked (read in chunks, not one by one)."""
        table, line_table, owner, key = TABLES[entity]
        rows: dict[str, sqlite3.Row] = {}
        lines: dict[str, list[sqlite3.Row]] = {}
        wanted = list(dict.fromkeys(ids))
        for start in range(0, len(wanted), FETCH_CHUNK):
            chunk = wanted[start:start + FETCH_CHUNK]
            marks = ", ".join("?" for _ in chunk)
            for row in self.conn.execute(f"SELECT * FROM {table} WHERE {key} IN ({marks})",
                                         chunk):
                rows[str(row[key])] = row
            if line_table and owner:
                query = (f"SELECT * FROM {line_table} WHERE {owner} IN ({marks}) "
                         f"ORDER BY {owner}, position, id")
                for line in self.conn.execute(query, chunk):
                    lines.setdefault(str(line[owner]), []).append(line)
        out: list[Record] = []
        for record_id in ids:
            row = rows.get(record_id)
            if row is None:
                continue
            try:
                out.append(self._to_record(entity, row, lines.get(record_id, [])))
            except (BadAmount, RowError):
                continue
        return out

    def _to_record(self, entity: str, row: sqlite3.Row, line_rows: list[sqlite3.Row]) -> Record:
        entity_spec = spec(entity)
        keys = row.keys()
        fields: Fields = {}
        for name in entity_spec.fields:
            kind = entity_spec.kind(name)
            fields[name] = _canonical(kind, row[name] if name in keys else None, name)
        lines = None
        if entity_spec.has_lines:
            lines = [self._to_line(entity_spec, lr) for lr in line_rows]
        updated = parse_updated_at(row["updated_at"]) if "updated_at" in keys else None
        record_id = str(row[TABLES[entity][3]])
        return Record(entity=entity, id=record_id, fields=fields, lines=lines, updated_at=updated)

    def _to_line(self, entity_spec: EntitySpec, row: sqlite3.Row) -> Line:
        fields: Fields = {}
        for name in entity_spec.line_fields:
            value = row[name]
            if name == "account_code" and not value and row["category"]:
                value = self.categories.get(row["category"])
                if value is None:
                    raise RowError(
                        f"line {row['id']}: category {row['category']!r} has no account "
                        "mapping in [mappings.categories]"
                    )
            fields[name] = _canonical(entity_spec.line_kinds.get(name, "text"), value, name)
        code = fields.get("account_code")
        if "tax_type" in fields and not fields["tax_type"] and code:
            fields["tax_type"] = self.default_tax_types.get(code)
        return Line(id=str(row["id"]), fields=fields)

    def _check_refs(self, record: Record, accounts: set[str], contacts: set[str]) -> None:
        contact = record.fields.get("contact_id")
        if "contact_id" in spec(record.entity).refs and record.entity != "credit_notes":
            if not contact:
                raise RowError("has no contact_id")
            if contact not in contacts:
                raise RowError(f"contact {contact!r} does not exist in the ops store")
        for line in record.lines or []:
            code = line.fields.get("account_code")
            if code and accounts and code not in accounts:
                raise RowError(f"line {line.id}: account code {code!r} is not in the chart of "
                               "accounts (pulled from Xero)")

    def _lines_by_owner(self, table: str, owner: str) -> dict[str, list[sqlite3.Row]]:
        grouped: dict[str, list[sqlite3.Row]] = {}
        for row in self.conn.execute(f"SELECT * FROM {table} ORDER BY {owner}, position, id"):
            grouped.setdefault(str(row[owner]), []).append(row)
        return grouped

    def _known_accounts(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT code FROM accounts") if r[0]}

    def _ids(self, table: str) -> set[str]:
        return {str(r[0]) for r in self.conn.execute(f"SELECT id FROM {table}")}

    # -- writing -------------------------------------------------------------------------------

    def write(self, entity: str, changes: Sequence[Change]) -> list[ChangeResult]:
        """Apply every change in one transaction; a failing change is rolled back alone."""
        outcomes: list[tuple[Change, str | None, str | None]] = []
        self.conn.execute("BEGIN")
        try:
            known = self._existing_lines(entity, changes)
            for change in changes:
                self.conn.execute("SAVEPOINT change")
                try:
                    record_id = self._apply(entity, change, known)
                except (sqlite3.Error, BadAmount, RowError) as exc:
                    self.conn.execute("ROLLBACK TO change")
                    outcomes.append((change, None, str(exc)))
                else:
                    outcomes.append((change, record_id, None))
                self.conn.execute("RELEASE change")
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        written = [rid for _, rid, _ in outcomes if rid is not None]
        records = {r.id: r for r in self.fetch(entity, written)}
        return [
            ChangeResult(key=c.key, ok=True, id=rid, record=records.get(rid))
            if rid is not None
            else ChangeResult(key=c.key, ok=False, id=c.id, errors=[err or "not written"])
            for c, rid, err in outcomes
        ]

    def _existing_lines(self, entity: str, changes: Sequence[Change]) -> dict[str, set[str]]:
        """The stored line ids of every record written once in this batch, read in chunks.

        A record written twice in one batch is left out: its lines are read when it is written,
        after the first change to it."""
        _, line_table, owner, key = TABLES[entity]
        if not line_table or not owner:
            return {}
        counts: dict[str, int] = {}
        for change in changes:
            if change.lines is not None:
                rid = change.id or change.fields.get(key)
                if rid:
                    counts[str(rid)] = counts.get(str(rid), 0) + 1
        once = [rid for rid, n in counts.items() if n == 1]
        found: dict[str, set[str]] = {rid: set() for rid in once}
        for start in range(0, len(once), FETCH_CHUNK):
            chunk = once[start:start + FETCH_CHUNK]
            marks = ", ".join("?" for _ in chunk)
            for line_id, rid in self.conn.execute(
                    f"SELECT id, {owner} FROM {line_table} WHERE {owner} IN ({marks})", chunk):
                found.setdefault(str(rid), set()).add(str(line_id))
        return found

    def _apply(self, entity: str, change: Change,
               known: dict[str, set[str]] | None = None) -> str:
        table, line_table, owner, key = TABLES[entity]
        has_stamp = entity not in ("accounts", "tax_rates")
        values: dict[str, Any] = dict(change.fields)
        if change.action == "delete":
            values = {"status": "deleted"} if entity != "contacts" else {"status": "archived"}
        elif change.action == "void":
            values = {"status": "void"}
        if has_stamp:
            values["updated_at"] = self._now()
        record_id = change.id
        existing = (known or {}).get(str(record_id or values.get(key) or ""))
        if change.action == "create":
            if not (record_id or values.get(key)):
                existing = set()
            record_id = record_id or values.get(key) or self._new_id(entity)
            values[key] = record_id
            self._insert(table, values)
        else:
            if record_id is None:
                raise RowError(f"{entity} {change.action} without an id")
            exists = self.conn.execute(f"SELECT 1 FROM {table} WHERE {key} = ?", [record_id])
            if exists.fetchone() is None:
                raise RowError(f"{entity} {record_id!r} is not in the ops store")
            self._update(table, key, record_id, values)
        if change.lines is not None and line_table and owner:
            self._replace_lines(line_table, owner, str(record_id), change.lines, existing)
        return str(record_id)

    def _insert(self, table: str, values: dict[str, Any]) -> None:
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        self.conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", list(values.values()))

    def _update(self, table: str, key: str, record_id: str, values: dict[str, Any]) -> None:
        if not values:
            return
        sets = ", ".join(f"{c} = ?" for c in values)
        self.conn.execute(f"UPDATE {table} SET {sets} WHERE {key} = ?",
                          [*values.values(), record_id])

    def _replace_lines(self, table: str, owner: str, record_id: str, lines: Iterable[Line],
                       existing: set[str] | None = None) -> None:
        """Make the stored lines exactly ``lines``: update by id, insert new, delete the rest.
        ``existing``: the stored line ids when already known (a fresh record has none)."""
        if existing is None:
            existing = {str(r[0]) for r in self.conn.execute(
                f"SELECT id FROM {table} WHERE {owner} = ?", [record_id])}
        kept: set[str] = set()
        for position, line in enumerate(lines, start=1):
            values = dict(line.fields)
            values.setdefault("position", str(position))
            if line.id and line.id in existing:
                self._update(table, "id", line.id, values)
                kept.add(line.id)
            else:
                line_id = line.id or f"{record_id}-L{uuid.uuid4().hex[:8]}"
                values["id"] = line_id
                values[owner] = record_id
                self._insert(table, values)
                kept.add(line_id)
        for stale in existing - kept:
            self.conn.execute(f"DELETE FROM {table} WHERE id = ?", [stale])

    def _new_id(self, entity: str) -> str:
        return f"{ID_PREFIX.get(entity, 'X')}-{uuid.uuid4().hex[:10].upper()}"
