"""Which bases vouch for their ops row's change time is decided in SQLite as the planner's rule
decides it: a row is left unread only where its base proves it unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest import mock

import sqlite_utils
from hypothesis import given, settings
from hypothesis import strategies as st

from xsync.model.side import fingerprint_of
from xsync.state import ledger as ledger_module
from xsync.state.db import open_state
from xsync.state.ledger import BULK_ROWS, Base, Ledger
from xsync.sync.planner import vouches_us

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NOW = 1_796_119_200_000_000  # 2026-12-01T10:00:00Z in microseconds
# a moment: whole seconds, whole milliseconds or any microsecond, near NOW
MOMENT = st.one_of(st.integers(-100, 100).map(lambda n: NOW + n * 1_000_000),
                   st.integers(-100_000, 100_000).map(lambda n: NOW + n * 1000),
                   st.integers(-100_000_000, 100_000_000).map(lambda n: NOW + n))
# as stored: microseconds (what this xsync writes), or the text an earlier one kept
SPELLING = st.sampled_from(["iso", "text"])


def _spelt(moment: int, spelling: str) -> str:
    stamp = EPOCH + timedelta(microseconds=moment)
    if spelling == "iso":
        return stamp.isoformat()
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(MOMENT, SPELLING, st.tuples(MOMENT, SPELLING)),
                max_size=10),
       st.sampled_from([0, 1, 999, 1000, 2_000_000, 120_000_000]),
       st.sampled_from([1, 3, 20_000]))
def test_the_bases_that_vouch_are_those_the_rule_names(
        times: list[tuple[int, str, tuple[int, str]]], margin: int, slice_rows: int) -> None:
    """However many bases each slice of the fingerprint reads (one, three, all of them)."""
    with mock.patch.object(ledger_module, "FINGERPRINT_ROWS", slice_rows):
        _vouching_bases(times, margin)


def _vouching_bases(times: list[tuple[int, str, tuple[int, str]]], margin: int) -> None:
    ledger = Ledger(open_state(None))
    bases, expected = [], {}
    for n, (seen, seen_as, synced) in enumerate(times):
        ops_id = f"C-{n}"
        bases.append(Base(ops_id, f"{n:08d}-0000-0000-0000-000000000000", {"fields": {}},
                          None, None, _spelt(seen, seen_as), None, _spelt(*synced)))
        if vouches_us(seen, synced[0], margin):
            expected[ops_id] = seen
    ledger.save_bases("contacts", bases, "2026-12-01T10:00:00+00:00")
    # every other contact linked, and one link without a base
    for n in range(0, len(times), 2):
        ledger.link("contacts", f"C-{n}", f"{n:08d}-0000-0000-0000-000000000000", "test",
                    "2026-12-01T10:00:00+00:00")
    ledger.link("contacts", "C-L", "99999999-0000-0000-0000-000000000000", "test",
                "2026-12-01T10:00:00+00:00")
    assert ledger.vouched_times("contacts", margin, vouches_us) == expected
    # what the ops store compares its own rows with, built by SQLite from the same bases
    as_text = any("text" in (seen_as, synced[1]) for _, seen_as, synced in times)
    left_out = sorted(expected)[:1]
    fingerprint = ledger.vouched_fingerprint("contacts", margin, left_out)
    kept = {i: m for i, m in expected.items() if i not in left_out}
    text = fingerprint_of(sorted(kept.items()))
    unvouched = len(ledger.unvouched_links("contacts", margin))
    # a time stored as text is read only in Python: SQLite counts its link as not vouched
    assert unvouched == 1 + len([n for n in range(0, len(times), 2)
                                 if f"C-{n}" not in expected or "text" in (times[n][1],
                                                                          times[n][2][1])])
    assert fingerprint == (None if as_text else (len(kept), text, unvouched))
    # asked id by id before the times are read, it answers as the times do
    ids = [f"C-{n}" for n in range(len(times))] + ["C-L", "C-none"]
    asked = ledger.vouched("contacts", margin, vouches_us)
    asked.leave_out(left_out)
    assert [i in asked for i in ids] == [i in kept for i in ids]
    lazy = ledger.vouched("contacts", margin, vouches_us)
    lazy.leave_out(left_out)
    assert dict(lazy.items()) == kept and bool(lazy) == bool(kept)


AT = "2026-12-01T10:00:00+00:00"


def _base(n: int) -> Base:
    return Base(f"C-{n}", f"{n:08d}-0000-0000-0000-000000000000", {"fields": {}}, None, None,
                "2026-12-01T09:00:00.000001+00:00", None, AT)


def test_what_a_cycle_proved_is_forgotten_by_any_write_of_its_entitys_bases_or_links() -> None:
    """A proof speaks of the bases as they were: a base saved, replaced or confirmed, a link
    made, a base or link deleted, each forgets the proof of its own entity, and only that."""
    ledger = Ledger(open_state(None))
    ledger.save_bases("contacts", [_base(1), _base(2)], AT)
    ledger.save_bases("invoices", [_base(1)], AT)
    writes = [
        lambda: ledger.save_bases("contacts", [_base(3)], AT),
        lambda: ledger.save_base("contacts", _base(1).with_synced_at(AT), AT),
        lambda: ledger.confirm_bases([("contacts", "C-2", "2026-12-01T09:30:00+00:00")], AT),
        lambda: ledger.link("contacts", "C-1", _base(1).xero_id, "test", AT),
        lambda: ledger.db.conn.execute("DELETE FROM links WHERE ops_id = 'C-1'"),
        lambda: ledger.db.conn.execute("DELETE FROM bases WHERE ops_id = 'C-3'"),
    ]
    for write in writes:
        for entity in ("contacts", "invoices"):
            ledger.prove_fingerprint(entity, 120_000_000, 2, 0, f"{entity} digest")
        write()
        assert ledger.proven_fingerprint("contacts", 120_000_000) is None
        assert ledger.proven_fingerprint("invoices", 120_000_000) == (2, 0, "invoices digest")


def test_the_times_a_cycle_proved_answer_without_their_fingerprint(monkeypatch) -> None:
    ledger = Ledger(open_state(None))
    ledger.save_bases("contacts", [_base(1), _base(2)], AT)
    ledger.prove_fingerprint("contacts", 2_000_000, 2, 1, "abc")
    built: list[str] = []
    original = Ledger.vouched_fingerprint
    monkeypatch.setattr(Ledger, "vouched_fingerprint",
                        lambda self, *a: built.append("built") or original(self, *a))
    known = ledger.vouched("contacts", 2_000_000, vouches_us)
    assert known.proof_wanted() == "recall"
    assert bool(known) and known.unvouched() == 1
    assert known.recall("abc") and not known.recall("abd")
    assert built == []
    # another margin, or an id left out, is another question: the proof does not answer it
    other = ledger.vouched("contacts", 1_000_000, vouches_us)
    assert not other.recall("abc") and other.unvouched() == 0 and built == ["built"]
    waiting = ledger.vouched("contacts", 2_000_000, vouches_us)
    waiting.leave_out(["C-1"])
    assert not waiting.recall("abc") and waiting.proof_wanted() is None
    waiting.confirm("abc")
    assert waiting.proved is None, "a proof was offered of times with an id left out"
    whole = ledger.vouched("contacts", 1_000_000, vouches_us)
    assert whole.proof_wanted() == "confirm"
    whole.proving = False  # the entity is about to be written
    assert whole.proof_wanted() is None
    whole.confirm("xyz")
    assert whole.proved == ("contacts", 1_000_000, 2, 0, "xyz")


def test_a_later_look_is_told_which_bases_and_links_this_ledger_wrote_since_a_mark(
        tmp_path) -> None:
    """What a look at the vouched times found carries to the next look of the same run: it is
    told the ids whose bases or links were written since (each way they can be written, a link
    replaced away included), and how many links are now left without a vouching base."""
    open_state(tmp_path / "state.db").close()
    # a connection that, unlike sqlite-utils' default, has REPLACE fire no delete trigger
    ledger = Ledger(sqlite_utils.Database(tmp_path / "state.db", recursive_triggers=False))
    ledger.save_bases("contacts", [_base(1), _base(2), _base(3)], AT)
    for n in (1, 2, 3):
        ledger.link("contacts", f"C-{n}", _base(n).xero_id, "test", AT)
    first = ledger.vouched("contacts", 2_000_000, vouches_us)
    assert first.unvouched() == 0
    mark = first.mark()
    assert mark is not None
    ledger.save_bases("contacts", [_base(4)], AT)
    ledger.save_base("contacts", _base(1).with_synced_at(AT), AT)
    # C-2's Xero contact linked to another ops id: the link of C-2 is replaced away
    ledger.link("contacts", "C-5", _base(2).xero_id, "test", AT)
    ledger.save_bases("invoices", [_base(9)], AT)  # another entity's
    # a bulk write, its insert trigger set aside
    ledger.save_bases("contacts", [_base(n) for n in range(100, 100 + BULK_ROWS)], AT)
    # a base written by a statement of its own, after the bulk writes above
    ledger.db.conn.execute(
        "INSERT INTO bases (entity, ops_id, xero_id, snapshot, ops_hash, xero_hash, "
        "ops_updated_at, xero_updated_at, synced_at) SELECT entity, 'C-7', xero_id, snapshot, "
        "ops_hash, xero_hash, ops_updated_at, xero_updated_at, synced_at FROM bases "
        "WHERE ops_id = 'C-3'")
    later = ledger.vouched("contacts", 2_000_000, vouches_us)
    assert later.carried(mark) == {"C-1", "C-2", "C-4", "C-5", "C-7"} | {
        f"C-{n}" for n in range(100, 100 + BULK_ROWS)}
    # C-5 is linked with no base
    assert later.unvouched() == 1 and later.mark() is None
    assert later.times_of(["C-4", "C-5"]) == {"C-4": _moment_of_base()}


def _moment_of_base() -> int:
    stamp = datetime.fromisoformat("2026-12-01T09:00:00.000001+00:00")
    return (stamp - EPOCH) // timedelta(microseconds=1)


def test_a_mark_tells_nothing_once_another_program_wrote_the_state_file(tmp_path) -> None:
    import sqlite3

    ledger = Ledger(open_state(tmp_path / "state.db"))
    ledger.save_bases("contacts", [_base(1)], AT)
    first = ledger.vouched("contacts", 2_000_000, vouches_us)
    assert first.unvouched() == 0
    mark = first.mark()
    assert mark is not None
    other = sqlite3.connect(tmp_path / "state.db")
    other.execute("DELETE FROM bases")
    other.commit()
    other.close()
    later = ledger.vouched("contacts", 2_000_000, vouches_us)
    assert later.carried(mark) is None
    # nor does another margin, or a mark of another ledger
    again = ledger.vouched("contacts", 2_000_000, vouches_us)
    assert again.unvouched() == 0
    fresh = again.mark()
    assert fresh is not None
    assert ledger.vouched("contacts", 1_000_000, vouches_us).carried(fresh) is None
    assert Ledger(ledger.db).vouched("contacts", 2_000_000, vouches_us).carried(fresh) is None
    # and a mark the log was let go past
    assert ledger.vouched("contacts", 2_000_000, vouches_us).carried(fresh) == set()
    ledger.save_bases("contacts", [_base(2)], AT)
    newer = ledger.vouched("contacts", 2_000_000, vouches_us)
    assert newer.carried(fresh) == {"C-2"}
    following = newer.mark()
    assert following is not None
    ledger.let_go_touches("contacts", following.touched)
    assert ledger.vouched("contacts", 2_000_000, vouches_us).carried(fresh) is None


def _contact_base(n: int, merged_into: str | None = None) -> Base:
    return Base(f"C-{n}", _base(n).xero_id, {"fields": {"name": f"Contact {n}",
                                                         "merged_into": merged_into}},
                None, None, "2026-12-01T09:00:00.000001+00:00", None, AT)


def test_a_runs_map_of_bases_and_merges_asks_what_was_written_since(
        tmp_path, monkeypatch) -> None:
    import sqlite3

    from xsync.state.ledger import IdMap

    ledger = Ledger(open_state(tmp_path / "state.db"))
    ledger.save_bases("contacts", [_contact_base(1), _contact_base(2, "C-1")], AT)
    ids = IdMap(ledger)
    asked: list[object] = []
    real_based, real_merged = Ledger.based, Ledger.merged_contacts
    monkeypatch.setattr(Ledger, "based", lambda self, entity, ops_ids=None: asked.append(
        ("based", None if ops_ids is None else sorted(ops_ids)))
        or real_based(self, entity, ops_ids))
    monkeypatch.setattr(Ledger, "merged_contacts", lambda self, ops_ids=None: asked.append(
        ("merged", None if ops_ids is None else sorted(ops_ids)))
        or real_merged(self, ops_ids))
    assert ids.based("contacts") == {"C-1", "C-2"}
    assert ids.merged_contacts() == {"C-2": "C-1"}
    ledger.save_bases("contacts", [_contact_base(3, "C-1"), _contact_base(2)], AT)
    ledger.db.conn.execute("DELETE FROM bases WHERE ops_id = 'C-1'")
    assert ids.based("contacts") == {"C-2", "C-3"}
    assert ids.merged_contacts() == {"C-3": "C-1"}
    assert ids.based("contacts") == {"C-2", "C-3"}
    # the bases are never read whole (each id is asked for as it is wanted), the merges once
    assert ("based", None) not in asked, asked
    assert [a for a in asked if a[0] == "merged"] == [("merged", None),
                                                      ("merged", ["C-1", "C-2", "C-3"])], asked
    assert "C-3" in ids.based("contacts")
    # another program's write: what the map held is let go
    other = sqlite3.connect(tmp_path / "state.db")
    other.execute("DELETE FROM bases WHERE ops_id = 'C-3'")
    other.commit()
    other.close()
    assert ids.based("contacts") == {"C-2"} and ids.merged_contacts() == {}
    assert "C-3" not in ids.based("contacts")
    assert asked[-2:] == [("merged", None), ("based", ["C-3"])]
