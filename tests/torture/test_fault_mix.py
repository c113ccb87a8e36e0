"""Syncs under a seeded per-call fault mix (5xx, minute-limit 429s, replies lost after the call
committed, latency), then one clean sync.

Every faulty run tells the truth: exit 0 only when it did its whole job (nothing unread, and the
books agree right after it), else 4 or 8 with each unread entity and its cause named. The clean
run afterwards converges: no duplicate, nothing lost, nothing left to do.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import pytest
from e2e_helpers import World
from torture_helpers import Work, check_books, log_in_again

import xsync.cli.session

MILD = {"server_error_rate": 0.15, "rate_limit_rate": 0.1, "lost_rate": 0.1}
HEAVY = {"server_error_rate": 0.55, "rate_limit_rate": 0.15, "lost_rate": 0.15}


@pytest.fixture
def virtual_waits(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The client's retry waits and pacing run on the sandbox's clock, not the wall clock."""
    real: Callable[..., Any] = xsync.cli.session.open_client
    monkeypatch.setattr(xsync.cli.session, "open_client", functools.partial(
        real, sleep=world.sandbox.advance_clock,
        clock=lambda: world.sandbox.now().timestamp()))
    world.sandbox.set_limits(minute_limit=10_000)


def faulty_sync(world: World, rates: dict[str, float], seed: int) -> int:
    world.sandbox.set_faults(mix={**rates, "seed": seed, "status": [500, 502, 503],
                                  "latency_ms": [0, 5], "retry_after": 2})
    result = world.run("sync", "--json")
    injected = world.sandbox.faults.state()[0]["injected"]
    world.sandbox.clear_faults()
    assert result.code in (0, 4, 8), (seed, result.code, result.out, result.err)
    report = json.loads(result.out) if result.out.strip().startswith("{") else None
    if result.code == 0:
        assert report is not None and report["read_errors"] == [], (seed, result.out)
        # exit 0 means the job is done: the books agree now, with no other run in between
        check_books(world)
    elif result.code == 8:
        named = report["read_errors"] if report else []
        assert named or "Xero" in result.err, (seed, result.out, result.err)
        for error in named:
            assert error["entity"] and error["reason"], error
    return sum(injected.values())


def run_mix(world: World, rounds: int) -> None:
    assert world.run("sync").code == 0
    work = Work(world, seed=7)
    for n in range(rounds):
        log_in_again(world)
        work.ops_invoices(f"MIX{n:02d}", 3)
        work.xero_payments(2)
        work.xero_edit(f"mix {n}")
        rates = HEAVY if n % 2 else MILD
        before = world.ops.rows("SELECT count(*) AS n FROM payments")[0]["n"]
        assert faulty_sync(world, rates, seed=1000 + n) > 0, "the mix injected nothing"
        assert world.ops.rows("SELECT count(*) AS n FROM payments")[0]["n"] >= before
    clean = world.run("sync")
    assert clean.code == 0, clean.out + clean.err
    check_books(world)


@pytest.mark.usefixtures("virtual_waits")
def test_syncs_under_a_fault_mix_tell_the_truth_and_the_next_clean_run_converges(
        world: World) -> None:
    run_mix(world, 4)


@pytest.mark.slow
@pytest.mark.usefixtures("virtual_waits")
def test_many_syncs_under_a_fault_mix(world: World) -> None:
    run_mix(world, 16)
