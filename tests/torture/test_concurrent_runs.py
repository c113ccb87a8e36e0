"""Two `xsync sync` processes started 0.3 s apart on one workspace, over and over.

The run lock is held from the first read to the last write, so the run that comes second never
applies a plan made from what it read before the first run wrote: it exits 8 at once, naming the
run that holds the workspace, or with `--wait` waits for it and then finds nothing left to do.
Either way the books hold no duplicate payment in ops and no duplicate invoice in Xero.
"""

from __future__ import annotations

import re
import time

import pytest
from e2e_helpers import World, spawn
from torture_helpers import LOCK_MESSAGE, Work, check_books, finish, log_in_again, ran_in_turn

GAP = 0.3


def first_sync(world: World) -> None:
    result = world.run("sync")
    assert result.code == 0, result.out + result.err


def race(world: World, work: Work, round_no: int, *, wait: bool) -> None:
    log_in_again(world)
    work.ops_invoices(f"R{round_no:02d}", 3)
    work.xero_payments(3)
    work.xero_edit(f"round {round_no}")
    world.advance(61)
    # A Xero that answers in 0.1 s makes each run last long enough for the second to overlap it.
    world.sandbox.set_faults(latency_ms=100)
    first_at = time.monotonic()
    first = spawn(world, "sync")
    time.sleep(GAP)
    second_at = time.monotonic()
    second = spawn(world, "sync", *(["--wait", "30"] if wait else []))
    a, b = finish((first, first_at), (second, second_at))
    world.sandbox.clear_faults()
    outcomes = sorted([a.code, b.code])
    if wait:
        # Whichever won the lock, both runs end well: the one that waited ran after the other.
        assert a.code in (0, 8) and b.code == 0, (a, b)
        if a.code == 0:
            assert ran_in_turn(world), "the waiting run began before the one it waited for ended"
    elif outcomes == [0, 0]:
        # a run may be over before the other reaches its first read: then they never met
        assert min(a.ended, b.ended) < max(a.started, b.started) + 5, (a, b)
    else:
        assert outcomes == [0, 8], (a, b)
        loser, winner = (a, b) if a.code == 8 else (b, a)
        assert re.search(LOCK_MESSAGE, loser.err), loser.err
        # "at once": the refused run is gone long before the one holding the lock ends
        assert loser.ended < winner.ended, (loser, winner)
    check_books(world)


def run_rounds(world: World, rounds: int) -> None:
    world.sandbox.set_limits(minute_limit=10_000)
    first_sync(world)
    work = Work(world, seed=6)
    for n in range(rounds):
        race(world, work, n, wait=n % 2 == 1)


def test_two_runs_at_once_never_duplicate(world: World) -> None:
    run_rounds(world, 5)


@pytest.mark.parametrize("wait", [False, True], ids=["refused", "waits"])
def test_a_run_while_another_holds_the_workspace(world: World, wait: bool) -> None:
    """The first run is held inside Xero mid-plan, lock in hand: the second exits 8 at once
    naming it, or with --wait runs once the first is done. No duplicate either way."""
    world.sandbox.set_limits(minute_limit=10_000)
    first_sync(world)
    work = Work(world, seed=7)
    log_in_again(world)
    work.ops_invoices("H", 3)
    work.xero_payments(3)
    world.advance(61)
    world.sandbox.set_faults(hold=True, match="GET /Payments")
    first_at = time.monotonic()
    first = spawn(world, "sync")
    assert world.sandbox.faults.wait_held(1, timeout=60), "the first run never read payments"
    second_at = time.monotonic()
    second = spawn(world, "sync", *(["--wait", "60"] if wait else []))
    if wait:
        time.sleep(1.0)
        assert second.poll() is None, "the waiting run did not wait"
    else:
        assert second.wait(timeout=60) == 8
    world.sandbox.faults.release()
    a, b = finish((first, first_at), (second, second_at))
    world.sandbox.clear_faults()
    assert a.code == 0, a
    if wait:
        assert b.code == 0, (a, b)
        assert ran_in_turn(world), "the waiting run began before the one it waited for ended"
    else:
        assert b.code == 8 and re.search(LOCK_MESSAGE, b.err), b
    check_books(world)


@pytest.mark.slow
def test_two_runs_at_once_never_duplicate_many_rounds(world: World) -> None:
    run_rounds(world, 24)
