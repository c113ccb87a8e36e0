"""The sync engine's public face: plan and apply, over the books (conflicts, resolve, audit,
status: :mod:`xsync.sync.books`).

The engine sees each side only through the :class:`~xsync.model.side.Side` protocol and keeps
its own state (links, bases, cursors, conflicts, outbox, audit, runs) in the state database.
``plan`` has no side effects; ``apply`` carries out exactly the plan it is given, after the
safety guards (mass delete, empty side), holding the workspace's run lock. ``run`` holds the lock
from the first read to the last write, so the plan it applies cannot be stale; a plan made
outside the lock is refused (:class:`~xsync.errors.StalePlanGuard`) when another run began after
it was made.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import sqlite_utils

from xsync.errors import (
    EmptySideGuard,
    ExitCode,
    MassDeleteGuard,
    SafetyGuard,
    StalePlanGuard,
    XsyncError,
)
from xsync.model.entities import ENTITY_ORDER
from xsync.model.side import Side, SupportsRounds
from xsync.state.db import tune_for_runs
from xsync.state.ledger import IdMap, transaction
from xsync.state.lock import STALE_AFTER, RunLock
from xsync.sync.apply import Applier
from xsync.sync.books import Books, utc_now
from xsync.sync.journal import Journal
from xsync.sync.plan import Plan, ReadError, RunResult
from xsync.sync.planner import MICROSECOND, Earlier, Planner, prove_ops, trust_margin
from xsync.sync.preflight import hold_locked
from xsync.sync.preview import Preview
from xsync.sync.rules import Rules

# a run's exit code as the word the runs table keeps
OUTCOMES = {0: "ok", 1: "unexpected", 2: "usage", 3: "conflicts", 4: "rejected",
            6: "reconnect", 7: "daily limit", 8: "unreachable"}


# records of one entity a run reads, plans and applies at once (two pages of Xero's 1,000): what
# a round holds is most of a large import's memory; each round costs a few statements over every
# link and base of the entity, so fewer, larger rounds cost a little less CPU and more memory
ROUND_RECORDS = 2_000


def stop_stalled(plan: Plan, planner: Planner) -> None:
    """A round that asks for the next one without its cursor moving would have the next round
    read the same records again, without end (and spend the day's Xero calls on them): the
    entity's read stops there, a read error, and so does what refers to it. The rounds read so
    far stand: each of their records was read, and its cursor stays where the stall began."""
    moved = {entity: cursor for side, entity, cursor in plan.cursors if side == "xero"}
    stalled: dict[str, str] = {}
    for entity in plan.more:
        if entity in moved and moved[entity] == planner.cursor("xero", entity):
            stalled[entity] = (
                f"Xero listed the same {entity} again without moving on (from "
                f"{moved[entity] or 'the start'}); the rest of {entity} was not read, rather "
                f"than the same records read again: run `xsync sync` again later")
    if not stalled:
        return
    for entity, reason in stalled.items():
        plan.more.remove(entity)
        plan.read_errors.append(ReadError(entity, "xero", reason, ExitCode.UNEXPECTED))
    # what refers to a stalled entity waits on it, as on any entity not read
    for entity in list(plan.more):
        blocked = planner.blocked(entity, plan)
        if blocked is not None:
            plan.more.remove(entity)
            plan.read_errors.append(blocked)


class Engine(Books):
    """The books (see :class:`~xsync.sync.books.Books`) with the two sides: plan and apply."""

    def __init__(self, state: sqlite_utils.Database, ops: Side, xero: Side, rules: Rules,
                 now: Callable[[], datetime] = utc_now,
                 lock_stale_after: timedelta = STALE_AFTER,
                 lock_date: Callable[[], date | None] | None = None,
                 round_records: int = ROUND_RECORDS) -> None:
        super().__init__(state, now)
        self.ops = ops
        self.xero = xero
        self.rules = rules
        self.lock_stale_after = lock_stale_after
        # the last day Xero takes no posting on (see :mod:`xsync.sync.preflight`), when known
        self.lock_date = lock_date
        self._lock: RunLock | None = None
        # records first paired with their twin in this run's earlier rounds, by entity
        self._paired_now: dict[str, set[str]] | None = None
        # the run's links and aliases while it plans its later rounds: the applier's, which
        # holds every link the run made (one map per run, not one read per round)
        self._ids: IdMap | None = None
        # and what its earlier rounds read and reported (see :class:`Earlier`)
        self._earlier: Earlier | None = None
        # records a run's read of a large entity holds at once (see ``plan``)
        self.round_records = round_records
        tune_for_runs(state)

    # -- plan and apply --------------------------------------------------------------------------

    def plan(self, mode: str, entities: Sequence[str] | None = None) -> Plan:
        """What ``mode`` (pull, push or sync) would do now. Writes nothing anywhere, but
        what a plan made under the run lock proved of the ops side (``Plan.proofs``), or found
        no longer proved (``Plan.stale_proofs``).

        Under the run lock (a run that applies what it plans), a large entity is read in rounds
        where Xero can (:class:`~xsync.model.side.SupportsRounds`): the plan then covers one
        round, and ``Plan.more`` names what ``apply`` plans next, within the same run. A plan
        made outside the lock reads everything, and shows it all (``diff`` and a dry run read
        the same rounds as the run instead: see ``rounds``)."""
        after = self.ledger.last_run()
        # what the run's earlier rounds did; a run's first round begins it
        earlier = self._earlier or (Earlier(applied=True) if self._lock else None)
        planner = Planner(self.ledger, self.ops, self.xero, self.rules, self.now, self._ids,
                          earlier=earlier)
        if self._paired_now is not None:
            # a later round of the same run: records first paired in an earlier one count
            planner.paired_now = self._paired_now
        plan = self._planned(planner, mode, list(entities) if entities is not None else None,
                             in_rounds=self._lock is not None)
        plan.paired_now = planner.paired_now
        if self._lock is not None:
            # applied under this hold of the lock: the run goes on from the same map
            plan.ids = planner.ids
            plan.earlier = earlier
            # what the ops side was proved to hold, kept for the next cycle's quick check; before
            # any write, so that the state database forgets it when a base or link moves. A
            # proof the ops table no longer matches is forgotten: the run proves it anew
            if plan.proofs or plan.stale_proofs:
                with transaction(self.state):
                    for entity in plan.stale_proofs:
                        self.ledger.forget_fingerprint(entity)
                    for proof in plan.proofs:
                        self.ledger.prove_fingerprint(*proof)
        plan.after_run = after
        return plan

    def _planned(self, planner: Planner, mode: str, wanted: list[str] | None, *,
                 in_rounds: bool) -> Plan:
        """``planner``'s plan, read in rounds where asked and Xero can; writes into a locked
        period held as conflicts, and what earlier rounds reported or planned left out."""
        rounds = self.xero if in_rounds and isinstance(self.xero, SupportsRounds) else None
        if rounds is not None:
            rounds.read_in_rounds(self.round_records)
        try:
            plan = planner.plan(mode, wanted)
        finally:
            if rounds is not None:
                rounds.read_in_rounds(None)
        if rounds is not None:
            stop_stalled(plan, planner)
        if self.lock_date is not None:
            hold_locked(plan, self.ledger, self.lock_date)
        if planner.earlier is not None:
            planner.earlier.took(plan)
        return plan

    def rounds(self, mode: str, entities: Sequence[str] | None = None) -> Iterator[Plan]:
        """The plans a run of ``mode`` would apply, round by round as it would read them
        (see ``plan``), none of them applied: each later round goes on from where the one
        before ended and leaves alone what it planned (:class:`~xsync.sync.planner.Earlier`).
        Writes nothing anywhere. A round is planned once the one before it is let go."""
        after = self.ledger.last_run()
        planner = Planner(self.ledger, self.ops, self.xero, self.rules, self.now,
                          earlier=Earlier(applied=False))
        wanted = list(entities) if entities is not None else None
        while True:
            plan = self._planned(planner, mode, wanted, in_rounds=True)
            plan.after_run = after
            wanted = plan.more
            yield plan
            del plan
            if not wanted:
                return

    def preview(self, mode: str, entities: Sequence[str] | None = None) -> Preview:
        """The whole plan a run of ``mode`` would apply, as ``diff`` shows it, holding one
        round in memory (see :mod:`xsync.sync.preview`). Close it once read."""
        wanted = [e for e in ENTITY_ORDER if entities is None or e in entities]
        return Preview(mode, wanted, self.rounds(mode, entities))

    @contextlib.contextmanager
    def locked(self, wait: float = 0.0,
               sleep: Callable[[float], None] = time.sleep) -> Iterator[None]:
        """Hold the workspace's run lock (waiting up to ``wait`` seconds for another run)."""
        if self._lock is not None:
            yield
            return
        lock = RunLock(self.state, self.now, self.lock_stale_after)
        lock.acquire(wait=wait, sleep=sleep)
        self._lock = lock
        try:
            yield
        finally:
            self._lock = None
            lock.release()

    def guard_code(self, plan: Plan | Preview, *, allow_mass_delete: bool = False,
                   allow_empty_side: bool = False) -> int:
        """The safety guard's exit code if applying ``plan`` would stop at one, else 0."""
        try:
            self.check(plan, allow_mass_delete=allow_mass_delete,
                       allow_empty_side=allow_empty_side)
        except SafetyGuard as guard:
            return guard.exit_code
        return ExitCode.OK

    def check(self, plan: Plan | Preview, *, allow_mass_delete: bool = False,
              allow_empty_side: bool = False, deleted: int = 0) -> None:
        """The safety guards; raises before anything is written (``deleted``: what earlier
        rounds of the same run deleted or voided, which counts towards the threshold)."""
        if plan.empty_sides and not allow_empty_side:
            entity, side = plan.empty_sides[0]
            raise EmptySideGuard(
                f"the {side} side listed no {entity} although records are linked; nothing is "
                "deleted on one side because it could not be read on the other",
                entity=entity, side=side, empty=[list(e) for e in plan.empty_sides])
        deletes = plan.deletes + deleted
        if deletes > self.rules.mass_delete_threshold and not allow_mass_delete:
            raise MassDeleteGuard(
                f"the plan deletes or voids {deletes} records, more than the threshold of "
                f"{self.rules.mass_delete_threshold}",
                count=deletes, threshold=self.rules.mass_delete_threshold)

    def apply(self, plan: Plan, *, allow_mass_delete: bool = False,
              allow_empty_side: bool = False, command: str | None = None) -> RunResult:
        """Carry out ``plan``. Guards first; then one entity at a time under the run lock."""
        self.check(plan, allow_mass_delete=allow_mass_delete, allow_empty_side=allow_empty_side)
        with self.locked():
            assert self._lock is not None
            if plan.after_run != self.ledger.last_run():
                raise StalePlanGuard(
                    "another run ended after this plan was made; it may no longer hold",
                    planned_after=plan.after_run, last_run=self.ledger.last_run())
            return self._apply(plan, self._lock, command,
                               {"allow_mass_delete": allow_mass_delete,
                                "allow_empty_side": allow_empty_side})

    def _apply(self, plan: Plan, lock: RunLock, command: str | None,
               flags: dict[str, bool]) -> RunResult:
        outcome, result, journal = "crashed", None, None
        try:
            journal = Journal.begin(self.ledger, plan.ids or IdMap(self.ledger),
                                    command or plan.mode, plan.entities, self.now)
            result = RunResult(journal.run_id, plan.mode)
            applier = Applier(journal, self.ops, self.xero, lock.heartbeat)
            applier.apply(plan, result)
            deleted, current = plan.deletes, plan
            self._paired_now = plan.paired_now
            self._ids = applier.ids
            self._earlier = plan.earlier
            try:
                while current.more:
                    # a round applied lets its steps go before the next is read (the caller
                    # holds the first plan for the whole run), so that a run read in rounds
                    # holds one round at a time
                    current.steps = []
                    # the next round of a read in rounds, and what waited on it: same run,
                    # same guards (the deletes of every round count together)
                    current = self.plan(current.mode, current.more)
                    self.check(current, deleted=deleted, **flags)
                    applier.apply(current, result)
                    deleted += current.deletes
            finally:
                self._paired_now = None
                self._ids = None
                self._earlier = None
            self._prove_ops(plan.entities)
            result.conflicts = self.ledger.conflicts(open_only=True)
            outcome = OUTCOMES.get(result.exit_code, str(result.exit_code))
            return result
        except BaseException as exc:
            outcome = f"failed: {type(exc).__name__}"
            if isinstance(exc, XsyncError) and result is not None:
                # recorded here: the caller must not record the same run again
                exc.data.setdefault("run_id", result.run_id)
            raise
        finally:
            if journal is not None and result is not None:
                failed = outcome.startswith("failed")
                journal.finish(outcome, None if failed else result.exit_code, result.counts,
                               None if failed else result.entity_outcomes(plan.entities))

    def _prove_ops(self, entities: Sequence[str]) -> None:
        """Once a run's writes are done, prove what the ops side holds where they left no
        proof (see :func:`prove_ops`), so that the next cycle needs only the tables' digests.
        A side that cannot be read now is left unproved: the next cycle compares it in full,
        and reports what it cannot read."""
        margin = trust_margin(self.rules) // MICROSECOND
        for entity in entities:
            if self.ledger.proven_fingerprint(entity, margin) is not None:
                continue
            try:
                proof = prove_ops(self.ledger, self.ops, self.rules, entity)
            except XsyncError:
                continue
            if proof is not None:
                with transaction(self.state):
                    self.ledger.prove_fingerprint(*proof)

    def run(self, mode: str, entities: Sequence[str] | None = None, *, wait: float = 0.0,
            sleep: Callable[[float], None] = time.sleep, **flags: Any) -> RunResult:
        """Plan and apply under one hold of the run lock (the plan ``diff`` would show)."""
        with self.locked(wait=wait, sleep=sleep):
            return self.apply(self.plan(mode, entities), **flags)
