"""What one look at an ops table proved, carried to the next look of the same run.

A run read in rounds compares the ops table with its bases in every round. Once one round has
found the table holding exactly the rows the bases vouch for, the next needs to look only at
what was written since: the rows this connection wrote (logged by triggers of its own, which no
other connection has or sees) and the rows whose bases or links the engine wrote (which the
engine's vouched times tell, ``carried``). Any commit by another program moves the file's
``data_version``, and then nothing is carried: the table is compared in full again.

The log also counts the rows each write added and took away, so that a row removed without a
trigger firing (a ``REPLACE`` of another row) shows as a count that does not add up.

A look that compared every row and found only a few differing carries too: it holds those
rows apart (``Held.others``), and the next look takes them with what was written since. Once
the run has written their bases, the table is found as its bases have it without comparing it
whole again; a row still differing tells, at once and positively, that the table does not.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NamedTuple

from xsync.sides.ops_schema import TABLES

LOG = "xsync_ops_touched"
# what each trigger logs: the row's old or new id, and how it changes the count of rows
LOGGED = {"INSERT": (("NEW", 1),), "DELETE": (("OLD", -1),), "UPDATE": (("OLD", -1), ("NEW", 1))}
EVENTS = tuple(LOGGED)
# rows of one create from which the insert triggers are set aside (see ``OpsCarry.inserted``);
# each setting aside changes the connection's schema, which a write of a few rows is not worth
BULK_ROWS = 50
# rows a look may hold apart as differing (past that, the next look compares in full again)
OTHERS_HELD = 10_000


class Held(NamedTuple):
    """What a look proved of one table: the schema version and ``data_version`` it was made
    at, the last entry of the log then, how many rows the table held, the engine's mark, and
    the ids of the rows (or the times) it found not as the engine vouched for them: every
    other row was."""
    schema: int
    version: int
    seq: int
    rows: int
    mark: Any
    others: frozenset[str] = frozenset()


class Point(NamedTuple):
    version: int
    seq: int


class OpsCarry:
    """The log of one connection's writes to the ops tables, and what was proved of each."""

    def __init__(self, conn: sqlite3.Connection, micros: str,
                 chunks: Callable[[list[str]], Iterator[tuple[list[str], str]]]) -> None:
        self.conn = conn
        # the SQL that reads a change time as microseconds (``{u}``: the column)
        self._micros = micros
        self._chunks = chunks
        # entity -> the schema version its triggers were made at
        self._watched: dict[str, int] = {}
        self._held: dict[str, Held] = {}

    def point(self, entity: str, schema: int) -> Point:
        """Where the file and the log stand now, the entity's tables watched from here on."""
        if self._watched.get(entity) != schema:
            self._watch(entity)
            self._watched[entity] = schema
        (version,) = self.conn.execute("PRAGMA data_version").fetchone()
        rows = self.conn.execute(
            f"SELECT seq FROM temp.sqlite_sequence WHERE name = '{LOG}'").fetchall()
        return Point(int(version), int(rows[0][0]) if rows else 0)

    def _watch(self, entity: str) -> None:
        self.conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {LOG} (seq INTEGER PRIMARY KEY "
                          "AUTOINCREMENT, entity TEXT NOT NULL, id, delta INTEGER NOT NULL)")
        self.conn.execute(f"CREATE INDEX IF NOT EXISTS temp.{LOG}_entity ON {LOG} (entity, seq)")
        # the log holds about a round of writes: its pages need little memory
        self.conn.execute("PRAGMA temp.cache_size = -512")
        self._triggers(entity, EVENTS)

    def _triggers(self, entity: str, events: Sequence[str]) -> None:
        table, line_table, owner, key = TABLES[entity]
        watched = [(table, key, 1)] + ([(line_table, owner, 0)] if line_table and owner else [])
        for target, column, counts in watched:
            for event in events:
                logged = " ".join(f"INSERT INTO {LOG} (entity, id, delta) VALUES ('{entity}', "
                                  f"{row}.{column}, {sign * counts});"
                                  for row, sign in LOGGED[event])
                self.conn.execute(f"CREATE TEMP TRIGGER IF NOT EXISTS xsync_touch_{target}_"
                                  f"{event.lower()} AFTER {event} ON main.{target} "
                                  f"BEGIN {logged} END")

    def inserted(self, entity: str, insert: Callable[[], None], ids: Sequence[str]) -> None:
        """Run ``insert``, which adds rows to the entity's tables, those of the table itself
        with ``ids``, and log them as the insert triggers would, in one statement: those
        triggers are set aside meanwhile (a trigger per row would cost a bulk import a third
        of its inserts). Within the caller's transaction, so that a rollback takes back the
        rows, their log and the triggers' absence alike."""
        if entity not in self._watched or len(ids) < BULK_ROWS:
            insert()  # a few rows: the triggers log them, and the schema stays as it is
            return
        table, line_table, _, _ = TABLES[entity]
        for target in (table, line_table) if line_table else (table,):
            self.conn.execute(f"DROP TRIGGER IF EXISTS temp.xsync_touch_{target}_insert")
        try:
            insert()
            self.conn.executemany(f"INSERT INTO {LOG} (entity, id, delta) VALUES (?, ?, 1)",
                                  [(entity, row_id) for row_id in ids])
        finally:
            self._triggers(entity, ("INSERT",))

    def hold(self, entity: str, schema: int, point: Point, rows: int, mark: Any,
             others: Iterable[str] = ()) -> None:
        """Note that the table held exactly the rows the engine vouched for, as read after
        ``point``, ``rows`` of them, but for ``others`` (ids whose row or time differed, at
        most :data:`OTHERS_HELD`; more carry nothing); ``mark``: the engine's, for its next
        look (``None`` carries nothing)."""
        apart = frozenset(others)
        if mark is None or len(apart) > OTHERS_HELD:
            self._held.pop(entity, None)
        else:
            self._held[entity] = Held(schema, point.version, point.seq, rows, mark, apart)
        # what no look starts from any more is let go (an entity looked at no more)
        oldest = min((h.seq for h in self._held.values()), default=point.seq)
        self.conn.execute(f"DELETE FROM {LOG} WHERE seq <= ?", [oldest])

    def holds(self, entity: str, schema: int, known: Any) -> bool | None:
        """Whether the table still holds exactly the rows ``known`` names, at the times it
        gives, with no line of a row gone: so it was found at the last look, but for the rows
        it held apart, and every one of those and every row written since (by this
        connection, or whose base or link the engine wrote) is as ``known`` has it now.
        ``False`` where one of them is not (then, positively, the table does not hold them);
        ``None`` where it cannot be told this way."""
        held = self._held.pop(entity, None)
        carried = getattr(known, "carried", None)
        if held is None or not callable(carried) or held.schema != schema:
            return None
        now = self.point(entity, schema)
        if now.version != held.version:
            return None  # another program wrote the file
        touched = carried(held.mark)
        if touched is None:
            return None
        written = self.conn.execute(
            f"SELECT id, delta FROM {LOG} WHERE entity = ? AND seq > ?",
            [entity, held.seq]).fetchall()
        if any(type(row_id) not in (str, int) or row_id == "" for row_id, _ in written):
            return None  # an id missing, or one no listing reads
        suspects = sorted(touched | held.others | {str(row_id) for row_id, _ in written})
        times = known.times_of(suspects)
        table, line_table, owner, key = TABLES[entity]
        found: dict[str, int | None] = {}
        listed = 0
        for chunk, marks in self._chunks(suspects):
            for row_id, moment in self.conn.execute(
                    f"SELECT CAST({key} AS TEXT), {self._micros.format(u='updated_at')} "
                    f"FROM {table} WHERE {key} IN ({marks})", chunk):
                listed += 1
                found[str(row_id)] = moment
        if listed != len(found):
            return None  # an id shared by several rows
        if any(moment is None for moment in found.values()):
            return None  # a time SQLite cannot read: the full look reads it in Python
        for row_id in suspects:
            if row_id in found:
                if found[row_id] != times.get(row_id):
                    return False
            elif row_id in times:
                return False  # vouched for, but gone
        gone = [row_id for row_id in suspects if row_id not in found]
        if line_table and owner:
            for chunk, marks in self._chunks(gone):
                if self.conn.execute(f"SELECT EXISTS (SELECT 1 FROM {line_table} "
                                     f"WHERE {owner} IN ({marks}))", chunk).fetchone()[0]:
                    return None  # a line left without its row: the full look reports it
        (count,) = self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        if count != held.rows + sum(delta for _, delta in written):
            return None  # a row went without a trigger saying so
        self.conn.execute(f"DELETE FROM {LOG} WHERE entity = ? AND seq <= ?", [entity, now.seq])
        self.hold(entity, schema, now, int(count), known.mark())
        return True

    def rows(self, entity: str) -> int | None:
        """How many rows the table held at the last look that found it as the engine vouched
        for it, with nothing held apart (``None``: no such look is held)."""
        held = self._held.get(entity)
        return held.rows if held is not None and not held.others else None
