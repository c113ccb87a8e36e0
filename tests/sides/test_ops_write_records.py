"""What a write returns is the record as the store holds it afterwards.

The engine keeps the hash of each returned record as the base and compares it with the next
scan, so the record must be exactly what ``fetch`` (and ``scan``) read for that id: the same
fields and their text, the same lines in the same order with the same ids, the same change
time. The store builds it from what it wrote where the table's shape tells what SQLite keeps,
and reads it back where it cannot tell."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from xsync.model.records import Line, Record
from xsync.model.side import Change, ChangeResult
from xsync.sides.ops_sqlite import SqliteOpsStore, create_ops_db

STAMP = "2026-11-05T00:00:00Z"
ODD_TEXT = "Café — \"quoted\" 'twice' \\ back;slash\ttab\nnew line\x00nul  "


def _seed(path: Path) -> None:
    create_ops_db(path)
    conn = sqlite3.connect(path)
    conn.executescript(f"""
        INSERT INTO accounts VALUES ('200', 'Sales', 'REVENUE', 'OUTPUT', 'active'),
                                    ('300', 'Purchases', 'EXPENSE', 'INPUT', 'active');
        INSERT INTO contacts (id, name, status, updated_at) VALUES
            ('C1', 'Acme', 'active', '{STAMP}'), ('C2', 'Bolt', 'active', '{STAMP}');
        INSERT INTO invoices (id, number, contact_id, date, status, total, updated_at)
            VALUES ('I-OLD', 'INV-OLD', 'C1', '2026-11-02', 'approved', '110', '{STAMP}');
        INSERT INTO invoice_lines (id, invoice_id, position, description, quantity, unit_price,
                                   account_code, tax_type, job, site, category)
            VALUES ('OL1', 'I-OLD', 1, 'Labour', '2', '50', '200', 'OUTPUT', 'J1', 'North',
                    NULL),
                   ('OL2', 'I-OLD', 2, 'Parts', '1', '10', NULL, 'OUTPUT', NULL, 'South',
                    'materials'),
                   ('OL3', 'I-OLD', 3, 'Travel', '1', '5', '200', NULL, NULL, NULL, NULL);
        -- lines left behind by an invoice row the platform removed
        INSERT INTO invoice_lines (id, invoice_id, position, description, quantity,
                                   unit_price, account_code)
            VALUES ('ORPHAN', 'I-GONE', 1, 'Left behind', '1', '1', '200');
    """)
    conn.commit()
    conn.close()


def _store(path: Path, **kwargs: Any) -> SqliteOpsStore:
    return SqliteOpsStore(path, categories={"materials": "300"},
                          default_tax_types={"200": "OUTPUT", "300": "INPUT"},
                          tracked={"job"}, **kwargs)


def _line(line_id: str | None, **fields: str | None) -> Line:
    return Line(line_id, dict(fields))


def _doc(number: str, contact: str, **more: str | None) -> dict[str, str | None]:
    return {"number": number, "contact_id": contact, "date": "2026-11-02",
            "due_date": "2026-12-02", "reference": more.pop("reference", None),
            "currency": "AUD", "amounts_are": "exclusive", "status": "approved", **more}


# creates of every entity, with odd but valid values: money and quantities not in canonical
# text, empty text, text with quotes and control characters, lines out of order, a line whose
# account comes from its category, an untracked tracking value, and rows that read as invalid
CREATES: dict[str, list[Change]] = {
    "accounts": [
        Change("a1", "create", None, {"code": "400", "name": ODD_TEXT, "type": "EXPENSE",
                                      "tax_type": "", "status": "active"}),
        Change("a2", "create", "410", {"code": "410", "name": "Rent", "type": None,
                                       "tax_type": "INPUT", "status": "archived"}),
    ],
    "tax_rates": [
        Change("t1", "create", None, {"tax_type": "OUTPUT", "name": "GST", "rate": "10",
                                      "status": "active"}),
        Change("t2", "create", None, {"tax_type": "EXEMPT", "name": "Free", "rate": "0.0000",
                                      "status": None}),
    ],
    "contacts": [
        Change("c1", "create", None, {"name": ODD_TEXT, "email": "", "phone": "02 9000 0000",
                                      "abn": "51 824 753 556", "status": "active"}),
        Change("c2", "create", None, {"name": "Only a name"}),
        # reads as invalid: the scan rejects it, so no record comes back
        Change("c3", "create", None, {"name": "Bad mail", "email": "not an address",
                                      "status": "active"}),
        Change("c4", "create", "C-GIVEN", {"name": "Given id", "status": "archived",
                                           "merged_into": "C1"}),
    ],
    "invoices": [
        Change("i1", "create", None, _doc("INV-1", "C1", total="110", subtotal="100.0",
                                          total_tax="10.00", amount_due="-0.00"),
               [_line(None, position="2", description="Second", quantity="1.2345",
                      unit_price="10", account_code="200", tax_type=None, job="J-7",
                      site="Site only the platform keeps", line_amount="12.35"),
                _line("GIVEN-L", position="1", description=ODD_TEXT, quantity="2",
                      unit_price="0.5", account_code="300", tax_type="INPUT",
                      discount_rate="12.5"),
                _line(None, position=None, description="No position", quantity=None,
                      unit_price=None, account_code=None, tax_type=None)]),
        Change("i2", "create", None, {"number": "INV-2", "contact_id": "C2",
                                      "date": "2026-11-03", "status": "draft"}, []),
        Change("i3", "create", None, _doc("INV-3", "C1", reference=""), None),
        # reads as invalid: a date the calendar has not
        Change("i4", "create", None, _doc("INV-4", "C1", date="2026-02-30"), []),
        # a contact the contacts table does not have
        Change("i5", "create", None, _doc("INV-5", "C-NOBODY"), []),
        # an id whose lines the platform left behind: the record holds them too
        Change("i6", "create", "I-GONE", _doc("INV-6", "C2"),
               [_line(None, position="2", description="New", quantity="1",
                      unit_price="1", account_code="200", tax_type="OUTPUT")]),
    ],
    "bills": [
        Change("b1", "create", None, _doc("SUP-1", "C2", total="11"),
               [_line(None, position="1", description="Timber", quantity="3",
                      unit_price="3.6667", account_code="300", tax_type="INPUT")]),
    ],
    "credit_notes": [
        Change("n1", "create", None, {"number": "CN-1", "contact_id": "C1",
                                      "invoice_id": "I-OLD", "date": "2026-11-09",
                                      "total": "5", "remaining": "0", "status": "paid"}),
        Change("n2", "create", None, {"number": "CN-2", "contact_id": "C-XERO-ONLY",
                                      "date": "2026-11-09", "total": "5.5", "status": None}),
    ],
    "credits": [
        Change("r1", "create", None, {"kind": "prepayment", "contact_id": "C1",
                                      "date": "2026-11-09", "reference": "Deposit",
                                      "total": "100", "remaining": "100.0",
                                      "status": "approved", "bank_account": " 090 ",
                                      "account_code": "", "tax_type": "OUTPUT"}),
        Change("r2", "create", None, {"kind": "overpayment", "contact_id": "C2",
                                      "date": "2026-11-09", "total": "7.7"}),
    ],
    "payments": [
        Change("p1", "create", None, {"invoice_id": "I-OLD", "date": "2026-11-09",
                                      "amount": "50", "reference": ODD_TEXT,
                                      "status": "authorised"}),
        Change("p2", "create", None, {"bill_id": "B-X", "date": "2026-11-09",
                                      "amount": "-0.00", "status": "reversed"}),
    ],
    "allocations": [
        Change("l1", "create", None, {"kind": "prepayment", "credit_id": "CR-X",
                                      "invoice_id": "I-OLD", "amount": "20",
                                      "date": "2026-11-10", "status": "applied"}),
        Change("l2", "create", None, {"kind": "credit_note", "credit_note_id": "CN-X",
                                      "invoice_id": "I-OLD", "amount": "0.1",
                                      "date": "2026-11-10"}),
    ],
}


def _same_as_fetched(store: SqliteOpsStore, entity: str, results: list[ChangeResult]) -> None:
    """Each written record is exactly the fetch of its id afterwards (absent where the fetch
    finds nothing), and what the scan lists for it."""
    ids = [r.id for r in results if r.ok and r.id]
    fetched = {r.id: r for r in store.fetch(entity, ids)}
    scanned = {r.id: r for r in store.scan(entity, None).records}
    for result in results:
        if not result.ok:
            continue
        assert result.id is not None
        want = fetched.get(result.id)
        assert result.record == want, (entity, result.id)
        assert result.record == scanned.get(result.id), (entity, result.id)
        if want is not None and result.record is not None:
            assert result.record.to_json() == want.to_json()
            assert list(result.record.fields) == list(want.fields)
            assert [list(ln.fields) for ln in result.record.lines or []] == \
                [list(ln.fields) for ln in want.lines or []]
            assert result.record.updated_at == want.updated_at


def _created(store: SqliteOpsStore) -> dict[str, list[ChangeResult]]:
    out = {}
    for entity, changes in CREATES.items():
        results = store.write(entity, changes)
        assert all(r.ok for r in results), [r.errors for r in results]
        _same_as_fetched(store, entity, results)
        out[entity] = results
    return out


def _by_key(results: list[ChangeResult]) -> dict[str, str]:
    return {r.key: r.id or "" for r in results}


def test_records_a_batch_of_creates_returns_are_what_fetch_reads(tmp_path: Path) -> None:
    path = tmp_path / "ops.db"
    _seed(path)
    store = _store(path)
    created = _created(store)
    # the rows that read as invalid come back as no record, as fetch gives none
    assert [r.record is None for r in created["contacts"]] == [False, False, True, False]
    assert [r.record is None for r in created["invoices"]] == \
        [False, False, False, True, True, False]
    first = created["invoices"][0].record
    assert first is not None and first.lines is not None
    assert [ln.fields["position"] for ln in first.lines] == [None, "1", "2"]
    assert first.fields["total"] == "110.00" and first.fields["amount_due"] == "0.00"
    assert first.lines[2].fields["quantity"] == "1.2345"
    assert first.lines[2].fields["site"] is None and first.lines[2].fields["job"] == "J-7"
    gone = created["invoices"][5].record
    assert gone is not None and [ln.id for ln in gone.lines or []] == ["ORPHAN", gone.lines[1].id]
    store.close()


def test_records_of_updates_deletes_and_voids_are_what_fetch_reads(tmp_path: Path) -> None:
    path = tmp_path / "ops.db"
    _seed(path)
    store = _store(path)
    ids = {e: _by_key(r) for e, r in _created(store).items()}
    inv = ids["invoices"]
    # what the platform changed meanwhile, in columns xsync does not write
    conn = sqlite3.connect(path)
    conn.execute("UPDATE invoice_lines SET site = 'Platform site', category = 'materials' "
                 "WHERE invoice_id = ?", [inv["i1"]])
    conn.commit()
    conn.close()
    old_lines = [_line("OL3", position="1", description="Travel, first now", quantity="1.5",
                       unit_price="5", account_code="200", tax_type=None),
                 _line("OL1", position="2", description="Labour", quantity="2",
                       unit_price="50.000", account_code="200", tax_type="OUTPUT", job=None),
                 _line(None, position="3", description="Added", quantity="1",
                       unit_price="1", account_code="300", tax_type="INPUT", job="J-9")]
    batches: dict[str, list[Change]] = {
        "invoices": [
            # lines reordered, changed, one removed (OL2), one added
            Change("u1", "update", "I-OLD", {"reference": ODD_TEXT, "total": "57.5"},
                   old_lines),
            # fields only: the lines stay as stored
            Change("u2", "update", inv["i1"], {"status": "paid", "amount_paid": "110",
                                               "amount_due": "0", "paid_on": "2026-11-20"}),
            # every line removed
            Change("u3", "update", inv["i2"], {}, []),
            Change("u4", "delete", inv["i3"]),
            Change("u5", "void", inv["i6"]),
            # written twice in one batch: the record as it ends
            Change("u6", "update", inv["i4"], {"date": "2026-02-28"}),
            Change("u7", "update", inv["i4"], {"reference": "twice"}),
            # refused: no such row
            Change("u8", "update", "I-NOBODY", {"reference": "x"}),
            Change("u9", "create", None, _doc("INV-9", "C2"),
                   [_line(None, position="1", description="Fresh", quantity="1",
                          unit_price="9.90", account_code="200", tax_type="OUTPUT")]),
        ],
        "contacts": [
            Change("v1", "update", ids["contacts"]["c1"], {"email": "ap@acme.test",
                                                           "name": "Acme again"}),
            Change("v2", "update", ids["contacts"]["c3"], {"email": "fixed@bad.test"}),
            Change("v3", "delete", ids["contacts"]["c2"]),
            Change("v4", "create", None, {"name": "New mixed", "status": "active"}),
        ],
        "bills": [
            Change("w1", "update", ids["bills"]["b1"], {"total": "12.10"},
                   [_line(None, position="1", description="Nails", quantity="1",
                          unit_price="12.1", account_code="300", tax_type="INPUT")]),
        ],
        "payments": [Change("x1", "update", ids["payments"]["p1"], {"amount": "49.5"}),
                     Change("x2", "delete", ids["payments"]["p2"])],
        "credits": [Change("y1", "update", ids["credits"]["r1"],
                           {"remaining": "40", "status": "approved"})],
        "credit_notes": [Change("z1", "void", ids["credit_notes"]["n1"])],
        "allocations": [Change("q1", "delete", ids["allocations"]["l1"])],
        "accounts": [Change("a3", "update", "400", {"name": "Renamed", "tax_type": "INPUT"})],
        "tax_rates": [Change("t3", "update", "OUTPUT", {"rate": "10.0000"})],
    }
    for entity, changes in batches.items():
        results = store.write(entity, changes)
        _same_as_fetched(store, entity, results)
    store.close()


def _reads_back(path: Path, entity: str, changes: list[Change]) -> tuple[list[ChangeResult],
                                                                          list[str]]:
    """The results of a write, and the SELECTs on the entity's table run once it committed."""
    store = _store(path)
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    results = store.write(entity, changes)
    store.conn.set_trace_callback(None)
    _same_as_fetched(store, entity, results)
    store.close()
    after = statements[statements.index("COMMIT") + 1:]
    return results, [s for s in after if s.startswith(f"SELECT * FROM {entity}")]


def test_a_plain_table_is_not_read_back_after_a_write(tmp_path: Path) -> None:
    path = tmp_path / "ops.db"
    _seed(path)
    results, reads = _reads_back(path, "invoices", CREATES["invoices"][:3])
    assert all(r.record is not None for r in results)
    assert reads == []


@pytest.mark.parametrize("reshape", [
    # numbers stored as numbers: '57.50' would come back as a binary float
    "ALTER TABLE invoices RENAME COLUMN total TO total_text; "
    "ALTER TABLE invoices ADD COLUMN total NUMERIC",
    # a trigger the platform keeps on its rows
    "CREATE TRIGGER stamp_lines AFTER INSERT ON invoice_lines BEGIN "
    "UPDATE invoice_lines SET description = upper(NEW.description) WHERE id = NEW.id; END",
    # a default that is not text: stored as the text '7'
    "ALTER TABLE invoices RENAME COLUMN reference TO reference_old; "
    "ALTER TABLE invoices ADD COLUMN reference TEXT DEFAULT 7",
])
def test_a_table_of_another_shape_is_read_back(tmp_path: Path, reshape: str) -> None:
    path = tmp_path / "ops.db"
    _seed(path)
    conn = sqlite3.connect(path)
    conn.executescript(reshape)
    conn.commit()
    conn.close()
    changes = [CREATES["invoices"][0], CREATES["invoices"][1],
               Change("half", "create", None, _doc("INV-H", "C1", total="57.50"), [])]
    results, reads = _reads_back(path, "invoices", changes)
    assert reads != []
    assert all(r.ok for r in results)


def test_a_table_reshaped_while_the_store_is_open_is_read_back(tmp_path: Path) -> None:
    path = tmp_path / "ops.db"
    _seed(path)
    store = _store(path)
    store.write("contacts", [Change("k", "create", None, {"name": "Before"})])
    conn = sqlite3.connect(path)
    conn.execute("CREATE TRIGGER shout AFTER INSERT ON contacts BEGIN "
                 "UPDATE contacts SET name = upper(NEW.name) WHERE id = NEW.id; END")
    conn.commit()
    conn.close()
    [result] = store.write("contacts", [Change("k", "create", None, {"name": "After"})])
    assert isinstance(result.record, Record) and result.record.fields["name"] == "AFTER"
    _same_as_fetched(store, "contacts", [result])
    store.close()


def test_a_line_whose_stored_id_is_not_text_is_read_back(tmp_path: Path) -> None:
    """A platform's line table may keep ids as numbers: a change naming the line by its text
    does not reach it, and the record returned says so, as a fetch does."""
    path = tmp_path / "ops.db"
    _seed(path)
    conn = sqlite3.connect(path)
    conn.executescript("""
        ALTER TABLE invoice_lines RENAME TO old_lines;
        CREATE TABLE invoice_lines (
            id PRIMARY KEY, invoice_id TEXT NOT NULL, position INTEGER, description TEXT,
            quantity TEXT, unit_price TEXT, account_code TEXT, category TEXT, tax_type TEXT,
            tax_amount TEXT, line_amount TEXT, discount_rate TEXT, job TEXT, site TEXT);
        INSERT INTO invoice_lines SELECT id, invoice_id, position, description, quantity,
            unit_price, account_code, category, tax_type, tax_amount, line_amount,
            discount_rate, job, site FROM old_lines WHERE id != 'OL2';
        INSERT INTO invoice_lines (id, invoice_id, position, description, quantity, unit_price,
                                   account_code, tax_type) VALUES
            (7, 'I-OLD', 4, 'Numbered by the platform', '1', '3', '200', 'OUTPUT');
        DROP TABLE old_lines;
    """)
    conn.commit()
    conn.close()
    lines = [_line("7", position="1", description="Renamed", quantity="1", unit_price="3",
                   account_code="200", tax_type="OUTPUT"),
             _line("OL1", position="2", description="Labour", quantity="2", unit_price="50",
                   account_code="200", tax_type="OUTPUT")]
    results, reads = _reads_back(path, "invoices",
                                 [Change("u", "update", "I-OLD", {"reference": "R"}, lines)])
    assert reads != []
    record = results[0].record
    assert record is not None and "Numbered by the platform" in \
        [ln.fields["description"] for ln in record.lines or []]
