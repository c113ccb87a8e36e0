"""The change times xsync writes into `ops.db`: to the microsecond, six digits always, and read
back alongside the platform's own whole-second stamps."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta, timezone

from xsync.model.side import Change
from xsync.sides.ops_rows import parse_updated_at, stamp_text
from xsync.sides.ops_sqlite import SqliteOpsStore, create_ops_db

SIX_DIGITS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")


def test_a_stamp_keeps_six_fractional_digits_even_on_a_whole_second():
    assert stamp_text(datetime(2026, 11, 2, 9, 30, tzinfo=UTC)) == "2026-11-02T09:30:00.000000Z"
    assert stamp_text(datetime(2026, 11, 2, 9, 30, 0, 5, tzinfo=UTC)) == \
        "2026-11-02T09:30:00.000005Z"
    sydney = timezone(timedelta(hours=11))
    assert stamp_text(datetime(2026, 11, 2, 20, 30, 0, 123456, tzinfo=sydney)) == \
        "2026-11-02T09:30:00.123456Z"


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
    changed = store.scan_changed("contacts", {made.id: stamps[made.id]})
    assert [r.id for r in changed.records] == ["C-P"]
    store.close()
