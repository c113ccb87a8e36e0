"""The run's map of links answers as the ledger does, however the run links records."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from xsync.state import idmap
from xsync.state.db import open_state
from xsync.state.ledger import Base, IdMap, Ledger

OPS = st.sampled_from(["C-1", "C-2", "C-3"])
XERO = st.sampled_from([f"{n}0000000-0000-0000-0000-000000000000" for n in range(1, 4)])
STEP = st.tuples(st.sampled_from(["link", "alias", "read"]), OPS, XERO)


@settings(max_examples=300, deadline=None)
@given(st.lists(STEP, max_size=12), st.sampled_from([2, 3, 5, 20_000]))
def test_the_map_answers_as_the_ledger_does(steps: list[tuple[str, str, str]],
                                            cached: int) -> None:
    """Whatever the run links, and however few answers the map may hold (``cached``: it lets
    them all go when full), each lookup either way answers as the ledger does."""
    ledger = Ledger(open_state(None))
    ids = IdMap(ledger)
    idmap.CACHED_IDS = cached
    try:
        _run_steps(ledger, ids, steps)
    finally:
        idmap.CACHED_IDS = 20_000


def _run_steps(ledger: Ledger, ids: IdMap, steps: list[tuple[str, str, str]]) -> None:
    for kind, ops_id, xero_id in steps:
        if kind == "link":
            ids.link("contacts", ops_id, xero_id, "test", "2026-12-01T00:00:00+00:00")
        elif kind == "alias":
            ids.alias("contacts", ops_id, xero_id, "test", "2026-12-01T00:00:00+00:00")
        else:
            ids.xero_id_of("contacts", ops_id)  # the map is read from here on
        for o in ("C-1", "C-2", "C-3"):
            assert ids.xero_id_of("contacts", o) == ledger.xero_id_of("contacts", o)
        for n in range(1, 4):
            x = f"{n}0000000-0000-0000-0000-000000000000"
            assert ids.ops_id_of("contacts", x) == ledger.ops_id_of("contacts", x)
        # and whole, as a listing reads them
        truth = ledger.links("contacts")
        assert dict(ids.links("contacts").items()) == truth
        assert dict(ids.owners("contacts")) == {x: o for o, x in truth.items()}


PAIR_STEP = st.tuples(st.sampled_from(["link", "base", "look", "let go"]), OPS, XERO)


@settings(max_examples=300, deadline=None)
@given(st.lists(PAIR_STEP, max_size=14))
def test_the_links_without_a_base_are_kept_as_the_run_links_and_stores_bases(
        steps: list[tuple[str, str, str]]) -> None:
    ledger = Ledger(open_state(None))
    ids = IdMap(ledger)
    at = "2026-12-01T00:00:00+00:00"
    for kind, ops_id, xero_id in steps:
        if kind == "link":
            ids.link("invoices", ops_id, xero_id, "test", at)
        elif kind == "base":
            ledger.save_bases("invoices", [Base(ops_id, xero_id, {"fields": {}, "lines": None},
                                                None, None, None, None, at)], at)
        elif kind == "let go":
            # the ledger's log of its writes let go: the map reads the bases whole again
            ledger.let_go_touches("invoices", ledger.touch_mark())
        if kind == "look":
            truth = {o for o in ledger.links("invoices") if o not in ledger.based("invoices")}
            assert ids.unbased("invoices") == truth
            # and which have a base, asked one by one as planning asks
            based = ids.based("invoices")
            assert {o for o in ("C-1", "C-2", "C-3") if o in based} == ledger.based("invoices")


def test_a_link_another_program_wrote_is_seen_from_the_next_round(tmp_path) -> None:
    """What the map held is let go once the state file was written by another connection
    (the next round's look at the bases finds it out)."""
    import sqlite3
    import uuid

    ledger = Ledger(open_state(tmp_path / "state.db"))
    ids = IdMap(ledger)
    first, second = (f"{n}0000000-0000-0000-0000-000000000000" for n in (1, 2))
    ids.link("contacts", "C-1", first, "test", "2026-12-01T00:00:00+00:00")
    assert ids.ops_id_of("contacts", second) is None and ids.xero_id_of("contacts", "C-1") == first
    other = sqlite3.connect(tmp_path / "state.db")
    other.execute("UPDATE links SET xero_id = ? WHERE ops_id = 'C-1'", [uuid.UUID(second).bytes])
    other.commit()
    other.close()
    ids.based("contacts")
    assert ids.ops_id_of("contacts", second) == "C-1"
    assert ids.ops_id_of("contacts", first) is None
    assert ids.xero_id_of("contacts", "C-1") == second
