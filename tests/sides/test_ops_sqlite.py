"""The SQLite ops store: schema, canonical mapping, validation at the edge, writes."""

from __future__ import annotations

import sqlite3

from xsync.model.records import Line
from xsync.model.side import Change
from xsync.sides.ops_sqlite import SqliteOpsStore, create_ops_db


def _seed(path):
    create_ops_db(path)
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        INSERT INTO accounts VALUES ('200', 'Sales', 'REVENUE', 'OUTPUT', 'active');
        INSERT INTO contacts (id, name, email, abn, status, updated_at)
            VALUES ('C1', 'Acme Pty Ltd', 'ap@acme.test', '51824753556', 'active',
                    '2026-11-01T00:00:00Z');
        INSERT INTO invoices (id, number, contact_id, date, due_date, status, total, updated_at)
            VALUES ('I1', 'INV-1', 'C1', '2026-11-02', '2026-12-02', 'approved', '110',
                    '2026-11-02T00:00:00Z'),
                   ('I2', 'INV-2', 'C1', '2026-13-45', NULL, 'approved', '1',
                    '2026-11-02T00:00:00Z'),
                   ('I3', 'INV-3', 'NOPE', '2026-11-02', NULL, 'approved', '1',
                    '2026-11-02T00:00:00Z'),
                   ('I4', 'INV-4', 'C1', '2026-11-02', NULL, 'approved', '12.3.4',
                    '2026-11-02T00:00:00Z'),
                   ('I5', 'INV-5', 'C1', '2026-11-02', NULL, 'approved', '5',
                    '2026-11-02T00:00:00Z');
        INSERT INTO invoice_lines (id, invoice_id, position, description, quantity, unit_price,
                                   account_code, tax_type)
            VALUES ('L1', 'I1', 1, 'Labour', '2', '50', '200', 'OUTPUT'),
                   ('L5', 'I5', 1, 'Bad code', '1', '5', '999', 'OUTPUT');
        """
    )
    conn.commit()
    conn.close()


def test_scan_maps_rows_to_canonical_text_and_rejects_bad_rows(tmp_path):
    path = tmp_path / "ops.db"
    _seed(path)
    store = SqliteOpsStore(path)
    result = store.scan("invoices", None)
    assert [r.id for r in result.records] == ["I1"]
    inv = result.records[0]
    assert inv.fields["total"] == "110.00"
    assert inv.fields["date"] == "2026-11-02"
    assert inv.lines is not None and inv.lines[0].fields["quantity"] == "2.00"
    assert inv.lines[0].fields["unit_price"] == "50.00"
    reasons = dict(result.rejected)
    assert set(reasons) == {"I2", "I3", "I4", "I5"}
    assert "YYYY-MM-DD" in reasons["I2"]
    assert "NOPE" in reasons["I3"]
    assert "decimal" in reasons["I4"]
    assert "999" in reasons["I5"]


def test_category_maps_to_account_code(tmp_path):
    path = tmp_path / "ops.db"
    _seed(path)
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO bills (id, number, contact_id, date, status, updated_at) "
        "VALUES ('B1', 'SUP-1', 'C1', '2026-11-03', 'approved', '2026-11-03T00:00:00Z')"
    )
    conn.execute(
        "INSERT INTO bill_lines (id, bill_id, position, description, quantity, unit_price, "
        "category, tax_type) VALUES ('BL1', 'B1', 1, 'Timber', '1', '99.5', 'materials', 'INPUT')"
    )
    conn.commit()
    conn.close()
    unmapped = SqliteOpsStore(path).scan("bills", None)
    assert unmapped.records == [] and "materials" in unmapped.rejected[0][1]
    mapped = SqliteOpsStore(path, categories={"materials": "200"}).scan("bills", None)
    assert mapped.records[0].lines[0].fields["account_code"] == "200"


def test_write_create_update_lines_and_delete(tmp_path):
    path = tmp_path / "ops.db"
    _seed(path)
    store = SqliteOpsStore(path, now=lambda: "2026-11-10T00:00:00Z")
    created = store.write("payments", [Change(key="k1", action="create", id=None, fields={
        "invoice_id": "I1", "date": "2026-11-09", "amount": "50.00", "reference": "EFT",
        "status": "authorised"})])[0]
    assert created.ok and created.id and created.id.startswith("PAY-")
    assert created.record is not None and created.record.fields["amount"] == "50.00"

    lines = [Line(id="L1", fields={"description": "Labour (site)", "quantity": "2.00",
                                   "unit_price": "50.00", "account_code": "200",
                                   "tax_type": "INPUT"}),
             Line(id="X-NEW", fields={"description": "Travel", "quantity": "1.00",
                                      "unit_price": "20.00", "account_code": "200",
                                      "tax_type": "OUTPUT"})]
    updated = store.write("invoices", [Change(key="k2", action="update", id="I1",
                                              fields={"reference": "PO-7"}, lines=lines)])[0]
    assert updated.ok and updated.record is not None
    assert updated.record.fields["reference"] == "PO-7"
    assert [ln.id for ln in updated.record.lines or []] == ["L1", "X-NEW"]
    assert updated.record.lines[0].fields["tax_type"] == "INPUT"
    assert updated.record.updated_at is not None

    trimmed = store.write("invoices", [Change(key="k3", action="update", id="I1",
                                              lines=lines[1:])])[0]
    assert [ln.id for ln in trimmed.record.lines or []] == ["X-NEW"]

    gone = store.write("invoices", [Change(key="k4", action="delete", id="I1")])[0]
    assert gone.record is not None and gone.record.fields["status"] == "deleted"

    missing = store.write("invoices", [Change(key="k5", action="update", id="NOPE",
                                              fields={"reference": "x"})])[0]
    assert not missing.ok and "NOPE" in missing.errors[0]


def test_a_line_without_tax_type_takes_its_accounts_default(tmp_path):
    path = tmp_path / "ops.db"
    _seed(path)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE invoice_lines SET tax_type = NULL WHERE id = 'L1'")
    conn.commit()
    conn.close()
    plain = SqliteOpsStore(path).scan("invoices", None).records[0]
    assert plain.lines[0].fields["tax_type"] is None
    mapped = SqliteOpsStore(path, default_tax_types={"200": "OUTPUT"}).scan("invoices", None)
    assert mapped.records[0].lines[0].fields["tax_type"] == "OUTPUT"


def test_fetch_and_write_of_more_ids_than_one_query_takes(tmp_path):
    """Ids go to SQLite a chunk at a time; every one asked for comes back, in the order asked."""
    path = tmp_path / "ops.db"
    create_ops_db(path)
    conn = sqlite3.connect(path)
    conn.executemany(
        "INSERT INTO contacts (id, name, status, updated_at) VALUES (?, ?, 'active', ?)",
        [(f"C{n:04d}", f"Customer {n}", "2026-11-01T00:00:00Z") for n in range(1_100)])
    conn.executemany(
        "INSERT INTO invoices (id, number, contact_id, date, status, updated_at) "
        "VALUES (?, ?, 'C0000', '2026-11-02', 'approved', '2026-11-02T00:00:00Z')",
        [(f"I{n:04d}", f"INV-{n}") for n in range(1_100)])
    conn.executemany(
        "INSERT INTO invoice_lines (id, invoice_id, position, quantity, unit_price) "
        "VALUES (?, ?, 1, '1', '10')", [(f"L{n:04d}", f"I{n:04d}") for n in range(1_100)])
    conn.commit()
    conn.close()
    store = SqliteOpsStore(path)
    wanted = [f"C{n:04d}" for n in reversed(range(1_100))]
    assert [r.id for r in store.fetch("contacts", wanted)] == wanted
    changes = [Change(key=f"I{n:04d}", action="update", id=f"I{n:04d}",
                      fields={"reference": f"ref {n}"},
                      lines=[Line(f"L{n:04d}", {"description": f"line {n}", "quantity": "2.00",
                                                "unit_price": "10.00"})])
               for n in range(1_100)]
    results = store.write("invoices", changes)
    assert all(r.ok for r in results)
    invoices = {r.id: r for r in store.scan("invoices", None).records}
    assert len(invoices) == 1_100
    assert invoices["I1099"].fields["reference"] == "ref 1099"
    assert [ln.id for ln in invoices["I1099"].lines or []] == ["L1099"]
    store.close()


def test_ids_xsync_gives_grow_and_never_repeat_one_the_table_has(tmp_path) -> None:
    """Rows xsync adds get ids that sort in the order they were added (a large import then
    writes each index page about once); a store opened in the same second as the last one,
    or over a table that already holds a higher id of this form, goes on above it."""
    from xsync.model.side import Change
    from xsync.sides.ops_sqlite import SqliteOpsStore, create_ops_db

    path = tmp_path / "ops.db"
    create_ops_db(path)
    ids: list[str] = []
    for _ in range(3):  # three stores, one after another, within a second or so
        store = SqliteOpsStore(path)
        results = store.write("contacts", [
            Change(key=f"k{n}", action="create", id=None,
                   fields={"name": f"Customer {len(ids)}-{n}", "status": "active"})
            for n in range(700)])
        assert all(r.ok for r in results)
        ids += [str(r.id) for r in results]
        store.close()
    assert len(set(ids)) == len(ids) == 2100
    assert ids == sorted(ids)
    store = SqliteOpsStore(path)
    store.conn.execute("INSERT INTO contacts (id, name, status, updated_at) VALUES "
                       "('C-FFFFFFFFFF', 'Far ahead', 'active', '2026-01-01T00:00:00Z')")
    [result] = store.write("contacts", [Change(key="x", action="create", id=None,
                                                fields={"name": "Next", "status": "active"})])
    assert result.ok and result.id == "C-10000000000"
    store.close()
