"""The engine's tables in the state database: links, bases, cursors, retries, conflicts, outbox,
audit and runs. Every write goes through :func:`transaction`, so a run's bookkeeping for a record
is committed as one unit (and an outbox row is committed before its write is sent)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, ItemsView, Iterable, Iterator, KeysView, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from operator import itemgetter
from typing import Any, NamedTuple

import sqlite_utils

from xsync.model.records import Record
from xsync.model.side import FingerprintDigest
from xsync.state.codec import (
    PRESET,
    PRESET_RECORDS,
    PRESET_ZSTD,
    RECORD_WORDS,
    SNAPSHOT_WORDS,
    digest_in,
    digest_out,
    moment_key,
    outbox_key_in,
    outbox_key_out,
    pack,
    pack_text,
    packed_json,
    stamp_in,
    stamp_out,
    unpack,
    unpacked_text,
    word_in,
    word_out,
    xero_id_in,
    xero_id_out,
)
from xsync.state.idmap import IdMap
from xsync.state.rows import AuditEntry, Conflict

__all__ = ["PRESET", "PRESET_RECORDS", "PRESET_ZSTD", "RECORD_WORDS", "SNAPSHOT_WORDS", "Base",
           "IdMap", "Ledger", "digest_in", "digest_out", "hashes_as", "pack", "record_hash",
           "transaction", "unpack"]


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[None]:
    conn = db.conn
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


# hex characters of a content hash: 128 bits of SHA-256 tell a change from none as surely as
# all 256, and half the bytes are stored for each side of every base
HASH_CHARS = 32
# ops ids asked for in one statement (SQLite takes up to 32,766 values)
BASE_CHUNK = 500
# outbox rows added in one statement
OUTBOX_CHUNK = 250
# entries of a ledger's log of its own writes to the bases and links kept at least
TOUCH_LOG_KEEP = 100_000
# what the log's triggers log of each write: the row's old or new ops id
TOUCH_EVENTS = {"INSERT": ("NEW",), "DELETE": ("OLD",), "UPDATE": ("OLD", "NEW")}
# rows of one write from which its insert trigger is set aside (see ``Ledger._inserted``);
# each setting aside changes the connection's schema, which a write of a few rows is not worth
BULK_ROWS = 50
# the page cache of that log (it holds about a round of writes)
TEMP_CACHE_KIB = 512
# links (or ids that have a base) one statement of a whole listing reads
LINK_PAGE = 5_000
# the index of the links by Xero id (their second key; SQLite's own name for it)
XERO_INDEX = "sqlite_autoindex_links_2"


class TouchMark(NamedTuple):
    """Where a ledger's log of its writes to the bases and links stood (``Ledger.touch_mark``):
    the ledger's log, its last entry, and the state file's ``data_version``."""
    log: object
    seq: int
    version: int


class OutboxEntry(NamedTuple):
    """A write about to be sent, as :meth:`Ledger.outbox_add_many` records it."""
    entity: str
    action: str
    side: str
    key: str
    ops_id: str | None
    xero_id: str | None
    payload: dict[str, Any]


class CarryMark(NamedTuple):
    """What a look at an entity's vouched times found (``VouchedTimes.mark``), for a later
    look of the same run to start from: where the bases stood, and for which times."""
    touched: TouchMark
    margin_us: int
    without: frozenset[str]


def _content(record: Record) -> dict[str, Any]:
    """What a record's hash is taken of: its fields and lines, as of ``Record.to_json``."""
    lines = None if record.lines is None else [{"id": ln.id, "fields": ln.fields}
                                               for ln in record.lines]
    return {"fields": record.fields, "lines": lines}


def record_hash(record: Record) -> str:
    """The hash of a record's content: of its compact JSON, keys sorted
    (:func:`~xsync.state.codec.packed_json`)."""
    return hashlib.sha256(packed_json(_content(record))).hexdigest()[:HASH_CHARS]


def _earlier_hash(record: Record) -> str:
    """:func:`record_hash` as an earlier xsync wrote it (``json``'s text with its spaces)."""
    text = json.dumps(_content(record), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:HASH_CHARS]


def hashes_as(record: Record, stored: str | None) -> bool:
    """Whether a record's content is the one a stored hash was taken of: a hash of today's form,
    or of the form an earlier xsync stored (a base keeps that until it is next stored)."""
    if stored is None:
        return False
    return stored == record_hash(record) or stored == _earlier_hash(record)


class Base:
    """The last synced values of one linked pair, and how each side looked then.

    ``snapshot`` is decoded from the database only when first used, and so are the Xero id,
    the hashes and the times: a run reads every base of an entity to tell what changed, but
    needs the values of only the records that did."""

    __slots__ = ("_ops_hash", "_ops_updated_at", "_raw", "_snapshot", "_synced_at",
                 "_xero_hash", "_xero_id", "_xero_updated_at", "ops_id")

    def __init__(self, ops_id: str, xero_id: str | bytes,
                 snapshot: dict[str, Any] | bytes | str,
                 ops_hash: str | bytes | None, xero_hash: str | bytes | None,
                 ops_updated_at: str | int | None, xero_updated_at: str | int | None,
                 synced_at: str | int | None = None) -> None:
        # each value as given, or as stored (see ``codec``): turned into text when first read
        self.ops_id = ops_id
        self._xero_id = xero_id
        self._snapshot: dict[str, Any] | None = None
        self._raw: bytes | str | None = None
        if isinstance(snapshot, bytes | str):
            self._raw = snapshot
        else:
            self._snapshot = snapshot
        self._ops_hash = ops_hash
        self._xero_hash = xero_hash
        self._ops_updated_at = ops_updated_at
        self._xero_updated_at = xero_updated_at
        self._synced_at = synced_at

    @property
    def snapshot(self) -> dict[str, Any]:
        if self._snapshot is None:
            assert self._raw is not None
            self._snapshot = unpack(self._raw)
            self._raw = None
        return self._snapshot

    @property
    def xero_id(self) -> str:
        return xero_id_out(self._xero_id) or ""

    @property
    def ops_hash(self) -> str | None:
        return digest_out(self._ops_hash)

    @property
    def xero_hash(self) -> str | None:
        return digest_out(self._xero_hash)

    @property
    def ops_updated_at(self) -> str | None:
        return stamp_out(self._ops_updated_at)

    @property
    def xero_updated_at(self) -> str | None:
        return stamp_out(self._xero_updated_at)

    @property
    def synced_at(self) -> str | None:
        return stamp_out(self._synced_at)

    def stored(self, entity: str, at: str) -> tuple[Any, ...]:
        """The ``bases`` row of this base (``at``: its ``synced_at`` where it has none)."""
        synced = self._synced_at if self._synced_at is not None else at
        raw = self._raw
        # stored as this xsync packs it already: kept as it is
        snapshot = raw if isinstance(raw, bytes) and raw[:1] == PRESET_ZSTD \
            else pack(self.snapshot)
        return (word_in(entity), self.ops_id, _xero_id(self._xero_id), snapshot,
                _digest(self._ops_hash), _digest(self._xero_hash),
                _stamp(self._ops_updated_at), _stamp(self._xero_updated_at), _stamp(synced))

    def with_synced_at(self, at: str) -> Base:
        return Base(self.ops_id, self._xero_id, self.snapshot, self._ops_hash, self._xero_hash,
                    self._ops_updated_at, self._xero_updated_at, at)


# a value as given or as stored, in its stored form

def _digest(value: str | bytes | None) -> bytes | str | None:
    return value if isinstance(value, bytes) else digest_in(value)


def _xero_id(value: str | bytes | None) -> bytes | str | None:
    return value if isinstance(value, bytes) else xero_id_in(value)


def _stamp(value: str | int | None) -> int | str | None:
    return value if isinstance(value, int) else stamp_in(value)


_CONFLICT_COLS = ("id", "entity", "ops_id", "xero_id", "label", "field", "base", "ops", "xero",
                  "reason", "created_at", "resolved_at", "resolved_take", "resolution",
                  "applied_at")


class Ledger:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        # this connection's log of its writes to the bases and links (see ``touch_mark``)
        self._touch_log = False
        self._log_id = object()
        self._touch_pruned: dict[str, int] = {}
        self._touch_floor = 0
        # whether the links' index by Xero id is there by the name SQLite gives it
        self._xero_index = True

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(self.db.conn.execute(sql, list(params)).fetchall())

    def _run(self, sql: str, params: Sequence[Any] = ()) -> int:
        cursor = self.db.conn.execute(sql, list(params))
        return int(cursor.lastrowid or 0)

    # -- links and bases -------------------------------------------------------------------------

    def link_counts(self) -> dict[str, int]:
        """entity -> how many records of it are linked."""
        return {word_out(entity) or "": count for entity, count in self._rows(
            "SELECT entity, count(*) FROM links GROUP BY entity")}

    def links(self, entity: str) -> dict[str, str]:
        """ops id -> Xero id."""
        out: dict[str, str] = {}
        for ops_id, xero_id in self.db.conn.execute(
                "SELECT ops_id, xero_id FROM links WHERE entity = ?", [word_in(entity)]):
            if type(xero_id) is bytes:  # xero_id_out, inline: every link of an entity is read
                h = xero_id.hex()
                xero_id = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
            out[ops_id] = xero_id
        return out

    def xero_id_of(self, entity: str, ops_id: str) -> str | None:
        """The Xero id of an ops record: its link, else the linked record it is an alias of."""
        rows = self._rows("SELECT xero_id FROM links WHERE entity = ? AND ops_id = ? "
                          "UNION ALL SELECT xero_id FROM aliases WHERE entity = ? AND ops_id = ?",
                          [word_in(entity), ops_id, entity, ops_id])
        return xero_id_out(rows[0][0]) if rows else None

    def line_owners(self, entity: str, ops_line_ids: Sequence[str]) -> dict[str, str]:
        """ops line id -> the ops id of the linked record the line belonged to at the last sync
        (from the bases' line pairs; asked only when lines name a record that does not exist)."""
        wanted = set(ops_line_ids)
        out: dict[str, str] = {}
        for ops_id, base in self.bases(entity).items():
            for pair in base.snapshot.get("lines") or []:
                if pair.get("ops") in wanted:
                    out[pair["ops"]] = ops_id
        return out

    def aliases(self, entity: str) -> dict[str, str]:
        """ops id -> Xero id of ops records that follow another ops record's Xero twin."""
        return dict(self._rows("SELECT ops_id, xero_id FROM aliases WHERE entity = ?",
                               [entity]))

    def alias(self, entity: str, ops_id: str, xero_id: str, rule: str | None, at: str) -> None:
        self._run("INSERT OR REPLACE INTO aliases (entity, ops_id, xero_id, rule, linked_at) "
                  "VALUES (?, ?, ?, ?, ?)", [entity, ops_id, xero_id, rule, at])

    def ops_id_of(self, entity: str, xero_id: str) -> str | None:
        rows = self._rows("SELECT ops_id FROM links WHERE entity = ? AND xero_id = ?",
                          [word_in(entity), xero_id_in(xero_id)])
        return rows[0][0] if rows else None

    def link(self, entity: str, ops_id: str, xero_id: str, rule: str | None, at: str) -> None:
        self.link_many(entity, [(ops_id, xero_id)], rule, at)

    def link_many(self, entity: str, pairs: Sequence[tuple[str, str]], rule: str | None,
                  at: str) -> None:
        """Link each (ops id, Xero id), in order, in one statement."""
        # REPLACE first deletes every link holding either id (the primary key or the unique
        # index by Xero id), so neither record is ever linked twice
        kind, rule_in, moment = word_in(entity), word_in(rule), stamp_in(at)
        self._inserted("links", entity, [ops_id for ops_id, _ in pairs],
                       lambda: self.db.conn.executemany(
                           "INSERT OR REPLACE INTO links (entity, ops_id, xero_id, rule, "
                           "linked_at) VALUES (?, ?, ?, ?, ?)",
                           [(kind, ops_id, xero_id_in(xero_id), rule_in, moment)
                            for ops_id, xero_id in pairs]))

    def link_rows(self, entity: str) -> list[tuple[str, str, str | None, str]]:
        """(ops id, Xero id, rule, linked at) of every link of ``entity``."""
        return [(ops_id, xero_id_out(xero_id) or "", word_out(rule), stamp_out(at) or "")
                for ops_id, xero_id, rule, at in self._rows(
                    "SELECT ops_id, xero_id, rule, linked_at FROM links WHERE entity = ? "
                    "ORDER BY ops_id", [word_in(entity)])]

    def bases(self, entity: str) -> dict[str, Base]:
        rows = self._rows(
            "SELECT ops_id, xero_id, snapshot, ops_hash, xero_hash, ops_updated_at, "
            "xero_updated_at, synced_at FROM bases WHERE entity = ?", [word_in(entity)])
        return {r[0]: Base(*r) for r in rows}

    def merged_contacts(self, ops_ids: Iterable[str] | None = None) -> dict[str, str]:
        """ops contact id -> the ops contact its base says it was merged into in Xero (of
        these ops ids only, where given). Each base is inflated, but decoded only where its
        text does not say ``merged_into`` is null (the compact form
        :func:`~xsync.state.codec.pack` writes)."""
        out: dict[str, str] = {}
        for ops_id, raw in self._of_bases("contacts", "ops_id, snapshot", ops_ids):
            text = unpacked_text(raw)
            if (NOT_MERGED_BYTES in text if isinstance(text, bytes) else NOT_MERGED in text):
                continue
            target = (json.loads(text).get("fields") or {}).get("merged_into")
            if target:
                out[ops_id] = str(target)
        return out

    def based(self, entity: str, ops_ids: Iterable[str] | None = None) -> set[str]:
        """The ops ids of ``entity`` that have a base (of these ops ids only, where given;
        none of the bases read)."""
        return set(map(itemgetter(0), self._of_bases(entity, "ops_id", ops_ids)))

    def _of_bases(self, entity: str, columns: str,
                  ops_ids: Iterable[str] | None) -> Iterator[Any]:
        """``columns`` of the entity's bases: every one, or those of ``ops_ids`` by key."""
        if ops_ids is None:
            yield from self.db.conn.execute(f"SELECT {columns} FROM bases WHERE entity = ?",
                                            [word_in(entity)])
            return
        yield from self._by_ops_id("bases", entity, columns, ops_ids)

    def _by_ops_id(self, table: str, entity: str, columns: str,
                   ops_ids: Iterable[str]) -> Iterator[Any]:
        """``columns`` of the rows of ``table`` (bases or links) of these ops ids, by key, a
        statement per :data:`BASE_CHUNK` of them."""
        wanted = list(ops_ids)
        for start in range(0, len(wanted), BASE_CHUNK):
            chunk = wanted[start:start + BASE_CHUNK]
            marks = ", ".join("?" for _ in chunk)
            yield from self.db.conn.execute(
                f"SELECT {columns} FROM {table} WHERE entity = ? AND ops_id IN ({marks})",
                [word_in(entity), *chunk])

    def vouched_times(self, entity: str, margin_us: int,
                      vouches: Callable[[int, int, int], bool]) -> dict[str, int]:
        """ops id -> the ops change time (microseconds since 1970) its base was proved at, for
        each base of ``entity`` that ``vouches(stamp, synced, margin_us)`` for: what tells an
        unchanged row without reading the bases. The rule runs in SQLite for the times stored
        as microseconds (``vouches`` is its Python form, for any stored as text)."""
        rows = self.db.conn.execute(
            "SELECT ops_id, ops_updated_at FROM bases WHERE entity = ? AND "
            + _VOUCHES.format(b=""), [word_in(entity), margin_us])
        out: dict[str, int] = dict(rows)
        for ops_id, seen, synced in self.db.conn.execute(
                "SELECT ops_id, ops_updated_at, synced_at FROM bases WHERE entity = ? "
                "AND (typeof(ops_updated_at) = 'text' OR typeof(synced_at) = 'text')",
                [word_in(entity)]):
            stamp, at = _moment_of(seen), _moment_of(synced)
            if stamp is not None and at is not None and vouches(stamp, at, margin_us):
                out[ops_id] = stamp
        return out

    def vouched_in_order(self, entity: str, margin_us: int,
                         vouches: Callable[[int, int, int], bool],
                         without: AbstractSet[str]) -> Iterator[tuple[str, int]]:
        """:meth:`vouched_times` (but those ``without``) as (ops id, time) in the order of the
        ops ids, read :data:`LINK_PAGE` bases at a time."""
        vouch = _VOUCHES.format(b="")
        for rows in self._pages_by_key("bases", "ops_id", f"ops_id, ops_updated_at, synced_at, "
                                       f"{vouch}", entity, [margin_us]):
            for ops_id, seen, synced, vouched in rows:
                if ops_id in without:
                    continue
                if vouched:
                    yield ops_id, seen
                elif isinstance(seen, str) or isinstance(synced, str):
                    stamp, at = _moment_of(seen), _moment_of(synced)
                    if stamp is not None and at is not None and vouches(stamp, at, margin_us):
                        yield ops_id, stamp

    def _pages_by_key(self, table: str, key: str, columns: str, entity: str,
                      first: Sequence[Any] = ()) -> Iterator[list[Any]]:
        """The rows of ``entity`` in ``table`` (bases or links), ``columns`` of each (``key``
        first), in the order of ``key``, :data:`LINK_PAGE` at a time: a large organisation's
        rows are never all held at once, and no statement stays open between two pages.
        ``first``: the values of any ``?`` in ``columns``."""
        after: Any = None
        while True:
            onward = "" if after is None else f" AND {key} > ?"
            rows = self.db.conn.execute(
                f"SELECT {columns} FROM {table} WHERE entity = ?{onward} ORDER BY {key} LIMIT ?",
                [*first, word_in(entity), *([] if after is None else [after]),
                 LINK_PAGE]).fetchall()
            if rows:
                yield rows
            if len(rows) < LINK_PAGE:
                return
            after = rows[-1][0]

    def vouched_time(self, entity: str, ops_id: str, margin_us: int,
                     vouches: Callable[[int, int, int], bool]) -> int | None:
        """:meth:`vouched_times` of one ops id (``None``: its base does not vouch, or there is
        none), by its key."""
        rows = self._rows("SELECT ops_updated_at, synced_at FROM bases WHERE entity = ? AND "
                          "ops_id = ?", [word_in(entity), ops_id])
        if not rows:
            return None
        stamp, at = _moment_of(rows[0][0]), _moment_of(rows[0][1])
        return stamp if stamp is not None and at is not None and vouches(
            stamp, at, margin_us) else None

    def vouched(self, entity: str, margin_us: int,
                vouches: Callable[[int, int, int], bool]) -> VouchedTimes:
        """:meth:`vouched_times`, read only when looked into (see :class:`VouchedTimes`)."""
        return VouchedTimes(self, entity, margin_us, vouches)

    def vouched_fingerprint(self, entity: str, margin_us: int,
                            without: Sequence[str]) -> tuple[int, str, int] | None:
        """How many bases :meth:`vouched_times` gives (but those ``without``), the digest
        (:class:`~xsync.model.side.FingerprintDigest`) of the text ``length:id:microseconds,...``
        of them in the order of their ids (the length keeps an id holding ``:`` or ``,`` from
        reading as two), and how many links have no base that vouches
        (:meth:`unvouched_links`, counted): SQLite reads the bases :data:`FINGERPRINT_ROWS` at a
        time, in the order of their ids, so the text is never held whole. ``None`` where some
        time is stored as text (read only in Python)."""
        marks = ", ".join("?" for _ in without)
        left_out = f" AND b.ops_id NOT IN ({marks})" if without else ""
        vouch = _VOUCHES.format(b="b.")
        digest = FingerprintDigest()
        count = linked = 0
        after: str | None = None
        while True:
            onward = "" if after is None else " AND b.ops_id > ?"
            texty, part_count, part, part_linked, rows, last = self.db.conn.execute(
                "SELECT total(t), count(x), group_concat(x, ','), total(v AND linked), "
                "count(*), max(k) FROM (SELECT b.ops_id AS k, (typeof(b.ops_updated_at) = "
                f"'text' OR typeof(b.synced_at) = 'text') AS t, {vouch} AS v, CASE WHEN "
                f"{vouch}{left_out} THEN length(b.ops_id) || ':' || b.ops_id || ':' || "
                "b.ops_updated_at END AS x, l.ops_id IS NOT NULL AS linked FROM bases AS b "
                "LEFT JOIN links AS l ON l.entity = b.entity AND l.ops_id = b.ops_id "
                f"WHERE b.entity = ?{onward} ORDER BY b.ops_id LIMIT ?)",
                [margin_us, margin_us, *without, word_in(entity),
                 *([] if after is None else [after]), FINGERPRINT_ROWS]).fetchone()
            if texty:
                return None
            count += int(part_count)
            linked += int(part_linked)
            digest.add(part)
            if rows < FINGERPRINT_ROWS:
                break
            after = last
        (links,) = self.db.conn.execute("SELECT count(*) FROM links WHERE entity = ?",
                                        [word_in(entity)]).fetchone()
        return count, digest.hexdigest(), int(links) - linked

    def proven_fingerprint(self, entity: str, margin_us: int) -> tuple[int, int, str] | None:
        """What an earlier cycle proved of the ops side of ``entity`` (see
        :meth:`prove_fingerprint`) while no base or link of it has been written since: how many
        bases vouch, how many links have no base that vouches, and the digest of the ops table
        then. ``None`` where nothing is proved."""
        rows = self._rows("SELECT vouched, unvouched, digest FROM proven_fingerprints "
                          "WHERE entity = ? AND margin_us = ?", [word_in(entity), margin_us])
        return (int(rows[0][0]), int(rows[0][1]), str(rows[0][2])) if rows else None

    def prove_fingerprint(self, entity: str, margin_us: int, vouched: int, unvouched: int,
                          digest: str) -> None:
        """Note that the ops table of ``entity`` whose digest is ``digest`` holds exactly the
        rows its bases vouch for. The state database's triggers forget it at the next write of
        a base or a link of the entity, so it is only ever read of the bases as they were."""
        self._run("INSERT OR REPLACE INTO proven_fingerprints (entity, margin_us, vouched, "
                  "unvouched, digest) VALUES (?, ?, ?, ?, ?)",
                  [word_in(entity), margin_us, vouched, unvouched, digest])

    def forget_fingerprint(self, entity: str) -> None:
        """Forget what was proved of the ops table of ``entity`` (it no longer has that digest)."""
        self._run("DELETE FROM proven_fingerprints WHERE entity = ?", [word_in(entity)])

    # -- what this connection wrote to the bases and links since a mark --------------------------

    def touch_mark(self) -> TouchMark:
        """Where the bases and links stand now, for :meth:`touched_since` to tell what was
        written to them after it. This connection logs each row it inserts, updates or deletes
        in a temporary table (its own triggers, which no other connection has or sees); a
        commit of any other connection moves the file's ``data_version``, which the mark holds,
        and the mark then tells nothing."""
        conn = self.db.conn
        if not self._touch_log:
            # REPLACE deletes the row it replaces through the delete triggers only so
            conn.execute("PRAGMA recursive_triggers = ON")
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS xsync_touched (seq INTEGER PRIMARY KEY "
                         "AUTOINCREMENT, entity, ops_id)")
            conn.execute("CREATE INDEX IF NOT EXISTS temp.xsync_touched_entity "
                         "ON xsync_touched (entity, seq)")
            conn.execute(f"PRAGMA temp.cache_size = -{TEMP_CACHE_KIB}")
            for table in ("bases", "links"):
                for event in TOUCH_EVENTS:
                    self._touch_trigger(table, event)
            self._touch_log = True
        (version,) = conn.execute("PRAGMA data_version").fetchone()
        last = conn.execute("SELECT seq FROM temp.sqlite_sequence WHERE name = 'xsync_touched'"
                            ).fetchall()
        seq = int(last[0][0]) if last else 0
        if seq - self._touch_floor > 2 * TOUCH_LOG_KEEP:
            # a long-lived ledger (``xsync watch``) keeps only the newest of its log: a mark
            # older than that tells nothing, and the next look compares in full
            self._touch_floor = seq - TOUCH_LOG_KEEP
            conn.execute("DELETE FROM temp.xsync_touched WHERE seq <= ?", [self._touch_floor])
        return TouchMark(self._log_id, seq, int(version))

    def _touch_trigger(self, table: str, event: str) -> None:
        logged = " ".join(f"INSERT INTO xsync_touched (entity, ops_id) VALUES "
                          f"({row}.entity, {row}.ops_id);" for row in TOUCH_EVENTS[event])
        self.db.conn.execute(f"CREATE TEMP TRIGGER IF NOT EXISTS xsync_{table}_{event.lower()} "
                             f"AFTER {event} ON main.{table} BEGIN {logged} END")

    def _inserted(self, table: str, entity: str, ops_ids: Iterable[str],
                  insert: Callable[[], object]) -> None:
        """Run ``insert``, which writes rows of ``table`` for these ops ids, and log them as
        the insert trigger would, in one statement: the trigger is set aside meanwhile (one
        per row costs a bulk write a good part of its time). A row that REPLACE removes is
        still logged by the delete trigger. Within the caller's transaction, so that a
        rollback takes back the rows, their log and the trigger's absence alike."""
        ops_ids = list(ops_ids)
        if not self._touch_log or len(ops_ids) < BULK_ROWS:
            insert()  # a few rows: the trigger logs them, and the schema stays as it is
            return
        self.db.conn.execute(f"DROP TRIGGER IF EXISTS temp.xsync_{table}_insert")
        try:
            insert()
            kind = word_in(entity)
            self.db.conn.executemany("INSERT INTO xsync_touched (entity, ops_id) VALUES (?, ?)",
                                     [(kind, ops_id) for ops_id in ops_ids])
        finally:
            self._touch_trigger(table, "INSERT")

    def touched_since(self, entity: str, mark: TouchMark) -> set[str] | None:
        """The ops ids of ``entity`` whose base or link this connection wrote after ``mark``;
        ``None`` where the mark cannot tell (another connection committed to the file since,
        the log was let go past it, or the mark is another ledger's)."""
        if (mark.log is not self._log_id or not self._touch_log or mark.seq < self._touch_floor
                or mark.seq < self._touch_pruned.get(entity, 0)):
            return None
        (version,) = self.db.conn.execute("PRAGMA data_version").fetchone()
        if int(version) != mark.version:
            return None
        return {str(r[0]) for r in self.db.conn.execute(
            "SELECT DISTINCT ops_id FROM temp.xsync_touched WHERE entity = ? AND seq > ?",
            [word_in(entity), mark.seq]) if r[0] is not None}

    def let_go_touches(self, entity: str, mark: TouchMark) -> None:
        """Forget what the log holds of ``entity`` up to ``mark`` (no earlier mark tells more)."""
        if mark.log is self._log_id and self._touch_log:
            self.db.conn.execute("DELETE FROM temp.xsync_touched WHERE entity = ? AND seq <= ?",
                                 [word_in(entity), mark.seq])
            self._touch_pruned[entity] = max(self._touch_pruned.get(entity, 0), mark.seq)

    def vouched_times_of(self, entity: str, ops_ids: Iterable[str], margin_us: int,
                         vouches: Callable[[int, int, int], bool]) -> dict[str, int]:
        """:meth:`vouched_times` of these ops ids only, read by their keys."""
        out: dict[str, int] = {}
        for ops_id, seen, synced in self._by_ops_id(
                "bases", entity, "ops_id, ops_updated_at, synced_at", ops_ids):
            stamp, at = _moment_of(seen), _moment_of(synced)
            if stamp is not None and at is not None and vouches(stamp, at, margin_us):
                out[ops_id] = stamp
        return out

    def linked_of(self, entity: str, ops_ids: Iterable[str]) -> set[str]:
        """Which of these ops ids are linked."""
        return set(map(itemgetter(0), self._by_ops_id("links", entity, "ops_id", ops_ids)))

    def any_vouched(self, entity: str, margin_us: int, without: Sequence[str]) -> bool:
        """Whether some base of ``entity`` (but those ``without``) vouches for its time as
        SQLite reads it (stored as microseconds); ``False`` says nothing of the others."""
        marks = ", ".join("?" for _ in without)
        left_out = f" AND ops_id NOT IN ({marks})" if without else ""
        return bool(self.db.conn.execute(
            "SELECT EXISTS (SELECT 1 FROM bases WHERE entity = ? AND " + _VOUCHES.format(b="")
            + left_out + ")", [word_in(entity), margin_us, *without]).fetchone()[0])

    def unvouched_links(self, entity: str, margin_us: int) -> set[str]:
        """The linked ops ids of ``entity`` that :meth:`vouched_times` leaves out: no base, or
        one that does not vouch for its change time (the complement, in one statement)."""
        return set(map(itemgetter(0), self.db.conn.execute(
            "SELECT l.ops_id FROM links AS l LEFT JOIN bases AS b "
            "ON b.entity = l.entity AND b.ops_id = l.ops_id WHERE l.entity = ? "
            "AND NOT (b.ops_id IS NOT NULL AND " + _VOUCHES.format(b="b.") + ")",
            [word_in(entity), margin_us])))

    def has_links(self, entity: str) -> bool:
        return bool(self._rows("SELECT EXISTS (SELECT 1 FROM links WHERE entity = ?)",
                               [word_in(entity)])[0][0])

    def link_count(self, entity: str) -> int:
        return int(self._rows("SELECT count(*) FROM links WHERE entity = ?",
                              [word_in(entity)])[0][0])

    def links_by(self, entity: str, keys: Sequence[str], by_xero: bool) -> dict[str, str]:
        """Of the links of ``entity`` holding these ops ids (these Xero ids, ``by_xero``): each
        such id -> the other id of its link, a statement per :data:`BASE_CHUNK` of them."""
        out: dict[str, str] = {}
        kind = word_in(entity)
        for start in range(0, len(keys), BASE_CHUNK):
            chunk = keys[start:start + BASE_CHUNK]
            marks = ", ".join("?" for _ in chunk)
            if not by_xero:
                for ops_id, xero_id in self.db.conn.execute(
                        f"SELECT ops_id, xero_id FROM links WHERE entity = ? AND ops_id IN "
                        f"({marks})", [kind, *chunk]):
                    out[ops_id] = str(xero_id_out(xero_id))
                continue
            for xero_id, ops_id in self._by_xero_ids(marks, [kind, *map(xero_id_in, chunk)]):
                out[str(xero_id_out(xero_id))] = ops_id
        return out

    def _by_xero_ids(self, marks: str, params: list[Any]) -> list[Any]:
        """(Xero id, ops id) of the links of one entity holding these Xero ids, through the
        index by Xero id: without statistics SQLite would rather go through every link of the
        entity for a list of them (only a single one takes the index by itself)."""
        query = ("SELECT xero_id, ops_id FROM links {} WHERE entity = ? AND xero_id IN "
                 f"({marks})")
        if self._xero_index:
            try:
                return self.db.conn.execute(query.format(f"INDEXED BY {XERO_INDEX}"),
                                            params).fetchall()
            except sqlite3.OperationalError as exc:
                if "no such index" not in str(exc):
                    raise
                self._xero_index = False
        return self.db.conn.execute(query.format(""), params).fetchall()

    def link_pages(self, entity: str, by_xero: bool) -> Iterator[list[tuple[str, str]]]:
        """The links of ``entity``, (ops id, Xero id) each (Xero id first, ``by_xero``), in
        the order of the first, a page at a time (see :meth:`_pages_by_key`)."""
        mine, theirs = ("xero_id", "ops_id") if by_xero else ("ops_id", "xero_id")
        for rows in self._pages_by_key("links", mine, f"{mine}, {theirs}", entity):
            yield [(xero_id_out(k) or "", o) if by_xero else (k, xero_id_out(o) or "")
                   for k, o in rows]

    def based_pages(self, entity: str) -> Iterator[list[str]]:
        """The ops ids of ``entity`` that have a base, in their order, a page at a time."""
        for rows in self._pages_by_key("bases", "ops_id", "ops_id", entity):
            yield [r[0] for r in rows]

    def base_count(self, entity: str) -> int:
        return int(self._rows("SELECT count(*) FROM bases WHERE entity = ?",
                              [word_in(entity)])[0][0])

    def unbased_links(self, entity: str, ops_ids: Sequence[str] | None = None) -> set[str]:
        """The linked ops ids of ``entity`` that have no base (of these only, where given)."""
        query = ("SELECT l.ops_id FROM links AS l WHERE l.entity = ? AND NOT EXISTS (SELECT 1 "
                 "FROM bases AS b WHERE b.entity = l.entity AND b.ops_id = l.ops_id)")
        if ops_ids is None:
            return {r[0] for r in self.db.conn.execute(query, [word_in(entity)])}
        out: set[str] = set()
        for start in range(0, len(ops_ids), BASE_CHUNK):
            chunk = ops_ids[start:start + BASE_CHUNK]
            marks = ", ".join("?" for _ in chunk)
            out.update(r[0] for r in self.db.conn.execute(
                f"{query} AND l.ops_id IN ({marks})", [word_in(entity), *chunk]))
        return out

    def bases_of(self, entity: str, ops_ids: Sequence[str]) -> dict[str, Base]:
        """The bases of these ops records of ``entity`` (those that have one)."""
        return {row[0]: Base(*row) for row in self._by_ops_id(
            "bases", entity, "ops_id, xero_id, snapshot, ops_hash, xero_hash, ops_updated_at, "
            "xero_updated_at, synced_at", dict.fromkeys(ops_ids))}

    def confirm_bases(self, rows: Sequence[tuple[str, str, str | None]], at: str) -> None:
        """(entity, ops id, change time): the ops row was found, by its content, to be as its
        base holds it; from now on that change time alone proves it unchanged."""
        synced = stamp_in(at)
        self.db.conn.executemany(
            "UPDATE bases SET ops_updated_at = ?, synced_at = ? WHERE entity = ? AND ops_id = ?",
            [(stamp_in(stamp), synced, word_in(entity), ops_id)
             for entity, ops_id, stamp in rows])

    def save_base(self, entity: str, base: Base, at: str) -> None:
        self.save_bases(entity, [base.with_synced_at(at)], at)

    def save_bases(self, entity: str, bases: Sequence[Base], at: str) -> None:
        """Store bases, as if saved one after the other, in few statements.
        A base's ``synced_at`` is kept; ``at`` stands in where it is ``None``."""
        run: list[Base] = []
        seen: set[str] = set()
        for base in bases:
            if base.ops_id in seen:
                self._save_run(entity, run, at)
                run, seen = [], set()
            run.append(base)
            seen.add(base.ops_id)
        self._save_run(entity, run, at)

    def _save_run(self, entity: str, bases: Sequence[Base], at: str) -> None:
        """Bases of distinct records, in one statement."""
        if not bases:
            return
        rows = [b.stored(entity, at) for b in bases]
        self._inserted("bases", entity, [b.ops_id for b in bases],
                       lambda: self.db.conn.executemany(
                           "INSERT OR REPLACE INTO bases (entity, ops_id, xero_id, snapshot, "
                           "ops_hash, xero_hash, ops_updated_at, xero_updated_at, synced_at) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows))

    # -- cursors and retries ---------------------------------------------------------------------

    def cursor(self, side: str, entity: str) -> str | None:
        rows = self._rows("SELECT cursor FROM cursors WHERE side = ? AND entity = ?",
                          [side, entity])
        return rows[0][0] if rows else None

    def set_cursor(self, side: str, entity: str, cursor: str | None, at: str) -> None:
        self._run("INSERT OR REPLACE INTO cursors (side, entity, cursor, updated_at) "
                  "VALUES (?, ?, ?, ?)", [side, entity, cursor, at])

    def retries(self, entity: str, side: str) -> set[str]:
        rows = self._rows("SELECT id FROM retries WHERE entity = ? AND side = ?", [entity, side])
        return {r[0] for r in rows}

    def add_retry(self, entity: str, side: str, record_id: str, reason: str, run_id: int,
                  at: str) -> None:
        self._run("INSERT OR REPLACE INTO retries (entity, side, id, reason, run_id, at) "
                  "VALUES (?, ?, ?, ?, ?, ?)", [entity, side, record_id, reason, run_id, at])

    def clear_retry(self, entity: str, side: str, record_id: str | None) -> None:
        if record_id:
            self._run("DELETE FROM retries WHERE entity = ? AND side = ? AND id = ?",
                      [entity, side, record_id])

    # -- conflicts -------------------------------------------------------------------------------

    def conflicts(self, *, open_only: bool = True, entity: str | None = None,
                  unapplied: bool = False) -> list[Conflict]:
        where, params = [], []
        if open_only:
            where.append("resolved_at IS NULL")
        if unapplied:
            where.append("resolved_at IS NOT NULL AND applied_at IS NULL")
        if entity:
            where.append("entity = ?")
            params.append(entity)
        sql = f"SELECT {', '.join(_CONFLICT_COLS)} FROM conflicts"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [Conflict(**dict(zip(_CONFLICT_COLS, row, strict=True)))
                for row in self._rows(sql + " ORDER BY id", params)]

    def conflict(self, conflict_id: int) -> Conflict | None:
        rows = self._rows(f"SELECT {', '.join(_CONFLICT_COLS)} FROM conflicts WHERE id = ?",
                          [conflict_id])
        return Conflict(**dict(zip(_CONFLICT_COLS, rows[0], strict=True))) if rows else None

    def upsert_conflict(self, c: Conflict, at: str) -> int:
        """One open conflict per record and field: a repeat updates it, never duplicates it."""
        rows = self._rows(
            "SELECT id FROM conflicts WHERE entity = ? AND ops_id IS ? AND xero_id IS ? "
            "AND field = ? AND resolved_at IS NULL", [c.entity, c.ops_id, c.xero_id, c.field])
        if rows:
            self._run("UPDATE conflicts SET base = ?, ops = ?, xero = ?, reason = ?, label = ?, "
                      "updated_at = ? WHERE id = ?",
                      [c.base, c.ops, c.xero, c.reason, c.label, at, rows[0][0]])
            return int(rows[0][0])
        return self._run(
            "INSERT INTO conflicts (entity, ops_id, xero_id, label, field, base, ops, xero, "
            "reason, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [c.entity, c.ops_id, c.xero_id, c.label, c.field, c.base, c.ops, c.xero, c.reason,
             at, at])

    def resolve(self, conflict_id: int, take: str | None, value: str | None, at: str) -> None:
        self._run("UPDATE conflicts SET resolved_at = ?, resolved_take = ?, resolution = ? "
                  "WHERE id = ?", [at, take, value, conflict_id])

    def settle(self, conflict_id: int, at: str, take: str | None = None) -> None:
        """Mark a conflict carried out (or, with ``take``, closed because the sides agree)."""
        if take:
            self._run("UPDATE conflicts SET resolved_at = ?, resolved_take = ?, applied_at = ? "
                      "WHERE id = ? AND resolved_at IS NULL", [at, take, at, conflict_id])
        else:
            self._run("UPDATE conflicts SET applied_at = ? WHERE id = ?", [at, conflict_id])

    # -- outbox ----------------------------------------------------------------------------------

    def outbox_add(self, run_id: int, entity: str, action: str, side: str, key: str,
                   ops_id: str | None, xero_id: str | None, payload: dict[str, Any],
                   at: str) -> tuple[int, str]:
        text = packed_json(payload)
        # the idempotency key is not stored: it follows from the row's id and payload
        row_id = self._run(
            "INSERT INTO outbox (run_id, entity, action, side, key, ops_id, xero_id, payload, "
            "state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
            [run_id, word_in(entity), word_in(action), side,
             outbox_key_in(key, entity, ops_id, xero_id, side), ops_id, xero_id_in(xero_id),
             pack_text(text, brief=True), stamp_in(at), stamp_in(at)])
        return row_id, idempotency_key(row_id, text)

    def outbox_add_many(self, run_id: int, rows: Iterable[OutboxEntry],
                        at: str) -> list[tuple[int, str]]:
        """:meth:`outbox_add` of several rows, in order, a statement per few hundred: each
        row's id and idempotency key. The ids are the next ones the table's sequence gives
        (ids are never used twice, so neither is a key), within the caller's transaction.
        ``rows`` is read as the rows go in, so that a large batch's payloads are not all held
        at once."""
        (last,) = self._rows("SELECT max(coalesce((SELECT seq FROM main.sqlite_sequence WHERE "
                             "name = 'outbox'), 0), coalesce((SELECT max(id) FROM outbox), 0))")
        row_id = int(last[0])
        moment = stamp_in(at)
        added: list[tuple[int, str]] = []
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            row_id += 1
            text = packed_json(row.payload)
            batch.append((row_id, run_id, word_in(row.entity), word_in(row.action), row.side,
                          outbox_key_in(row.key, row.entity, row.ops_id, row.xero_id, row.side),
                          row.ops_id, xero_id_in(row.xero_id), pack_text(text, brief=True),
                          moment, moment))
            added.append((row_id, idempotency_key(row_id, text)))
            if len(batch) == OUTBOX_CHUNK:
                self._outbox_insert(batch)
                batch = []
        self._outbox_insert(batch)
        return added

    def _outbox_insert(self, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            self.db.conn.executemany(
                "INSERT INTO outbox (id, run_id, entity, action, side, key, ops_id, xero_id, "
                "payload, state, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)", rows)

    def outbox_row(self, row_id: int) -> dict[str, Any] | None:
        rows = self._rows("SELECT id, entity, action, side, ops_id, xero_id, payload, "
                          "idempotency_key, state, key FROM outbox WHERE id = ?", [row_id])
        if not rows:
            return None
        id_, entity, action, side, ops_id, xero_id, payload, idem, state, key = rows[0]
        entity, action, xero_id = word_out(entity) or "", word_out(action), xero_id_out(xero_id)
        return {"id": id_, "entity": entity, "action": action, "side": side, "ops_id": ops_id,
                "xero_id": xero_id, "payload": unpack(payload),
                # an earlier xsync stored the key; this one derives it as ``outbox_add`` did
                "idempotency_key": idem or idempotency_key(id_, unpacked_text(payload)),
                "state": state, "key": outbox_key_out(key, entity, ops_id, xero_id, side)}

    def outbox_pending(self, entity: str, side: str, action: str = "create"
                       ) -> list[dict[str, Any]]:
        rows = self._rows("SELECT id FROM outbox WHERE entity = ? AND side = ? AND action = ? "
                          "AND state IN ('pending', 'sent') ORDER BY id",
                          [word_in(entity), side, word_in(action)])
        found = [self.outbox_row(r[0]) for r in rows]
        return [r for r in found if r is not None]

    def outbox_mark(self, row_id: int, state: str, result: Any, at: str) -> None:
        self._run("UPDATE outbox SET state = ?, result = ?, updated_at = ? WHERE id = ?",
                  [state, json.dumps(result, sort_keys=True), stamp_in(at), row_id])

    def outbox_marks(self, marks: Sequence[tuple[int, str, Any, str]]) -> None:
        """Several rows' outcomes at once: (row id, state, result, at). A row whose write is
        done is forgotten at once, in the transaction that records its link and answer: crash
        recovery needs only unanswered rows, and what the write did is in the audit log and the
        bases (a first import would otherwise keep a second copy of every record)."""
        conn = self.db.conn
        conn.executemany(
            "UPDATE outbox SET state = ?, result = ?, updated_at = ? WHERE id = ?",
            [(state, json.dumps(result, sort_keys=True), stamp_in(at), row_id)
             for row_id, state, result, at in marks if state != "done"])
        done = {row_id for row_id, state, _, _ in marks if state == "done"}
        if not done:
            return
        low, high, count = conn.execute("SELECT min(id), max(id), count(*) FROM outbox").fetchone()
        if count and count == high - low + 1 and done.issuperset(range(low, high + 1)):
            # every row left is done (a large import's batch): the table is emptied whole, its
            # pages let go at once rather than rewritten row by row (the next id still follows
            # the highest given)
            conn.execute("DELETE FROM outbox")
            return
        conn.executemany("DELETE FROM outbox WHERE id = ?", [(row_id,) for row_id in done])

    def outbox_supersede(self, run_id: int, at: str) -> None:
        """Earlier runs' unfinished updates, deletes and voids: superseded by this run's plan,
        which is made from bases those writes never moved. Unfinished creates stay: planning
        settles each one (found on its side and linked, or sent again under its own key)."""
        self._run("UPDATE outbox SET state = 'abandoned', result = ?, updated_at = ? "
                  "WHERE run_id < ? AND action NOT IN (?, ?) AND state IN ('pending', 'sent')",
                  [json.dumps({"superseded_by_run": run_id}), stamp_in(at), run_id,
                   word_in("create"), "create"])

    def outbox_prune(self, run_id: int) -> int:
        """Forget the finished rows of earlier runs: what each write did is in the audit log and
        the bases; only unfinished rows (pending, sent) are needed after a crash."""
        cursor = self.db.conn.execute(
            "DELETE FROM outbox WHERE run_id < ? AND state IN ('done', 'failed', 'abandoned')",
            [run_id])
        return int(cursor.rowcount or 0)

    def outbox_counts(self) -> dict[str, int]:
        return dict(self._rows("SELECT state, count(*) FROM outbox GROUP BY state"))

    # -- audit and runs --------------------------------------------------------------------------

    def audit_add(self, entry: AuditEntry) -> None:
        self.audit_add_many([entry])

    def audit_add_many(self, entries: Sequence[AuditEntry]) -> None:
        self.db.conn.executemany(
            "INSERT INTO audit (run_id, at, entity, ops_id, xero_id, label, direction, action, "
            "field, old, new, rule) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(e.run_id, stamp_in(e.at), word_in(e.entity), e.ops_id, xero_id_in(e.xero_id),
              e.label, word_in(e.direction), word_in(e.action), e.field, e.old, e.new,
              word_in(e.rule)) for e in entries])

    def audit(self, since: str | None = None, entity: str | None = None,
              record: str | None = None) -> list[AuditEntry]:
        """Entries, oldest first: at or after ``since`` (an ISO date or time, UTC unless it
        names an offset), of ``entity``, of ``record`` (its ops id, Xero id or label)."""
        sql = ("SELECT id, run_id, at, entity, ops_id, xero_id, label, direction, action, field,"
               " old, new, rule FROM audit WHERE 1 = 1")
        params: list[Any] = []
        if since:
            # times are stored as microseconds (see ``codec``); any kept as text compare as text
            key = moment_key(since)
            sql += (" AND (at >= ? AND typeof(at) = 'text' OR typeof(at) = 'integer' AND at >= ?)"
                    if key is not None else " AND at >= ? AND typeof(at) = 'text'")
            params += [stamp_out(key), key] if key is not None else [since]
        if entity:
            sql += " AND entity IN (?, ?)"
            params += [word_in(entity), entity]
        if record:
            sql += " AND (ops_id = ? OR xero_id = ? OR xero_id = ? OR label = ?)"
            params += [record, record, xero_id_in(record), record]
        return [AuditEntry(id_, run, stamp_out(at) or "", word_out(ent) or "", ops_id,
                           xero_id_out(xero_id), label, word_out(direction) or "",
                           word_out(action) or "", field, old, new, word_out(rule))
                for id_, run, at, ent, ops_id, xero_id, label, direction, action, field, old,
                new, rule in self._rows(sql + " ORDER BY id", params)]

    def run_start(self, command: str, entities: Sequence[str], at: str) -> int:
        return self._run("INSERT INTO runs (command, entities, started_at) VALUES (?, ?, ?)",
                         [command, json.dumps(list(entities)), at])

    def run_finish(self, run_id: int, outcome: str, exit_code: int | None,
                   counts: dict[str, Any], at: str,
                   entity_outcomes: dict[str, dict[str, Any]] | None = None) -> None:
        self._run("UPDATE runs SET ended_at = ?, outcome = ?, exit_code = ?, counts = ?, "
                  "entity_outcomes = ? WHERE id = ?",
                  [at, outcome, exit_code, json.dumps(counts),
                   json.dumps(entity_outcomes) if entity_outcomes is not None else None, run_id])

    def last_run(self) -> int | None:
        rows = self._rows("SELECT max(id) FROM runs")
        return rows[0][0] if rows else None

    def last_run_per_entity(self, limit: int = 200) -> dict[str, dict[str, Any]]:
        """The newest run that covered each entity, among the last ``limit`` runs, with that
        entity's own outcome (``entity_outcome``, ``entity_reason``; the run's outcome for runs
        that did not record one)."""
        last: dict[str, dict[str, Any]] = {}
        for run in self.runs(limit=limit):  # newest first
            own = run.get("entity_outcomes") or {}
            for entity in run["entities"]:
                if entity in last:
                    continue
                mine = own.get(entity) or {}
                last[entity] = {**run, "entity_outcome": mine.get("outcome", run["outcome"]),
                                "entity_reason": mine.get("reason")}
        return last

    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        keys = ("id", "command", "entities", "started_at", "ended_at", "outcome", "exit_code",
                "counts", "entity_outcomes")
        rows = self._rows(f"SELECT {', '.join(keys)} FROM runs ORDER BY id DESC LIMIT ?",
                          [limit])
        out = []
        for row in rows:
            item = dict(zip(keys, row, strict=True))
            item["entities"] = json.loads(item["entities"] or "[]")
            item["counts"] = json.loads(item["counts"] or "{}")
            item["entity_outcomes"] = json.loads(item["entity_outcomes"] or "{}")
            out.append(item)
        return out

    # -- what `xsync doctor` reads ---------------------------------------------------------------

    def outbox_unfinished(self, limit: int = 20) -> list[dict[str, Any]]:
        """Writes recorded but never answered (pending, sent), oldest first, without payloads."""
        keys = ("id", "run_id", "entity", "action", "side", "ops_id", "xero_id", "state",
                "created_at")
        rows = self._rows(f"SELECT {', '.join(keys)} FROM outbox WHERE state IN ('pending', "
                          "'sent') ORDER BY id LIMIT ?", [limit])
        out = []
        for row in rows:
            item = dict(zip(keys, row, strict=True))
            item.update(entity=word_out(item["entity"]), action=word_out(item["action"]),
                        xero_id=xero_id_out(item["xero_id"]),
                        created_at=stamp_out(item["created_at"]))
            out.append(item)
        return out

    def run_lock(self) -> dict[str, Any] | None:
        """Who holds the run lock (pid, host, acquired_at, heartbeat_at), or None."""
        keys = ("pid", "host", "acquired_at", "heartbeat_at")
        rows = self._rows(f"SELECT {', '.join(keys)} FROM run_lock WHERE id = 1")
        return dict(zip(keys, rows[0], strict=True)) if rows else None


# whether a base vouches for its ops row's change time, for the times stored as microseconds
# (``vouches_us`` in the planner is the same rule; ``?`` is the margin): a time to the
# microsecond once the base was stored after it, a coarser one once stored well after it
_VOUCHES = ("(typeof({b}ops_updated_at) = 'integer' AND typeof({b}synced_at) = 'integer' "
            "AND (({b}ops_updated_at % 1000 != 0 AND {b}synced_at >= {b}ops_updated_at) "
            "OR ({b}ops_updated_at % 1000 = 0 AND {b}synced_at - {b}ops_updated_at > ?)))")
# a contact's snapshot as pack writes it, when the contact was not merged in Xero
NOT_MERGED = '"merged_into":null'
NOT_MERGED_BYTES = NOT_MERGED.encode()
# more ids than this left out of a fingerprint: the times are read instead
FINGERPRINT_WITHOUT = 500
# bases one statement of a fingerprint reads (the text of no more is held at once)
FINGERPRINT_ROWS = 20_000
# ids a VouchedTimes looks up one by one before it reads all its times
POINT_LOOKUPS = 500


class VouchedTimes(Mapping[str, int]):
    """:meth:`Ledger.vouched_times` of one entity, read when first looked into. Until then,
    :meth:`fingerprint` tells, in one statement, what they hold, so that a side able to say
    the same of its rows (see ``SupportsChangedScan``) may find them all unchanged without
    either side's times ever reaching Python."""

    def __init__(self, ledger: Ledger, entity: str, margin_us: int,
                 vouches: Callable[[int, int, int], bool]) -> None:
        self._ledger, self._entity = ledger, entity
        self._margin_us, self._vouches = margin_us, vouches
        self._times: dict[str, int] | None = None
        self._without: set[str] = set()
        self._fingerprint: tuple[int, str] | None = None
        self._unvouched: int | None = None
        self._fingerprinted = False
        # ids asked about one by one, before the times were read
        self._asked = 0
        # what an earlier cycle proved of the ops table (``Ledger.proven_fingerprint``), read
        # once; and what this one did, for the engine to store (``proved``)
        self._proof: tuple[int, int, str] | None = None
        self._proof_read = False
        self.proved: tuple[str, int, int, int, str] | None = None
        # whether the side's table no longer has the digest proved (``recall``): the proof is
        # stale, and the engine forgets it so that the run proves the table anew
        self.stale = False
        # whether a match found now is worth proving (not when the entity is about to be
        # written: its bases would forget the proof at once)
        self.proving = True
        # where the bases stood before this first read them (see ``mark``), and what ``carried``
        # found written since an earlier mark: the links left without a vouching base now
        self._mark: TouchMark | None = None
        self._carried: tuple[CarryMark, int] | None = None
        # the ids ``carried`` looked up, and the times of those whose bases vouch
        self._looked_up: tuple[set[str], dict[str, int]] = (set(), {})

    def leave_out(self, ops_ids: Iterable[str]) -> None:
        """Drop these ids (their rows are listed whatever their times)."""
        self._without.update(ops_ids)
        self.proved = None
        self._fingerprinted = False
        self._carried = None
        self._looked_up = (set(), {})
        if self._times is not None:
            for ops_id in self._without:
                self._times.pop(ops_id, None)

    def left_out(self) -> frozenset[str]:
        """The ids dropped by :meth:`leave_out`."""
        return frozenset(self._without)

    def _read(self) -> dict[str, int]:
        if self._times is None:
            self._times = self._ledger.vouched_times(self._entity, self._margin_us,
                                                     self._vouches)
            for ops_id in self._without:
                self._times.pop(ops_id, None)
        return self._times

    def fingerprint(self) -> tuple[int, str] | None:
        """How many times there are, and the digest of the text ``length:id:microseconds,...``
        in the order of the ids (SQLite's ``ORDER BY``); ``None`` where it cannot be built
        without reading them."""
        if not self._fingerprinted:
            self._marked()
            built = (None if len(self._without) > FINGERPRINT_WITHOUT else
                     self._ledger.vouched_fingerprint(self._entity, self._margin_us,
                                                      sorted(self._without)))
            self._fingerprint = None if built is None else built[:2]
            self._unvouched = None if built is None else built[2]
            self._fingerprinted = True
        return self._fingerprint

    def _proven(self) -> tuple[int, int, str] | None:
        """What an earlier cycle proved, where it speaks of these times (none left out)."""
        if self._without:
            return None
        if not self._proof_read:
            self._marked()
            self._proof = self._ledger.proven_fingerprint(self._entity, self._margin_us)
            self._proof_read = True
        return self._proof

    def proof_wanted(self) -> str | None:
        """What the side should do with its table's digest: ``"recall"`` (ask :meth:`recall`
        first: a proof is stored), ``"confirm"`` (none is: :meth:`confirm` a match), or
        ``None`` (take no digest)."""
        if self._proven() is not None:
            return "recall"
        return "confirm" if self.proving and not self._without else None

    def recall(self, digest: str) -> bool:
        """Whether an earlier cycle proved that the side's table whose digest is ``digest``
        holds exactly these times (no base or link written since): then it still does."""
        proof = self._proven()
        recalled = proof is not None and proof[2] == digest
        self.stale = self.stale or (proof is not None and not recalled)
        return recalled

    def confirm(self, digest: str, rows: int | None = None) -> None:
        """Note that the side's table whose digest is ``digest`` was found to match the
        :meth:`fingerprint` (in one read of it), for the engine to store as proved. ``rows``:
        how many rows the table holds, where the side found it as these times are by what
        :meth:`carried` told (then as many times vouch, and no fingerprint is built)."""
        if rows is not None and self._carried is not None and not self._without:
            self.proved = (self._entity, self._margin_us, rows, self._carried[1], digest)
            return
        known = self.fingerprint()
        if known is not None and self._unvouched is not None and not self._without:
            self.proved = (self._entity, self._margin_us, known[0], self._unvouched, digest)

    def unvouched(self) -> int | None:
        """How many links have no base that vouches, counted as the fingerprint was built, or
        as an earlier cycle proved (``None``: neither)."""
        if self._carried is not None:
            return self._carried[1]
        proof = self._proven()
        if proof is not None:
            return proof[1]
        self.fingerprint()
        return self._unvouched

    # -- what a later look of the same run starts from -------------------------------------------

    def _marked(self) -> None:
        if self._mark is None:
            self._mark = self._ledger.touch_mark()

    def mark(self) -> CarryMark | None:
        """Where the bases stood when these times were first read, for :meth:`carried` of a
        later look to start from; ``None`` where some link has no base that vouches (then the
        count of those, which a later look must give, cannot be carried)."""
        if self._carried is not None:
            carried, unvouched = self._carried
            return carried if unvouched == 0 else None
        if self._mark is None or self.unvouched() != 0:
            return None
        return CarryMark(self._mark, self._margin_us, frozenset(self._without))

    def carried(self, mark: CarryMark) -> set[str] | None:
        """Since ``mark`` (:meth:`mark` of an earlier look, when every link had a base that
        vouched): the ops ids whose bases or links were written. Every other id's time is as
        it was then. ``None`` where the mark cannot tell (another program wrote the state
        file, or these are not the same times). :meth:`unvouched` and :meth:`mark` then speak
        of now, without a fingerprint."""
        if mark.margin_us != self._margin_us or mark.without != frozenset(self._without):
            return None
        now = self._ledger.touch_mark()
        touched = self._ledger.touched_since(self._entity, mark.touched)
        if touched is None:
            return None
        times = self._ledger.vouched_times_of(self._entity, touched, self._margin_us,
                                              self._vouches)
        unvouched = len(self._ledger.linked_of(self._entity, touched) - times.keys())
        self._carried = (CarryMark(now, self._margin_us, mark.without), unvouched)
        self._looked_up = (touched, times)
        self._ledger.let_go_touches(self._entity, mark.touched)
        return touched

    def in_order(self) -> Iterator[tuple[str, int]]:
        """(ops id, time) of each time, in the order of the ids (their text, byte by byte),
        read as they are wanted: the times are not all held at once (where they were read
        already, those)."""
        if self._times is not None:
            yield from sorted(self._times.items())
            return
        yield from self._ledger.vouched_in_order(self._entity, self._margin_us, self._vouches,
                                                 self._without)

    def times_of(self, ops_ids: Iterable[str]) -> dict[str, int]:
        """The times of these ids, read by their keys (those without one are left out)."""
        if self._times is not None:
            return {i: self._times[i] for i in ops_ids if i in self._times}
        asked, found = self._looked_up
        wanted = [i for i in ops_ids if i not in self._without]
        out = {i: found[i] for i in wanted if i in found}
        out.update(self._ledger.vouched_times_of(
            self._entity, [i for i in wanted if i not in asked], self._margin_us,
            self._vouches))
        return out

    def __bool__(self) -> bool:
        if self._times is None:
            proof = self._proven()
            if proof is not None:
                return proof[0] > 0
            # one base that vouches answers it, without a fingerprint (a later round of a run)
            if self._ledger.any_vouched(self._entity, self._margin_us, sorted(self._without)):
                return True
            known = self.fingerprint()
            if known is not None:
                return known[0] > 0
        return bool(self._read())

    def __getitem__(self, ops_id: str) -> int:
        return self._read()[ops_id]

    def __contains__(self, ops_id: object) -> bool:
        # a few ids are asked by their keys; past that, the times are read at once
        if self._times is None and self._asked < POINT_LOOKUPS:
            self._asked += 1
            return (isinstance(ops_id, str) and ops_id not in self._without
                    and self._ledger.vouched_time(self._entity, ops_id, self._margin_us,
                                                  self._vouches) is not None)
        return ops_id in self._read()

    def __iter__(self) -> Iterator[str]:
        return iter(self._read())

    def __len__(self) -> int:
        return len(self._read())

    def keys(self) -> KeysView[str]:
        return self._read().keys()

    def items(self) -> ItemsView[str, int]:
        return self._read().items()

    def get(self, ops_id: str, default: Any = None) -> Any:
        return self._read().get(ops_id, default)


def _moment_of(value: int | str | None) -> int | None:
    """A stored moment as microseconds since 1970 (``None``: none stored, or not a time)."""
    if isinstance(value, int):
        return value
    return moment_key(value) if isinstance(value, str) else None


def idempotency_key(row_id: int, payload_text: bytes | str) -> str:
    """Derived from the outbox row and its payload: a resend of that row is the same request."""
    text = payload_text.encode() if isinstance(payload_text, str) else payload_text
    digest = hashlib.sha256(text).hexdigest()[:16]
    return f"xsync-ob{row_id}-{digest}"
