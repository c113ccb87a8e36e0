"""`xsync watch` as a user runs it: a process receiving the sandbox's webhooks and watching
ops.db, each change synced within seconds, stopped by SIGTERM."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
from e2e_helpers import World, kill
from watch_helpers import KEY, PATIENCE, Watch, event_states, state_rows, wait_until

from xsync.state.db import open_state
from xsync.state.ledger import Ledger


@pytest.fixture
def watched(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The world after its first sync, with a webhook key and room for many calls a minute."""
    monkeypatch.setenv("XSYNC_WEBHOOK_KEY", KEY)
    world.sandbox.set_limits(minute_limit=100_000, reset=True)
    result = world.run("sync")
    assert result.code == 0, result.out + result.err
    yield world


def test_changes_flow_both_ways_in_seconds_and_sigterm_stops_cleanly(watched: World) -> None:
    world = watched
    watch = Watch(world)
    try:
        hook = watch.register()
        assert hook["status"] == "OK", hook

        invoice = world.xero.invoice("INV-0011")
        world.xero.update_invoice(invoice, Reference="seen by webhook")
        wait_until(lambda: world.ops.one("SELECT reference FROM invoices WHERE number = ?",
                                         ["INV-0011"])["reference"] == "seen by webhook",
                   "the Xero change in ops")
        wait_until(lambda: event_states(world).get("done"), "the event marked done")

        draft = world.ops.one("SELECT id, number FROM invoices WHERE status = 'draft' "
                              "ORDER BY number LIMIT 1")
        world.ops.execute("UPDATE invoices SET status = 'approved', "
                          "updated_at = '2026-11-24T10:05:00Z' WHERE id = ?", [draft["id"]])
        wait_until(lambda: world.xero.invoice(draft["number"])["Status"] == "AUTHORISED",
                   "the ops approval in Xero")
        code, out, err = watch.terminate()
    finally:
        watch.close()
    assert code == 0, out + err
    assert "stopped (exit 0)" in out
    assert KEY not in out + err
    (row,) = state_rows(world, "SELECT state, exit_code FROM watcher")
    assert row == ("stopped", 0)


def test_killed_right_after_acknowledging_200_events_a_restart_processes_each_once(
    watched: World,
) -> None:
    world = watched
    names = [f"Kill Test Customer {n:03d}" for n in range(200)]
    watch = Watch(world)
    try:
        assert watch.register()["status"] == "OK"
        wait_until(lambda: (watch.healthy() or {}).get("last_step"), "the sync at start")
        # the watcher's read of the new contacts is held inside Xero: it is killed there
        world.sandbox.set_faults(hold=True, match="GET /Contacts")
        for start in range(0, 200, 50):
            world.xero.call("PUT", "/Contacts", {"Contacts": [
                {"Name": name} for name in names[start:start + 50]]})
        assert world.sandbox.webhooks_out.flush(30)
        assert event_states(world) == {"new": 200}  # every one acknowledged only once stored
        assert world.sandbox.faults.wait_held(1, timeout=PATIENCE)
        kill(watch.proc)
    finally:
        watch.close()
        world.sandbox.clear_faults()
    assert event_states(world) == {"new": 200}

    again = Watch(world, port=watch.port)
    try:
        wait_until(lambda: event_states(world) == {"done": 200}, "the events processed")
        code, out, err = again.terminate()
    finally:
        again.close()
    assert code == 0, out + err
    rows = world.ops.rows("SELECT name, count(*) AS n FROM contacts "
                          "WHERE name LIKE 'Kill Test Customer %' GROUP BY name")
    assert len(rows) == 200 and {r["n"] for r in rows} == {1}
    state = open_state(world.root / "state.db")
    try:
        creates = [e for e in Ledger(state).audit(entity="contacts") if e.action == "create"
                   and (e.label or "").startswith("Kill Test Customer ")]
    finally:
        state.close()
    assert len(creates) == 200


def test_sigterm_mid_push_finishes_it_and_a_restart_duplicates_nothing(watched: World) -> None:
    world = watched
    draft = world.ops.one("SELECT id, number FROM invoices WHERE status = 'draft' "
                          "ORDER BY number LIMIT 1")
    watch = Watch(world)
    try:
        wait_until(lambda: (watch.healthy() or {}).get("last_step"), "the sync at start")
        world.sandbox.set_faults(hold=True, match="POST /Invoices")
        world.ops.execute("UPDATE invoices SET status = 'approved', "
                          "updated_at = '2026-11-24T10:05:00Z' WHERE id = ?", [draft["id"]])
        assert world.sandbox.faults.wait_held(1, timeout=PATIENCE)
        watch.proc.send_signal(signal.SIGTERM)
        world.sandbox.clear_faults()  # the held write goes through; its answer comes back
        code, out, err = watch.terminate()
    finally:
        watch.close()
        world.sandbox.clear_faults()
    assert code == 0, out + err
    assert "stopping after the step in flight" in err
    pending = state_rows(world, "SELECT count(*) FROM outbox WHERE state IN ('pending', 'sent')")
    assert pending == [(0,)]
    assert world.xero.invoice(draft["number"])["Status"] == "AUTHORISED"  # before any restart

    again = Watch(world, port=watch.port)
    try:
        wait_until(lambda: (again.healthy() or {}).get("last_step"), "the sync at start")
        code, out, err = again.terminate()
    finally:
        again.close()
    assert code == 0, out + err
    found = world.xero.invoices(InvoiceNumbers=draft["number"])
    assert len(found) == 1 and found[0]["Status"] == "AUTHORISED"
    assert state_rows(world, "SELECT count(*) FROM outbox WHERE state IN ('pending', 'sent')") \
        == [(0,)]
