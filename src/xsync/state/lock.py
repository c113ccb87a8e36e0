"""One run at a time per workspace: a lock row in the state database.

The row names its owner (a random token, the pid and host) and carries a heartbeat. A lock whose
owner process is gone (same host) or whose heartbeat is older than ``stale_after`` is taken over,
so a crashed run never blocks the workspace for good.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlite_utils

from xsync.errors import RunLocked
from xsync.state.ledger import transaction

# a run lock whose heartbeat is older than this is taken for abandoned
STALE_AFTER = timedelta(minutes=15)


def alive(pid: int) -> bool:
    """Whether a process of this id runs on this machine (one of another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunLock:
    def __init__(self, db: sqlite_utils.Database, now: Callable[[], datetime],
                 stale_after: timedelta = STALE_AFTER) -> None:
        self.db = db
        self.now = now
        self.stale_after = stale_after
        self.token = uuid.uuid4().hex
        self.pid = os.getpid()
        self.host = socket.gethostname()

    def acquire(self, wait: float = 0.0, sleep: Callable[[float], None] = time.sleep,
                poll: float = 0.5) -> None:
        """Take the lock, waiting up to ``wait`` seconds for the run that holds it."""
        waited = 0.0
        while True:
            try:
                return self._try()
            except RunLocked:
                if waited >= wait:
                    raise
                step = min(poll, wait - waited)
                sleep(step)
                waited += step

    def _try(self) -> None:
        now = self.now()
        with transaction(self.db):
            row = self.db.conn.execute(
                "SELECT token, pid, host, heartbeat_at, acquired_at FROM run_lock "
                "WHERE id = 1").fetchone()
            if row is not None and row[0] != self.token and self._held(row, now):
                since = datetime.fromisoformat(row[4])
                raise RunLocked(
                    f"another run holds the workspace since {since:%H:%M} UTC, pid {row[1]}"
                    + ("" if row[2] == self.host else f" on {row[2]}"),
                    pid=row[1], host=row[2], since=row[4], heartbeat_at=row[3])
            self.db.conn.execute(
                "INSERT OR REPLACE INTO run_lock (id, token, pid, host, acquired_at, "
                "heartbeat_at) VALUES (1, ?, ?, ?, ?, ?)",
                [self.token, self.pid, self.host, now.isoformat(), now.isoformat()])

    def _held(self, row: tuple[str, int, str, str, str], now: datetime) -> bool:
        _, pid, host, heartbeat, _ = row
        if host == self.host and not alive(int(pid)):
            return False
        return now - datetime.fromisoformat(heartbeat) < self.stale_after

    def heartbeat(self) -> None:
        with transaction(self.db):
            self.db.conn.execute("UPDATE run_lock SET heartbeat_at = ? WHERE id = 1 AND token = ?",
                                 [self.now().isoformat(), self.token])

    def release(self) -> None:
        with transaction(self.db):
            self.db.conn.execute("DELETE FROM run_lock WHERE id = 1 AND token = ?", [self.token])
