"""The watcher's loop over a stand-in engine: what each event asks to sync, the poll budget, the
waits after failures, what stops it and what does not."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from xsync.errors import AuthError, DailyLimitReached, MassDeleteGuard, RunLocked, XsyncError
from xsync.model.entities import ENTITY_ORDER, spec
from xsync.state.db import open_state
from xsync.sync.books import Books
from xsync.sync.plan import RunResult
from xsync.watch.loop import Watcher, WatchOptions, default_poll, entities_for

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


class Engine(Books):
    """The engine's books over an in-memory state database, with a ``run`` that runs nothing:
    each takes the next of ``fates`` (an exception, or a result)."""

    def __init__(self, *fates: Any) -> None:
        super().__init__(open_state(None))
        self.fates = list(fates)
        self.runs: list[tuple[str, list[str] | None]] = []

    def run(self, mode: str, entities: list[str] | None = None, **_: Any) -> RunResult:
        self.runs.append((mode, entities))
        fate = self.fates.pop(0) if self.fates else None
        if isinstance(fate, BaseException):
            raise fate
        return RunResult(len(self.runs), mode)


def watcher(engine: Engine, **options: Any) -> tuple[Watcher, list[float]]:
    now = [0.0]
    made = Watcher(engine, WatchOptions(poll=600, ops_poll=5, **options),  # type: ignore[arg-type]
                   clock=lambda: now[0], wall=lambda: NOW)
    made.start()
    return made, now


def test_what_each_event_category_syncs() -> None:
    assert entities_for(["CONTACT"]) == (["contacts"], [])
    invoice, _ = entities_for(["INVOICE"])
    assert {"contacts", "invoices", "payments", "bills"} <= set(invoice)
    assert invoice == [e for e in ENTITY_ORDER if e in invoice]
    notes, unknown = entities_for(["CREDITNOTE", "SUBSCRIPTION"])
    assert {"contacts", "invoices", "credit_notes"} <= set(notes)
    assert unknown == ["SUBSCRIPTION"]
    assert "allocations" in notes  # a credit note allocated to an invoice
    for category in ("OVERPAYMENT", "PREPAYMENT"):
        found, unknown = entities_for([category])
        assert unknown == []
        assert {"credits", "allocations", "invoices", "credit_notes", "contacts"} <= set(found)
    for found in (invoice, notes, entities_for(["PREPAYMENT"])[0]):
        # with whatever they refer to, and nothing polled only
        assert all(t in found for e in found for t in spec(e).refs.values())
        assert not {"accounts", "tax_rates"} & set(found)


def test_credit_events_sync_credits_and_allocations_and_others_are_told_ignored() -> None:
    engine = Engine()
    loop, now = watcher(engine)
    said: list[str] = []
    loop.say = said.append
    assert loop.tick() is not None  # the sync of every entity at start
    stored = loop.events.add({"events": [
        {"eventCategory": "PREPAYMENT", "eventType": "CREATE", "resourceId": "p-1"},
        {"eventCategory": "SUBSCRIPTION", "eventType": "UPDATE", "resourceId": "s-1"},
        {"eventCategory": "SUBSCRIPTION", "eventType": "UPDATE", "resourceId": "s-2"}],
        "firstEventSequence": 1}, NOW.isoformat())
    assert stored == 3
    loop.arrived(stored)
    now[0] += 1
    outcome = loop.tick()
    assert outcome is not None and outcome.ok
    mode, entities = engine.runs[-1]
    assert mode == "sync" and entities is not None
    assert {"credits", "allocations", "invoices"} <= set(entities)
    assert loop.events.counts() == {"done": 1, "ignored": 2}
    assert any(line.startswith("2 webhook event(s) of category SUBSCRIPTION kept as ignored")
               for line in said), said


def test_the_default_poll_counts_each_endpoint_an_entity_reads() -> None:
    from xsync.model.entities import ENTITY_ORDER
    from xsync.sides.xero import reads_per_scan

    assert [reads_per_scan(e) for e in ("invoices", "credits", "allocations")] == [1, 2, 0]
    every = sum(reads_per_scan(e) for e in ENTITY_ORDER)
    # credits read two endpoints; allocations none while nothing that changes them changed
    assert every == len(ENTITY_ORDER)
    assert every * 86400 / default_poll(every) <= 5000 * 0.25


def test_the_default_poll_keeps_within_a_quarter_of_the_days_calls() -> None:
    assert default_poll(3) == 208 and default_poll(7) == 484
    assert 3 * 86400 / default_poll(3) <= 5000 * 0.25


def test_failed_steps_wait_longer_each_time_and_never_stop_the_watcher() -> None:
    engine = Engine(RunLocked("busy"), XsyncError("a bug"), DailyLimitReached("spent"))
    loop, now = watcher(engine)
    first = loop.tick()
    assert first is not None and not first.ok and first.retry_in == 5
    assert loop.tick() is None
    now[0] += 5
    second = loop.tick()
    assert second is not None and second.retry_in == 10 and second.exit_code == 1
    now[0] += 10
    third = loop.tick()
    assert third is not None and third.exit_code == 7 and third.retry_in == 900
    now[0] += 900
    fourth = loop.tick()
    assert fourth is not None and fourth.ok
    assert [mode for mode, _ in engine.runs] == ["sync"] * 4
    row = loop.row.read()
    assert row is not None and row["state"] == "running"
    assert row["last_error"] == "spent"  # kept for status, with its time


@pytest.mark.parametrize(("fate", "code"), [(MassDeleteGuard("many deletes"), 5),
                                            (AuthError("refused"), 6)])
def test_a_guard_or_a_refused_grant_stops_it(fate: XsyncError, code: int) -> None:
    loop, _ = watcher(Engine(fate))
    assert loop.run() == code
    row = loop.row.read()
    assert row is not None and (row["state"], row["exit_code"]) == ("stopped", code)


def test_a_stop_asked_for_ends_the_run_with_0() -> None:
    engine = Engine()
    loop, _ = watcher(engine)
    loop.say = lambda _line: loop.request_stop()  # asked while the first step runs
    assert loop.run() == 0
    assert len(engine.runs) == 1  # the step in flight was finished, nothing after it


def test_the_loop_survives_its_own_bookkeeping_failing(monkeypatch: pytest.MonkeyPatch) -> None:
    loop, _ = watcher(Engine())
    calls = []

    def pending() -> None:
        calls.append(1)
        if len(calls) == 2:  # the first is the start's
            raise OSError("state database busy")
        if len(calls) > 2:
            loop.request_stop()

    monkeypatch.setattr(loop.events, "pending", pending)
    monkeypatch.setattr("xsync.watch.loop.BACKOFF_FIRST", 0.01)
    said: list[str] = []
    loop.say = said.append
    assert loop.run() == 0
    assert any("the watch loop failed (OSError: state database busy)" in s for s in said), said
