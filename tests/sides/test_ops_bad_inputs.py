"""Bad rows in ops.db, one kind at a time: each is rejected alone, with a sentence naming the
record, the field and the value, and the rows around it are still read."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from xsync.sides.ops_rows import parse_updated_at
from xsync.sides.ops_sqlite import SqliteOpsStore

# the corpus is shared with the sync tests, one folder up
sys.path.append(str(Path(__file__).resolve().parents[1]))
from bad_rows import CASES, GOOD, PYTHON_TEXT, STAMP, TEMPLATES, Bad
from bad_rows import add_bad_row as _add_bad_row
from bad_rows import seed as _seed

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

def test_the_corpus_has_forty_kinds_or_more() -> None:
    assert len({c.kind for c in CASES}) == len(CASES) >= 40
    assert {c.table for c in CASES} == set(TEMPLATES)


@pytest.mark.parametrize("case", CASES, ids=[c.kind for c in CASES])
def test_a_bad_row_is_rejected_alone_with_a_reason_naming_it(tmp_path: Path, case: Bad) -> None:
    path = tmp_path / "ops.db"
    _seed(path)
    entity, rejected_id, who = _add_bad_row(path, case)
    store = SqliteOpsStore(path)
    result = store.scan(entity, None)

    assert [rid for rid, _ in result.rejected] == [rejected_id]
    reason = result.rejected[0][1]
    assert who in reason
    assert case.field in reason
    assert case.shown in reason
    assert not any(text in reason for text in PYTHON_TEXT), reason
    # the neighbours still read; the bad row is not among the records
    ids = {r.id for r in result.records}
    assert GOOD[entity] <= ids
    assert rejected_id not in ids
    # the complete listing still holds every row it could read
    assert result.complete
    # a document that exists but is unreadable is absent from fetch too
    if rejected_id == "X-1" or case.owner is None:
        assert store.fetch(entity, [*sorted(GOOD[entity]), rejected_id]) == [
            r for r in result.records if r.id in GOOD[entity]]
    store.close()


def test_a_rejected_row_reads_once_fixed(tmp_path: Path) -> None:
    path = tmp_path / "ops.db"
    _seed(path)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE invoice_lines SET unit_price = '1e30' WHERE id = 'L1'")
    conn.commit()
    store = SqliteOpsStore(path)
    assert [rid for rid, _ in store.scan("invoices", None).rejected] == ["I1"]
    conn.execute("UPDATE invoice_lines SET unit_price = '50.1234' WHERE id = 'L1'")
    conn.commit()
    conn.close()
    after = store.scan("invoices", None)
    assert after.rejected == []
    [fixed] = [r for r in after.records if r.id == "I1"]
    # four decimals of a unit price arrive as written
    assert fixed.lines is not None and fixed.lines[0].fields["unit_price"] == "50.1234"


def test_every_problem_of_a_row_is_named_in_its_one_reason(tmp_path: Path) -> None:
    path = tmp_path / "ops.db"
    _seed(path)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA ignore_check_constraints = ON")
    conn.execute("UPDATE invoices SET total = '1_000', status = 'sent' WHERE id = 'I1'")
    conn.execute("UPDATE invoice_lines SET quantity = '1e3' WHERE id = 'L1'")
    conn.commit()
    conn.close()
    [(rid, reason)] = SqliteOpsStore(path).scan("invoices", None).rejected
    assert rid == "I1"
    assert "total '1_000'" in reason
    assert "status 'sent' is not one of the allowed values: draft, approved, paid, void, " \
           "deleted" in reason
    assert "line L1: quantity '1e3' is not a plain decimal number" in reason


def test_the_reason_reads_as_a_sentence_for_a_bookkeeper(tmp_path: Path) -> None:
    path = tmp_path / "ops.db"
    _seed(path)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE invoice_lines SET id = 'L-7', unit_price = '1e30' WHERE id = 'L1'")
    conn.commit()
    conn.close()
    [(_, reason)] = SqliteOpsStore(path).scan("invoices", None).rejected
    assert reason == ("line L-7: unit_price '1e30' is not a plain decimal number (digits, "
                      "optionally a point and decimals)")


def _platform_db(path: Path, replace: dict[str, str]) -> sqlite3.Connection:
    """An ops.db whose platform declared some columns its own way (the contract is names)."""
    from xsync.sides.ops_sqlite import SCHEMA_SCRIPTS

    conn = sqlite3.connect(path)
    for script in SCHEMA_SCRIPTS:
        for old, new in replace.items():
            script = script.replace(old, new)
        conn.executescript(script)
    return conn


def test_integers_are_exact_and_binary_floats_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "ops.db"
    conn = _platform_db(path, {"total TEXT": "total NUMERIC", "quantity TEXT": "quantity NUMERIC"})
    conn.execute("INSERT INTO accounts (code) VALUES ('200')")
    conn.execute(f"INSERT INTO contacts (id, name, updated_at) VALUES ('C1', 'Acme', '{STAMP}')")
    conn.executemany(
        "INSERT INTO invoices (id, contact_id, date, total, updated_at) VALUES (?, 'C1', "
        "'2026-11-02', ?, ?)", [("I-INT", 110, STAMP), ("I-REAL", 0.1, STAMP)])
    conn.executemany(
        "INSERT INTO invoice_lines (id, invoice_id, quantity, unit_price, account_code) "
        "VALUES (?, ?, ?, '10', '200')", [("L-INT", "I-INT", 2), ("L-REAL", "I-REAL", 1.5)])
    conn.commit()
    assert conn.execute("SELECT typeof(total) FROM invoices WHERE id = 'I-REAL'").fetchone() \
        == ("real",)
    conn.close()
    result = SqliteOpsStore(path).scan("invoices", None)
    [good] = result.records
    assert good.id == "I-INT" and good.fields["total"] == "110.00"
    [(rid, reason)] = result.rejected
    assert rid == "I-REAL"
    assert "invoice I-REAL: total 0.1 is a binary floating-point number" in reason
    assert "line L-REAL: quantity 1.5 is a binary floating-point number" in reason
    assert good.lines is not None and good.lines[0].fields["quantity"] == "2.00"


def test_rows_sharing_an_id_are_all_rejected(tmp_path: Path) -> None:
    path = tmp_path / "ops.db"
    conn = _platform_db(path, {"id TEXT PRIMARY KEY, name": "id TEXT, name"})
    conn.executemany("INSERT INTO contacts (id, name, updated_at) VALUES (?, ?, ?)",
                     [("C1", "Acme", STAMP), ("C1", "Acme again", STAMP),
                      ("C2", "Bolt", STAMP), (None, "No id", STAMP)])
    conn.commit()
    conn.close()
    result = SqliteOpsStore(path).scan("contacts", None)
    assert [r.id for r in result.records] == ["C2"]
    reasons = dict(result.rejected)
    assert "2 rows of contacts have the id 'C1'" in reasons["C1"]
    assert "a row of contacts has no id" in reasons[""]
    # the listing of changed rows, with both ids known unchanged, rejects them just the same
    moment = (parse_updated_at(STAMP) - EPOCH) // timedelta(microseconds=1)
    changed = SqliteOpsStore(path).scan_changed("contacts", {"C1": moment, "C2": moment})
    assert changed.records == [] and changed.ids == {"C1", "C2", ""}
    assert sorted(rid for rid, _ in changed.rejected) == ["", "C1", "C1"]
    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM contacts WHERE id IS NULL")
    conn.commit()
    conn.close()
    changed = SqliteOpsStore(path).scan_changed("contacts", {"C1": moment, "C2": moment})
    assert changed.records == [] and changed.ids == {"C1", "C2"}
    assert [rid for rid, _ in changed.rejected] == ["C1", "C1"]
    # and so does the comparison walking the engine's times in the order of the ids

    class InOrder(dict[str, int]):
        def in_order(self) -> Iterator[tuple[str, int]]:
            return iter(sorted(self.items()))
    changed = SqliteOpsStore(path).scan_changed("contacts", InOrder(C1=moment, C2=moment))
    assert changed.records == [] and changed.ids == {"C1", "C2"}
    assert [rid for rid, _ in changed.rejected] == ["C1", "C1"]


def test_a_document_with_many_bad_lines_names_five_and_counts_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "ops.db"
    _seed(path)
    conn = sqlite3.connect(path)
    conn.executemany("INSERT INTO invoice_lines (id, invoice_id, quantity) VALUES (?, 'I1', ?)",
                     [(f"LX{n:02d}", f"{n}e3") for n in range(12)])
    conn.commit()
    conn.close()
    [(_, reason)] = SqliteOpsStore(path).scan("invoices", None).rejected
    assert reason.count("is not a plain decimal number") == 5
    assert reason.startswith("line LX00: quantity '0e3'")
    assert reason.endswith("; and 7 more problems")
