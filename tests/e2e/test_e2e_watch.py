"""`xsync watch` as a user runs it: a process receiving the sandbox's webhooks and watching
ops.db, each change synced within seconds, stopped by SIGTERM."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from e2e_helpers import World
from watch_helpers import KEY, Watch, event_states, state_rows, wait_until


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
