"""Crashes, failed writes, resolve, audit, exit codes, cursors and the run lock."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from syncworld import World

from xsync.errors import RunLocked
from xsync.sides.memory import SimulatedCrash
from xsync.state.ledger import Ledger
from xsync.state.lock import RunLock


def numbers(world: World) -> list[str]:
    return sorted(r.fields["number"] or "" for r in world.xero.all("invoices"))


@pytest.mark.parametrize("when", ["before", "mid", "after"])
def test_a_crash_while_writing_to_xero_converges_without_duplicates(world: World,
                                                                    when: str) -> None:
    contact = world.contact("ops", "Acme")
    world.sync()
    for n in range(3):
        world.invoice("ops", f"INV-{n}", contact)
    world.xero.crash = when
    with pytest.raises(SimulatedCrash):
        world.sync()
    pending = world.state.conn.execute(
        "SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0]
    assert pending == 3  # committed before the write was attempted
    result = world.sync()
    assert result.exit_code == 0, result.to_json()
    assert numbers(world) == ["INV-0", "INV-1", "INV-2"]
    assert world.state.conn.execute(
        "SELECT count(*) FROM outbox WHERE state IN ('pending', 'sent')").fetchone()[0] == 0
    assert world.engine().plan("sync").actions == []


def test_a_lost_create_is_resent_with_the_same_idempotency_key(world: World) -> None:
    contact = world.contact("ops", "Acme")
    world.sync()
    world.invoice("ops", "INV-1", contact)
    world.xero.crash = "after"
    with pytest.raises(SimulatedCrash):
        world.sync()
    first_key = world.xero.writes[-1][1].idempotency_key
    # the record reached Xero, but is hidden from scans and lookups: only the key can tell
    hidden = world.xero.all("invoices")[0]
    world.xero.remove("invoices", hidden.id)
    world.xero.crash = None
    world.sync()
    assert world.xero.writes[-1][1].idempotency_key == first_key


def test_a_crash_while_writing_to_ops_does_not_duplicate_there(world: World) -> None:
    contact = world.contact("xero", "Acme")
    world.invoice("xero", "INV-1", contact)
    world.ops.crash = "after"
    with pytest.raises(SimulatedCrash):
        world.sync()
    world.sync()
    assert len(world.ops.all("contacts")) == 1
    assert len(world.ops.all("invoices")) == 1
    assert world.engine().plan("sync").actions == []


@pytest.mark.parametrize("origin", ["ops", "xero"])
def test_edits_on_both_sides_of_a_record_a_crashed_create_wrote_merge(world: World,
                                                                       origin: str) -> None:
    # a create reached the other side, and the run died before hearing so; before the next run
    # the record is edited there (the reference) and where it came from (the due date): what
    # the create sent is the base, so both edits stand and neither is taken for the other's
    target = "xero" if origin == "ops" else "ops"
    sides = {"ops": world.ops, "xero": world.xero}
    contact = world.contact(origin, "Acme")
    world.sync()
    invoice = world.invoice(origin, "INV-1", contact, reference="PO 1", due_date="2026-12-01")
    sides[target].crash = "after"
    with pytest.raises(SimulatedCrash):
        world.sync()
    sides[target].crash = None
    (landed,) = sides[target].all("invoices")
    world.clock.tick(60)
    sides[target].edit("invoices", landed.id, reference="PO 1, edited after the crash")
    world.clock.tick(60)
    sides[origin].edit("invoices", invoice, due_date="2026-12-31")
    result = world.sync()
    assert result.exit_code == 0, result.to_json()
    assert world.engine().plan("sync").actions == []
    (kept,) = world.ops.all("invoices")
    (there,) = world.xero.all("invoices")
    assert kept.fields["reference"] == there.fields["reference"] == "PO 1, edited after the crash"
    assert kept.fields["due_date"] == there.fields["due_date"] == "2026-12-31"


def test_a_failed_record_is_reported_and_retried_without_blocking_others(world: World) -> None:
    ops_a = world.contact("ops", "Acme")
    ops_b = world.contact("ops", "Beta")
    world.sync()
    xero_a = world.xero_id("contacts", ops_a) or ""
    world.ops.edit("contacts", ops_a, city="Perth")
    world.ops.edit("contacts", ops_b, city="Darwin")
    world.xero.fail_next[xero_a] = "Xero said no"
    result = world.sync()
    assert result.exit_code == 4
    [rejected] = result.rejected
    assert (rejected.label, rejected.reason) == ("Acme", "Xero said no")
    assert world.xero.get("contacts", world.xero_id("contacts", ops_b) or "").fields[  # type: ignore[union-attr]
        "city"] == "Darwin"
    ledger = Ledger(world.state)
    assert ledger.retries("contacts", "xero") == {xero_a}
    assert world.sync().exit_code == 0
    assert world.xero.get("contacts", xero_a).fields["city"] == "Perth"  # type: ignore[union-attr]
    # settled: no longer waiting to be looked at again
    assert ledger.retries("contacts", "xero") == set() == ledger.retries("contacts", "ops")


@pytest.mark.parametrize("change", ["create", "edit"])
def test_an_ops_change_xero_refused_is_retried_though_the_ops_side_lists_it_no_more(
        change: str) -> None:
    """An ops side that lists only what changed since its cursor (a plugin's, say) does not
    list the refused change again: the run retries it from the ops record itself, by its id
    (a new contact has no Xero record to be retried by)."""
    world = World(changed_scans=False)
    world.ops.incremental = True
    ops_a = world.contact("ops", "Acme")
    if change == "create":
        world.xero.fail_next[f"contacts:{ops_a}::xero"] = "Xero said no"
    else:
        world.sync()
        world.ops.edit("contacts", ops_a, city="Perth")
        world.xero.fail_next[world.xero_id("contacts", ops_a) or ""] = "Xero said no"
    assert world.sync().exit_code == 4
    assert Ledger(world.state).retries("contacts", "ops") == {ops_a}
    # nothing changed since on either side: the ops side's next listing leaves Acme out
    assert world.sync().exit_code == 0
    there = world.xero.get("contacts", world.xero_id("contacts", ops_a) or "")
    assert there is not None and there.fields["name"] == "Acme"
    if change == "edit":
        assert there.fields["city"] == "Perth"
    assert Ledger(world.state).retries("contacts", "ops") == set()


def test_resolve_takes_a_side_and_the_next_sync_applies_it(world: World) -> None:
    ops_id = world.contact("ops", "Acme")
    world.sync()
    xero_id = world.xero_id("contacts", ops_id) or ""
    world.ops.edit("contacts", ops_id, city="Sydney", region="NSW")
    world.xero.edit("contacts", xero_id, city="Melbourne", region="VIC")
    result = world.sync()
    assert result.exit_code == 3 and len(result.conflicts) == 2
    engine = world.engine()
    city = next(c for c in result.conflicts if c.field == "city")
    region = next(c for c in result.conflicts if c.field == "region")
    engine.resolve(int(city.id or 0), take="xero")
    engine.resolve(int(region.id or 0), value="TAS")
    assert engine.conflicts() == []
    assert world.sync().exit_code == 0
    for rec in (world.ops.get("contacts", ops_id), world.xero.get("contacts", xero_id)):
        assert rec and (rec.fields["city"], rec.fields["region"]) == ("Melbourne", "TAS")
    assert world.engine().plan("sync").actions == []
    settled = world.engine().conflicts(open_only=False)
    assert all(c.applied_at for c in settled)


def test_audit_records_every_applied_field_change(world: World) -> None:
    ops_id = world.contact("ops", "Acme")
    world.sync()
    world.ops.edit("contacts", ops_id, email="new@acme.test")
    world.sync()
    entries = world.engine().audit(entity="contacts", record=ops_id)
    assert (entries[0].action, entries[0].direction) == ("create", "ops->xero")
    [change] = [e for e in entries if e.field == "email"]
    assert (change.old, change.new, change.rule, change.direction) == (
        None, "new@acme.test", "only-ops-changed", "ops->xero")
    status = world.engine().status()
    assert status["open_conflicts"] == 0 and status["links"] == {"contacts": 1}
    assert status["last_run"]["outcome"] == "ok"


def test_cursor_does_not_advance_when_a_side_cannot_be_read(world: World) -> None:
    world.contact("xero", "Acme")
    world.sync()
    cursor = world.state.conn.execute(
        "SELECT cursor FROM cursors WHERE side = 'xero' AND entity = 'contacts'").fetchone()[0]
    world.contact("xero", "Beta")

    def broken(entity: str, cursor: str | None):  # type: ignore[no-untyped-def]
        raise ConnectionError("Xero is down")

    world.xero.scan = broken  # type: ignore[method-assign]
    plan = world.engine().plan("sync")
    unread = {e.entity: e for e in plan.read_errors}
    assert "Xero is down" in unread["contacts"].reason
    assert unread["contacts"].exit_code == 8
    # what refers to contacts is not planned either, and says why
    assert unread["invoices"].cause == "contacts"
    world.engine().apply(plan)
    after = world.state.conn.execute(
        "SELECT cursor FROM cursors WHERE side = 'xero' AND entity = 'contacts'").fetchone()[0]
    assert after == cursor
    del world.xero.scan
    world.sync()
    assert len(world.ops.all("contacts")) == 2


def test_run_lock_refuses_a_live_holder_and_recovers_a_dead_one(world: World) -> None:
    holder = RunLock(world.state, world.clock)
    holder.acquire()
    with pytest.raises(RunLocked):
        world.sync()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    world.state.conn.execute("UPDATE run_lock SET pid = ?", [int(dead.stdout)])
    assert world.sync().exit_code == 0
    # a live pid with a heartbeat older than the stale limit is taken over as well
    holder = RunLock(world.state, world.clock)
    holder.acquire()
    world.state.conn.execute("UPDATE run_lock SET pid = ?", [os.getppid()])
    world.clock.tick(timedelta(minutes=16).total_seconds())
    assert world.sync().exit_code == 0


def test_no_create_in_xero_when_xero_cannot_be_searched_for_it(world: World,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    contact = world.contact("ops", "Acme")
    world.sync()
    world.invoice("ops", "INV-9", contact)

    def broken(entity: str, field: str, values: list[str]) -> list[object]:
        raise ConnectionError("Xero did not answer")

    monkeypatch.setattr(world.xero, "find", broken)
    result = world.sync()
    assert numbers(world) == []
    # a lookup that failed is a failed read of the entity, and the run says so
    assert result.exit_code == 8
    unread = {e.entity: e for e in result.read_errors}
    assert "Xero did not answer" in unread["invoices"].reason
    monkeypatch.undo()
    world.sync()
    assert numbers(world) == ["INV-9"]


def test_finished_outbox_rows_are_pruned(world: World) -> None:
    """The outbox keeps what crash recovery needs, not every write ever made: a write that was
    answered leaves no row behind, a failed one is kept only until the next run."""
    for n in range(3):
        world.contact("ops", f"Customer {n}")
        assert world.sync().exit_code == 0
    assert world.state.conn.execute(
        "SELECT count(*) FROM outbox WHERE state = 'done'").fetchone()[0] == 0
    runs = {r[0] for r in world.state.conn.execute("SELECT DISTINCT run_id FROM outbox")}
    last = world.state.conn.execute("SELECT max(id) FROM runs").fetchone()[0]
    assert runs <= {last}
    # the history is still in the audit log
    created = [e for e in Ledger(world.state).audit(entity="contacts") if e.action == "create"]
    assert len(created) == 3


def test_a_resolution_is_applied_when_neither_side_lists_the_record_again(world: World) -> None:
    """Both sides read incrementally: the cycle after a resolution lists nothing, and the pair
    the resolution settles is still looked at and written."""
    world.ops.incremental = True
    ops_id = world.contact("ops", "Acme")
    world.sync()
    xero_id = world.xero_id("contacts", ops_id) or ""
    world.ops.edit("contacts", ops_id, city="Sydney")
    world.xero.edit("contacts", xero_id, city="Melbourne")
    result = world.sync()
    assert result.exit_code == 3
    [city] = result.conflicts
    world.engine().resolve(int(city.id or 0), value="Hobart")
    assert world.sync().exit_code == 0
    for rec in (world.ops.get("contacts", ops_id), world.xero.get("contacts", xero_id)):
        assert rec and rec.fields["city"] == "Hobart"


def test_a_pair_whose_base_is_missing_is_compared_again_and_its_base_kept(world: World) -> None:
    world.ops.incremental = True
    ops_id = world.contact("ops", "Acme", city="Perth")
    world.sync()
    world.sync()  # xsync's own write read back: from here on neither side lists the contact
    world.state.execute("DELETE FROM bases")
    world.state.conn.commit()
    assert world.sync().exit_code == 0
    assert ops_id in Ledger(world.state).based("contacts")


def test_a_linked_row_deleted_in_ops_is_archived_in_xero_however_ops_lists_rows(
        world: World) -> None:
    """Run over an ops side that lists only changed rows and over one that lists every row:
    either way the cycle after the delete, with Xero unchanged, archives the twin."""
    gone = world.contact("ops", "Acme")
    kept = world.contact("ops", "Bolt")
    for _ in range(3):
        world.clock.tick(600)
        assert world.sync().exit_code == 0
    xero_id = world.xero_id("contacts", gone) or ""
    world.ops.remove("contacts", gone)
    world.clock.tick(600)
    assert world.sync().exit_code == 0
    assert world.xero.get("contacts", xero_id).fields["status"] == "archived"  # type: ignore[union-attr]
    assert world.xero_id("contacts", kept)
