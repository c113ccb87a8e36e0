"""kill -9 at many points of a sync that pushes and pulls, each followed by a normal run.

Each point starts from the same books with work on both sides (new ops invoices and a new
contact to push, ops edits to a linked invoice and contact, payments and a contact edit made in
Xero to pull), kills `xsync sync` at that point, and runs `xsync sync` once more. Afterwards
Xero and ops agree, nothing is there twice, nothing is missing, and `diff` has nothing to do.

The points are known ones (a Xero call held in the sandbox, the ops store locked so the run
stops just before its first ops write) and seeded delays that land anywhere in the run.
"""

from __future__ import annotations

import random
import sqlite3
import time
from dataclasses import dataclass

import pytest
from e2e_helpers import World, kill, kill_while_held, spawn
from torture_helpers import Work, check_books


@dataclass(frozen=True)
class KillPoint:
    kind: str          # "hold" a Xero call, "ops_locked" before the first ops write, "delay"
    arg: str | float = ""

    def __str__(self) -> str:
        return f"{self.kind}-{self.arg}" if self.arg != "" else self.kind


def prepare(world: World) -> None:
    result = world.run("sync")
    assert result.code == 0, result.out + result.err
    work = Work(world, seed=11)
    work.ops_invoices("KILL", 4)
    linked = world.ops.one("SELECT * FROM invoices WHERE number = 'INV-0013'")
    world.ops.execute("UPDATE invoices SET reference = 'Edited in ops', updated_at = "
                      "'2026-11-24T10:30:00Z' WHERE id = ?", [linked["id"]])
    contact = world.ops.rows("SELECT * FROM contacts WHERE status = 'active' ORDER BY id")[0]
    world.ops.execute("UPDATE contacts SET phone = '02 9000 0000', updated_at = "
                      "'2026-11-24T10:30:00Z' WHERE id = ?", [contact["id"]])
    work.xero_payments(2)
    work.xero_edit("kill")
    world.advance(61)


def _pending_ops_writes(world: World) -> int:
    conn = sqlite3.connect(f"file:{world.root / 'state.db'}?mode=ro", uri=True, timeout=5)
    try:
        return int(conn.execute("SELECT count(*) FROM outbox WHERE side = 'ops' "
                                "AND state = 'pending'").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def kill_at(world: World, point: KillPoint) -> None:
    if point.kind == "hold":
        kill_while_held(world, str(point.arg), "sync")
    elif point.kind == "ops_locked":
        blocker = sqlite3.connect(world.root / "ops.db", timeout=0)
        blocker.execute("BEGIN IMMEDIATE")
        proc = spawn(world, "sync")
        try:
            deadline = time.monotonic() + 60
            while _pending_ops_writes(world) == 0:
                assert proc.poll() is None, "the run ended before it wrote to ops"
                assert time.monotonic() < deadline, "the run never came to write to ops"
                time.sleep(0.02)
        finally:
            kill(proc)
            blocker.rollback()
            blocker.close()
    else:
        proc = spawn(world, "sync")
        time.sleep(float(point.arg))
        kill(proc)


def rerun_and_check(world: World, point: KillPoint) -> None:
    prepare(world)
    kill_at(world, point)
    result = world.run("sync")
    assert result.code == 0, f"after a kill at {point}: {result.out}{result.err}"
    check_books(world)


SHORT = [
    pytest.param(KillPoint("hold", "GET /Invoices"), id="pull-reading-invoices"),
    pytest.param(KillPoint("hold", "GET /Payments"), id="pull-reading-payments"),
    pytest.param(KillPoint("hold", "POST /Invoices"), id="push-invoice-batch"),
    pytest.param(KillPoint("ops_locked"), id="pull-before-ops-write"),
]

_delays = random.Random(20261124)
LONG = [
    pytest.param(KillPoint("hold", "GET /Contacts"), id="pull-reading-contacts"),
    pytest.param(KillPoint("hold", "GET /CreditNotes"), id="pull-reading-credit-notes"),
    pytest.param(KillPoint("hold", "POST /Contacts"), id="push-contact-batch"),
    *(pytest.param(KillPoint("delay", round(_delays.uniform(0.4, 3.0), 2)), id=f"delay-{n:02d}")
      for n in range(20)),
]


@pytest.mark.parametrize("point", SHORT)
def test_a_killed_sync_is_finished_by_the_next_run(world: World, point: KillPoint) -> None:
    rerun_and_check(world, point)


@pytest.mark.slow
@pytest.mark.parametrize("point", LONG)
def test_a_killed_sync_is_finished_by_the_next_run_sweep(world: World, point: KillPoint) -> None:
    rerun_and_check(world, point)
