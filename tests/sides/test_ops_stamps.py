"""The change times xsync writes into `ops.db`: to the microsecond, six digits always, and read
back alongside the platform's own whole-second stamps."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xsync.model.side import Change, fingerprint_of
from xsync.sides import ops_rows, ops_sqlite
from xsync.sides.ops_rows import own_stamp, parse_updated_at, stamp_text
from xsync.sides.ops_sqlite import SqliteOpsStore, create_ops_db
from xsync.sync.planner import vouches

SIX_DIGITS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")


def test_a_stamp_keeps_six_fractional_digits_even_on_a_whole_second():
    assert stamp_text(datetime(2026, 11, 2, 9, 30, tzinfo=UTC)) == "2026-11-02T09:30:00.000000Z"
    assert stamp_text(datetime(2026, 11, 2, 9, 30, 0, 5, tzinfo=UTC)) == \
        "2026-11-02T09:30:00.000005Z"
    sydney = timezone(timedelta(hours=11))
    assert stamp_text(datetime(2026, 11, 2, 20, 30, 0, 123456, tzinfo=sydney)) == \
        "2026-11-02T09:30:00.123456Z"


def test_xsync_never_stamps_its_own_write_on_a_whole_millisecond(tmp_path, monkeypatch):
    assert own_stamp(datetime(2026, 11, 2, 9, 30, 0, 5000, tzinfo=UTC)) == \
        "2026-11-02T09:30:00.005001Z"
    assert own_stamp(datetime(2026, 11, 2, 9, 30, 0, 5003, tzinfo=UTC)) == \
        "2026-11-02T09:30:00.005003Z"

    class OnTheMillisecond(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 11, 2, 9, 30, 0, 250000, tzinfo=tz)

    # the machine's clock, as a write stamps its rows, landing on a whole millisecond
    monkeypatch.setattr(ops_rows, "datetime", OnTheMillisecond)
    path = tmp_path / "ops.db"
    create_ops_db(path)
    [made] = SqliteOpsStore(path).write("contacts", [Change("k", "create", None,
                                                           {"name": "Acme"})])
    assert made.ok
    stored = sqlite3.connect(path).execute("SELECT updated_at FROM contacts").fetchone()[0]
    assert stored == "2026-11-02T09:30:00.250001Z"
    # so a base stored just after it vouches for the row: the next cycle trusts it unread
    written = datetime(2026, 11, 2, 9, 30, 0, 250001, tzinfo=UTC)
    assert vouches(written, written + timedelta(milliseconds=3), timedelta(seconds=2))


def test_rows_xsync_writes_carry_microsecond_stamps_and_read_back_as_written(tmp_path):
    path = tmp_path / "ops.db"
    create_ops_db(path)
    store = SqliteOpsStore(path)
    [made] = store.write("contacts", [Change("k", "create", None, {"name": "Acme"})])
    assert made.ok and made.record is not None and made.id
    stored = sqlite3.connect(path).execute("SELECT updated_at FROM contacts").fetchone()[0]
    assert SIX_DIGITS.fullmatch(stored), stored
    assert made.record.updated_at == parse_updated_at(stored)
    assert made.record.updated_at is not None and made.record.updated_at.tzinfo is not None
    # the platform's own whole-second stamp next to it is read too, and is a different moment
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO contacts (id, name, updated_at) VALUES ('C-P', 'Platform', ?)",
                 [stored[:19] + "Z"])
    conn.commit()
    conn.close()
    scan = store.scan("contacts", None)
    stamps = {r.id: r.updated_at for r in scan.records}
    assert not scan.rejected
    assert stamps["C-P"] == parse_updated_at(stored[:19] + "Z")
    assert stamps[made.id] == parse_updated_at(stored)
    if not stored.endswith(".000000Z"):
        assert stamps["C-P"] != stamps[made.id]
    moment = (stamps[made.id] - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    changed = store.scan_changed("contacts", {made.id: moment})
    assert [r.id for r in changed.records] == ["C-P"]
    store.close()


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _moment(text: str) -> int | None:
    try:
        stamp = parse_updated_at(text)
    except ValueError:
        return None
    return None if stamp is None else (stamp - EPOCH) // timedelta(microseconds=1)


@st.composite
def change_times(draw: st.DrawFn) -> str:
    """Change times of every shape a platform might write, many of them no time at all."""
    year = draw(st.integers(0, 9999))
    month, day = draw(st.integers(0, 13)), draw(st.integers(0, 32))
    hour, minute, second = draw(st.integers(0, 25)), draw(st.integers(0, 61)), \
        draw(st.integers(0, 61))
    fraction = draw(st.sampled_from(["", ".000000", ".5", ".123", ".999999"])
                    | st.integers(0, 999_999).map(lambda n: f".{n:06d}"))
    zone = draw(st.sampled_from(["", "Z", "+00:00", "+11:00", "ZZ"]))
    sep = draw(st.sampled_from(["T", " ", "t"]))
    return (f"{year:04d}-{month:02d}-{day:02d}{sep}{hour:02d}:{minute:02d}:{second:02d}"
            f"{fraction}{zone}")


@settings(max_examples=300, deadline=None)
@given(st.lists(change_times(), min_size=1, max_size=8))
def test_a_row_known_at_its_change_time_is_left_out_and_at_any_other_listed(tmp_path_factory,
                                                                           texts):
    """The listing of changed rows compares change times in SQLite where it can read them
    exactly: a row known at the moment its stamp names is never read, and one known at a moment
    a microsecond off is always read, whatever the stamp's spelling."""
    path = tmp_path_factory.mktemp("ops") / "ops.db"
    create_ops_db(path)
    conn = sqlite3.connect(path)
    conn.executemany("INSERT INTO contacts (id, name, updated_at) VALUES (?, 'Acme', ?)",
                     [(f"C-{n}", text) for n, text in enumerate(texts)])
    conn.commit()
    conn.close()
    store = SqliteOpsStore(path)
    moments = {f"C-{n}": _moment(text) for n, text in enumerate(texts)}
    exact = {i: m for i, m in moments.items() if m is not None}
    same = store.scan_changed("contacts", exact)
    listed = {r.id for r in same.records} | {i for i, _ in same.rejected}
    assert listed == set(moments) - set(exact)
    assert same.ids == set(moments)
    for shift in (1, -1, 86_400_000_000):
        off = store.scan_changed("contacts", {i: m + shift for i, m in exact.items()})
        assert {r.id for r in off.records} | {i for i, _ in off.rejected} == set(moments)
    store.close()


def test_a_day_that_does_not_exist_is_not_read_as_the_day_after(tmp_path):
    """SQLite reads 30 February as 2 March; the listing does not take that for a known time."""
    path = tmp_path / "ops.db"
    create_ops_db(path)
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO contacts (id, name, updated_at) VALUES "
                 "('C-1', 'Acme', '2026-02-30T10:00:00Z')")
    conn.commit()
    conn.close()
    store = SqliteOpsStore(path)
    march = _moment("2026-03-02T10:00:00Z")
    assert march is not None
    scan = store.scan_changed("contacts", {"C-1": march})
    assert [i for i, _ in scan.rejected] == ["C-1"]
    store.close()



class _Fingerprinted(dict):  # type: ignore[type-arg]
    """Known times that also say what they hold, as the ledger's do."""

    def fingerprint(self) -> tuple[int, str]:
        return len(self), fingerprint_of(sorted(self.items()))


@pytest.mark.parametrize("slice_rows", [1, 2, 20_000])
def test_a_table_holding_just_the_known_rows_lists_nothing_and_says_so(tmp_path, monkeypatch,
                                                                       slice_rows):
    """However many rows each slice of the fingerprint reads (one, two, all of them)."""
    monkeypatch.setattr(ops_sqlite, "DIGEST_ROWS", slice_rows)
    path = tmp_path / "ops.db"
    create_ops_db(path)
    conn = sqlite3.connect(path)
    stamps = {"C-1": "2026-11-02T09:30:00.000005Z", "C-2": "2026-11-02 09:31:00",
              "C-10": "2026-11-02T09:32:00.000001+00:00"}
    conn.executemany("INSERT INTO contacts (id, name, updated_at) VALUES (?, 'Acme', ?)",
                     stamps.items())
    conn.commit()
    store = SqliteOpsStore(path)
    known = _Fingerprinted({i: _moment(t) for i, t in stamps.items()})
    same = store.scan_changed("contacts", known)
    assert same.as_known and same.records == [] and same.ids is None and not same.rejected
    # one time moved, a row added, a row gone: each is listed (or known gone) as before
    for change in ("UPDATE contacts SET updated_at = '2026-11-02T09:40:00.000000Z' "
                   "WHERE id = 'C-2'",
                   "INSERT INTO contacts (id, name, updated_at) VALUES ('C-3', 'New', "
                   "'2026-11-02T09:41:00Z')",
                   "DELETE FROM contacts WHERE id = 'C-10'"):
        conn.execute(change)
        conn.commit()
        scan = store.scan_changed("contacts", known)
        assert not scan.as_known and scan.ids is not None
    assert sorted(r.id for r in scan.records) == ["C-2", "C-3"]
    assert scan.ids == {"C-1", "C-2", "C-3"}
    # the known rows as they now are, and a row with no id beside them: it is never taken for
    # one of them (the fingerprint leaves it out, the count of rows does not)
    known = _Fingerprinted({r.id: _moment(t) for r, t in zip(
        scan.records, ["2026-11-02T09:40:00.000000Z", "2026-11-02T09:41:00Z"], strict=True)})
    known["C-1"] = _moment(stamps["C-1"])
    assert store.scan_changed("contacts", known).as_known
    conn.execute("INSERT INTO contacts (id, name, updated_at) VALUES (NULL, 'Nobody', "
                 "'2026-11-02T09:42:00Z')")
    conn.commit()
    with_null = store.scan_changed("contacts", known)
    assert not with_null.as_known and with_null.ids is not None
    conn.close()
    store.close()


def test_ids_holding_the_separators_never_pass_for_other_ids(tmp_path):
    """Rows ``x:A,y`` and ``z`` spell, joined without their lengths, the same text as known ids
    ``x`` and ``y:B,z``: the listing still tells them apart and lists both rows."""
    path = tmp_path / "ops.db"
    create_ops_db(path)
    a, b, c = ("2026-11-02T09:30:00.000001Z", "2026-11-02T09:30:00.000002Z",
               "2026-11-02T09:30:00.000003Z")
    ma, mb, mc = _moment(a), _moment(b), _moment(c)
    conn = sqlite3.connect(path)
    conn.executemany("INSERT INTO contacts (id, name, updated_at) VALUES (?, 'Acme', ?)",
                     [(f"x:{ma},y", b), ("z", c)])
    conn.commit()
    conn.close()
    store = SqliteOpsStore(path)
    scan = store.scan_changed("contacts", _Fingerprinted({"x": ma, f"y:{mb},z": mc}))
    assert not scan.as_known
    assert sorted(r.id for r in scan.records) == sorted([f"x:{ma},y", "z"])
    store.close()


class _Remembering(_Fingerprinted):
    """Known times that also recall the digests confirmed to match them, as the ledger's do
    between cycles; counts how often the fingerprint had to be built, and how often a digest
    was not recalled as proved."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.proved: set[str] = set()
        self.built = 0
        self.missed = 0

    def fingerprint(self) -> tuple[int, str]:
        self.built += 1
        return super().fingerprint()

    def proof_wanted(self) -> str:
        return "recall" if self.proved else "confirm"

    def recall(self, digest: str) -> bool:
        self.missed += digest not in self.proved
        return digest in self.proved

    def confirm(self, digest: str) -> None:
        self.proved.add(digest)


def _listed(scan):
    """The ids a scan listed: read, or not readable (these rows have no contact)."""
    return sorted([r.id for r in scan.records] + [row_id for row_id, _ in scan.rejected])


def _invoices_with_lines(path):
    create_ops_db(path)
    conn = sqlite3.connect(path)
    stamps = {"I-1": "2026-11-02T09:30:00.000005Z", "I-2": "2026-11-02T09:31:00Z"}
    conn.executemany("INSERT INTO invoices (id, number, contact_id, updated_at) "
                     "VALUES (?, ?, NULL, ?)", [(i, i, t) for i, t in stamps.items()])
    conn.executemany("INSERT INTO invoice_lines (id, invoice_id, position, quantity) "
                     "VALUES (?, ?, ?, '1')", [("L-1", "I-1", 1), ("L-2", "I-2", 1)])
    conn.commit()
    return conn, _Remembering({i: _moment(t) for i, t in stamps.items()})


def test_a_table_proved_to_match_is_recalled_without_building_its_fingerprint(tmp_path):
    conn, known = _invoices_with_lines(tmp_path / "ops.db")
    store = SqliteOpsStore(tmp_path / "ops.db")
    first = store.scan_changed("invoices", known)
    assert first.as_known and known.built == 1 and len(known.proved) == 1
    again = store.scan_changed("invoices", known)
    assert again.as_known and again.records == [] and not again.rejected_lines
    assert known.built == 1, "a table proved unchanged was fingerprinted again"
    store.close()
    conn.close()


def test_a_table_changed_since_its_proof_is_not_recalled(tmp_path):
    """A time moved, a row added or gone, a line moved to another document or added: each
    makes another digest, so the rows' times are compared again (without the fingerprints,
    which would only tell that something moved), and the rows whose times moved are listed."""
    changes = {
        "UPDATE invoices SET updated_at = '2026-11-02T09:40:00.000000Z' WHERE id = 'I-2'":
            ["I-2"],
        "INSERT INTO invoices (id, number, updated_at) VALUES ('I-3', 'I-3', "
        "'2026-11-02T09:41:00Z')": ["I-3"],
        # its line left behind names it
        "DELETE FROM invoices WHERE id = 'I-2'": ["I-2"],
        "UPDATE invoice_lines SET invoice_id = 'I-1' WHERE id = 'L-2'": [],
        "INSERT INTO invoice_lines (id, invoice_id, position) VALUES ('L-3', 'I-2', 2)": [],
    }
    for n, (change, listed) in enumerate(changes.items()):
        path = tmp_path / f"ops{n}.db"
        conn, known = _invoices_with_lines(path)
        store = SqliteOpsStore(path)
        assert store.scan_changed("invoices", known).as_known
        conn.execute(change)
        conn.commit()
        scan = store.scan_changed("invoices", known)
        assert known.missed == 1, f"recalled as proved after: {change}"
        assert _listed(scan) == listed, change
        assert scan.ids == ({"I-1"} if "DELETE" in change else {"I-1", "I-2", *listed}), change
        store.close()
        conn.close()


def test_a_table_read_in_chunks_has_the_digest_it_has_read_whole(tmp_path, monkeypatch):
    """A large table's digest is read a chunk of rows at a time (never its whole text at once):
    the same digest, so a proof stored from a whole read is recalled, and a change in any
    chunk is found."""
    conn, known = _invoices_with_lines(tmp_path / "ops.db")
    conn.executemany("INSERT INTO invoices (id, number, updated_at) VALUES (?, ?, ?)",
                     [(f"I-{n}", f"I-{n}", "2026-11-02T09:31:00Z") for n in range(3, 9)])
    conn.commit()
    known = _Remembering({**known, **{f"I-{n}": _moment("2026-11-02T09:31:00Z")
                                      for n in range(3, 9)}})
    store = SqliteOpsStore(tmp_path / "ops.db")
    assert store.scan_changed("invoices", known).as_known and known.built == 1
    monkeypatch.setattr(ops_sqlite, "DIGEST_ROWS", 3)
    assert store.scan_changed("invoices", known).as_known
    assert known.built == 1, "read in chunks, the table's digest changed"
    monkeypatch.setattr(ops_sqlite, "DIGEST_ROWS", 1)
    assert store.scan_changed("invoices", known).as_known and known.built == 1
    conn.execute("UPDATE invoices SET updated_at = '2026-11-02T09:40:00Z' WHERE id = 'I-7'")
    conn.commit()
    scan = store.scan_changed("invoices", known)
    assert known.missed == 1 and _listed(scan) == ["I-7"], \
        "a time moved in a later chunk went unseen"
    store.close()
    conn.close()


def test_a_table_without_rowids_is_digested_whole(tmp_path, monkeypatch):
    conn, known = _invoices_with_lines(tmp_path / "ops.db")
    (sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'invoices'").fetchone()
    conn.execute("ALTER TABLE invoices RENAME TO old_invoices")
    conn.execute(sql + " WITHOUT ROWID")
    conn.execute("INSERT INTO invoices SELECT * FROM old_invoices")
    conn.execute("DROP TABLE old_invoices")
    conn.commit()
    monkeypatch.setattr(ops_sqlite, "DIGEST_ROWS", 1)
    store = SqliteOpsStore(tmp_path / "ops.db")
    assert store.scan_changed("invoices", known).as_known
    assert store.scan_changed("invoices", known).as_known and known.built == 1
    store.close()
    conn.close()


def test_a_table_with_a_line_whose_document_is_gone_is_never_proved(tmp_path):
    conn, known = _invoices_with_lines(tmp_path / "ops.db")
    conn.execute("INSERT INTO invoice_lines (id, invoice_id, position) VALUES ('L-9', 'I-9', 1)")
    conn.commit()
    store = SqliteOpsStore(tmp_path / "ops.db")
    for _ in range(2):
        scan = store.scan_changed("invoices", known)
        assert scan.as_known and scan.rejected_lines, "the orphaned line went unreported"
    assert known.proved == set() and known.built == 2
    store.close()
    conn.close()


def test_proving_a_table_confirms_a_match_and_lists_nothing_either_way(tmp_path):
    conn, known = _invoices_with_lines(tmp_path / "ops.db")
    store = SqliteOpsStore(tmp_path / "ops.db")
    assert store.prove("invoices", known) and len(known.proved) == 1
    assert not store.prove("accounts", known), "a table without change times was proved"
    conn.execute("UPDATE invoices SET updated_at = '2026-11-02T09:50:00Z' WHERE id = 'I-1'")
    conn.commit()
    other = _Remembering(dict(known))
    assert not store.prove("invoices", other) and other.proved == set()
    conn.execute("UPDATE invoices SET updated_at = '2026-11-02T09:30:00.000005Z' "
                 "WHERE id = 'I-1'")
    conn.execute("INSERT INTO invoice_lines (id, invoice_id, position) VALUES ('L-9', 'I-9', 1)")
    conn.commit()
    orphaned = _Remembering(dict(known))
    assert not store.prove("invoices", orphaned) and orphaned.proved == set()
    store.close()
    conn.close()
