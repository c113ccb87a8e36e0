"""The default operations store: a SQLite database (`ops.db`) that the operations platform owns.

Its schema is a public contract (documented in the README): text ids, `YYYY-MM-DD` dates,
ISO-8601 UTC `updated_at`, money as plain decimal text. This module maps its rows to canonical
records and back. Rows are validated here, at the edge: a row with a malformed amount, date,
status or stamp, an unknown account code or a missing contact is reported in
``ScanResult.rejected`` with a sentence naming the record, the field and the value, and is left
untouched, so it syncs once fixed. A complete scan reports every row it could not read, so the
engine never takes an unreadable row for a deleted one.

Values stored as SQLite INTEGER are exact and read as their digits. Values stored as REAL
(binary floating point) are refused in money and quantity columns: ``0.1`` stored that way is not
0.1, and pushing whatever it rounds to would change the books without anyone writing it.

Failures of the file itself never surface as sqlite3 exceptions: a lock held past the busy
timeout is :class:`OpsStoreBusy`, a corrupt or truncated file :class:`OpsStoreUnreadable`, a
missing contract table or column :class:`OpsSchemaError`, and an `[ops] path` in a folder that
does not exist a :class:`ConfigError`.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from xsync.errors import (
    ConfigError,
    OpsSchemaError,
    OpsStoreBusy,
    OpsStoreUnreadable,
    XsyncError,
)
from xsync.model.entities import (
    CONTACT_STATUSES,
    DOC_STATUSES,
    PAYMENT_STATUSES,
    EntitySpec,
    spec,
)
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

SCHEMA_SCRIPTS = (
    SCHEMA.format(doc="invoices", line="invoice_lines", owner="invoice_id"),
    SCHEMA.format(doc="bills", line="bill_lines", owner="bill_id"),
    SCHEMA_REST,
)

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
# what a bookkeeper calls one record of each entity
NOUN = {"contacts": "contact", "invoices": "invoice", "bills": "bill", "payments": "payment",
        "credit_notes": "credit note", "accounts": "account", "tax_rates": "tax rate"}
# SQLite page cache per connection, in KiB
CACHE_KIB = 131072
# ids per SELECT ... IN (...): well below SQLite's limit on bound parameters
FETCH_CHUNK = 500
ID_PREFIX = {"contacts": "C", "invoices": "INV", "bills": "BILL", "payments": "PAY",
             "credit_notes": "CN"}
# seconds a statement waits for another program's lock before the store gives up
BUSY_TIMEOUT = 30.0

AMOUNTS_ARE = ("exclusive", "inclusive", "no_tax")
# (entity, field) -> (allowed values, whether an empty value is allowed too)
ENUMS: dict[tuple[str, str], tuple[tuple[str, ...], bool]] = {
    ("contacts", "status"): (CONTACT_STATUSES, False),
    ("invoices", "status"): (DOC_STATUSES, False),
    ("bills", "status"): (DOC_STATUSES, False),
    ("invoices", "amounts_are"): (AMOUNTS_ARE, True),
    ("bills", "amounts_are"): (AMOUNTS_ARE, True),
    ("payments", "status"): (PAYMENT_STATUSES, False),
    ("credit_notes", "status"): (DOC_STATUSES, True),
}
STAMPED = frozenset({"contacts", "invoices", "bills", "payments", "credit_notes"})

DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
FIRST_DATE = "1900-01-01"
LAST_DATE = "2100-12-31"
CURRENCY = re.compile(r"[A-Z]{3}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
WHOLE_NUMBER = re.compile(r"[0-9]+")
SQLITE_HEADER = b"SQLite format 3\x00"

# text already in canonical form, as xsync writes it: returned as it is, without Decimal work
CANONICAL_TEXT = {
    "money": re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]{2}"),
    "quantity": re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]{2}(?:[0-9]?[1-9])?"),
}


def _check_folder(path: Path) -> None:
    folder = path.parent
    if not folder.is_dir():
        raise ConfigError(
            f"[ops] path {path} is in the folder {folder}, which does not exist: create the "
            "folder, or point [ops] path in xsync.toml at the operations database",
            path=str(path))


def create_ops_db(path: Path | str, *, busy_timeout: float = BUSY_TIMEOUT) -> None:
    """Create (or complete) the ops schema in ``path``. Existing rows are left as they are."""
    path = Path(path)
    _check_folder(path)
    _check_file(path)
    try:
        conn = sqlite3.connect(str(path), timeout=busy_timeout)
    except sqlite3.Error as exc:
        raise _store_failure(path, exc, "opening it", busy_timeout) from None
    try:
        for script in SCHEMA_SCRIPTS:
            conn.executescript(script)
        conn.commit()
    except sqlite3.Error as exc:
        raise _store_failure(path, exc, "creating its tables", busy_timeout) from None
    finally:
        conn.close()


@functools.cache
def contract_columns() -> dict[str, tuple[str, ...]]:
    """Every table of the public schema and its columns, as the schema above declares them."""
    conn = sqlite3.connect(":memory:")
    try:
        for script in SCHEMA_SCRIPTS:
            conn.executescript(script)
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid")]
        return {t: tuple(r[1] for r in conn.execute(f"PRAGMA table_info({t})")) for t in tables}
    finally:
        conn.close()


def _check_file(path: Path) -> None:
    """Refuse a file that is not an SQLite database, or one cut short, before SQLite reads it.

    SQLite itself reads the missing pages of a truncated file as zeros and may return fewer rows
    without an error, which would look like deleted records; the header's page count tells."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    except OSError:
        raise OpsStoreUnreadable(f"{path} cannot be read (check that it is a file xsync may "
                                 "read)", side="ops", path=str(path)) from None
    if size == 0 or not path.is_file():
        return
    try:
        with path.open("rb") as handle:
            header = handle.read(100)
    except OSError:
        raise OpsStoreUnreadable(f"{path} cannot be read (check that xsync may read it)",
                                 side="ops", path=str(path)) from None
    if len(header) < 100 or not header.startswith(SQLITE_HEADER):
        raise OpsStoreUnreadable(f"{path} is not an SQLite database (the operations store "
                                 "must be one)", side="ops", path=str(path))
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    header_size_valid = pages > 0 and header[24:28] == header[92:96]
    # with a write-ahead log the main file may lag behind the pages the header counts
    has_wal = Path(f"{path}-wal").exists()
    if header_size_valid and not has_wal and size < pages * page_size:
        raise OpsStoreUnreadable(
            f"{path} is truncated: it holds {size} bytes of the {pages * page_size} its header "
            "counts, so some rows are missing", side="ops", path=str(path))


def _store_failure(path: Path, exc: sqlite3.Error, doing: str,
                   busy_timeout: float) -> XsyncError:
    """The xsync error that tells a person what an sqlite3 error means for ``path``."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    where = str(path)
    if primary in (5, 6):  # SQLITE_BUSY, SQLITE_LOCKED
        return OpsStoreBusy(
            f"{where} stayed locked by another program for more than {busy_timeout:g} seconds "
            f"while {doing}", side="ops", path=where)
    if primary in (11, 26):  # SQLITE_CORRUPT, SQLITE_NOTADB
        return OpsStoreUnreadable(f"{where} is corrupt or not an SQLite database (found while "
                                  f"{doing})", side="ops", path=where)
    if primary == 14:  # SQLITE_CANTOPEN
        return OpsStoreUnreadable(f"{where} cannot be opened (check that it is a file and that "
                                  "xsync may read and write it)", side="ops", path=where)
    if primary == 13:  # SQLITE_FULL
        return OpsStoreUnreadable(f"the disk holding {where} is full (while {doing}); nothing "
                                  "of this write was kept", side="ops", path=where)
    if primary == 8:  # SQLITE_READONLY
        return OpsStoreUnreadable(f"{where} is read-only for xsync (while {doing}); allow it "
                                  "to write there", side="ops", path=where)
    if primary == 10:  # SQLITE_IOERR
        return OpsStoreUnreadable(f"{where} could not be read from or written to disk (while "
                                  f"{doing})", side="ops", path=where)
    return OpsStoreUnreadable(f"{where} could not be used while {doing} (SQLite refused the "
                              "request)", side="ops", path=where)


def utc_now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_updated_at(value: str | None) -> datetime | None:
    """An ISO-8601 time as aware UTC (a time without offset is taken as UTC). ValueError else."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _read(kind: str, value: Any, who: str, name: str, problems: list[str]) -> str | None:
    """One stored value as canonical text; a value that cannot be read adds a sentence."""
    if value is None:
        return None
    kind_of = type(value)
    if kind_of is bytes:
        problems.append(f"{who}: {name} is stored as binary data (a BLOB), not as text")
        return None
    if kind_of is str and value == "":
        return None
    if kind == "money" or kind == "quantity":
        if kind_of is str and CANONICAL_TEXT[kind].fullmatch(value) and value[:3] != "-0.":
            return value
        try:
            return money(value) if kind == "money" else quantity(value)
        except BadAmount as exc:
            problems.append(f"{who}: {name} {exc}")
            return None
    if kind == "date":
        return _read_date(value, who, name, problems)
    return value if kind_of is str else str(value)


def _read_date(value: Any, who: str, name: str, problems: list[str]) -> str | None:
    text = value if isinstance(value, str) else str(value)
    if not DATE_TEXT.fullmatch(text):
        problems.append(f"{who}: {name} {value!r} is not a date in the form YYYY-MM-DD")
        return None
    try:
        date.fromisoformat(text)
    except ValueError:
        problems.append(f"{who}: {name} {text!r} is not a date of the calendar (YYYY-MM-DD)")
        return None
    if not FIRST_DATE <= text <= LAST_DATE:
        problems.append(f"{who}: {name} {text!r} is outside the years 1900 to 2100")
        return None
    return text


# problems named in one reason; a row with hundreds of bad lines says how many more there are
REASON_PROBLEMS = 5


def _reason(problems: list[str]) -> str:
    shown = "; ".join(problems[:REASON_PROBLEMS])
    more = len(problems) - REASON_PROBLEMS
    return f"{shown}; and {more} more problem{'s' if more > 1 else ''}" if more > 0 else shown


class RowError(ValueError):
    """An ops row that cannot become a canonical record; its text is a sentence for people."""


class SqliteOpsStore:
    """The ops side over `ops.db`. ``categories`` maps an ops category to a Xero account code.

    ``busy_timeout``: seconds to wait for another program's lock before :class:`OpsStoreBusy`."""

    name = "ops"

    def __init__(self, path: Path | str, *, categories: dict[str, str] | None = None,
                 default_tax_types: dict[str, str] | None = None,
                 now: Any = utc_now_text, busy_timeout: float = BUSY_TIMEOUT) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        _check_folder(self.path)
        _check_file(self.path)
        try:
            # autocommit mode: write() opens its own transaction with a savepoint per change
            self.conn = sqlite3.connect(str(self.path), timeout=busy_timeout,
                                        isolation_level=None)
        except sqlite3.Error as exc:
            raise _store_failure(self.path, exc, "opening it", busy_timeout) from None
        self.conn.row_factory = sqlite3.Row
        try:
            with self._sqlite("opening it"):
                # ids are random text, so a large import touches index pages all over the file:
                # a page cache that holds them keeps each insert from rereading pages
                self.conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
                self._open_schema()
        except BaseException:
            self.conn.close()
            raise
        self.categories = dict(categories or {})
        # Xero account code -> the tax type of a line that names none
        self.default_tax_types = dict(default_tax_types or {})
        self._now = now

    def close(self) -> None:
        self.conn.close()

    # -- the file and its schema ---------------------------------------------------------------

    @contextmanager
    def _sqlite(self, doing: str) -> Iterator[None]:
        """Turn sqlite3's errors into ones that say what happened to the file."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            if (getattr(exc, "sqlite_errorcode", 0) & 0xFF) == 1:
                # a table or column dropped since the store was opened
                with suppress(sqlite3.Error):
                    self._check_schema()
            raise _store_failure(self.path, exc, doing, self.busy_timeout) from None
        except (sqlite3.DatabaseError, sqlite3.InterfaceError) as exc:
            if isinstance(exc, sqlite3.ProgrammingError):
                raise
            raise _store_failure(self.path, exc, doing, self.busy_timeout) from None

    def _open_schema(self) -> None:
        """A new, empty file gets the whole schema; a used one must already hold the contract.

        Creating a missing table in a file the platform already uses would show that entity as
        empty, which reads as every record of it deleted."""
        existing = self._columns()
        if not set(existing) & set(contract_columns()):
            for script in SCHEMA_SCRIPTS:
                self.conn.executescript(script)
            return
        self._check_schema(existing)

    def _columns(self) -> dict[str, set[str]]:
        tables = [str(r[0]) for r in self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")]
        return {t: {str(r[0]) for r in self.conn.execute(
            "SELECT name FROM pragma_table_info(?)", [t])} for t in tables}

    def _check_schema(self, existing: dict[str, set[str]] | None = None,
                      tables: Iterable[str] | None = None) -> None:
        """Raise :class:`OpsSchemaError` naming the first contract table or column missing."""
        have = existing if existing is not None else self._columns()
        contract = contract_columns()
        for table in tables if tables is not None else contract:
            if table not in have:
                raise OpsSchemaError(
                    f"{self.path} has no table {table!r}, which the ops store contract needs "
                    f"(columns: {', '.join(contract[table])}); nothing was read or pushed",
                    table=table, column=None, path=str(self.path))
            missing = [c for c in contract[table] if c not in have[table]]
            if missing:
                names = ", ".join(f"{table}.{c}" for c in missing)
                raise OpsSchemaError(
                    f"{self.path} has no column {names}, which the ops store contract needs; "
                    "nothing was read or pushed", table=table, column=missing[0],
                    path=str(self.path))

    def _check_entity_schema(self, entity: str) -> None:
        table, line_table, _, _ = TABLES[entity]
        wanted = [table] + ([line_table] if line_table else [])
        if "contact_id" in spec(entity).refs:
            wanted.append("contacts")
        if spec(entity).has_lines:
            wanted.append("accounts")
        self._check_schema(tables=wanted)

    # -- reading -------------------------------------------------------------------------------

    def scan(self, entity: str, cursor: str | None) -> ScanResult:
        """Every row of the entity (the store is local, so a full listing is cheap and complete).

        Every row that cannot be read is in ``rejected`` with its reason, and so is every line
        whose document row does not exist (under the id of the document it names)."""
        table, line_table, owner, key = TABLES[entity]
        with self._sqlite(f"reading {table}"):
            self._check_entity_schema(entity)
            rows = self.conn.execute(f"SELECT * FROM {table} ORDER BY {key}").fetchall()
            lines = self._lines_by_owner(line_table, owner) if line_table and owner else {}
            known_accounts = self._known_accounts() if line_table else set()
            known_contacts = (self._ids("contacts") if "contact_id" in spec(entity).refs
                              else set())
        noun = NOUN[entity]
        records: list[Record] = []
        rejected: list[tuple[str, str]] = []
        newest = cursor
        stamped = entity in STAMPED
        counts: dict[str, int] = {}
        for row in rows:
            raw = row[key]
            row_id = "" if raw is None else str(raw)
            counts[row_id] = counts.get(row_id, 0) + 1
        seen: set[str] = set()
        for row in rows:
            raw = row[key]
            row_id = "" if raw is None else str(raw)
            seen.add(row_id)
            if not row_id:
                rejected.append((row_id, f"a row of {table} has no {key}: give it the "
                                         f"platform's {noun} id"))
                continue
            if counts[row_id] > 1:
                rejected.append((row_id, f"{noun} {row_id}: {counts[row_id]} rows of {table} "
                                         f"have the {key} {row_id!r}; each {noun} needs its own"))
                continue
            problems: list[str] = []
            record = self._to_record(entity, row, lines.get(row_id, []), problems)
            if not problems:
                self._check_refs(record, known_accounts, known_contacts, problems)
            if problems:
                rejected.append((row_id, _reason(problems)))
                continue
            records.append(record)
            stamp = row["updated_at"] if stamped else None
            if stamp and (newest is None or stamp > newest):
                newest = stamp
        orphan_ids: list[str] = []
        for owner_id, orphans in lines.items():
            if owner_id in seen:
                continue
            for line in orphans:
                orphan_ids.append(str(line["id"]))
                if owner_id:
                    reason = (f"line {line['id']} names {noun} {owner_id!r} in {owner}, but "
                              f"{table} has no such row: restore the {noun} or delete the line")
                else:
                    reason = f"line {line['id']} has no {owner}: it belongs to no {noun}"
                rejected.append((owner_id, reason))
        return ScanResult(records=records, cursor=newest, complete=True, rejected=rejected,
                          rejected_lines=orphan_ids)

    def fetch(self, entity: str, ids: Sequence[str]) -> list[Record]:
        """The records with these ids, in the order asked (read in chunks, not one by one).

        A row that cannot be read is absent, as a missing one is; :meth:`scan` reports it in
        ``rejected`` with its reason, which is how the engine tells the two apart."""
        table, line_table, owner, key = TABLES[entity]
        rows: dict[str, sqlite3.Row] = {}
        lines: dict[str, list[sqlite3.Row]] = {}
        wanted = list(dict.fromkeys(ids))
        with self._sqlite(f"reading {table}"):
            self._check_entity_schema(entity)
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
        readable: dict[str, Record] = {}
        for record_id, row in rows.items():
            problems: list[str] = []
            record = self._to_record(entity, row, lines.get(record_id, []), problems)
            if not problems:
                readable[record_id] = record
        # the same references as a scan checks, so that fetch never returns what scan rejects
        with self._sqlite(f"reading {table}"):
            accounts = self._known_accounts() if line_table else set()
            contacts = self._existing_contacts(readable.values())
        out: list[Record] = []
        for record_id in ids:
            found = readable.get(record_id)
            if found is None:
                continue
            problems = []
            self._check_refs(found, accounts, contacts, problems)
            if not problems:
                out.append(found)
        return out

    def _existing_contacts(self, records: Iterable[Record]) -> set[str]:
        """Which of the contact ids these records name are rows of ``contacts``."""
        named = sorted({c for r in records if (c := r.fields.get("contact_id"))})
        found: set[str] = set()
        for start in range(0, len(named), FETCH_CHUNK):
            chunk = named[start:start + FETCH_CHUNK]
            marks = ", ".join("?" for _ in chunk)
            found.update(str(r[0]) for r in self.conn.execute(
                f"SELECT id FROM contacts WHERE id IN ({marks})", chunk))
        return found

    def _to_record(self, entity: str, row: sqlite3.Row, line_rows: list[sqlite3.Row],
                   problems: list[str]) -> Record:
        entity_spec = spec(entity)
        record_id = str(row[TABLES[entity][3]])
        who = f"{NOUN[entity]} {record_id}"
        fields: Fields = {}
        for name in entity_spec.fields:
            fields[name] = _read(entity_spec.kind(name), row[name], who, name, problems)
        for (of, name), allowed in ENUMS.items():
            if of == entity:
                self._check_enum(fields[name], row[name], allowed, who, name, problems)
        start, due = fields.get("date"), fields.get("due_date")
        if start and due and due < start:
            problems.append(f"{who}: due_date {due!r} is before the date {start!r}")
        currency = fields.get("currency")
        if currency and not CURRENCY.fullmatch(currency):
            problems.append(f"{who}: currency {currency!r} is not a three-letter currency code "
                            "in capitals (such as AUD)")
        if entity == "contacts":
            if not (fields.get("name") or "").strip():
                problems.append(f"{who}: name is empty; Xero needs a name for every contact")
            email = fields.get("email")
            if email and not EMAIL.fullmatch(email.strip()):
                problems.append(f"{who}: email {email!r} is not an email address")
        updated = None
        if entity in STAMPED:
            updated = self._read_stamp(row["updated_at"], who, problems)
        lines = None
        if entity_spec.has_lines:
            lines = [self._to_line(entity_spec, lr, who, problems) for lr in line_rows]
        return Record(entity=entity, id=record_id, fields=fields, lines=lines, updated_at=updated)

    @staticmethod
    def _check_enum(value: str | None, raw: Any, allowed: tuple[tuple[str, ...], bool], who: str,
                    name: str, problems: list[str]) -> None:
        values, may_be_empty = allowed
        if value is None:
            if not may_be_empty and not isinstance(raw, bytes):
                problems.append(f"{who}: {name} is empty; allowed values: {', '.join(values)}")
        elif value not in values:
            problems.append(f"{who}: {name} {value!r} is not one of the allowed values: "
                            f"{', '.join(values)}")

    @staticmethod
    def _read_stamp(value: Any, who: str, problems: list[str]) -> datetime | None:
        if value is None or value == "":
            problems.append(f"{who}: updated_at is empty; the platform must stamp every change "
                            "with an ISO-8601 UTC time (such as 2026-11-02T09:30:00Z)")
            return None
        if not isinstance(value, str):
            problems.append(f"{who}: updated_at {value!r} is not an ISO-8601 time (such as "
                            "2026-11-02T09:30:00Z)")
            return None
        try:
            return parse_updated_at(value)
        except ValueError:
            problems.append(f"{who}: updated_at {value!r} is not an ISO-8601 time (such as "
                            "2026-11-02T09:30:00Z)")
            return None

    def _to_line(self, entity_spec: EntitySpec, row: sqlite3.Row, owner: str,
                 problems: list[str]) -> Line:
        line_id = row["id"]
        who = f"line {line_id}"
        if line_id is None or line_id == "":
            problems.append(f"a line of {owner} has no id: give it the platform's line id")
        fields: Fields = {}
        for name in entity_spec.line_fields:
            value = row[name]
            if name == "account_code" and not value and row["category"]:
                value = self.categories.get(row["category"])
                if value is None:
                    problems.append(f"{who}: category {row['category']!r} has no account "
                                    "mapping in [mappings.categories]")
            fields[name] = _read(entity_spec.line_kinds.get(name, "text"), value, who, name,
                                 problems)
        position = fields.get("position")
        if position is not None and not WHOLE_NUMBER.fullmatch(position):
            problems.append(f"{who}: position {row['position']!r} is not a whole number")
        code = fields.get("account_code")
        if "tax_type" in fields and not fields["tax_type"] and code:
            fields["tax_type"] = self.default_tax_types.get(code)
        return Line(id=None if line_id is None else str(line_id), fields=fields)

    def _check_refs(self, record: Record, accounts: set[str], contacts: set[str],
                    problems: list[str]) -> None:
        who = f"{NOUN[record.entity]} {record.id}"
        contact = record.fields.get("contact_id")
        if "contact_id" in spec(record.entity).refs and record.entity != "credit_notes":
            if not contact:
                problems.append(f"{who}: contact_id is empty; every {NOUN[record.entity]} "
                                "needs a contact")
            elif contact not in contacts:
                problems.append(f"{who}: contact_id {contact!r} names a contact that is not in "
                                "the contacts table")
        for line in record.lines or []:
            code = line.fields.get("account_code")
            if code and accounts and code not in accounts:
                problems.append(f"line {line.id}: account_code {code!r} is not in the chart of "
                                "accounts (pulled from Xero)")

    def _lines_by_owner(self, table: str, owner: str) -> dict[str, list[sqlite3.Row]]:
        grouped: dict[str, list[sqlite3.Row]] = {}
        for row in self.conn.execute(f"SELECT * FROM {table} ORDER BY {owner}, position, id"):
            raw = row[owner]
            grouped.setdefault("" if raw is None else str(raw), []).append(row)
        return grouped

    def _known_accounts(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT code FROM accounts") if r[0]}

    def _ids(self, table: str) -> set[str]:
        return {str(r[0]) for r in self.conn.execute(f"SELECT id FROM {table}")}

    # -- writing -------------------------------------------------------------------------------

    def write(self, entity: str, changes: Sequence[Change]) -> list[ChangeResult]:
        """Apply every change in one transaction; a failing change is rolled back alone.

        A change the table refuses keeps its own result with a sentence saying why; a file that
        stays locked, is corrupt or full fails the whole write (nothing of it is kept)."""
        table = TABLES[entity][0]
        outcomes: list[tuple[Change, str | None, str | None]] = []
        with self._sqlite(f"writing {table}"):
            self._check_entity_schema(entity)
            # the write lock is taken first, so a locked file fails before any change is tried
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                known = self._existing_lines(entity, changes)
                for change in changes:
                    self.conn.execute("SAVEPOINT change")
                    try:
                        record_id = self._apply(entity, change, known)
                    except (BadAmount, RowError) as exc:
                        self.conn.execute("ROLLBACK TO change")
                        outcomes.append((change, None, str(exc)))
                    except (sqlite3.IntegrityError, sqlite3.OperationalError) as exc:
                        if not _refused_by_table(exc):
                            raise
                        self.conn.execute("ROLLBACK TO change")
                        outcomes.append((change, None, _refusal(entity, change, exc)))
                    else:
                        outcomes.append((change, record_id, None))
                    self.conn.execute("RELEASE change")
                self.conn.execute("COMMIT")
            except BaseException:
                # a failed rollback must not hide why the write failed
                with suppress(sqlite3.Error):
                    if self.conn.in_transaction:
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
                raise RowError(f"{NOUN[entity]}: an {change.action} came without an id, so "
                               "there is no row to change; nothing was written")
            exists = self.conn.execute(f"SELECT 1 FROM {table} WHERE {key} = ?", [record_id])
            if exists.fetchone() is None:
                raise RowError(f"{NOUN[entity]} {record_id}: there is no such row in {table} "
                               "any more (removed by the platform?); nothing was written")
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


def _refused_by_table(exc: sqlite3.Error) -> bool:
    """Whether the error is about this one change (a rule of the table), not about the file."""
    primary = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    # SQLITE_CONSTRAINT, SQLITE_MISMATCH, and SQLITE_ERROR (a statement the table cannot take)
    return primary in (19, 20) or (primary == 1 and isinstance(exc, sqlite3.OperationalError))


def _refusal(entity: str, change: Change, exc: sqlite3.Error) -> str:
    """A sentence for a change the table refused; sqlite's own text only lends column names."""
    table, _, _, key = TABLES[entity]
    noun = NOUN[entity]
    record_id = change.id or change.fields.get(key)
    label = change.fields.get(spec(entity).label) if spec(entity).label != "id" else None
    if record_id:
        who = f"{noun} {record_id}"
    else:
        who = f"the new {noun} {label!r}" if label else f"a new {noun}"
    text = str(exc)
    columns = [c for table_columns in contract_columns().values() for c in table_columns]
    named = [c for c in dict.fromkeys(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text.split(":")[-1]))
             if c in columns]
    column = named[0] if named else None
    primary = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    nothing = "; nothing was written for it"
    if "NOT NULL" in text and column:
        return f"{who}: {column} is empty, but ops.db requires a value there{nothing}"
    if "UNIQUE" in text or "PRIMARY KEY" in text:
        return f"{who}: {table} already has a row with this {column or key}{nothing}"
    if "FOREIGN KEY" in text:
        return f"{who}: it names a row that ops.db does not have{nothing}"
    if "CHECK" in text and column:
        value = change.fields.get(column)
        shown = f" {value!r}" if value is not None else ""
        return f"{who}: {column}{shown} is not allowed by the rules of the {table} table{nothing}"
    if primary == 1 and "no column named" in text:
        field = text.rsplit(" ", 1)[-1]
        return f"{who}: {table} has no column for the field {field!r}{nothing}"
    return f"{who}: ops.db refused the change (a rule of the {table} table){nothing}"
