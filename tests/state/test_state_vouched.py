"""Which bases vouch for their ops row's change time is decided in SQLite as the planner's rule
decides it: a row is left unread only where its base proves it unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from xsync.state.db import open_state
from xsync.state.ledger import Base, Ledger
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
       st.sampled_from([0, 1, 999, 1000, 2_000_000, 120_000_000]))
def test_the_bases_that_vouch_are_those_the_rule_names(
        times: list[tuple[int, str, tuple[int, str]]], margin: int) -> None:
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
    text = ",".join(f"{len(i)}:{i}:{m}" for i, m in sorted(kept.items()))
    unvouched = len(ledger.unvouched_links("contacts", margin))
    # a time stored as text is read only in Python: SQLite counts its link as not vouched
    assert unvouched == 1 + len([n for n in range(0, len(times), 2)
                                 if f"C-{n}" not in expected or "text" in (times[n][1],
                                                                          times[n][2][1])])
    assert fingerprint == (None if as_text else (len(kept), text, unvouched))
    lazy = ledger.vouched("contacts", margin, vouches_us)
    lazy.leave_out(left_out)
    assert dict(lazy.items()) == kept and bool(lazy) == bool(kept)
