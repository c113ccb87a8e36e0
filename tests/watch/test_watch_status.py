"""The watcher as `xsync status` shows it: running, retrying with its last error, stopped, or
gone without stopping (its process dead, or its heartbeat stale)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from xsync.cli.status import watcher_line
from xsync.state.db import open_state
from xsync.state.watch import WatcherRow, WebhookEvents, watcher_view

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def test_running_retrying_stopped_and_gone() -> None:
    db = open_state(None)
    assert watcher_view(db, NOW) is None
    row = WatcherRow(db)
    row.start(NOW, "127.0.0.1:8750")
    WebhookEvents(db).add({"events": [{"eventCategory": "CONTACT", "resourceId": "c1"}],
                           "firstEventSequence": 1}, NOW.isoformat())
    view = watcher_view(db, NOW + timedelta(seconds=30))
    assert view is not None and view["running"] and view["queue_depth"] == 1
    line = watcher_line(view)
    assert line.startswith(f"Watcher: running, pid {row.pid} since 2026-11-24T10:00:00")
    assert "queue 1" in line and "last event 2026-11-24T10:00:00" in line

    row.update(NOW, state="retrying", last_error="Xero could not be read (timed out)",
               last_error_at=NOW.isoformat(),
               next_try_at=(NOW + timedelta(seconds=20)).isoformat())
    line = watcher_line(watcher_view(db, NOW) or {})
    assert line.startswith("Watcher: retrying")
    assert "last error at 2026-11-24T10:00:00: Xero could not be read (timed out)" in line
    assert "next try 10:00:20" in line

    stale = watcher_view(db, NOW + timedelta(minutes=10))
    assert stale is not None and not stale["running"]
    assert "did not stop cleanly" in watcher_line(stale)

    row.stop(NOW, 0)
    line = watcher_line(watcher_view(db, NOW) or {})
    assert line.startswith("Watcher: stopped at 2026-11-24T10:00:00 (exit 0)")


def test_a_dead_process_is_not_running() -> None:
    db = open_state(None)
    row = WatcherRow(db)
    row.start(NOW, None)
    db.conn.execute("UPDATE watcher SET pid = 2147483000")
    view = watcher_view(db, NOW)
    assert view is not None and not view["running"]
