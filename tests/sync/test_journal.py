"""A run's journal: what each new run lets go of the outbox, and what it must keep for crash
recovery."""

from __future__ import annotations

from datetime import UTC, datetime

from xsync.state.db import open_state
from xsync.state.ledger import IdMap, Ledger, OutboxEntry
from xsync.sync.journal import Journal

NOW = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)


def _begin(ledger: Ledger) -> Journal:
    return Journal.begin(ledger, IdMap(ledger), "sync", ["invoices"], lambda: NOW)


def _entry(action: str, ops_id: str) -> OutboxEntry:
    return OutboxEntry("invoices", action, "xero", f"invoices:{ops_id}::xero", ops_id, None,
                       {"action": action, "fields": {"number": ops_id}})


def test_each_run_forgets_earlier_answers_and_keeps_unanswered_creates() -> None:
    ledger = Ledger(open_state(None))
    first = _begin(ledger)
    with first.transaction():
        (refused, _), (lost, _), (unsent, _) = first.intend(
            [_entry("create", "INV-1"), _entry("create", "INV-2"), _entry("update", "INV-3")])
        first.answered("invoices", [(refused, "failed", {"errors": ["refused"]}, NOW.isoformat()),
                                    (lost, "sent", None, NOW.isoformat())], [])
    assert ledger.outbox_counts() == {"failed": 1, "pending": 1, "sent": 1}

    _begin(ledger)
    # the refusal is history (the audit log has it); the update never sent is superseded by
    # the new run's plan, made from bases it never moved; the create whose answer was lost
    # waits to be found or sent again under its own key
    assert ledger.outbox_row(refused) is None and ledger.outbox_row(unsent) is None
    assert (ledger.outbox_row(lost) or {}).get("state") == "sent"
    assert ledger.outbox_counts() == {"sent": 1}
