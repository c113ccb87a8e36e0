"""The engine's books: what the state database keeps of a workspace's sync, for every command.

:class:`Books` is the part of the engine that needs neither side: the audit trail, conflicts
and their settling, runs, the writes waiting in the outbox, the run lock, the watcher, the
connection's facts. :class:`~xsync.sync.engine.Engine` is a :class:`Books` with the two sides
added. The commands that read or settle without syncing (`status`, `log`, `resolve`, `doctor`,
`bas`, `connect`, `init`) open a :class:`Books`; none of them opens the state database or runs
a statement on it themselves.

Invariants:
- :meth:`Books.opened` turns SQLite's word that the file is damaged into
  :class:`~xsync.errors.StateCorrupt` naming it, for every read made while it is open, and
  closes the file on the way out, whatever happened;
- settling a conflict writes only the state database; the next sync writes the chosen value
  to both sides;
- a run that stopped before it could plan is recorded as a run, entity by entity, with why.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from xsync.errors import AuthError, SideUnreachable, UsageError, XeroError, XsyncError
from xsync.state import connection as _connection
from xsync.state.bas import BasLedger
from xsync.state.db import damage_named, open_state
from xsync.state.health import StateHealth, state_health
from xsync.state.ledger import Base, Ledger, transaction
from xsync.state.lock import alive
from xsync.state.watch import watcher_view
from xsync.sync.plan import AuditEntry, Conflict
from xsync.sync.preflight import LOCKED


class ConflictNotFound(UsageError):
    """``xsync resolve`` named a conflict that does not exist. ``conflict_id``: the id given."""

    hint = "List open conflicts with `xsync resolve --list`."


def utc_now() -> datetime:
    return datetime.now(UTC)


class Books:
    """A workspace's state database as the engine keeps it."""

    def __init__(self, state: sqlite_utils.Database,
                 now: Callable[[], datetime] = utc_now) -> None:
        self.state = state
        self.now = now
        self.ledger = Ledger(state)
        self._bas: BasLedger | None = None

    @classmethod
    @contextlib.contextmanager
    def opened(cls, path: Path | str) -> Iterator[Books]:
        """The books of the state database at ``path`` (created and brought up to date if
        needed), closed on the way out."""
        with damage_named(path):
            state = open_state(path)
            try:
                yield cls(state)
            finally:
                state.close()

    @staticmethod
    def create(path: Path | str) -> None:
        """Make the state database at ``path`` ready (a new workspace), then close it."""
        open_state(path).close()

    @staticmethod
    def health(path: Path | str) -> StateHealth:
        """Whether the state database at ``path`` can be read, without changing it."""
        return state_health(path)

    @property
    def bas(self) -> BasLedger:
        """What `xsync bas` keeps: the documents it read, its settings, the periods lodged."""
        if self._bas is None:
            self._bas = BasLedger(self.state)
        return self._bas

    # -- conflicts -------------------------------------------------------------------------------

    def conflicts(self, open_only: bool = True, entity: str | None = None) -> list[Conflict]:
        return self.ledger.conflicts(open_only=open_only, entity=entity)

    def resolve(self, conflict_id: int, take: str | None = None,
                value: str | None = None) -> Conflict:
        """Settle a conflict: ``take`` "ops" or "xero" picks that side's value, else ``value``.

        Needs neither side: the next sync writes the chosen value to both. For an ambiguous
        match, ``value`` is the Xero id to link to; ``take="ops"`` keeps the record apart
        (created in Xero); ``take="xero"`` links to the first candidate.
        """
        conflict = self.ledger.conflict(conflict_id)
        if conflict is None:
            raise ConflictNotFound(f"no conflict {conflict_id}", conflict_id=conflict_id)
        if conflict.field == LOCKED:
            raise UsageError(
                f"conflict {conflict_id} is a write into a period Xero has locked "
                f"({conflict.reason}); it is settled in Xero (the lock date) or in the ops "
                "platform (the document's date), and closes by itself on the next sync",
                conflict_id=conflict_id)
        if conflict.field == "_number":
            raise UsageError(
                f"conflict {conflict_id} is a number used twice ({conflict.reason}); it is "
                "settled in the ops platform, by giving the new record another number, and "
                "closes by itself on the next sync", conflict_id=conflict_id)
        if take not in (None, "ops", "xero"):
            raise UsageError(f"take must be ops or xero, not {take!r}", take=take)
        if conflict.field == "_match":
            chosen = value if value is not None else ("" if take == "ops" else None)
        elif take == "ops":
            chosen = conflict.ops
        elif take == "xero":
            chosen = conflict.xero
        else:
            chosen = value
        with transaction(self.state):
            self.ledger.resolve(conflict_id, take, chosen, self.now().isoformat())
        resolved = self.ledger.conflict(conflict_id)
        assert resolved is not None
        return resolved

    def resolve_all(self, take: str, entity: str | None = None) -> list[Conflict]:
        return [self.resolve(int(c.id or 0), take=take)
                for c in self.conflicts(open_only=True, entity=entity)]

    # -- history ---------------------------------------------------------------------------------

    def audit(self, since: str | datetime | None = None, entity: str | None = None,
              record: str | None = None) -> list[AuditEntry]:
        text = since.isoformat() if isinstance(since, datetime) else since
        return self.ledger.audit(text, entity, record)

    def status(self) -> dict[str, Any]:
        runs = self.ledger.runs(limit=1)
        return {
            "last_run": runs[0] if runs else None,
            "last_run_per_entity": self.ledger.last_run_per_entity(),
            "open_conflicts": len(self.ledger.conflicts(open_only=True)),
            "outbox": self.ledger.outbox_counts(),
            "links": self.ledger.link_counts(),
        }

    def last_runs(self) -> dict[str, dict[str, Any]]:
        """Each entity's last run, by entity."""
        return self.ledger.last_run_per_entity()

    def record_failed_run(self, command: str, entities: Sequence[str], exc: XsyncError,
                          now: datetime | None = None) -> int:
        """A run that stopped before it could plan or apply (ops.db or Xero not reachable, a
        guard, a refused grant) is a run too: `xsync status` must show it, entity by entity,
        with why."""
        unread = isinstance(exc, SideUnreachable | AuthError | XeroError)
        outcome = "unread" if unread else "failed"
        reason = str(exc)
        per = {e: {"outcome": outcome, "reason": reason, "exit_code": exc.exit_code}
               for e in entities}
        at = (now or self.now()).isoformat()
        with transaction(self.state):
            run_id = self.ledger.run_start(command, list(entities), at)
            self.ledger.run_finish(run_id, f"failed: {type(exc).__name__}", exc.exit_code, {},
                                   at, per)
        return run_id

    # -- what waits ------------------------------------------------------------------------------

    def pending_writes(self) -> int:
        """Writes in the outbox not yet answered (pending or sent)."""
        return sum(n for state, n in self.ledger.outbox_counts().items()
                   if state in ("pending", "sent"))

    def unfinished_writes(self) -> list[dict[str, Any]]:
        return self.ledger.outbox_unfinished()

    def run_lock(self) -> dict[str, Any] | None:
        """The run lock's row, when a run holds it (or held it and died)."""
        return self.ledger.run_lock()

    @staticmethod
    def alive(pid: int) -> bool:
        """Whether a process of this machine with that id still runs (a lock's holder)."""
        return alive(pid)

    def bases(self, entity: str) -> dict[str, Base]:
        return self.ledger.bases(entity)

    def aliases(self, entity: str) -> dict[str, str]:
        """ops id -> Xero id of ops records that follow another ops record's Xero twin."""
        return self.ledger.aliases(entity)

    def watcher(self, now: datetime | None = None) -> dict[str, Any] | None:
        """`xsync watch` as the state database last heard of it, or ``None`` if never run."""
        return watcher_view(self.state, now or self.now())


# -- the connection's facts: each opens the file on its own, since `connect` holds no books, and the
#    rate-limit readings are advisory (a busy database is skipped, never waited on) --------------

load_connection = _connection.load_connection
save_connection = _connection.save_connection
clear_connection = _connection.clear_connection
save_limits = _connection.save_limits
load_limits = _connection.load_limits
