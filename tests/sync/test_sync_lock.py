"""One run at a time: the run lock spans planning and applying, and a stale plan is refused."""

from __future__ import annotations

import pytest
from syncworld import World

from xsync.errors import ExitCode, RunLocked, StalePlanGuard
from xsync.state.lock import RunLock


def test_the_lock_is_held_while_the_sides_are_read(world: World,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    world.contact("ops", "Acme")
    seen: list[int] = []
    scan = world.ops.scan

    def watching(entity: str, cursor: str | None):  # type: ignore[no-untyped-def]
        seen.append(world.state.conn.execute("SELECT count(*) FROM run_lock").fetchone()[0])
        return scan(entity, cursor)

    monkeypatch.setattr(world.ops, "scan", watching)
    world.sync()
    assert seen and all(n == 1 for n in seen)
    assert world.state.conn.execute("SELECT count(*) FROM run_lock").fetchone()[0] == 0


def test_a_plan_made_before_another_run_is_refused(world: World) -> None:
    world.contact("ops", "Acme")
    stale = world.engine().plan("sync")
    world.sync()
    with pytest.raises(StalePlanGuard):
        world.engine().apply(stale)
    # nothing was written twice: one contact in Xero
    assert len(world.xero.all("contacts")) == 1


def test_a_held_workspace_refuses_at_once_with_when_and_who(world: World) -> None:
    holder = RunLock(world.state, world.clock)
    holder.acquire()
    with pytest.raises(RunLocked) as raised:
        world.sync()
    assert raised.value.exit_code == ExitCode.UNREACHABLE
    assert f"pid {holder.pid}" in str(raised.value)
    assert "since" in str(raised.value)


def test_wait_takes_the_lock_once_the_other_run_is_done(world: World) -> None:
    world.contact("ops", "Acme")
    holder = RunLock(world.state, world.clock)
    holder.acquire()
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        if sum(slept) >= 2:
            holder.release()

    result = world.engine().run("sync", wait=30, sleep=sleep)
    assert result.exit_code == 0
    assert 2 <= sum(slept) < 30
    assert len(world.xero.all("contacts")) == 1


def test_wait_gives_up_after_its_time(world: World) -> None:
    holder = RunLock(world.state, world.clock)
    holder.acquire()
    slept: list[float] = []
    with pytest.raises(RunLocked):
        world.engine().run("sync", wait=3, sleep=slept.append)
    assert sum(slept) == pytest.approx(3)
