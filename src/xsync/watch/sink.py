"""The receiver's side of the state database: events stored, and the health check's answer.

Made in the receiver's thread, on a connection of its own (SQLite connections stay in the thread
that opened them); the loop reads the same tables through the engine's connection.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from xsync.state.db import open_state
from xsync.state.watch import WebhookEvents


class StateSink:
    def __init__(self, db: sqlite_utils.Database, status: Mapping[str, Any],
                 wall: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.db = db
        self.events = WebhookEvents(db)
        self.status = status
        self.wall = wall

    @classmethod
    def at(cls, path: Path, status: Mapping[str, Any]) -> StateSink:
        """A sink over the state database at ``path``, on a connection of its own (the
        receiver's thread), closed by :meth:`close`."""
        return cls(open_state(path), status)

    def add(self, payload: dict[str, Any]) -> int:
        return self.events.add(payload, self.wall().isoformat())

    def health(self) -> dict[str, Any]:
        return {**dict(self.status), "queue_depth": self.events.queue_depth(),
                "last_event_at": self.events.last_received()}

    def close(self) -> None:
        self.db.close()
