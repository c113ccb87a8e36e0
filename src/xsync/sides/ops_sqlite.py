"""The default operations store: a SQLite database (`ops.db`) that the operations platform owns.

:class:`SqliteOpsStore` is the ops side: it lists (``scan``), reads (``fetch``) and writes the
rows of `ops.db` as canonical records. The file and its schema contract live in
:mod:`xsync.sides.ops_schema`, the reading of one row in :mod:`xsync.sides.ops_rows`; the names
they export that callers import from here are re-exported.

Invariants:
- A complete scan reports every row it could not read in ``ScanResult.rejected`` with a sentence
  naming the record, the field and the value, and leaves it untouched, so the engine never takes
  an unreadable row for a deleted one; every line whose document row is missing is rejected too.
- ``fetch`` never returns a record that ``scan`` would reject.
- ``write`` returns each record it wrote exactly as ``fetch`` reads it afterwards (the engine
  keeps its hash as the base): built from what it wrote over what was stored, where the
  table's declared shape tells what SQLite keeps, and read back where it does not.
- Rows xsync writes are stamped to the microsecond (:func:`~xsync.sides.ops_rows.stamp_text`),
  one stamp for all the rows of one write.
- ``write`` applies a batch in one transaction with a savepoint per change: a change the table
  refuses is rolled back alone and gets a sentence saying why; a file that stays locked, is
  corrupt or full fails the whole write, and nothing of it is kept.
- Failures of the file never surface as sqlite3 exceptions (see :mod:`xsync.sides.ops_schema`).
"""

from __future__ import annotations

import hashlib
import operator
import os
import random
import re
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple, cast

from xsync.model.entities import TRACKING_FIELDS, spec
from xsync.model.money import BadAmount
from xsync.model.records import Line, Record
from xsync.model.side import Change, ChangeResult, FingerprintDigest, ScanResult, microseconds
from xsync.sides.ops_carry import OTHERS_HELD, OpsCarry
from xsync.sides.ops_rows import (
    STAMPED,
    RowError,
    StoredRow,
    check_refs,
    parse_updated_at,
    read_record,
    reason_for,
    utc_now_text,
)
from xsync.sides.ops_schema import (
    BUSY_TIMEOUT,
    NOUN,
    SCHEMA,
    SCHEMA_REST,
    SCHEMA_SCRIPTS,
    TABLES,
    TableShape,
    check_schema,
    connect,
    contract_columns,
    create_ops_db,
    entity_tables,
    open_schema,
    sqlite_errors,
    table_columns,
    table_shape,
)

__all__ = [
    "BUSY_TIMEOUT",
    "NOUN",
    "SCHEMA",
    "SCHEMA_REST",
    "SCHEMA_SCRIPTS",
    "TABLES",
    "RowError",
    "SqliteOpsStore",
    "contract_columns",
    "create_ops_db",
    "parse_updated_at",
    "utc_now_text",
]

# SQLite page cache per connection, in KiB: bounded, so that memory does not grow with the
# file (the ids xsync gives keep an import's writes at the end of each index; 4 MiB cost a first
# import of 100,000 invoices no more CPU or disk writes than 8 or 32)
CACHE_KIB = 4096
# ids per SELECT ... IN (...): well below SQLite's limit on bound parameters
FETCH_CHUNK = 500
# rows of a table one statement of a digest reads (see ``_digest_texts``)
DIGEST_ROWS = 20_000
# ids xsync gives the rows it adds (``_new_id``): seconds since 2020 above a count within one
ID_EPOCH = 1_577_836_800
ID_COUNT_BITS = 10
ID_START_MASK = (1 << (ID_COUNT_BITS - 1)) - 1
# where a second's count starts: a generator seeded once from the system's randomness (an id
# must be unique, not unpredictable; a system call for each id cost more than the rest of it)
_ID_START = random.Random()
HEX_DIGITS = frozenset("0123456789ABCDEF")
ID_PREFIX = {"contacts": "C", "invoices": "INV", "bills": "BILL", "payments": "PAY",
             "credit_notes": "CN", "credits": "CR",
             "allocations": "AL"}


class Compared(NamedTuple):
    """An ops table compared with the times the bases vouch for, row by row: the ids of the
    rows that differ or have no time (``moved``), every id, the vouched ids whose rows are gone
    (``None``: more than :data:`OTHERS_HELD`), and whether SQLite read every row's time and
    no more than :data:`OTHERS_HELD` differ or are gone (``exact``: every other row is as
    vouched)."""
    moved: list[str]
    everyone: set[str]
    gone: list[str] | None
    exact: bool

class SqliteOpsStore:
    """The ops side over `ops.db`. ``categories`` maps an ops category to a Xero account code.

    ``busy_timeout``: seconds to wait for another program's lock before :class:`OpsStoreBusy`."""

    name = "ops"

    def __init__(self, path: Path | str, *, categories: dict[str, str] | None = None,
                 default_tax_types: dict[str, str] | None = None,
                 now: Any = utc_now_text, busy_timeout: float = BUSY_TIMEOUT,
                 tracked: Iterable[str] = ()) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        # entity -> the last id given a row this store added (see ``_new_id``)
        self._last_ids: dict[str, int] = {}
        # autocommit mode: write() opens its own transaction with a savepoint per change
        self.conn = connect(self.path, busy_timeout, autocommit=True)
        self.conn.row_factory = sqlite3.Row
        try:
            with self._sqlite("opening it"):
                # the platform's ids may be random text, so a large import may touch index pages
                # all over the file: a page cache that holds them keeps each insert from
                # rereading pages
                self.conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
                open_schema(self.conn, self.path)
        except BaseException:
            self.conn.close()
            raise
        self.categories = dict(categories or {})
        # Xero account code -> the tax type of a line that names none
        self.default_tax_types = dict(default_tax_types or {})
        # the tracking columns (job, site) mapped to Xero: the others are neither read nor written
        self.tracked = frozenset(tracked)
        self._untracked = frozenset(TRACKING_FIELDS) - self.tracked
        self._now = now
        # entity -> the schema version its tables were last checked at, and their shapes then
        self._checked: dict[str, int] = {}
        self._shapes: dict[str, tuple[int, Shapes | None]] = {}
        # what a look at each table proved, for the next look of the run (see ``OpsCarry``)
        self._carry = OpsCarry(self.conn, _MICROSECONDS, _chunks)

    def close(self) -> None:
        self.conn.close()

    def _sqlite(self, doing: str) -> AbstractContextManager[None]:
        return sqlite_errors(self.conn, self.path, doing, self.busy_timeout)

    def _check_entity_schema(self, entity: str) -> int:
        """Check the entity's tables hold the contract, once per version of the schema: the
        version moves with every change of any table, by this connection or another, so a
        table altered or dropped since is checked again. The schema version checked."""
        version = int(self.conn.execute("PRAGMA schema_version").fetchone()[0])
        if self._checked.get(entity) != version:
            check_schema(self.path, table_columns(self.conn), entity_tables(entity))
            self._checked[entity] = version
        return version

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
        scan = self._read_rows(entity, rows, lines, None)
        scan.cursor = _newest(scan.records, cursor) if entity in STAMPED else cursor
        return scan

    def scan_changed(self, entity: str, known: Mapping[str, int]) -> ScanResult:
        """Every row but those whose ``updated_at`` is the moment ``known`` gives for their id
        (microseconds since 1970, UTC: the engine vouches that those are as it last saw them),
        and ``ids``: every id in the table, so that a deleted row is still known to be gone.
        Not complete. Rows that cannot be read are listed, and rejected with their reasons, as
        a full scan would.

        SQLite itself turns the change times it can read exactly (``YYYY-MM-DDTHH:MM:SS``,
        ``T`` or a space, six fractional digits or none, ``Z``, ``+00:00`` or nothing) into
        microseconds, and the comparison with ``known`` is one of two maps: no Python runs per
        unchanged row. Any other stamp is read as :func:`parse_updated_at` reads it. Where
        ``known`` offers a fingerprint and the table matches it, nothing is listed at all
        (``ScanResult.as_known``)."""
        table, _, _, key = TABLES[entity]
        if entity not in STAMPED:
            return self.scan(entity, None)
        with self._sqlite(f"reading {table}"):
            self._check_entity_schema(entity)
            orphans = self._as_known(entity, known)
            if orphans is not None:
                scan = self._read_rows(entity, [], orphans, set())
                scan.ids, scan.as_known = None, True
                return scan
            in_order = getattr(known, "in_order", None)
            if callable(in_order):
                schema = self._checked[entity]
                point = self._carry.point(entity, schema)
                merged = self._compare_in_order(entity, known, in_order())
                if merged is not None:
                    scan = self._listed(entity, sorted(merged.moved), merged.everyone)
                    scan.gone = merged.gone
                    mark = getattr(known, "mark", None)
                    if (merged.exact and merged.gone is not None and not scan.rejected_lines
                            and callable(mark)):
                        # every row but these is as the bases vouch: the next look of the run
                        # takes these and what was written since (see ``OpsCarry``)
                        self._carry.hold(entity, schema, point, len(merged.everyone), mark(),
                                         [*merged.moved, *merged.gone])
                    return scan
            # each row compared as it is read: neither the rows' times nor the pairs that
            # differ are ever all held at once (only the ids, to tell a row gone)
            vouched = known.items()
            ids: set[str | None] = set()
            wanted: list[str] = []
            unsure: list[str] = []
            for row_id, moment in self.conn.execute(
                    f"SELECT CASE typeof({key}) WHEN 'text' THEN {key} WHEN 'integer' "
                    f"THEN CAST({key} AS TEXT) END, {_MICROSECONDS.format(u='updated_at')} "
                    f"FROM {table}"):
                ids.add(row_id)
                if moment is None:
                    unsure.append(row_id)
                elif (row_id, moment) not in vouched:
                    wanted.append(row_id)
            (count,) = self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            if None in ids or "" in ids or len(ids) != count:
                # ids missing, of odd types, or shared by several rows: read row by row
                return self._scan_changed_slowly(entity, known)
            everyone = cast("set[str]", ids)
            wanted += self._moved(entity, unsure, known)
        return self._listed(entity, sorted(wanted), everyone)

    def _moved(self, entity: str, unsure: list[str], known: Mapping[str, int]) -> list[str]:
        """Of these rows, whose change times SQLite could not read, those whose time as
        :func:`parse_updated_at` reads it is not the one ``known`` gives."""
        table, _, _, key = TABLES[entity]
        moved: list[str] = []
        for chunk, marks in _chunks(unsure):
            for row_id, text in self.conn.execute(
                    f"SELECT {key}, updated_at FROM {table} WHERE {key} IN ({marks})", chunk):
                seen = known.get(_id_text(row_id))
                if seen is None or not isinstance(text, str) or _moment(text) != seen:
                    moved.append(_id_text(row_id))
        return moved

    def _compare_in_order(self, entity: str, known: Mapping[str, int],
                          theirs: Iterator[tuple[str, int]]) -> Compared | None:
        """:meth:`scan_changed`'s comparison where ``known`` gives its times in the order of
        the ids: both lists walked side by side, in that order, so that neither side's times
        are ever all held at once (see :class:`Compared`). ``None`` where an id is missing,
        not text, or shared by several rows (the caller then compares as it otherwise
        does)."""
        table, _, _, key = TABLES[entity]
        everyone: set[str] = set()
        wanted: list[str] = []
        unsure: list[str] = []
        gone: list[str] = []
        last = ""
        other = next(theirs, None)
        for row_id, moment in self.conn.execute(
                f"SELECT {key}, {_MICROSECONDS.format(u='updated_at')} FROM {table} "
                f"ORDER BY {key} COLLATE BINARY"):
            # in that order, an id missing or shared by several rows is one not above the last
            if type(row_id) is not str or row_id <= last:
                return None  # none, a number, empty, or the same as the row before
            last = row_id
            everyone.add(row_id)
            while other is not None and other[0] < row_id:
                if len(gone) <= OTHERS_HELD:
                    gone.append(other[0])  # a time whose row is gone
                other = next(theirs, None)
            vouched: int | None = None
            if other is not None and other[0] == row_id:
                vouched, other = other[1], next(theirs, None)
            if moment is None:
                unsure.append(row_id)
            elif vouched != moment:
                wanted.append(row_id)
        while other is not None and len(gone) <= OTHERS_HELD:
            gone.append(other[0])
            other = next(theirs, None)
        exact = not unsure and len(wanted) + len(gone) <= OTHERS_HELD
        if unsure:
            # their times by key, not every time read (a plain map is looked up as it is)
            times_of = getattr(known, "times_of", None)
            wanted += self._moved(entity, unsure, times_of(unsure) if callable(times_of)
                                  else known)
        return Compared(wanted, everyone, gone if len(gone) <= OTHERS_HELD else None, exact)

    def prove(self, entity: str, known: Mapping[str, int]) -> bool:
        """Whether the table holds exactly the rows ``known`` names, at the times it gives, with
        no line orphaned, found as :meth:`scan_changed` finds it (``known`` offering its
        ``fingerprint`` and ``confirm``, which hears of the match), without listing anything
        where it does not."""
        if entity not in STAMPED:
            return False
        table = TABLES[entity][0]
        with self._sqlite(f"reading {table}"):
            self._check_entity_schema(entity)
            orphans = self._as_known(entity, known)
        return orphans is not None and not orphans

    def _as_known(self, entity: str,
                  known: Mapping[str, int]) -> dict[str, list[sqlite3.Row]] | None:
        """Where the table holds exactly the rows ``known`` names, at the times it gives, the
        lines whose document row does not exist (each such line is reported); else ``None``.

        Where ``known`` offers its own ``fingerprint``: the same count and the same digest of
        the text ``length:id:microseconds,...`` in the order of the ids, each side's text built
        by SQLite a slice of rows at a time (:meth:`_fingerprint`). Where it also offers
        ``proof_wanted``, ``recall`` and ``confirm``, the table's digest (its ids and change
        times as stored, and the owner of each line) is taken as it asks: a digest ``known``
        recalls as proved needs no fingerprint, and one found to match is confirmed. The
        comparison, the lines and the digest confirmed come
        from one read of the file."""
        fingerprint = getattr(known, "fingerprint", None)
        if not callable(fingerprint):
            return None
        wanted = getattr(known, "proof_wanted", None)
        proof = wanted() if callable(wanted) else None
        table, line_table, owner, key = TABLES[entity]
        schema = self._checked[entity]
        # a match found earlier in the run (or one but for the rows it held apart), and only
        # those rows and what was written since looked at; a proof to be taken is taken of
        # the table as the same read of the file found it
        if proof == "confirm":
            with self._snapshot():
                # a statement of the table first: the read of the file is then the one whose
                # data_version the carry asks (a commit after it moves the version only)
                self.conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchall()
                carried = self._carry.holds(entity, schema, known)
                if carried:
                    known.confirm(self._digest(entity),  # type: ignore[attr-defined]
                                  self._carry.rows(entity))
                    return {}
        else:
            carried = self._carry.holds(entity, schema, known)
            if carried:
                return {}
        if carried is False and proof != "recall":
            # a row held apart or written since is not as the bases have it: the fingerprints
            # would only tell that (a proof to recall is let go by its digest, below)
            return None
        point = self._carry.point(entity, schema)
        mark = getattr(known, "mark", None)
        if proof == "recall":
            with self._snapshot():
                recalled = known.recall(self._digest(entity))  # type: ignore[attr-defined]
                # the rows then, for the next look of the run (none is wanted otherwise)
                count = self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] \
                    if recalled else 0
            if recalled:
                # proved with no line orphaned, and neither the rows nor the lines' owners moved
                self._carry.hold(entity, schema, point, count, mark() if callable(mark) else None)
                return {}
            # the table moved since it was proved, and its bases did not (a write to them
            # forgets the proof): reading the rows' times finds which rows moved, at less cost
            # than two fingerprints that would most often only tell that some did
            return None
        # the bases' side first: the ops file is held only for its own statements
        expected = fingerprint()
        if expected is None:
            return None
        with self._snapshot():
            if self._fingerprint(table, key) != expected:
                return None
            count = expected[0]
            orphans = (self._lines_of(line_table, owner, table, key, [])
                       if line_table and owner else {})
            if proof is not None and not orphans:
                known.confirm(self._digest(entity))  # type: ignore[attr-defined]
        if not orphans:
            self._carry.hold(entity, schema, point, count, mark() if callable(mark) else None)
        return orphans

    def _fingerprint(self, table: str, key: str) -> tuple[int, str] | None:
        """How many rows ``table`` holds, and the digest of the text ``length:id:microseconds,
        ...`` of them in the order of their ids (see ``SupportsChangedScan``), read
        :data:`DIGEST_ROWS` rows at a time in that order, so that the text is never held whole;
        ``None`` where a row has no id or shares it with another (the slices, which go on from
        the last id read, then hold fewer rows than the table: the ledger's ids are distinct)."""
        digest = FingerprintDigest()
        listed = 0
        after: object = None
        while True:
            onward = "" if after is None else f" AND {key} > ?"
            rows, part, last = self.conn.execute(
                f"SELECT count(*), group_concat(x, ','), max(k) FROM (SELECT {key} AS k, "
                f"length({key}) || ':' || {key} || ':' || "
                f"{_MICROSECONDS.format(u='updated_at')} AS x FROM {table} "
                f"WHERE {key} IS NOT NULL{onward} ORDER BY {key} LIMIT ?)",
                [*([] if after is None else [after]), DIGEST_ROWS]).fetchone()
            listed += rows
            digest.add(part)
            if rows < DIGEST_ROWS:
                break
            after = last
        (count,) = self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        return (count, digest.hexdigest()) if count == listed else None

    @contextmanager
    def _snapshot(self) -> Iterator[None]:
        """One read of the file for the statements within (a transaction of their own)."""
        if self.conn.in_transaction:
            yield
            return
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            if self.conn.in_transaction:
                self.conn.execute("COMMIT")

    def _digest(self, entity: str) -> str:
        """A digest of the entity's table as stored: how many rows, each row's id and change
        time in the table's own order (of rowids), and the document each line belongs to. Two equal
        digests are two equal tables to :meth:`_as_known` (a table rewritten in another order
        only reads as changed). The parts are kept apart by control characters (US between
        the two texts of a row, RS between rows), which no platform's ids or change times hold:
        a text holding them is the one way two tables could read as one, and lengths would
        double the cost of the statement."""
        table, line_table, owner, key = TABLES[entity]
        digest = hashlib.blake2b(digest_size=16)
        # the counts of each column tell a row whose id or time is missing (joined, it is none)
        counts = self._digest_texts(digest, table, f"{key} || '\x1f' || updated_at",
                                    [key, "updated_at"])
        digest.update(f"\x1d{counts}".encode())
        if line_table and owner:
            digest.update(b"\x1d")
            counts = self._digest_texts(digest, line_table, owner, [owner])
            digest.update(f"\x1d{counts}".encode())
        return digest.hexdigest()

    def _digest_texts(self, digest: Any, table: str, value: str,
                      counted: list[str]) -> list[int]:
        """Add to ``digest`` the text that ``group_concat(value, RS)`` gives of the whole table
        in its own order, read a :data:`DIGEST_ROWS` of rows at a time, so that the text of a
        large table is never held whole (a table without rowids is read in one statement);
        return the table's ``count(*)`` and the ``count`` of each column ``counted``."""
        tally = ", ".join(f"count({column})" for column in counted)
        totals = [0] * (1 + len(counted))
        first = True
        try:
            (start,) = self.conn.execute(f"SELECT min(rowid) FROM {table}").fetchone()
            while start is not None:
                # a range of rowids holds at most DIGEST_ROWS rows, read in rowid order
                end = min(start + DIGEST_ROWS - 1, (1 << 63) - 1)
                *counts, text = self.conn.execute(
                    f"SELECT count(*), {tally}, group_concat({value}, '\x1e') FROM {table} "
                    "WHERE rowid BETWEEN ? AND ?", [start, end]).fetchone()
                totals = [t + int(c) for t, c in zip(totals, counts, strict=True)]
                if text is not None:
                    digest.update(text.encode() if first else f"\x1e{text}".encode())
                    first = False
                (start,) = self.conn.execute(
                    f"SELECT min(rowid) FROM {table} WHERE rowid > ?", [end]).fetchone()
            return totals
        except sqlite3.OperationalError as exc:
            if "rowid" not in str(exc) or not first:
                raise
        *counts, text = self.conn.execute(
            f"SELECT count(*), {tally}, group_concat({value}, '\x1e') FROM {table}").fetchone()
        digest.update((text or "").encode())
        return [int(c) for c in counts]

    def _scan_changed_slowly(self, entity: str, known: Mapping[str, int]) -> ScanResult:
        """:meth:`scan_changed` of a table whose ids are not all distinct texts: each row's id
        and change time read in Python, as a full scan reads them."""
        table, _, _, key = TABLES[entity]
        everyone: set[str] = set()
        counts: dict[str, int] = {}
        wanted: list[str] = []
        for raw_id, stamp in self.conn.execute(f"SELECT {key}, updated_at FROM {table}"):
            row_id = _id_text(raw_id)
            everyone.add(row_id)
            counts[row_id] = counts.get(row_id, 0) + 1
            seen = known.get(row_id)
            if seen is None or not isinstance(stamp, str) or _moment(stamp) != seen:
                wanted.append(row_id)
        wanted += [i for i, n in counts.items() if n > 1]
        return self._listed(entity, list(dict.fromkeys(wanted)), everyone)

    def _listed(self, entity: str, wanted: list[str], everyone: set[str]) -> ScanResult:
        """The rows with these ids (``""``: those with none) and their lines, read as
        :meth:`scan_changed` lists them, ``everyone`` being every id the table holds."""
        table, line_table, owner, key = TABLES[entity]
        with self._sqlite(f"reading {table}"):
            rows: list[sqlite3.Row] = []
            if "" in wanted:
                rows += self.conn.execute(f"SELECT * FROM {table} WHERE {key} IS NULL "
                                          f"OR {key} = ''").fetchall()
            for chunk, marks in _chunks([i for i in wanted if i]):
                rows += self.conn.execute(f"SELECT * FROM {table} WHERE {key} IN ({marks})",
                                          chunk).fetchall()
            rows.sort(key=lambda r: _id_text(r[key]))
            lines = (self._lines_of(line_table, owner, table, key, wanted)
                     if line_table and owner else {})
        scan = self._read_rows(entity, rows, lines, everyone)
        scan.cursor = _newest(scan.records, None)
        return scan

    def _read_rows(self, entity: str, rows: list[sqlite3.Row],
                   lines: dict[str, list[sqlite3.Row]], everyone: set[str] | None) -> ScanResult:
        """Rows and their lines as records, each row that cannot be read rejected with why,
        and each line whose document row is missing (``everyone``: every id in the table, for
        a listing of only some rows)."""
        table, line_table, owner, key = TABLES[entity]
        with self._sqlite(f"reading {table}"):
            known_accounts = self._known_accounts() if line_table and rows else set()
            known_contacts = (self._ids("contacts") if rows and "contact_id" in spec(entity).refs
                              else set())
        noun = NOUN[entity]
        records: list[Record] = []
        rejected: list[tuple[str, str]] = []
        counts: dict[str, int] = {}
        for row in rows:
            row_id = _id_text(row[key])
            counts[row_id] = counts.get(row_id, 0) + 1
        # the ids of the rows read (``everyone`` holds the rest: it is not copied)
        seen: set[str] = set()
        held: AbstractSet[str] = everyone if everyone is not None else frozenset()
        for row in rows:
            row_id = _id_text(row[key])
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
            record = self._read_row(entity, row, lines.get(row_id, []), problems)
            if not problems:
                check_refs(record, known_accounts, known_contacts, problems)
            if problems:
                rejected.append((row_id, reason_for(problems)))
                continue
            records.append(record)
        orphan_ids: list[str] = []
        for owner_id, orphans in lines.items():
            if owner_id in seen or owner_id in held:
                continue
            for line in orphans:
                orphan_ids.append(str(line["id"]))
                if owner_id:
                    reason = (f"line {line['id']} names {noun} {owner_id!r} in {owner}, but "
                              f"{table} has no such row: restore the {noun} or delete the line")
                else:
                    reason = f"line {line['id']} has no {owner}: it belongs to no {noun}"
                rejected.append((owner_id, reason))
        return ScanResult(records=records, cursor=None, complete=everyone is None,
                          rejected=rejected, rejected_lines=orphan_ids, ids=everyone)

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
            for chunk, marks in _chunks(wanted):
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
            record = self._read_row(entity, row, lines.get(record_id, []), problems)
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
            check_refs(found, accounts, contacts, problems)
            if not problems:
                out.append(found)
        return out

    def find(self, entity: str, field: str, values: Sequence[str]) -> list[Record]:
        """The readable records whose ``field`` holds one of ``values``, compared trimmed and
        without regard to case (the caller filters the answer again)."""
        table, _, _, key = TABLES[entity]
        if field not in spec(entity).fields:
            raise KeyError(f"{entity} has no field {field!r}")
        wanted = list(dict.fromkeys(v.strip().lower() for v in values if v))
        ids: list[str] = []
        with self._sqlite(f"reading {table}"):
            self._check_entity_schema(entity)
            for chunk, marks in _chunks(wanted):
                ids += [str(r[0]) for r in self.conn.execute(
                    f"SELECT {key} FROM {table} WHERE lower(trim({field})) IN ({marks}) "
                    f"AND {key} IS NOT NULL", chunk)]
        return self.fetch(entity, ids)

    def _read_row(self, entity: str, row: StoredRow, line_rows: Sequence[StoredRow],
                  problems: list[str]) -> Record:
        return read_record(entity, row, line_rows, problems, self.categories,
                           self.default_tax_types, self.tracked)

    def _existing_contacts(self, records: Iterable[Record]) -> set[str]:
        """Which of the contact ids these records name are rows of ``contacts``."""
        named = sorted({c for r in records if (c := r.fields.get("contact_id"))})
        found: set[str] = set()
        for chunk, marks in _chunks(named):
            found.update(str(r[0]) for r in self.conn.execute(
                f"SELECT id FROM contacts WHERE id IN ({marks})", chunk))
        return found

    def _lines_by_owner(self, table: str, owner: str) -> dict[str, list[sqlite3.Row]]:
        grouped: dict[str, list[sqlite3.Row]] = {}
        for row in self.conn.execute(f"SELECT * FROM {table} ORDER BY {owner}, position, id"):
            grouped.setdefault(_id_text(row[owner]), []).append(row)
        return grouped

    def _lines_of(self, table: str, owner: str, doc_table: str, key: str,
                  owners: list[str]) -> dict[str, list[sqlite3.Row]]:
        """The lines of these documents, and every line whose document row does not exist."""
        grouped: dict[str, list[sqlite3.Row]] = {}
        for chunk, marks in _chunks([o for o in owners if o]):
            for row in self.conn.execute(f"SELECT * FROM {table} WHERE {owner} IN ({marks}) "
                                         f"ORDER BY {owner}, position, id", chunk):
                grouped.setdefault(_id_text(row[owner]), []).append(row)
        # a join, not NOT IN: SQLite walks the lines once, each owner looked up by its key
        for row in self.conn.execute(
                f"SELECT line.* FROM {table} AS line LEFT JOIN {doc_table} AS doc "
                f"ON doc.{key} = line.{owner} WHERE doc.{key} IS NULL "
                f"ORDER BY line.{owner}, line.position, line.id"):
            grouped.setdefault(_id_text(row[owner]), []).append(row)
        return grouped

    def _known_accounts(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT code FROM accounts") if r[0]}

    def _ids(self, table: str) -> set[str]:
        return {str(r[0]) for r in self.conn.execute(f"SELECT id FROM {table}")}

    # -- writing -------------------------------------------------------------------------------

    def write(self, entity: str, changes: Sequence[Change]) -> list[ChangeResult]:
        """Apply every change in one transaction; a failing change is rolled back alone.

        A change the table refuses keeps its own result with a sentence saying why; a file that
        stays locked, is corrupt or full fails the whole write (nothing of it is kept).

        Each written record comes back as :meth:`fetch` would read it after the write: built
        from what was written over what was stored, where the table's shape tells what SQLite
        keeps of it (see :class:`~xsync.sides.ops_schema.TableShape`), else read back."""
        table = TABLES[entity][0]
        outcomes: list[tuple[Change, str | None, str | None]] = []
        built: dict[str, Built | None] = {}
        with self._sqlite(f"writing {table}"):
            version = self._check_entity_schema(entity)
            shapes = self._table_shapes(entity, version)
            # one stamp for the whole write: its changes are one transaction, one moment
            stamp = self._now() if entity in STAMPED else None
            # the write lock is taken first, so a locked file fails before any change is tried
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                created = self._create_all(entity, changes, stamp, shapes, built)
                if created is not None:
                    outcomes = [(c, rid, None) for c, rid in zip(changes, created, strict=True)]
                known = self._stored_lines(entity, changes) if created is None else {}
                for change in changes if created is None else ():
                    self.conn.execute("SAVEPOINT change")
                    try:
                        record_id, record_rows = self._apply(entity, change, stamp, shapes,
                                                             known)
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
                        # a record written twice in one batch is read back once, as it ends
                        built[record_id] = None if record_id in built else record_rows
                    self.conn.execute("RELEASE change")
                self.conn.execute("COMMIT")
            except BaseException:
                # a failed rollback must not hide why the write failed
                with suppress(sqlite3.Error):
                    if self.conn.in_transaction:
                        self.conn.execute("ROLLBACK")
                raise
        records = self._written_records(entity, [rid for _, rid, _ in outcomes if rid], built)
        return [
            ChangeResult(key=c.key, ok=True, id=rid, record=records.get(rid))
            if rid is not None
            else ChangeResult(key=c.key, ok=False, id=c.id, errors=[err or "not written"])
            for c, rid, err in outcomes
        ]

    def _table_shapes(self, entity: str, version: int) -> Shapes | None:
        """The shapes of the entity's table and line table, while the schema is unchanged;
        ``None`` if either has none, or lacks a column a record is read from."""
        cached = self._shapes.get(entity)
        if cached is not None and cached[0] == version:
            return cached[1]
        table, line_table, owner, key = TABLES[entity]
        head = table_shape(self.conn, table, key)
        line = table_shape(self.conn, line_table, "id") if line_table else None
        shapes: Shapes | None = None
        if head is not None and (line is not None or not line_table):
            entity_spec = spec(entity)
            read = [key, *entity_spec.fields, *entity_spec.create_only]
            read += ["updated_at"] if entity in STAMPED else []
            line_read = [*entity_spec.line_fields, "category", "id", owner or ""]
            if set(read) <= set(head.defaults) and (
                    line is None or set(line_read) <= set(line.defaults)):
                shapes = Shapes(head.reading(read),
                                line.reading(line_read) if line is not None else None)
        self._shapes[entity] = (version, shapes)
        return shapes

    def _written_records(self, entity: str, written: list[str],
                         built: dict[str, Built | None]) -> dict[str, Record]:
        """The records just written, by id, as :meth:`fetch` would return them: those built
        from their stored rows, read as a scan reads them, and the others read back."""
        table, line_table, _, _ = TABLES[entity]
        readable: dict[str, Record] = {}
        again: list[str] = []
        for record_id in dict.fromkeys(written):
            rows = built.get(record_id)
            if rows is None:
                again.append(record_id)
                continue
            head, lines = rows
            ordered = _in_line_order(lines)
            problems: list[str] = []
            record = self._read_row(entity, head, ordered, problems)
            if record.id != record_id:
                again.append(record_id)
            elif not problems:
                readable[record_id] = record
        out: dict[str, Record] = {}
        if readable:
            with self._sqlite(f"reading {table}"):
                accounts = self._known_accounts() if line_table else set()
                contacts = self._existing_contacts(readable.values())
            for record_id, record in readable.items():
                problems = []
                check_refs(record, accounts, contacts, problems)
                if not problems:
                    out[record_id] = record
        if again:
            out.update((r.id, r) for r in self.fetch(entity, again))
        return out

    def _create_all(self, entity: str, changes: Sequence[Change], stamp: str | None,
                    shapes: Shapes | None, built: dict[str, Built | None]) -> list[str] | None:
        """A batch of creates only (a first import) in a few statements: each table's rows go in
        with one executemany. ``None`` when the batch is not all creates, or the table refused
        one of them: the caller then writes them one by one, so each keeps its own fate.

        ``built`` gets each record's rows as stored, where ``shapes`` tells them."""
        if not changes or any(c.action != "create" for c in changes):
            return None
        table, line_table, owner, key = TABLES[entity]
        heads: dict[tuple[str, ...], list[list[Any]]] = {}
        lines: dict[tuple[str, ...], list[list[Any]]] = {}
        written: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = []
        named: list[str] = []
        noise = _line_noise(sum(len(c.lines or ()) for c in changes))
        for change in changes:
            values: dict[str, Any] = dict(change.fields)
            if stamp is not None:
                values["updated_at"] = stamp
            if change.id or values.get(key):
                named.append(str(change.id or values.get(key)))
            record_id = str(change.id or values.get(key) or self._new_id(entity))
            values[key] = record_id
            heads.setdefault(tuple(values), []).append(list(values.values()))
            line_rows: list[dict[str, Any]] = []
            for position, line in enumerate(change.lines or [], start=1):
                row: dict[str, Any] = self._line_values(line)
                row.setdefault("position", str(position))
                row["id"] = line.id or f"{record_id}-L{next(noise)}"
                row[owner or ""] = record_id
                lines.setdefault(tuple(row), []).append(list(row.values()))
                line_rows.append(row)
            written.append((record_id, values, line_rows))
        # lines left behind by a row of the same id: the record holds them as well
        held = self._owners_of_lines(entity, named) if shapes is not None else set()

        def insert() -> None:
            for target, groups in ((table, heads), (line_table, lines)):
                for cols, rows in groups.items():
                    marks = ", ".join("?" for _ in cols)
                    self.conn.executemany(
                        f"INSERT INTO {target} ({', '.join(cols)}) VALUES ({marks})", rows)
        self.conn.execute("SAVEPOINT bulk")
        try:
            self._carry.inserted(entity, insert, [record_id for record_id, _, _ in written])
        except (sqlite3.IntegrityError, sqlite3.OperationalError) as exc:
            if not _refused_by_table(exc):
                raise
            self.conn.execute("ROLLBACK TO bulk")
            self.conn.execute("RELEASE bulk")
            return None
        self.conn.execute("RELEASE bulk")
        for record_id, values, line_rows in written:
            if shapes is None or record_id in held:
                built[record_id] = None
                continue
            line_shape = shapes.line
            built[record_id] = _built(
                shapes.head.inserted(values),
                [line_shape.inserted(r) for r in line_rows] if line_shape else [])
        return [record_id for record_id, _, _ in written]

    def _owners_of_lines(self, entity: str, ids: list[str]) -> set[str]:
        """Which of these ids own lines in the entity's line table."""
        _, line_table, owner, _ = TABLES[entity]
        found: set[str] = set()
        if not line_table or not owner:
            return found
        for chunk, marks in _chunks(ids):
            found.update(str(r[0]) for r in self.conn.execute(
                f"SELECT DISTINCT {owner} FROM {line_table} WHERE {owner} IN ({marks})", chunk))
        return found

    def _stored_lines(self, entity: str,
                      changes: Sequence[Change]) -> dict[str, dict[str, dict[str, Any]]]:
        """The stored lines, by line id, of every record written once in this batch, read in
        chunks.

        A record written twice in one batch is left out: its lines are read when it is written,
        after the first change to it."""
        _, line_table, owner, key = TABLES[entity]
        if not line_table or not owner:
            return {}
        counts: dict[str, int] = {}
        for change in changes:
            rid = change.id or change.fields.get(key)
            if rid:
                counts[str(rid)] = counts.get(str(rid), 0) + 1
        once = [rid for rid, n in counts.items() if n == 1]
        found: dict[str, dict[str, dict[str, Any]]] = {rid: {} for rid in once}
        for chunk, marks in _chunks(once):
            for row in self.conn.execute(
                    f"SELECT * FROM {line_table} WHERE {owner} IN ({marks})", chunk):
                found.setdefault(str(row[owner]), {})[str(row["id"])] = _as_dict(row)
        return found

    def _apply(self, entity: str, change: Change, stamp: str | None, shapes: Shapes | None,
               known: dict[str, dict[str, dict[str, Any]]] | None = None,
               ) -> tuple[str, Built | None]:
        """Write one change; its id, and its rows as stored where the shapes tell them."""
        table, line_table, owner, key = TABLES[entity]
        values: dict[str, Any] = dict(change.fields)
        if change.action == "delete":
            values = {"status": "deleted"} if entity != "contacts" else {"status": "archived"}
        elif change.action == "void":
            values = {"status": "void"}
        if stamp is not None:
            values["updated_at"] = stamp
        record_id = change.id
        existing = (known or {}).get(str(record_id or values.get(key) or ""))
        head: dict[str, Any] | None = None
        if change.action == "create":
            if not (record_id or values.get(key)):
                existing = {}
            record_id = record_id or values.get(key) or self._new_id(entity)
            values[key] = record_id
            self._insert(table, values)
            head = shapes.head.inserted(values) if shapes else None
        else:
            if record_id is None:
                raise RowError(f"{NOUN[entity]}: an {change.action} came without an id, so "
                               "there is no row to change; nothing was written")
            stored = self.conn.execute(f"SELECT * FROM {table} WHERE {key} = ?",
                                       [record_id]).fetchmany(2)
            if not stored:
                raise RowError(f"{NOUN[entity]} {record_id}: there is no such row in {table} "
                               "any more (removed by the platform?); nothing was written")
            self._update(table, key, record_id, values)
            if shapes and len(stored) == 1:
                head = shapes.head.updated(_as_dict(stored[0]), values)
        line_rows: list[dict[str, Any] | None] | None = [] if not line_table else None
        if change.lines is not None and line_table and owner:
            line_rows = self._replace_lines(line_table, owner, str(record_id), change.lines,
                                            existing, shapes.line if shapes else None)
        elif existing is not None:
            line_rows = list(existing.values())
        if head is None or line_rows is None:
            return str(record_id), None
        return str(record_id), _built(head, line_rows)

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
                       existing: dict[str, dict[str, Any]] | None = None,
                       shape: TableShape | None = None) -> list[dict[str, Any] | None] | None:
        """Make the stored lines exactly ``lines``: update by id, insert new, delete the rest.

        ``existing``: the stored lines by id when already read (a fresh record has none). The
        line rows as stored after the write when ``existing`` and ``shape`` tell them, else
        ``None``."""
        stored: dict[str, dict[str, Any]] | set[str]
        if existing is None:
            stored = {str(r[0]) for r in self.conn.execute(
                f"SELECT id FROM {table} WHERE {owner} = ?", [record_id])}
        else:
            stored = existing
        # the lines as stored, told while both what was stored and the shape are known; a line
        # id stored as something else than text may not be matched by its text
        before = existing if shape is not None else None
        if before is not None and any(type(r["id"]) is not str for r in before.values()):
            before = None
        rows: list[dict[str, Any] | None] = []
        kept: set[str] = set()
        for position, line in enumerate(lines, start=1):
            values = self._line_values(line)
            values.setdefault("position", str(position))
            if line.id and line.id in stored:
                self._update(table, "id", line.id, values)
                if before is not None and shape is not None:
                    # a stored line named twice is still one line
                    rows.append(None if line.id in kept
                                else shape.updated(before[line.id], values))
                kept.add(line.id)
            else:
                line_id = line.id or f"{record_id}-L{os.urandom(4).hex()}"
                values["id"] = line_id
                values[owner] = record_id
                self._insert(table, values)
                if shape is not None:
                    rows.append(shape.inserted(values))
                kept.add(line_id)
        for stale in set(stored) - kept:
            self.conn.execute(f"DELETE FROM {table} WHERE id = ?", [stale])
        return rows if before is not None else None

    def _line_values(self, line: Line) -> dict[str, Any]:
        """A line's columns to write: a tracking column not mapped to Xero is the platform's
        alone, and is left as it is."""
        values: dict[str, Any] = dict(line.fields)
        for name in self._untracked:
            values.pop(name, None)
        return values

    def _new_id(self, entity: str) -> str:
        """Ten hex digits that grow with time: 30 bits of seconds since 2020 (until 2054; an
        eleventh digit after) and then a count within the second, from a random start; a
        second that makes more than its share goes on into the next second's numbers, and no
        id is below one the table already has in this form, so none is given twice. A record
        xsync adds then lands at the end of each table and index keyed by it (here and in the
        state database), not on a page anywhere in them: a large import writes each page about
        once, not once per commit."""
        prefix = ID_PREFIX.get(entity, "X")
        last = self._last_ids.get(entity)
        if last is None:
            last = self._highest_id(entity, prefix)
        now = (int(time.time()) - ID_EPOCH) << ID_COUNT_BITS
        fresh = now | (_ID_START.getrandbits(16) & ID_START_MASK)
        value = fresh if fresh > last else last + 1
        self._last_ids[entity] = value
        return f"{prefix}-{value:010X}"

    def _highest_id(self, entity: str, prefix: str) -> int:
        """The highest id of ``entity``'s table in the form ``_new_id`` gives (-1: none)."""
        table, _, _, key = TABLES[entity]
        rows = self.conn.execute(
            f"SELECT {key} FROM {table} WHERE {key} GLOB ? "
            f"ORDER BY length({key}) DESC, {key} DESC",
            [f"{prefix}-" + "[0-9A-F]" * 10 + "*"])
        for (found,) in rows:
            digits = str(found)[len(prefix) + 1:]
            if all(c in HEX_DIGITS for c in digits):
                return int(digits, 16)
        return -1


class Shapes(NamedTuple):
    """The shapes of an entity's table and of its line table (``None``: it has none)."""

    head: TableShape
    line: TableShape | None


# a written record's row and line rows as stored, read as fetch reads them
Built = tuple[dict[str, Any], list[dict[str, Any]]]


def _built(head: dict[str, Any] | None,
           lines: list[dict[str, Any] | None]) -> Built | None:
    """The record's rows, or ``None`` if any of them is not known."""
    if head is None or None in lines:
        return None
    return head, cast(list[dict[str, Any]], lines)


def _as_dict(row: sqlite3.Row) -> dict[str, Any]:
    return dict(zip(row.keys(), row, strict=True))


def _in_line_order(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The line rows as ``ORDER BY position, id`` gives them. Values of one type (numbers,
    text or blobs) compare in Python as in SQLite; others are ordered by their type first."""
    if len(lines) < 2:
        return lines
    try:
        return sorted(lines, key=_POSITION_ID)
    except TypeError:
        return sorted(lines, key=_line_order)


_POSITION_ID = operator.itemgetter("position", "id")


def _line_order(row: dict[str, Any]) -> tuple[tuple[int, Any], tuple[int, Any]]:
    """Where a line row comes in ``ORDER BY position, id``."""
    return _sql_order(row["position"]), _sql_order(row["id"])


def _sql_order(value: Any) -> tuple[int, Any]:
    """SQLite's order of values: NULL, then numbers, then text (bytewise in UTF-8, which is
    the order of code points), then blobs."""
    if value is None:
        return 0, 0
    if isinstance(value, int | float):
        return 1, value
    if isinstance(value, str):
        return 2, value
    return 3, value


def _line_noise(count: int) -> Iterator[str]:
    """``count`` random suffixes for new line ids (as uuid4's first 8 hex digits), drawn at
    once."""
    text = os.urandom(4 * count).hex()
    for start in range(0, len(text), 8):
        yield text[start:start + 8]


def _stamp(text: str) -> datetime | None:
    try:
        return parse_updated_at(text)
    except ValueError:
        return None


def _moment(text: str) -> int | None:
    """A change time as microseconds since 1970 (``None``: not a time)."""
    stamp = _stamp(text)
    return None if stamp is None else microseconds(stamp)


# a change time SQLite reads exactly as microseconds since 1970 (else NULL): the date and time
# as ``parse_updated_at`` reads them, six fractional digits or none, UTC (``Z``, ``+00:00`` or
# nothing). Text comparisons refuse month 13, day 0, hour 24 and second 60; a day past the
# 28th must be one its month has (SQLite would read 30 February as 2 March), so its moment is
# taken back to a date. Other rows are parsed once.
_DAY_TIME = "'[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9][T ][0-2][0-9]:[0-5][0-9]:[0-5][0-9]'"
# the form xsync writes, matched by one pattern (the commonest row, so the first test)
_WRITTEN = ("'[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]"
            ".[0-9][0-9][0-9][0-9][0-9][0-9]Z'")
_VALID_DAY = (
    "substr({u}, 1, 4) > '0000' AND substr({u}, 6, 2) BETWEEN '01' AND '12' "
    "AND substr({u}, 9, 2) > '00' AND substr({u}, 12, 2) < '24' "
    "AND (substr({u}, 9, 2) <= '28' "
    "OR date(unixepoch(substr({u}, 1, 10)), 'unixepoch') = substr({u}, 1, 10))")
_MICROSECONDS = (
    "CASE WHEN {u} GLOB " + _WRITTEN + " THEN CASE WHEN " + _VALID_DAY + " "
    "THEN unixepoch(substr({u}, 1, 19)) * 1000000 + CAST(substr({u}, 21, 6) AS INTEGER) END "
    "WHEN typeof({u}) = 'text' AND substr({u}, 1, 19) GLOB " + _DAY_TIME + " "
    "AND " + _VALID_DAY + " THEN CASE "
    "WHEN length({u}) = 19 OR substr({u}, 20) IN ('Z', '+00:00') "
    "THEN unixepoch(substr({u}, 1, 19)) * 1000000 "
    "WHEN (length({u}) = 26 OR substr({u}, 27) IN ('Z', '+00:00')) "
    "AND substr({u}, 20, 7) GLOB '.[0-9][0-9][0-9][0-9][0-9][0-9]' "
    "THEN unixepoch(substr({u}, 1, 19)) * 1000000 + CAST(substr({u}, 21, 6) AS INTEGER) "
    "END END")


def _newest(records: list[Record], cursor: str | None) -> str | None:
    """The newest change time among the records (the text of the stamp), else ``cursor``."""
    stamps = [r.updated_at for r in records if r.updated_at is not None]
    return max(stamps).isoformat() if stamps else cursor


def _chunks(ids: list[str]) -> Iterator[tuple[list[str], str]]:
    """``ids`` in slices of :data:`FETCH_CHUNK`, each with its ``?, ?, ...`` placeholders."""
    for start in range(0, len(ids), FETCH_CHUNK):
        chunk = ids[start:start + FETCH_CHUNK]
        yield chunk, ", ".join("?" for _ in chunk)


def _id_text(raw: Any) -> str:
    """A stored id as text; a missing one as the empty text, which no record has."""
    return "" if raw is None else str(raw)


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
