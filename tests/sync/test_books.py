"""The engine's books: what `status`, `doctor`, `log` and `resolve` read of the state database
without a side."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from xsync.errors import AuthError, MassDeleteGuard
from xsync.state.ledger import transaction
from xsync.sync.books import Books

AT = "2026-12-02T05:00:00+00:00"


def test_a_write_sent_but_never_answered_is_still_pending(tmp_path: Path) -> None:
    # a crash between sending a write and hearing its answer leaves it "sent": it waits just as
    # one never sent does, and status and doctor must count it
    with Books.opened(tmp_path / "state.db") as books:
        ledger = books.ledger
        with transaction(books.state):
            run_id = ledger.run_start("sync", ["invoices"], AT)
            rows = [ledger.outbox_add(run_id, "invoices", "create", "xero", f"k{n}", f"INV-{n}",
                                      None, {"n": n}, AT)[0] for n in range(4)]
            ledger.outbox_mark(rows[1], "sent", None, AT)
            ledger.outbox_mark(rows[2], "failed", {"error": "refused"}, AT)
            ledger.outbox_marks([(rows[3], "done", {}, AT)])
        assert books.pending_writes() == 2
        assert {w["ops_id"] for w in books.unfinished_writes()} == {"INV-0", "INV-1"}


def test_a_run_stopped_before_planning_is_recorded_entity_by_entity(tmp_path: Path) -> None:
    when = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)
    with Books.opened(tmp_path / "state.db") as books:
        books.record_failed_run("sync", ["contacts", "invoices"], AuthError("refused"), when)
        books.record_failed_run("push", ["invoices"], MassDeleteGuard("many deletes"), when)
        runs = books.last_runs()
    assert (runs["contacts"]["entity_outcome"], runs["contacts"]["exit_code"]) == ("unread", 6)
    assert runs["invoices"]["entity_outcome"] == "failed"
    assert runs["invoices"]["entity_reason"] == "many deletes"
    assert runs["invoices"]["ended_at"].startswith("2026-12-02T05:00:00")


def test_the_books_close_their_file_whatever_happened(tmp_path: Path) -> None:
    with pytest.raises(KeyError), Books.opened(tmp_path / "state.db") as books:
        raise KeyError("a command failed")
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        books.pending_writes()
