"""The BAS tables of the state database (``bas_documents``, ``bas_reads``, ``bas_lodged``) and
the engine facts a reconciliation names (why an ops record has not reached Xero).

Documents are kept as opaque payloads (compact JSON: a few hundred bytes each, read back by the
thousand, so not deflated): what they hold is the reports layer's business; here they are found
by side, entity, id, their date and the days money settled them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from xsync.state.codec import word_in, xero_id_in, xero_id_out
from xsync.state.ledger import pack, transaction, unpack

CHUNK = 500


@dataclass(frozen=True, slots=True)
class StoredDoc:
    side: str
    entity: str
    id: str
    date: str | None
    settled_from: str | None
    settled_to: str | None
    fingerprint: str
    payload: dict[str, Any]
    # the linked record's id on the other side (the engine's links), where there is one
    twin: str | None = None


class BasLedger:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.conn = db.conn
        # links keep an entity as a number and a Xero id as its 16 bytes (see ``codec``)
        self.conn.create_function("word_in", 1, word_in, deterministic=True)
        self.conn.create_function("xero_id_in", 1, xero_id_in, deterministic=True)

    # -- documents -------------------------------------------------------------------------------

    def replace(self, side: str, entities: Sequence[str], docs: Iterable[StoredDoc],
                at: str) -> None:
        """Every document of these entities on this side is now ``docs`` (a complete read)."""
        with transaction(self.db):
            for entity in entities:
                self.conn.execute("DELETE FROM bas_documents WHERE side = ? AND entity = ?",
                                  [side, entity])
            self._put(docs, at)

    def upsert(self, docs: Iterable[StoredDoc], at: str) -> None:
        with transaction(self.db):
            self._put(docs, at)

    def _put(self, docs: Iterable[StoredDoc], at: str) -> None:
        self.conn.executemany(
            "INSERT OR REPLACE INTO bas_documents (side, entity, id, date, settled_from, "
            "settled_to, fingerprint, doc, read_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(d.side, d.entity, d.id, d.date, d.settled_from, d.settled_to, d.fingerprint,
              json.dumps(d.payload, separators=(",", ":")), at) for d in docs])

    def in_period(self, start: str, end: str, cash: bool) -> list[StoredDoc]:
        """Documents dated in the period, and (``cash``) those money settled in it, each with
        its twin's id through the engine's links."""
        sql = (f"SELECT {_COLUMNS}, CASE d.side WHEN 'ops' THEN (SELECT l.xero_id FROM links l "
               "WHERE l.entity = word_in(d.entity) AND l.ops_id = d.id) ELSE (SELECT l.ops_id FROM "
               "links l WHERE l.entity = word_in(d.entity) AND l.xero_id = xero_id_in(d.id)) END "
               "FROM bas_documents d WHERE d.date BETWEEN ? AND ?")
        params = [start, end]
        if cash:
            sql += " OR (d.settled_to >= ? AND d.settled_from <= ?)"
            params += [start, end]
        return [_doc(row) for row in self.conn.execute(sql, params)]

    def by_ids(self, side: str, entity: str, ids: Sequence[str]) -> list[StoredDoc]:
        out: list[StoredDoc] = []
        wanted = list(dict.fromkeys(ids))
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start:start + CHUNK]
            marks = ", ".join("?" for _ in chunk)
            out += [_doc(row) for row in self.conn.execute(
                f"SELECT {_COLUMNS} FROM bas_documents d WHERE d.side = ? AND d.entity = ? "
                f"AND d.id IN ({marks})", [side, entity, *chunk])]
        return out

    def count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM bas_documents").fetchone()[0])

    # -- reads -----------------------------------------------------------------------------------

    def cursor(self, source: str) -> str | None:
        row = self.conn.execute("SELECT cursor FROM bas_reads WHERE source = ?",
                                [source]).fetchone()
        return row[0] if row else None

    def set_cursor(self, source: str, cursor: str | None, at: str) -> None:
        with transaction(self.db):
            self.conn.execute("INSERT OR REPLACE INTO bas_reads (source, cursor, read_at) "
                              "VALUES (?, ?, ?)", [source, cursor, at])

    def read_at(self) -> str | None:
        """When `xsync bas` last read the sides."""
        row = self.conn.execute("SELECT max(read_at) FROM bas_reads").fetchone()
        return row[0] if row else None

    def last_sync_at(self) -> str | None:
        row = self.conn.execute("SELECT max(ended_at) FROM runs WHERE command IN "
                                "('sync', 'pull', 'push')").fetchone()
        return row[0] if row else None

    # -- lodged periods --------------------------------------------------------------------------

    def lodge(self, period: str, basis: str, at: str, labels: dict[str, str],
              documents: dict[str, Any]) -> None:
        with transaction(self.db):
            self.conn.execute(
                "INSERT OR REPLACE INTO bas_lodged (period, basis, lodged_at, labels, documents) "
                "VALUES (?, ?, ?, ?, ?)",
                [period, basis, at, json.dumps(labels, sort_keys=True), pack(documents)])

    def lodged(self, period: str, basis: str) -> tuple[str, dict[str, str], Any] | None:
        row = self.conn.execute("SELECT lodged_at, labels, documents FROM bas_lodged "
                                "WHERE period = ? AND basis = ?", [period, basis]).fetchone()
        if row is None:
            return None
        return row[0], json.loads(row[1]), unpack(row[2])

    def lodged_periods(self) -> list[tuple[str, str, str]]:
        return [tuple(r) for r in self.conn.execute(
            "SELECT period, basis, lodged_at FROM bas_lodged ORDER BY period")]

    # -- why an ops record is not in Xero ------------------------------------------------------

    def retry_reasons(self, entity: str, side: str) -> dict[str, str]:
        return {r[0]: r[1] or "" for r in self.conn.execute(
            "SELECT id, reason FROM retries WHERE entity = ? AND side = ?", [entity, side])}


_COLUMNS = ("d.side, d.entity, d.id, d.date, d.settled_from, d.settled_to, d.fingerprint, "
            "d.doc")


def _doc(row: Sequence[Any]) -> StoredDoc:
    return StoredDoc(row[0], row[1], row[2], row[3], row[4], row[5], row[6], json.loads(row[7]),
                     xero_id_out(row[8]) if len(row) > 8 else None)
