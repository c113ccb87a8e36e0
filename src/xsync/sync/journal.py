"""A run's journal: the one writer of what a run did, in the order crash safety needs.

Apply goes send → read back → settle, and the journal records each stage:

- :meth:`Journal.begin` opens the run: its row, the earlier runs' unfinished writes that this
  plan supersedes let go, and their finished ones forgotten (the audit log keeps them);
- :meth:`Journal.intend` adds a write's outbox row, committed before the side is called; the
  row's idempotency key is derived from it, so a resend after a crash is the same request;
- :meth:`Journal.answered` marks what the side answered and links what it created, in one
  transaction: a create is linked as soon as it succeeded, so a rerun never makes it twice;
- :meth:`Journal.settle` stores the bases and audit entries of a chunk of finished records;
- :meth:`Journal.finish` closes the run's row with its outcome.

A run's links and aliases, bases, audit entries, outbox rows, retries, conflicts and cursors
are written here and nowhere else (``tests/arch`` checks it of the first four, whose methods
no other object shares a name with); planning only reads. A run that stopped before it could
plan is recorded by the books (:meth:`xsync.sync.books.Books.record_failed_run`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from xsync.state.ledger import Base, IdMap, Ledger, OutboxEntry, transaction
from xsync.sync.plan import AuditEntry, Conflict


class Journal:
    def __init__(self, ledger: Ledger, ids: IdMap, run_id: int,
                 now: Callable[[], datetime]) -> None:
        self.ledger = ledger
        self.ids = ids
        self.run_id = run_id
        self.now = now
        # (entity, side) -> the ids waiting in ``retries``, read when first needed and kept as
        # this run adds and clears them: a record with none costs no statement to clear
        self._retry_ids: dict[tuple[str, str], set[str]] = {}

    @classmethod
    def begin(cls, ledger: Ledger, ids: IdMap, command: str, entities: Sequence[str],
              now: Callable[[], datetime]) -> Journal:
        """A new run's journal, its row written, in one transaction with what it lets go."""
        at = now().isoformat()
        with transaction(ledger.db):
            run_id = ledger.run_start(command, list(entities), at)
            # writes a killed run left unsent or unanswered that are not creates: the bases
            # did not move, so this plan already carries whatever is still needed
            ledger.outbox_supersede(run_id, at)
            # and the finished rows of earlier runs are history the audit log keeps
            ledger.outbox_prune(run_id)
        return cls(ledger, ids, run_id, now)

    def finish(self, outcome: str, exit_code: int | None, counts: dict[str, dict[str, int]],
               per_entity: dict[str, dict[str, Any]] | None) -> None:
        with self.transaction():
            self.ledger.run_finish(self.run_id, outcome, exit_code, counts, self.at(),
                                   per_entity)

    def at(self) -> str:
        return self.now().isoformat()

    def transaction(self) -> AbstractContextManager[None]:
        return transaction(self.ledger.db)

    # -- send: each write's intent, committed before the side is called --------------------------

    def intend(self, entries: Iterable[OutboxEntry]) -> list[tuple[int, str]]:
        """New outbox rows, in order: each one's id and idempotency key."""
        return self.ledger.outbox_add_many(self.run_id, entries, self.at())

    def intend_again(self, row_id: int, entry: OutboxEntry) -> tuple[int, str]:
        """An earlier run's row for this write, when it is still unanswered and asks for the same
        (the same key is sent again); else that row is abandoned and a new one added."""
        row = self.ledger.outbox_row(row_id)
        if row and row["payload"] == entry.payload and row["state"] in ("pending", "sent"):
            return row_id, str(row["idempotency_key"])
        self.ledger.outbox_mark(row_id, "abandoned", {"replaced": True}, self.at())
        return self.ledger.outbox_add(self.run_id, entry.entity, entry.action, entry.side,
                                      entry.key, entry.ops_id, entry.xero_id, entry.payload,
                                      self.at())

    # -- read back: what each side answered ------------------------------------------------------

    def answered(self, entity: str, marks: Sequence[tuple[int, str, Any, str]],
                 created: Sequence[tuple[str, str]]) -> None:
        """The outbox rows' answers (row id, state, result, at), and the links of the records
        created (ops id, Xero id), in the caller's transaction."""
        self.ids.link_many(entity, created, "create", self.at())
        self.ledger.outbox_marks(marks)

    def link(self, entity: str, ops_id: str, xero_id: str, rule: str | None) -> None:
        self.ids.link(entity, ops_id, xero_id, rule, self.at())

    def alias(self, entity: str, ops_id: str, xero_id: str) -> None:
        self.ids.alias(entity, ops_id, xero_id, "resolved:alias", self.at())

    def recovered(self, row_ids: Iterable[int]) -> None:
        """Outbox rows a crash left unanswered whose write was found to have reached its side."""
        at = self.at()
        for row_id in row_ids:
            self.ledger.outbox_mark(row_id, "done", {"recovered": True}, at)

    # -- settle: bases, audit, conflicts, retries, cursors ---------------------------------------

    def settle(self, entity: str, bases: Sequence[Base], entries: Sequence[AuditEntry]) -> None:
        """A chunk's bases and audit entries, in the caller's transaction."""
        self.ledger.save_bases(entity, bases, self.at())
        self.ledger.audit_add_many(entries)

    def confirm(self, confirmed: Sequence[Any]) -> None:
        """Bases whose records planning found exactly as based: their times move on."""
        self.ledger.confirm_bases(list(confirmed), self.at())

    def cursor(self, side: str, entity: str, cursor: str | None) -> None:
        self.ledger.set_cursor(side, entity, cursor, self.at())

    def conflict(self, conflict: Conflict, at: str) -> None:
        self.ledger.upsert_conflict(conflict, at)

    def settled(self, conflict_id: int, at: str, take: str | None = None) -> None:
        """A conflict carried out (``take`` "agreed": the sides came to agree by themselves)."""
        self.ledger.settle(conflict_id, at, take=take)

    def retrying(self, entity: str, side: str) -> set[str]:
        key = (entity, side)
        found = self._retry_ids.get(key)
        if found is None:
            found = self._retry_ids[key] = self.ledger.retries(entity, side)
        return found

    def retry(self, entity: str, side: str, record_id: str, reason: str, at: str) -> None:
        self.ledger.add_retry(entity, side, record_id, reason, self.run_id, at)
        self.retrying(entity, side).add(record_id)

    def clear_retry(self, entity: str, side: str, record_id: str | None) -> None:
        waiting = self.retrying(entity, side)
        if record_id and record_id in waiting:
            self.ledger.clear_retry(entity, side, record_id)
            waiting.discard(record_id)
