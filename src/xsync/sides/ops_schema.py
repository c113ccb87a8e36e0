"""The `ops.db` file and its schema contract: creating it, opening it, and checking it holds one.

The schema is a public contract (documented in the README): the tables and columns declared in
:data:`SCHEMA_SCRIPTS` are what the operations platform and xsync agree on; :data:`TABLES` names
each entity's table, line table, line owner column and id column.

Invariants:
- Failures of the file itself never surface as sqlite3 exceptions: a lock held past the busy
  timeout is :class:`OpsStoreBusy`, a corrupt, truncated or unreadable file
  :class:`OpsStoreUnreadable`, a missing contract table or column :class:`OpsSchemaError`, and a
  path in a folder that does not exist a :class:`ConfigError`.
- A file that is not an SQLite database, or one cut short, is refused before SQLite reads it.
- Only a new, empty file gets tables created; a file the platform already uses must hold the
  whole contract, or nothing is read from it. The one exception is what the contract gained after
  its first version (:data:`ADDED_COLUMNS`, :data:`ADDED_TABLES`): a file made before them gets
  them, empty, when xsync opens it, since an empty new column or table stands for nothing the
  platform ever had.
- A :class:`TableShape` says what a write stores only where the declaration leaves no doubt
  (text kept as text, literal defaults, no triggers); anything else is :data:`UNKNOWN`, and the
  store reads such a row back instead of guessing.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from xsync.errors import (
    ConfigError,
    OpsSchemaError,
    OpsStoreBusy,
    OpsStoreUnreadable,
    XsyncError,
)
from xsync.model.entities import spec

SCHEMA = """
CREATE TABLE IF NOT EXISTS contacts (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT, phone TEXT, abn TEXT,
    address_line1 TEXT, city TEXT, region TEXT, postal_code TEXT, country TEXT,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    updated_at TEXT NOT NULL, merged_into TEXT
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
    tax_type TEXT, tax_amount TEXT, line_amount TEXT, discount_rate TEXT, job TEXT, site TEXT
);
CREATE INDEX IF NOT EXISTS {line}_owner ON {line}({owner});
"""

SCHEMA_REST = """
CREATE TABLE IF NOT EXISTS payments (
    id TEXT PRIMARY KEY, invoice_id TEXT, date TEXT, amount TEXT, reference TEXT,
    status TEXT NOT NULL DEFAULT 'authorised', updated_at TEXT NOT NULL, bill_id TEXT,
    credit_note_id TEXT, credit_id TEXT
);
CREATE TABLE IF NOT EXISTS credit_notes (
    id TEXT PRIMARY KEY, number TEXT, contact_id TEXT, invoice_id TEXT, date TEXT,
    total TEXT, remaining TEXT, status TEXT, updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS credits (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('overpayment', 'prepayment')),
    contact_id TEXT, date TEXT, reference TEXT, total TEXT, remaining TEXT, status TEXT,
    updated_at TEXT NOT NULL, bank_account TEXT, account_code TEXT, tax_type TEXT
);
CREATE TABLE IF NOT EXISTS allocations (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('credit_note', 'overpayment', 'prepayment')),
    credit_note_id TEXT, credit_id TEXT, invoice_id TEXT, amount TEXT, date TEXT,
    status TEXT NOT NULL DEFAULT 'applied' CHECK (status IN ('applied', 'deleted')),
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS allocations_invoice ON allocations(invoice_id);
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

# (table, column, declaration) the contract gained after its first version, in that order
ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("payments", "bill_id", "TEXT"),
    ("payments", "credit_note_id", "TEXT"),
    ("contacts", "merged_into", "TEXT"),
    ("invoice_lines", "job", "TEXT"),
    ("invoice_lines", "site", "TEXT"),
    ("bill_lines", "job", "TEXT"),
    ("bill_lines", "site", "TEXT"),
    ("payments", "credit_id", "TEXT"),
    ("credits", "bank_account", "TEXT"),
    ("credits", "account_code", "TEXT"),
    ("credits", "tax_type", "TEXT"),
)
# tables the contract gained after its first version
ADDED_TABLES: tuple[str, ...] = ("credits", "allocations")

# entity -> (table, line table, line owner column, id column)
TABLES: dict[str, tuple[str, str | None, str | None, str]] = {
    "contacts": ("contacts", None, None, "id"),
    "invoices": ("invoices", "invoice_lines", "invoice_id", "id"),
    "bills": ("bills", "bill_lines", "bill_id", "id"),
    "payments": ("payments", None, None, "id"),
    "credit_notes": ("credit_notes", None, None, "id"),
    "credits": ("credits", None, None, "id"),
    "allocations": ("allocations", None, None, "id"),
    "accounts": ("accounts", None, None, "code"),
    "tax_rates": ("tax_rates", None, None, "tax_type"),
}
# what a bookkeeper calls one record of each entity
NOUN = {"contacts": "contact", "invoices": "invoice", "bills": "bill", "payments": "payment",
        "credit_notes": "credit note", "credits": "credit", "allocations": "allocation",
        "accounts": "account",
        "tax_rates": "tax rate"}
# seconds a statement waits for another program's lock before the store gives up
BUSY_TIMEOUT = 30.0
SQLITE_HEADER = b"SQLite format 3\x00"

# primary SQLite result code -> what it means for the file, as OpsStoreUnreadable says it
UNREADABLE_BECAUSE = {
    11: "{where} is corrupt or not an SQLite database (found while {doing})",  # SQLITE_CORRUPT
    26: "{where} is corrupt or not an SQLite database (found while {doing})",  # SQLITE_NOTADB
    14: "{where} cannot be opened (check that it is a file and that xsync may read and write "
        "it)",  # SQLITE_CANTOPEN
    13: "the disk holding {where} is full (while {doing}); nothing of this write was kept",
    8: "{where} is read-only for xsync (while {doing}); allow it to write there",
    10: "{where} could not be read from or written to disk (while {doing})",  # SQLITE_IOERR
}
UNREADABLE_OTHERWISE = "{where} could not be used while {doing} (SQLite refused the request)"


def create_ops_db(path: Path | str, *, busy_timeout: float = BUSY_TIMEOUT) -> None:
    """Create (or complete) the ops schema in ``path``. Existing rows are left as they are."""
    path = Path(path)
    conn = connect(path, busy_timeout)
    try:
        apply_schema(conn)
        conn.commit()
    except sqlite3.Error as exc:
        raise store_failure(path, exc, "creating its tables", busy_timeout) from None
    finally:
        conn.close()


@functools.cache
def contract_columns() -> dict[str, tuple[str, ...]]:
    """Every table of the public schema and its columns, as the schema above declares them."""
    conn = sqlite3.connect(":memory:")
    try:
        apply_schema(conn)
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid")]
        return {t: tuple(r[1] for r in conn.execute(f"PRAGMA table_info({t})")) for t in tables}
    finally:
        conn.close()


def apply_schema(conn: sqlite3.Connection) -> None:
    """Every table and index of the contract, created in one transaction (each statement on
    its own would be a transaction, a journal and a sync to disk of its own)."""
    conn.executescript("BEGIN;\n" + "\n".join(SCHEMA_SCRIPTS) + "\nCOMMIT;")


def connect(path: Path, busy_timeout: float, *, autocommit: bool = False) -> sqlite3.Connection:
    """A connection to ``path`` once the folder and the file pass their checks.

    ``autocommit``: no implicit transactions, for a caller that opens its own."""
    check_folder(path)
    check_file(path)
    try:
        if autocommit:
            return sqlite3.connect(str(path), timeout=busy_timeout, isolation_level=None)
        return sqlite3.connect(str(path), timeout=busy_timeout)
    except sqlite3.Error as exc:
        raise store_failure(path, exc, "opening it", busy_timeout) from None


def check_folder(path: Path) -> None:
    folder = path.parent
    if not folder.is_dir():
        raise ConfigError(
            f"[ops] path {path} is in the folder {folder}, which does not exist: create the "
            "folder, or point [ops] path in xsync.toml at the operations database",
            path=str(path))


def check_file(path: Path) -> None:
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


def store_failure(path: Path, exc: sqlite3.Error, doing: str,
                  busy_timeout: float) -> XsyncError:
    """The xsync error that tells a person what an sqlite3 error means for ``path``."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else 0
    where = str(path)
    if primary in (5, 6):  # SQLITE_BUSY, SQLITE_LOCKED
        return OpsStoreBusy(
            f"{where} stayed locked by another program for more than {busy_timeout:g} seconds "
            f"while {doing}", side="ops", path=where)
    because = UNREADABLE_BECAUSE.get(primary, UNREADABLE_OTHERWISE)
    return OpsStoreUnreadable(because.format(where=where, doing=doing), side="ops", path=where)


@contextmanager
def sqlite_errors(conn: sqlite3.Connection, path: Path, doing: str,
                  busy_timeout: float) -> Iterator[None]:
    """Turn sqlite3's errors into ones that say what happened to the file."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if (getattr(exc, "sqlite_errorcode", 0) & 0xFF) == 1:
            # a table or column dropped since the store was opened
            with suppress(sqlite3.Error):
                check_schema(path, table_columns(conn))
        raise store_failure(path, exc, doing, busy_timeout) from None
    except (sqlite3.DatabaseError, sqlite3.InterfaceError) as exc:
        if isinstance(exc, sqlite3.ProgrammingError):
            raise
        raise store_failure(path, exc, doing, busy_timeout) from None


def open_schema(conn: sqlite3.Connection, path: Path) -> None:
    """A new, empty file gets the whole schema; a used one must already hold the contract.

    Creating a missing table in a file the platform already uses would show that entity as
    empty, which reads as every record of it deleted."""
    existing = table_columns(conn)
    if not set(existing) & set(contract_columns()):
        apply_schema(conn)
        return
    check_schema(path, existing)
    upgrade(conn, existing)


def upgrade(conn: sqlite3.Connection, existing: dict[str, set[str]]) -> None:
    """Give a file made before them the columns and tables the contract gained since."""
    missing = [(t, c, d) for t, c, d in ADDED_COLUMNS if t in existing and c not in existing[t]]
    tables = [t for t in ADDED_TABLES if t not in existing]
    if not missing and not tables:
        return
    statements = [f"ALTER TABLE {t} ADD COLUMN {c} {d}" for t, c, d in missing]
    statements += _creating(tables)
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in statements:
            conn.execute(statement)
        conn.execute("COMMIT")
    except BaseException:
        with suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise


def _creating(tables: list[str]) -> list[str]:
    """The contract's own CREATE statements of these tables and of their indexes."""
    if not tables:
        return []
    memory = sqlite3.connect(":memory:")
    try:
        apply_schema(memory)
        marks = ", ".join("?" for _ in tables)
        return [str(r[0]) for r in memory.execute(
            f"SELECT sql FROM sqlite_master WHERE tbl_name IN ({marks}) AND sql IS NOT NULL "
            "ORDER BY type = 'index', rowid", tables)]
    finally:
        memory.close()


def table_columns(conn: sqlite3.Connection) -> dict[str, set[str]]:
    """Every table and view the file holds, with its columns."""
    tables = [str(r[0]) for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")]
    return {t: {str(r[0]) for r in conn.execute(
        "SELECT name FROM pragma_table_info(?)", [t])} for t in tables}


def check_schema(path: Path, have: dict[str, set[str]],
                 tables: Iterable[str] | None = None) -> None:
    """Raise :class:`OpsSchemaError` naming the first contract table or column missing."""
    contract = contract_columns()
    added = {(t, c) for t, c, _ in ADDED_COLUMNS}
    for table in tables if tables is not None else contract:
        if table in ADDED_TABLES and table not in have:
            continue  # xsync creates it when it opens the file
        if table not in have:
            raise OpsSchemaError(
                f"{path} has no table {table!r}, which the ops store contract needs "
                f"(columns: {', '.join(contract[table])}); nothing was read or pushed",
                table=table, column=None, path=str(path))
        missing = [c for c in contract[table]
                   if c not in have[table] and (table, c) not in added]
        if missing:
            names = ", ".join(f"{table}.{c}" for c in missing)
            raise OpsSchemaError(
                f"{path} has no column {names}, which the ops store contract needs; "
                "nothing was read or pushed", table=table, column=missing[0],
                path=str(path))


def entity_tables(entity: str) -> list[str]:
    """The tables reading or writing ``entity`` touches: its own, its lines', and those it
    checks references against."""
    table, line_table, _, _ = TABLES[entity]
    wanted = [table] + ([line_table] if line_table else [])
    if "contact_id" in spec(entity).refs:
        wanted.append("contacts")
    if spec(entity).has_lines:
        wanted.append("accounts")
    return wanted


# -- what a write stores -----------------------------------------------------------------------


class Unknown:
    """Stands for a stored value xsync cannot tell without reading it back."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = Unknown()
TEXT_OR_NULL = frozenset({str, type(None)})
# text an INTEGER or NUMERIC column stores as the integer it spells, read back as the same text
WHOLE_TEXT = re.compile(r"0|-?[1-9][0-9]{0,17}")
TEXT_LITERAL = re.compile(r"'((?:[^']|'')*)'")
# clauses that make SQLite store something else than what was written, or order it otherwise
RESHAPING = re.compile(r"\b(?:CONFLICT|COLLATE|GENERATED)\b", re.IGNORECASE)


@dataclass(frozen=True)
class TableShape:
    """What SQLite stores when xsync writes a row of a plain table, as far as it can be told
    without asking: each column's default, and which columns turn text into numbers.

    Only a table with none of what makes SQLite store or order otherwise than written has a
    shape (see :func:`table_shape`); anything else is read back after its write."""

    defaults: dict[str, Any]
    # columns of INTEGER or NUMERIC affinity: text spelling a whole number is stored as one
    numeric: frozenset[str]
    # columns of REAL affinity: every number, and text spelling one, is stored as a float
    real: frozenset[str]
    # the columns a record is read from: a row is known only if each of them is
    read: frozenset[str] = frozenset()

    def reading(self, columns: Iterable[str]) -> TableShape:
        """This shape, for rows whose ``columns`` must all be known."""
        return replace(self, read=frozenset(columns))

    def stored(self, column: str, value: Any) -> Any:
        """``value`` as this column stores it, or :data:`UNKNOWN`."""
        if value is None:
            return None
        if type(value) is not str or column in self.real:
            return UNKNOWN
        if column in self.numeric:
            return int(value) if WHOLE_TEXT.fullmatch(value) else UNKNOWN
        return value

    def inserted(self, written: Mapping[str, Any]) -> dict[str, Any] | None:
        """The row an INSERT of ``written`` stores: the defaults, then what was written;
        ``None`` if a column read is not known."""
        if self._unknown_defaults and not written.keys() >= self._unknown_defaults:
            return None
        return self._over(dict(self.defaults), written)

    def updated(self, stored: Mapping[str, Any],
                written: Mapping[str, Any]) -> dict[str, Any] | None:
        """The row ``stored`` becomes by an UPDATE setting ``written``; ``None`` if a column
        read is not known."""
        return self._over(dict(stored), written)

    def _over(self, row: dict[str, Any], written: Mapping[str, Any]) -> dict[str, Any] | None:
        row.update(written)
        turned: Iterable[str] = self._turning.intersection(written)
        if not TEXT_OR_NULL.issuperset(map(type, written.values())):
            turned = {*turned, *(c for c, v in written.items() if type(v) not in TEXT_OR_NULL)}
        for column in turned:
            stored = self.stored(column, written[column])
            if stored is UNKNOWN and column in self.read:
                return None
            row[column] = stored
        return row

    @functools.cached_property
    def _turning(self) -> frozenset[str]:
        """The columns that may store text as something else."""
        return self.numeric | self.real

    @functools.cached_property
    def _unknown_defaults(self) -> frozenset[str]:
        """The columns read whose default is not known: a row must be given them."""
        return frozenset(c for c in self.read if self.defaults.get(c) is UNKNOWN)


def table_shape(conn: sqlite3.Connection, table: str, key: str) -> TableShape | None:
    """The shape of ``table`` as the file declares it, or ``None`` where what a write stores
    cannot be told from it: a view, a table with triggers, generated columns, conflict or
    collation clauses, foreign key actions, or another primary key than ``key`` alone."""
    found = conn.execute("SELECT type, sql FROM sqlite_master WHERE lower(name) = lower(?)",
                         [table]).fetchone()
    if found is None or found[0] != "table" or RESHAPING.search(str(found[1] or "")):
        return None
    triggers = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
                            "AND lower(tbl_name) = lower(?)", [table]).fetchone()[0]
    if triggers:
        return None
    for fk in conn.execute("SELECT on_update, on_delete FROM pragma_foreign_key_list(?)",
                           [table]):
        if any(str(action).upper() != "NO ACTION" for action in fk):
            return None
    columns = conn.execute("SELECT name, type, dflt_value, pk, hidden FROM "
                           "pragma_table_xinfo(?)", [table]).fetchall()
    if [c[0] for c in columns if c[3]] != [key] or any(c[4] for c in columns):
        return None
    numeric: set[str] = set()
    real: set[str] = set()
    for name, declared, _, _, _ in columns:
        affinity = column_affinity(str(declared or ""))
        if affinity in ("INTEGER", "NUMERIC"):
            numeric.add(name)
        elif affinity == "REAL":
            real.add(name)
    probe = TableShape({}, frozenset(numeric), frozenset(real))
    defaults = {name: probe.stored(name, default_value(default))
                for name, _, default, _, _ in columns}
    return TableShape(defaults, probe.numeric, probe.real)


def column_affinity(declared: str) -> str:
    """The affinity SQLite gives a column of this declared type (its documented rules)."""
    upper = declared.upper()
    if "INT" in upper:
        return "INTEGER"
    if "CHAR" in upper or "CLOB" in upper or "TEXT" in upper:
        return "TEXT"
    if "BLOB" in upper or not upper.strip():
        return "BLOB"
    if "REAL" in upper or "FLOA" in upper or "DOUB" in upper:
        return "REAL"
    return "NUMERIC"


def default_value(declared: str | None) -> Any:
    """A column's default as written in its declaration: a text literal, NULL, or
    :data:`UNKNOWN` for anything else (a number, an expression, CURRENT_TIMESTAMP)."""
    if declared is None or declared.strip().upper() == "NULL":
        return None
    literal = TEXT_LITERAL.fullmatch(declared.strip())
    return literal.group(1).replace("''", "'") if literal else UNKNOWN
