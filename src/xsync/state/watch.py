"""What `xsync watch` keeps in the state database: webhook events and the watcher's own row.

Invariants:
- an event is committed (``webhook_events``) before its delivery is acknowledged; a second
  delivery of the same event (same organisation, category, type, resource, time and sequence
  number) is recognised by its ``dedupe_key`` and adds nothing, however late it comes;
- an event stays ``new`` until a sync that started after it was stored has finished; only then
  is it ``done`` (``settle``), so a watcher killed at any point leaves it to the next one;
- events of another organisation, or of a category nothing syncs, are kept as ``ignored`` with
  the reason, never silently dropped;
- the ``watcher`` row says who watches the workspace (pid, host, since, heartbeat) and how the
  last step went; it never holds a key, token or record value beyond an error's words.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from xsync.state.ledger import transaction
from xsync.state.lock import alive

# the watcher row is taken for running while its heartbeat is younger than this
HEARTBEAT_STALE = timedelta(minutes=2)


def dedupe_key(event: Mapping[str, Any], sequence: int | None) -> str:
    """The identity of one event as Xero sends it; a resend of its payload has the same."""
    parts = [event.get(name) for name in ("tenantId", "eventCategory", "eventType",
                                          "resourceId", "eventDateUtc")]
    text = json.dumps([*parts, sequence], default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class Pending:
    """The events waiting for a sync: up to ``last_id``, per organisation and category."""

    last_id: int
    count: int
    categories: dict[str | None, set[str]]


class WebhookEvents:
    """The ``webhook_events`` table."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def add(self, payload: Mapping[str, Any], received_at: str) -> int:
        """Store the events of one payload (one transaction); returns how many were new."""
        events = payload.get("events")
        if not isinstance(events, list):
            return 0
        first = payload.get("firstEventSequence")
        rows = []
        for index, event in enumerate(events):
            if not isinstance(event, dict):
                event = {"eventCategory": "UNREADABLE", "resourceId": repr(event)[:200]}
            sequence = first + index if isinstance(first, int) else None
            rows.append([dedupe_key(event, sequence), _text(event.get("tenantId")),
                         _text(event.get("eventCategory")) or "UNKNOWN",
                         _text(event.get("eventType")), _text(event.get("resourceId")),
                         _text(event.get("eventDateUtc")), received_at])
        with transaction(self.db):
            before = self.db.conn.total_changes
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO webhook_events (dedupe_key, tenant_id, category, "
                "event_type, resource_id, event_date, received_at, state) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'new')", rows)
            return int(self.db.conn.total_changes - before)

    def pending(self) -> Pending | None:
        row = self.db.conn.execute(
            "SELECT max(id), count(*) FROM webhook_events WHERE state = 'new'").fetchone()
        if not row or row[0] is None:
            return None
        categories: dict[str | None, set[str]] = {}
        for tenant, category in self.db.conn.execute(
                "SELECT DISTINCT tenant_id, category FROM webhook_events "
                "WHERE state = 'new' AND id <= ?", [row[0]]):
            categories.setdefault(tenant, set()).add(category)
        return Pending(int(row[0]), int(row[1]), categories)

    def settle(self, last_id: int, run_id: int | None, at: str) -> int:
        """Mark the new events up to ``last_id`` done by run ``run_id``."""
        with transaction(self.db):
            cursor = self.db.conn.execute(
                "UPDATE webhook_events SET state = 'done', processed_at = ?, run_id = ? "
                "WHERE state = 'new' AND id <= ?", [at, run_id, last_id])
            return int(cursor.rowcount)

    def ignore(self, last_id: int, *, tenants: Iterable[str | None] = (),
               categories: Iterable[str] = (), reason: str, at: str) -> int:
        """Mark new events up to ``last_id`` of these organisations or categories ignored."""
        tenants, categories = list(tenants), list(categories)
        count = 0
        with transaction(self.db):
            for column, values in (("tenant_id", tenants), ("category", categories)):
                for value in values:
                    test = "IS ?" if value is None else "= ?"
                    cursor = self.db.conn.execute(
                        f"UPDATE webhook_events SET state = 'ignored', processed_at = ?, "
                        f"reason = ? WHERE state = 'new' AND id <= ? AND {column} {test}",
                        [at, reason, last_id, value])
                    count += int(cursor.rowcount)
        return count

    def counts(self) -> dict[str, int]:
        return {state: int(n) for state, n in self.db.conn.execute(
            "SELECT state, count(*) FROM webhook_events GROUP BY state")}

    def queue_depth(self) -> int:
        row = self.db.conn.execute(
            "SELECT count(*) FROM webhook_events WHERE state = 'new'").fetchone()
        return int(row[0])

    def last_received(self) -> str | None:
        row = self.db.conn.execute("SELECT max(received_at) FROM webhook_events").fetchone()
        return None if row is None else row[0]

    def prune(self, before: str) -> int:
        """Forget settled events received before ``before`` (Xero stops resending after a
        day; kept longer so a late resend still finds its twin)."""
        with transaction(self.db):
            cursor = self.db.conn.execute(
                "DELETE FROM webhook_events WHERE state != 'new' AND received_at < ?", [before])
            return int(cursor.rowcount)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)[:500]


# -- the watcher row -------------------------------------------------------------------------

WATCHER_FIELDS = ("pid", "host", "started_at", "heartbeat_at", "stopped_at", "exit_code",
                  "listen", "state", "last_step", "last_step_at", "last_error", "last_error_at",
                  "next_try_at")
_UPDATABLE = frozenset(WATCHER_FIELDS) - {"pid", "host", "started_at"}


class WatcherRow:
    """The ``watcher`` table's one row."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.pid = os.getpid()
        self.host = socket.gethostname()

    def read(self) -> dict[str, Any] | None:
        row = self.db.conn.execute(
            f"SELECT {', '.join(WATCHER_FIELDS)} FROM watcher WHERE id = 1").fetchone()
        return None if row is None else dict(zip(WATCHER_FIELDS, row, strict=True))

    def start(self, now: datetime, listen: str | None) -> None:
        at = now.isoformat()
        with transaction(self.db):
            self.db.conn.execute(
                "INSERT OR REPLACE INTO watcher (id, pid, host, started_at, heartbeat_at, "
                "listen, state) VALUES (1, ?, ?, ?, ?, ?, 'running')",
                [self.pid, self.host, at, at, listen])

    def update(self, now: datetime, **fields: Any) -> None:
        """Beat, and set ``fields`` (only while this process owns the row)."""
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise ValueError(f"not watcher fields: {', '.join(sorted(unknown))}")
        names = ["heartbeat_at", *fields]
        values = [now.isoformat(), *fields.values()]
        with transaction(self.db):
            self.db.conn.execute(
                f"UPDATE watcher SET {', '.join(f'{n} = ?' for n in names)} "
                "WHERE id = 1 AND pid = ? AND host = ?", [*values, self.pid, self.host])

    def stop(self, now: datetime, exit_code: int) -> None:
        self.update(now, state="stopped", stopped_at=now.isoformat(), exit_code=exit_code,
                    next_try_at=None)


def watcher_view(db: sqlite_utils.Database, now: datetime,
                 host: str | None = None) -> dict[str, Any] | None:
    """The watcher as `xsync status` shows it: its row, ``running`` (its process is there and
    its heartbeat fresh), the events last received and still waiting; None if none ever ran."""
    row = WatcherRow(db).read()
    if row is None:
        return None
    here = host or socket.gethostname()
    running = row["state"] != "stopped"
    if running and row["host"] == here and not alive(int(row["pid"])):
        running = False
    if running and now - datetime.fromisoformat(row["heartbeat_at"]) > HEARTBEAT_STALE:
        running = False
    events = WebhookEvents(db)
    return {**row, "running": running, "last_event_at": events.last_received(),
            "queue_depth": events.queue_depth()}

