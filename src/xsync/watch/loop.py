"""The watcher's loop: one engine step at a time, each started by a change or a timer.

Steps, the most pressing first, each an ordinary :meth:`Engine.run` (same run lock, plan, guards,
conflicts and audit as `xsync sync`, recorded as command ``watch``):

- **events**: webhook events waiting in the state database, gathered for ``settle`` seconds
  after the first of a burst, become one incremental sync of the entities they touch (and those
  they refer to; an INVOICE event also means payments, a CREDITNOTE, OVERPAYMENT or PREPAYMENT
  event allocations); the events are marked done only once that sync finished, so events
  stored while it ran wait for the next;
- **push**: the ops side's cheap ``changed_since`` check, every ``ops_poll`` seconds, found a
  change: a push of the entities it names (all, when it cannot tell);
- **poll**: every ``poll`` seconds, an incremental sync of what has no webhook (all entities when
  no webhook key is configured); at start, and every hour, a sync of every entity, which also
  settles whatever a killed run left in the outbox, and the events stored before it began.

A step that fails (a side unreachable, the day's calls spent, a bug) is tried again after 5 s,
10 s, 20 s ... (at most 5 minutes apart; 15 minutes after the daily limit), and never stops the
watcher; a safety guard (exit 5) or a refused grant (exit 6) stops it with that code. A stop
asked for (SIGTERM, Ctrl-C) is honoured between steps, never inside one.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from xsync.errors import ExitCode, RunLocked, StateCorrupt, XsyncError
from xsync.model.entities import ENTITY_ORDER, spec
from xsync.model.side_changes import SupportsChangedSince
from xsync.state.watch import Pending, WatcherRow, WebhookEvents
from xsync.sync.engine import Engine
from xsync.sync.plan import TO_OPS, RunResult

log = logging.getLogger("xsync.watch")

# Xero's calls per organisation per day, and the share of them idle polling may spend
DAY_CALLS = 5000
POLL_SHARE = 0.25
# what has no webhook: read on every poll when webhooks come in
UNHOOKED = ("accounts", "tax_rates", "payments")
BACKOFF_FIRST = 5.0
BACKOFF_CAP = 300.0
DAILY_LIMIT_WAIT = 900.0
FULL_SYNC_EVERY = 3600.0
HEARTBEAT_EVERY = 15.0
KEEP_EVENTS = timedelta(days=3)
STOP_CODES = (ExitCode.SAFETY_GUARD, ExitCode.RECONNECT)
COMMAND = "watch"

# an event's category -> the entities it may have changed (an invoice event can mean a payment:
# payments have no webhook of their own). An allocation is announced by its credit note,
# overpayment or prepayment, with an event of the invoice it lands on; a cash refund of a credit
# is a payment, which the poll reads (the credit's event brings its remaining credit).
CATEGORY_ENTITIES: dict[str, tuple[str, ...]] = {
    "CONTACT": ("contacts",),
    "INVOICE": ("invoices", "bills", "payments"),
    "CREDITNOTE": ("credit_notes", "allocations"),
    "OVERPAYMENT": ("credits", "allocations"),
    "PREPAYMENT": ("credits", "allocations"),
}


def entities_for(categories: Sequence[str]) -> tuple[list[str], list[str]]:
    """(entities to sync, in sync order, with those they refer to; categories nothing syncs)."""
    wanted: set[str] = set()
    unknown = []
    for category in categories:
        found = CATEGORY_ENTITIES.get(category)
        if found is None:
            unknown.append(category)
        wanted.update(found or ())
    todo = list(wanted)
    while todo:
        for target in spec(todo.pop()).refs.values():
            if target not in wanted:
                wanted.add(target)
                todo.append(target)
    return [e for e in ENTITY_ORDER if e in wanted], sorted(unknown)


def default_poll(calls: int, day_calls: int = DAY_CALLS, share: float = POLL_SHARE) -> int:
    """Seconds between polls so that an idle poll (``calls``: one page of each endpoint the
    polled entities read) spends at most ``share`` of the day's calls."""
    return max(60, math.ceil(86400 * calls / (day_calls * share)))


@dataclass
class WatchOptions:
    poll: float
    ops_poll: float
    # None: every entity (no webhooks come in)
    poll_entities: list[str] | None = None
    settle: float = 1.0
    lock_wait: float = 30.0
    tenant_id: str | None = None
    listen: str | None = None
    workspace: str | None = None


@dataclass
class _Retry:
    failures: int = 0
    until: float = 0.0

    def ready(self, now: float) -> bool:
        return now >= self.until


@dataclass
class StepOutcome:
    kind: str
    ok: bool
    exit_code: int
    result: RunResult | None = None
    error: str | None = None
    retry_in: float | None = None


@dataclass
class _Seen:
    conflicts: set[int] = field(default_factory=set)
    rejections: set[tuple[str, str | None, str | None, str]] = field(default_factory=set)
    error: str | None = None


def unread_reason(result: RunResult) -> str:
    """What could not be read, in one sentence per cause: "Xero could not be read (...):
    accounts, contacts"; entities left out only because they refer to those are not repeated."""
    causes: dict[tuple[str, str], list[str]] = {}
    for error in result.read_errors:
        if error.cause:
            continue
        causes.setdefault((error.side, error.reason), []).append(error.entity)
    if not causes:
        first = result.read_errors[0]
        causes[(first.side, first.reason)] = [first.entity]
    where = {"xero": "Xero", "ops": "the ops store"}
    return "; ".join(f"{where.get(side, side)} could not be read ({reason}): {', '.join(names)}"
                     for (side, reason), names in causes.items())


class Watcher:
    """The loop over one engine; ``run`` until :meth:`request_stop`, or ``tick`` step by step.

    ``clock`` (monotonic seconds) times the steps, ``wall`` stamps what is recorded; both are
    injectable so tests move time instead of waiting."""

    def __init__(self, engine: Engine, options: WatchOptions, *,
                 probe: SupportsChangedSince | None = None,
                 notify: Callable[[dict[str, Any]], None] | None = None,
                 say: Callable[[str], None] = lambda _line: None,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], datetime] = lambda: datetime.now(UTC),
                 receiver_error: Callable[[], BaseException | None] = lambda: None) -> None:
        self.engine = engine
        self.options = options
        self.probe = probe
        self.notify = notify
        self.say = say
        self.clock = clock
        self.wall = wall
        self.receiver_error = receiver_error
        self.events = WebhookEvents(engine.state)
        self.row = WatcherRow(engine.state)
        self.wake = threading.Event()
        self.stopping = threading.Event()
        # what the receiver's health check reports, kept current by the loop
        self.health: dict[str, Any] = {}
        now = clock()
        self._next = {"poll": now + options.poll, "ops": now + options.ops_poll,
                      "full": now + FULL_SYNC_EVERY, "beat": now + HEARTBEAT_EVERY}
        self._full_due = True
        self._retry = {kind: _Retry() for kind in ("events", "push", "poll")}
        self._pending_since: float | None = None
        self._ops_token: str | None = None
        # entities the ops side changed that no push has carried yet (None: all of them)
        self._ops_dirty: set[str] | bool | None = False
        self._seen = _Seen()
        self.steps = 0

    # -- the loop --------------------------------------------------------------------------------

    def request_stop(self) -> None:
        self.stopping.set()
        self.wake.set()

    def arrived(self, count: int = 1) -> None:
        """New events were stored (called from the receiver's thread): the burst's gathering
        starts now, if it has not already, and the loop wakes."""
        if self._pending_since is None:
            self._pending_since = self.clock()
        self.wake.set()

    def start(self) -> None:
        """Record the watcher and take the starting points of the checks."""
        since = self.wall()
        self.row.start(since, self.options.listen)
        self.health.update(pid=self.row.pid, since=since.isoformat(), listen=self.options.listen)
        self._seen.conflicts = {int(c.id or 0) for c in self.engine.conflicts()}
        if self.probe is not None:
            self._ops_token, _ = self.probe.changed_since(None)
        self.events.prune((self.wall() - KEEP_EVENTS).isoformat())
        if self.events.pending() is not None:
            # left by an earlier watcher: their burst is long over
            self._pending_since = self.clock() - self.options.settle
        self._publish(state="running")

    def run(self) -> int:
        """Steps until a stop is asked for (0) or a guard or a refused grant stops it (5, 6)."""
        self.start()
        code = 0
        try:
            while not self.stopping.is_set():
                try:
                    outcome = self.tick()
                except Exception as exc:
                    if exc is self.receiver_error():
                        raise
                    # the loop's own bookkeeping failed (a state database busy for long): the
                    # watcher waits and goes on, as after a failed step
                    log.exception("the watch loop failed")
                    self.say(f"the watch loop failed ({type(exc).__name__}: {exc}); "
                             f"trying again in {BACKOFF_FIRST:.0f} s")
                    self.wake.wait(BACKOFF_FIRST)
                    self.wake.clear()
                    continue
                if outcome is not None and outcome.exit_code in STOP_CODES and not outcome.ok:
                    code = outcome.exit_code
                    break
                if outcome is None:
                    self.wake.wait(self._wait())
                    self.wake.clear()
        finally:
            self.row.stop(self.wall(), code)
            self._publish(state="stopped")
        return code

    def _wait(self) -> float:
        now = self.clock()
        due = [self._next["ops"], self._next["beat"], self._next["poll"]]
        if self._pending_since is not None:
            due.append(max(self._pending_since + self.options.settle,
                           self._retry["events"].until))
        return min(1.0, max(0.05, min(due) - now))

    def tick(self) -> StepOutcome | None:
        """At most one step, the most pressing that is due; None when nothing was."""
        now = self.clock()
        broken = self.receiver_error()
        if broken is not None:
            raise broken
        if now >= self._next["beat"]:
            self._next["beat"] = now + HEARTBEAT_EVERY
            self._publish()
        if now >= self._next["full"]:
            self._full_due = True
        pending = self.events.pending()
        self.health["queue_depth"] = pending.count if pending else 0
        if pending is None:
            self._pending_since = None
        elif self._pending_since is None:
            self._pending_since = now
        retry = self._retry
        if self._full_due and retry["poll"].ready(now):
            return self._poll(None, now)
        if (pending is not None and self._pending_since is not None
                and now - self._pending_since >= self.options.settle
                and retry["events"].ready(now)):
            return self._events_step(pending)
        if self.probe is not None and now >= self._next["ops"]:
            self._next["ops"] = now + self.options.ops_poll
            self._check_ops()
        if self._ops_dirty is not False and retry["push"].ready(now):
            return self._push()
        if now >= self._next["poll"] and retry["poll"].ready(now):
            return self._poll(self.options.poll_entities, now)
        return None

    # -- the steps -------------------------------------------------------------------------------

    def _sort_out(self, pending: Pending) -> list[str]:
        """Mark the events nothing here syncs ignored (another organisation's, a category
        xsync does not sync); the entities the others ask for."""
        at = self.wall().isoformat()
        tenant = self.options.tenant_id
        others = [t for t in pending.categories if tenant and t is not None and t != tenant]
        if others:
            self.events.ignore(pending.last_id, tenants=others, at=at,
                               reason="an event of another organisation than this workspace's")
        categories = sorted({c for t, cs in pending.categories.items() if t not in others
                             for c in cs})
        entities, unknown = entities_for(categories)
        if unknown:
            count = self.events.ignore(pending.last_id, categories=unknown, at=at,
                                       reason="xsync syncs nothing of this category")
            self.say(f"{count} webhook event(s) of category {', '.join(unknown)} kept as "
                     f"ignored: xsync syncs nothing of {'it' if len(unknown) == 1 else 'them'}")
        return entities

    def _events_step(self, pending: Pending) -> StepOutcome | None:
        entities = self._sort_out(pending)
        if not entities:
            self._pending_since = None
            return None
        self.say(f"{pending.count} webhook event(s): syncing {', '.join(entities)}")
        outcome = self._step("events", "sync", entities)
        if outcome.ok:
            run_id = outcome.result.run_id if outcome.result else None
            self.events.settle(pending.last_id, run_id, self.wall().isoformat())
            self._pending_since = None
        return outcome

    def _check_ops(self) -> None:
        assert self.probe is not None
        token, changed = self.probe.changed_since(self._ops_token)
        self._ops_token = token
        if changed == []:
            return
        self._dirty(None if changed is None else set(changed))

    def _dirty(self, entities: set[str] | None) -> None:
        if entities is None or self._ops_dirty is None:
            self._ops_dirty = None
        elif self._ops_dirty is False:
            self._ops_dirty = set(entities)
        else:
            assert isinstance(self._ops_dirty, set)
            self._ops_dirty |= entities

    def _push(self) -> StepOutcome:
        dirty = self._ops_dirty
        entities = None if not isinstance(dirty, set) else sorted(dirty, key=ENTITY_ORDER.index)
        self.say(f"ops changed: pushing {', '.join(entities) if entities else 'every entity'}")
        self._ops_dirty = False
        outcome = self._step("push", "push", entities)
        if not outcome.ok:
            self._dirty(None if entities is None else set(entities))
        return outcome

    def _poll(self, entities: list[str] | None, now: float) -> StepOutcome:
        full = entities is None
        # a sync of every entity also does what the events stored before it asked for
        pending = self.events.pending() if full else None
        if pending is not None:
            self._sort_out(pending)
        if full:
            self.say("syncing every entity")
        outcome = self._step("poll", "sync", entities)
        if outcome.ok:
            self._next["poll"] = self.clock() + self.options.poll
            if full:
                self._full_due = False
                self._next["full"] = self.clock() + FULL_SYNC_EVERY
            if pending is not None:
                run_id = outcome.result.run_id if outcome.result else None
                self.events.settle(pending.last_id, run_id, self.wall().isoformat())
        return outcome

    def _step(self, kind: str, mode: str, entities: list[str] | None) -> StepOutcome:
        self.steps += 1
        try:
            result = self.engine.run(mode, entities, wait=self.options.lock_wait,
                                     command=COMMAND)
        except XsyncError as exc:
            if not isinstance(exc, RunLocked | StateCorrupt) and "run_id" not in exc.data:
                wanted = [e for e in ENTITY_ORDER if entities is None or e in entities]
                self.engine.record_failed_run(COMMAND, wanted, exc, self.wall())
            return self._failed(kind, exc.exit_code, str(exc), None)
        except Exception as exc:
            log.exception("watch step %s failed", kind)
            return self._failed(kind, ExitCode.UNEXPECTED, f"{type(exc).__name__}: {exc}", None)
        self._after_ops_writes(result)
        self._report(kind, result)
        if result.read_errors:
            return self._failed(kind, result.exit_code, unread_reason(result), result)
        self._retry[kind] = _Retry()
        self._seen.error = None
        self._publish(state="running", last_step=kind, last_step_at=self.wall().isoformat(),
                      next_try_at=None)
        return StepOutcome(kind, True, result.exit_code, result)

    def _after_ops_writes(self, result: RunResult) -> None:
        """Our own writes to the ops side are not a change to push back; anything else the
        check sees now still is."""
        if self.probe is None:
            return
        wrote = {o.entity for o in result.applied if o.direction == TO_OPS}
        if not wrote:
            return
        token, changed = self.probe.changed_since(self._ops_token)
        self._ops_token = token
        if changed is None:
            return  # our writes moved it, and nothing else is known to have
        others = set(changed) - wrote
        if others:
            self._dirty(others)

    def _failed(self, kind: str, code: int, reason: str,
                result: RunResult | None) -> StepOutcome:
        now = self.clock()
        at = self.wall()
        if code in STOP_CODES:
            self.say(f"stopping: {reason} (exit {code})")
            self._publish(state="stopped", last_error=reason, last_error_at=at.isoformat())
            self._notify("stopped", kind, code, result, reason)
            return StepOutcome(kind, False, code, result, reason)
        retry = self._retry[kind]
        wait = DAILY_LIMIT_WAIT if code == ExitCode.DAILY_LIMIT else min(
            BACKOFF_CAP, BACKOFF_FIRST * 2 ** retry.failures)
        retry.failures += 1
        retry.until = now + wait
        next_at = at + timedelta(seconds=wait)
        self.say(f"{kind} failed: {reason} (exit {code}); trying again in {wait:.0f} s")
        self._publish(state="retrying", last_error=reason, last_error_at=at.isoformat(),
                      next_try_at=next_at.isoformat(), last_step=kind,
                      last_step_at=at.isoformat())
        if reason != self._seen.error:
            self._seen.error = reason
            self._notify("failed", kind, code, result, reason)
        return StepOutcome(kind, False, code, result, reason, wait)

    def _report(self, kind: str, result: RunResult) -> None:
        counts = ", ".join(f"{entity} {n} {action}" for entity, per in result.counts.items()
                           for action, n in sorted(per.items()))
        self.say(f"{kind}: run {result.run_id}, {counts or 'no change'}, exit {result.exit_code}")
        new_conflicts = [c for c in result.conflicts if int(c.id or 0) not in self._seen.conflicts]
        self._seen.conflicts |= {int(c.id or 0) for c in result.conflicts}
        new_rejections = []
        for r in result.rejected:
            key = (r.entity, r.ops_id, r.xero_id, r.reason)
            if key not in self._seen.rejections:
                self._seen.rejections.add(key)
                new_rejections.append(r)
        if new_rejections or new_conflicts:
            outcome = "rejected" if new_rejections else "conflicts"
            self._notify(outcome, kind, result.exit_code, result, None,
                         conflicts=[c.to_json() for c in new_conflicts],
                         rejected=[r.to_json() for r in new_rejections])

    def _notify(self, outcome: str, kind: str, code: int, result: RunResult | None,
                error: str | None, **extra: Any) -> None:
        if self.notify is None:
            return
        summary = {"outcome": outcome, "step": kind, "exit_code": code,
                   "run_id": result.run_id if result else None, "error": error,
                   "workspace": self.options.workspace, "at": self.wall().isoformat(),
                   "conflicts": [], "rejected": [], **extra}
        try:
            self.notify(summary)
        except Exception:  # a notification must never stop the watcher
            log.exception("--notify-command failed")

    def _publish(self, **fields: Any) -> None:
        """Keep the watcher row (for `xsync status`) and the health check current."""
        self.health.update({k: v for k, v in fields.items()})
        if fields.get("state") == "stopped":
            return
        try:
            self.row.update(self.wall(), **fields)
        except Exception:  # a busy state database delays the heartbeat, nothing more
            log.warning("could not record the watcher's heartbeat", exc_info=True)
