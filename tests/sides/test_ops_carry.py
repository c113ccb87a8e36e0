"""A look at an ops table that matched its bases carries to the next look of the same run: only
what was written since is looked at, and anything it cannot account for makes the next look a
full comparison again.

The known times here stand in for the engine's (``VouchedTimes``): they count how often their
fingerprint is built (a full comparison), and say which ids the engine wrote bases for since a
mark (``touched``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from xsync.model.side import Change, fingerprint_of
from xsync.sides.ops_carry import BULK_ROWS
from xsync.sides.ops_rows import parse_updated_at
from xsync.sides.ops_sqlite import SqliteOpsStore, create_ops_db

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _moment(text: str) -> int:
    stamp = parse_updated_at(text)
    assert stamp is not None
    return (stamp - EPOCH) // timedelta(microseconds=1)


class _Known(dict):  # type: ignore[type-arg]
    """Vouched times that carry from one look to the next, as the engine's do in a run."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.built = 0
        self.marks = 0
        # ids whose bases the engine wrote since the last mark (None: the mark cannot tell)
        self.touched: set[str] | None = set()
        # the ids whose times were asked by key
        self.asked: list[str] = []

    def fingerprint(self) -> tuple[int, str]:
        self.built += 1
        return len(self), fingerprint_of(sorted(self.items()))

    def mark(self) -> int:
        self.marks += 1
        return self.marks

    def carried(self, mark: int) -> set[str] | None:
        if mark != self.marks or self.touched is None:
            return None
        touched, self.touched = self.touched, set()
        return touched

    def times_of(self, ids: list[str]) -> dict[str, int]:
        self.asked.extend(ids)
        return {i: self[i] for i in ids if i in self}


STAMPS = {"I-1": "2026-11-02T09:30:00.000005Z", "I-2": "2026-11-02T09:31:00Z"}


def _store(path: Path) -> tuple[SqliteOpsStore, _Known]:
    create_ops_db(path)
    conn = sqlite3.connect(path)
    conn.execute("CREATE UNIQUE INDEX invoice_numbers ON invoices (number)")
    conn.execute("INSERT INTO contacts (id, name, updated_at) VALUES ('C-1', 'Acme', "
                 "'2026-11-01T09:00:00Z')")
    conn.executemany("INSERT INTO invoices (id, number, contact_id, updated_at) "
                     "VALUES (?, ?, 'C-1', ?)", [(i, i, t) for i, t in STAMPS.items()])
    conn.executemany("INSERT INTO invoice_lines (id, invoice_id, position, quantity) "
                     "VALUES (?, ?, ?, '1')", [("L-1", "I-1", 1), ("L-2", "I-2", 1)])
    conn.commit()
    conn.close()
    store = SqliteOpsStore(path, now=lambda: "2026-11-02T10:00:00.000001Z")
    known = _Known({i: _moment(t) for i, t in STAMPS.items()})
    first = store.scan_changed("invoices", known)
    assert first.as_known and known.built == 1
    return store, known


def _wrote(store: SqliteOpsStore, known: _Known, record_id: str | None = None,
           creates: int = 1) -> None:
    """A write through the store (an update of ``record_id``, else ``creates`` new invoices,
    as many as a bulk import writes at once), with the engine's base for each record as the
    engine stores one."""
    if record_id is None:
        first = len(known)  # numbers no earlier write took
        changes = [Change(f"k{n}", "create", None, {"number": f"I-NEW-{n}", "contact_id": "C-1"})
                   for n in range(first, first + creates)]
    else:
        changes = [Change("k", "update", record_id, {"reference": "edited"})]
    for done in store.write("invoices", changes):
        assert done.ok and done.record is not None and done.record.updated_at is not None
        known[done.id] = (done.record.updated_at - EPOCH) // timedelta(microseconds=1)
        assert known.touched is not None
        known.touched.add(str(done.id))


def _added_and_vouched(store: SqliteOpsStore, known: _Known) -> None:
    """A row added through the store's own connection, which the engine also vouches for."""
    store.conn.execute("INSERT INTO invoices (id, number, contact_id, updated_at) "
                       "VALUES ('I-9', 'I-9', 'C-1', '2026-11-02T09:50:00Z')")
    known["I-9"] = _moment("2026-11-02T09:50:00Z")
    assert known.touched is not None
    known.touched.add("I-9")


def test_a_later_look_takes_what_was_written_since_without_a_full_comparison(tmp_path):
    store, known = _store(tmp_path / "ops.db")
    _wrote(store, known)
    _wrote(store, known, creates=BULK_ROWS)  # its insert triggers set aside, its rows logged
    _wrote(store, known, "I-2")
    # after xsync's own bulk creates, the triggers set aside for them log a row again
    _added_and_vouched(store, known)
    scan = store.scan_changed("invoices", known)
    assert scan.as_known and scan.records == [] and not scan.rejected_lines
    assert known.built == 1, "the run compared the whole table again"
    again = store.scan_changed("invoices", known)
    assert again.as_known and known.built == 1
    store.close()


def test_a_row_the_engine_did_not_write_its_base_for_is_listed(tmp_path):
    """Written through the store's own connection, but not as the bases have it."""
    store, known = _store(tmp_path / "ops.db")
    store.conn.execute("UPDATE invoices SET updated_at = '2026-11-02T09:45:00Z' "
                       "WHERE id = 'I-1'")
    scan = store.scan_changed("invoices", known)
    assert not scan.as_known and [r.id for r in scan.records] == ["I-1"]
    store.close()


def test_a_base_written_since_that_no_longer_vouches_for_its_row_is_listed(tmp_path):
    store, known = _store(tmp_path / "ops.db")
    known["I-2"] = _moment("2026-11-02T09:59:00Z")
    known.touched = {"I-2"}
    scan = store.scan_changed("invoices", known)
    assert not scan.as_known and [r.id for r in scan.records] == ["I-2"]
    store.close()


def test_a_write_by_another_program_makes_the_next_look_compare_in_full(tmp_path):
    store, known = _store(tmp_path / "ops.db")
    other = sqlite3.connect(tmp_path / "ops.db")
    other.execute("UPDATE invoices SET updated_at = '2026-11-02T09:46:00Z' WHERE id = 'I-2'")
    other.commit()
    other.close()
    scan = store.scan_changed("invoices", known)
    assert not scan.as_known and [r.id for r in scan.records] == ["I-2"]
    assert known.built == 2
    store.close()


def test_bases_the_mark_cannot_account_for_make_the_next_look_compare_in_full(tmp_path):
    store, known = _store(tmp_path / "ops.db")
    known.touched = None  # another program wrote the state file
    store.conn.execute("UPDATE invoices SET updated_at = '2026-11-02T09:47:00Z' "
                       "WHERE id = 'I-1'")
    known["I-1"] = _moment("2026-11-02T09:47:00Z")
    scan = store.scan_changed("invoices", known)
    assert scan.as_known and known.built == 2
    store.close()


def test_a_row_deleted_that_the_bases_still_vouch_for_is_known_gone(tmp_path):
    store, known = _store(tmp_path / "ops.db")
    store.conn.execute("DELETE FROM invoice_lines WHERE invoice_id = 'I-1'")
    store.conn.execute("DELETE FROM invoices WHERE id = 'I-1'")
    scan = store.scan_changed("invoices", known)
    assert not scan.as_known and scan.ids == {"I-2"}
    store.close()


def test_a_row_gone_with_its_lines_left_is_reported_by_a_full_look(tmp_path):
    store, known = _store(tmp_path / "ops.db")
    store.conn.execute("PRAGMA foreign_keys = OFF")
    store.conn.execute("DELETE FROM invoices WHERE id = 'I-1'")
    del known["I-1"]
    assert known.touched is not None
    known.touched.add("I-1")
    scan = store.scan_changed("invoices", known)
    assert scan.as_known and scan.rejected_lines == ["L-1"]
    assert known.built == 2
    store.close()


def test_a_row_replaced_away_without_a_trigger_is_caught_by_the_count(tmp_path):
    """``REPLACE`` removes the row holding the same number without its delete trigger firing:
    only the count tells the row is gone."""
    store, known = _store(tmp_path / "ops.db")
    store.conn.execute("INSERT OR REPLACE INTO invoices (id, number, contact_id, updated_at) "
                       "VALUES ('I-3', 'I-1', 'C-1', '2026-11-02T09:48:00Z')")
    known["I-3"] = _moment("2026-11-02T09:48:00Z")
    scan = store.scan_changed("invoices", known)
    assert not scan.as_known, "a row replaced away was taken as still there"
    assert scan.ids == {"I-2", "I-3"} and scan.rejected_lines == ["L-1"]
    store.close()


def test_a_write_rolled_back_leaves_the_carry_as_it_was(tmp_path):
    store, known = _store(tmp_path / "ops.db")
    store.conn.execute("BEGIN")
    store.conn.execute("UPDATE invoices SET updated_at = '2026-11-02T09:49:00Z' "
                       "WHERE id = 'I-1'")
    store.conn.execute("ROLLBACK")
    scan = store.scan_changed("invoices", known)
    assert scan.as_known and known.built == 1
    store.close()


def test_a_bulk_create_the_table_refuses_leaves_the_log_and_its_triggers_as_they_were(
        tmp_path):
    store, known = _store(tmp_path / "ops.db")
    # a bulk import whose last record takes an id the table has: written one by one, that one
    # refused
    changes = [Change(f"k{n}", "create", None, {"number": f"I-NEW-{n}", "contact_id": "C-1"})
               for n in range(BULK_ROWS)]
    changes.append(Change("k", "create", None, {"id": "I-1", "number": "I-1 again",
                                                "contact_id": "C-1"}))
    *written, refused = store.write("invoices", changes)
    assert not refused.ok and all(done.ok for done in written)
    for done in written:
        assert done.record is not None and done.record.updated_at is not None
        known[str(done.id)] = (done.record.updated_at - EPOCH) // timedelta(microseconds=1)
        assert known.touched is not None
        known.touched.add(str(done.id))
    _added_and_vouched(store, known)
    scan = store.scan_changed("invoices", known)
    assert scan.as_known and known.built == 1
    store.close()


class _Ordered(_Known):
    """Vouched times that also give themselves in the order of the ids, as the engine's do, so
    that a look compares the rows with them side by side; and take a proof when asked."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.wants: str | None = None
        self.confirmed: list[tuple[str, int | None]] = []

    def in_order(self) -> Iterator[tuple[str, int]]:
        return iter(sorted(self.items()))

    def proof_wanted(self) -> str | None:
        return self.wants

    def confirm(self, digest: str, rows: int | None = None) -> None:
        self.confirmed.append((digest, rows))


def _moved_by_another_program(path: Path) -> _Ordered:
    """The store's times of I-1 and I-2, after another program moved I-2 and deleted I-1."""
    other = sqlite3.connect(path)
    other.execute("UPDATE invoices SET updated_at = '2026-11-02T09:46:00Z' WHERE id = 'I-2'")
    other.execute("DELETE FROM invoice_lines WHERE invoice_id = 'I-1'")
    other.execute("DELETE FROM invoices WHERE id = 'I-1'")
    other.commit()
    other.close()
    return _Ordered({i: _moment(t) for i, t in STAMPS.items()})


def _settled(known: _Known, times: dict[str, str | None]) -> None:
    """The engine's bases written for these ids (``None``: the row is known gone)."""
    for row_id, stamp in times.items():
        if stamp is None:
            known.pop(row_id, None)
        else:
            known[row_id] = _moment(stamp)
        assert known.touched is not None
        known.touched.add(row_id)


def test_a_look_that_found_a_few_rows_moved_carries_the_rest(tmp_path):
    """A table compared row by row, two of its rows not as the bases have them (one moved, one
    gone): once the bases say what those rows now are, the next look of the run finds the
    table as they vouch without comparing it whole again."""
    store, _ = _store(tmp_path / "ops.db")
    known = _moved_by_another_program(tmp_path / "ops.db")
    scan = store.scan_changed("invoices", known)
    assert not scan.as_known and [r.id for r in scan.records] == ["I-2"]
    assert scan.ids == {"I-2"}
    built = known.built
    _settled(known, {"I-2": "2026-11-02T09:46:00Z", "I-1": None})
    again = store.scan_changed("invoices", known)
    assert again.as_known and again.records == [], "the rows settled were listed again"
    assert known.built == built, "the run compared the whole table again"
    store.close()


def test_a_row_held_apart_still_moved_is_listed_again_without_fingerprints(tmp_path):
    store, _ = _store(tmp_path / "ops.db")
    known = _moved_by_another_program(tmp_path / "ops.db")
    store.scan_changed("invoices", known)
    built = known.built
    _settled(known, {"I-1": None})  # the moved row's base not written (a conflict, say)
    again = store.scan_changed("invoices", known)
    assert not again.as_known and [r.id for r in again.records] == ["I-2"]
    assert again.ids == {"I-2"}
    assert known.built == built, "fingerprints were built to tell what the carry told"
    store.close()


def test_a_write_by_another_program_after_a_look_that_held_rows_apart_is_found(tmp_path):
    store, _ = _store(tmp_path / "ops.db")
    known = _moved_by_another_program(tmp_path / "ops.db")
    store.scan_changed("invoices", known)
    _settled(known, {"I-2": "2026-11-02T09:46:00Z", "I-1": None})
    other = sqlite3.connect(tmp_path / "ops.db")
    other.execute("INSERT INTO invoices (id, number, contact_id, updated_at) "
                  "VALUES ('I-0', 'I-0', 'C-1', '2026-11-02T09:55:00Z')")
    other.commit()
    other.close()
    again = store.scan_changed("invoices", known)
    assert not again.as_known and [r.id for r in again.records] == ["I-0"]
    store.close()


def test_a_proof_after_a_look_that_held_rows_apart_takes_only_the_digest(tmp_path):
    """Where a proof is wanted (once the run's writes are done), the table found as its bases
    vouch by what the last look held apart is proved by its digest, with its count of rows;
    while a row held apart still differs, nothing is proved and nothing compared whole."""
    store, _ = _store(tmp_path / "ops.db")
    known = _moved_by_another_program(tmp_path / "ops.db")
    store.scan_changed("invoices", known)
    built = known.built
    known.wants = "confirm"
    _settled(known, {"I-1": None})
    assert not store.prove("invoices", known)
    assert known.confirmed == [] and known.built == built
    # the next look compares in full again (the failed proof let the carry go), then holds
    store.scan_changed("invoices", known)
    built = known.built
    _settled(known, {"I-2": "2026-11-02T09:46:00Z"})
    assert store.prove("invoices", known)
    assert known.built == built, "the proof compared the whole table again"
    [(digest, rows)] = known.confirmed
    assert rows == 1 and digest == store._digest("invoices")
    store.close()


def test_a_row_gone_that_a_look_held_apart_stays_gone_until_its_base_says_so(tmp_path):
    store, _ = _store(tmp_path / "ops.db")
    other = sqlite3.connect(tmp_path / "ops.db")
    other.execute("DELETE FROM invoice_lines WHERE invoice_id = 'I-1'")
    other.execute("DELETE FROM invoices WHERE id = 'I-1'")
    other.commit()
    other.close()
    known = _Ordered({i: _moment(t) for i, t in STAMPS.items()})
    first = store.scan_changed("invoices", known)
    assert not first.as_known and first.ids == {"I-2"}
    again = store.scan_changed("invoices", known)  # the bases still vouch for I-1
    assert not again.as_known and again.ids == {"I-2"}, "a row gone was taken as still there"
    store.close()


def test_the_next_look_asks_only_the_rows_that_differed(tmp_path):
    """A look held apart only the row that moved: the rows found as the bases vouch are not
    asked about again, so a cycle with a few rows moved costs those rows at its next look."""
    store, _ = _store(tmp_path / "ops.db")
    other = sqlite3.connect(tmp_path / "ops.db")
    other.execute("UPDATE invoices SET updated_at = '2026-11-02T09:46:00Z' WHERE id = 'I-2'")
    other.commit()
    other.close()
    known = _Ordered({i: _moment(t) for i, t in STAMPS.items()})
    assert [r.id for r in store.scan_changed("invoices", known).records] == ["I-2"]
    known.asked.clear()
    known["I-2"] = _moment("2026-11-02T09:46:00Z")  # its base written, not logged as touched
    again = store.scan_changed("invoices", known)
    assert again.as_known and known.asked == ["I-2"], known.asked
    store.close()
