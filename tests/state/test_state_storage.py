"""What a sync leaves in the state database is stored compactly, and read back as it was."""

from __future__ import annotations

import sqlite3

from stateworld import StateWorld

from xsync.state.ledger import Ledger
from xsync.state.rows import AuditEntry


def test_links_bases_and_the_audit_log_are_stored_compactly(world: StateWorld) -> None:
    world.books()
    conn = sqlite3.connect(world.path)
    assert set(conn.execute("SELECT typeof(entity), typeof(xero_id), length(xero_id), "
                            "typeof(linked_at) FROM links")) == {("integer", "blob", 16,
                                                                  "integer")}
    assert set(conn.execute("SELECT typeof(entity), substr(snapshot, 1, 1), typeof(synced_at) "
                            "FROM bases")) == {("integer", b"\x03", "integer")}
    assert set(conn.execute("SELECT length(ops_hash), length(xero_hash) FROM bases "
                            "WHERE ops_hash IS NOT NULL")) == {(16, 16)}
    assert set(conn.execute("SELECT typeof(at), typeof(entity), typeof(direction), "
                            "typeof(action) FROM audit")) == {("integer",) * 4}
    conn.close()
    # and read back as text
    [entry] = world.ledger.audit(record="INV-001")[:1]
    assert entry.entity == "invoices" and entry.direction == "xero->ops"
    assert entry.action == "create" and entry.at == "2026-03-02T09:00:01.250000+00:00"
    assert entry.xero_id == "00005eed-0000-0000-0000-000000000002"
    assert world.ledger.audit(record=entry.xero_id)[0] == entry


def test_entries_stored_as_text_are_found_by_time_with_the_rest(world: StateWorld) -> None:
    world.books()
    # as an older xsync, or a hand, wrote them: times as text, in another offset
    conn = sqlite3.connect(world.path)
    with conn:
        conn.executemany(
            "INSERT INTO audit (run_id, at, entity, ops_id, label, direction, action) "
            "VALUES (9, ?, 'contacts', ?, ?, 'ops->xero', 'create')",
            [("2026-03-02T09:01:00+00:00", "C-early", "Early"),
             ("2026-03-02T09:30:00+00:00", "C-late", "Late")])
    conn.close()
    since = [e.label for e in world.ledger.audit(since="2026-03-02T19:01:30+10:00")]
    assert "Late" in since and "Early" not in since
    assert since[0] != "Late", "xsync's own entries after 09:01:30 UTC come first, by id"
    found = world.ledger.audit(since="2026-03-02T09:01:30", entity="contacts")
    assert [e.label for e in found][-1] == "Late"
    assert all(e.entity == "contacts" for e in found)


def test_an_emptied_outbox_keeps_a_row_still_waiting(world: StateWorld) -> None:
    ledger = world.ledger
    at = "2026-03-02T09:00:00+00:00"
    waiting, _ = ledger.outbox_add(1, "contacts", "create", "xero", "k0", "C-0", None,
                                   {"fields": {"name": "Waiting"}}, at)
    done = [ledger.outbox_add(2, "contacts", "create", "xero", f"k{n}", f"C-{n}", None,
                              {"fields": {"name": f"Done {n}"}}, at)[0] for n in range(1, 4)]
    ledger.outbox_marks([(row_id, "done", {"id": "x"}, at) for row_id in done])
    assert ledger.outbox_counts() == {"pending": 1}
    assert ledger.outbox_row(waiting) is not None
    # every row answered: none is kept, and the next id still follows the last given
    ledger.outbox_marks([(waiting, "done", {"id": "x"}, at)])
    assert ledger.outbox_counts() == {}
    again, _ = ledger.outbox_add(3, "contacts", "create", "xero", "k9", "C-9", None, {}, at)
    assert again > max(done)


def test_an_audit_entry_is_read_back_as_written(world: StateWorld) -> None:
    ledger = Ledger(world.state)
    entry = AuditEntry(0, 7, "2026-03-02T09:00:00+00:00", "invoices", "INV-1",
                       "00005eed-0000-0000-0000-0000000000aa", "INV-0001 (total 220.00)",
                       "ops->xero", "update", "reference", "PO 1", "PO 2", "policy:ops")
    ledger.audit_add(entry)
    [back] = ledger.audit()
    assert back.to_json() == {**entry.to_json(), "id": back.id}


def test_a_record_linked_again_is_linked_once_both_ways(world: StateWorld) -> None:
    ledger = world.ledger
    at = "2026-03-02T09:00:00+00:00"
    first, second = "00005eed-0000-0000-0000-0000000000a1", "00005eed-0000-0000-0000-0000000000a2"
    ledger.link("contacts", "C-1", first, "create", at)
    ledger.link("contacts", "C-2", second, "create", at)
    # C-1 now stands for the second Xero contact: its old twin and C-2 are both let go
    ledger.link("contacts", "C-1", second, "resolved:match", at)
    assert ledger.links("contacts") == {"C-1": second}
    assert ledger.ops_id_of("contacts", first) is None
    assert ledger.ops_id_of("contacts", second) == "C-1"
    assert ledger.link_rows("contacts") == [("C-1", second, "resolved:match", at)]
