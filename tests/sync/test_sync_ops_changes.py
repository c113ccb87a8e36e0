"""The ops side is read by its changes, not in full: a cycle decodes the rows whose change time
moved since their base vouched for them (new rows, edited rows, rows something waits on), and
still knows, from the list of ids, which rows are gone. Over the real SQLite ops store, with the
platform, the engine and Xero on one clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bookworld import Books

from xsync.errors import EmptySideGuard
from xsync.sides.ops_rows import STAMPED
from xsync.sides.ops_sqlite import SqliteOpsStore
from xsync.state.ledger import Ledger


@pytest.fixture
def books(tmp_path: Path) -> Books:
    books = Books(tmp_path, invoices=120)
    assert books.cycle("pull") == 0
    # a sync well after the rows were written proves each unchanged by its content; from then
    # on its change time vouches for it
    books.sandbox.advance_clock(600)
    assert books.cycle() == 0
    return books


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The ids of the ops rows with a change time (every table but the settings: accounts and
    tax rates are read whole) that the store turns into records, in order."""
    seen: list[str] = []
    real = SqliteOpsStore._read_row

    def counting(self, entity, row, line_rows, problems):  # type: ignore[no-untyped-def]
        record = real(self, entity, row, line_rows, problems)
        if entity in STAMPED:
            seen.append(record.id)
        return record

    monkeypatch.setattr(SqliteOpsStore, "_read_row", counting)
    yield seen


def _sql(books: Books, sql: str, params: list[object] | None = None) -> None:
    books.ops.conn.execute(sql, params or [])


def _linked_invoice(books: Books) -> tuple[str, str, str]:
    """(ops id, number, Xero id) of an approved invoice linked to Xero."""
    row = books.ops.conn.execute(
        "SELECT id, number FROM invoices WHERE status = 'approved' ORDER BY number").fetchone()
    xero_id = Ledger(books.engine.state).links("invoices")[row["id"]]
    return str(row["id"]), str(row["number"]), xero_id


def _xero_invoice(books: Books, xero_id: str) -> dict[str, object]:
    reply = books.http.get(f"/Invoices/{xero_id}")
    assert reply.status_code == 200, reply.text
    return dict(reply.json()["Invoices"][0])


def test_a_cycle_with_nothing_changed_decodes_no_ops_row(books: Books,
                                                        decoded: list[str]) -> None:
    assert books.cycle() == 0
    assert decoded == []


def test_an_edited_row_is_the_only_one_decoded_and_reaches_xero(books: Books,
                                                               decoded: list[str]) -> None:
    ops_id, _, xero_id = _linked_invoice(books)
    _sql(books, "UPDATE invoices SET reference = 'edited in ops', updated_at = ? WHERE id = ?",
         [books.stamp(), ops_id])
    assert books.cycle() == 0
    assert set(decoded) == {ops_id}
    assert _xero_invoice(books, xero_id)["Reference"] == "edited in ops"


def test_a_deleted_row_is_known_gone_from_the_list_of_ids(books: Books) -> None:
    ops_id, _, xero_id = _linked_invoice(books)
    _sql(books, "DELETE FROM invoice_lines WHERE invoice_id = ?", [ops_id])
    _sql(books, "DELETE FROM invoices WHERE id = ?", [ops_id])
    assert books.cycle() == 0
    assert _xero_invoice(books, xero_id)["Status"] in ("VOIDED", "DELETED")


def test_an_emptied_table_stops_at_the_empty_side_guard(books: Books) -> None:
    _sql(books, "DELETE FROM invoice_lines")
    _sql(books, "DELETE FROM payments")
    _sql(books, "DELETE FROM invoices")
    books.sandbox.advance_clock(120)
    with pytest.raises(EmptySideGuard) as guard:
        books.engine.run("sync")
    assert ("invoices", "ops") in [tuple(e) for e in guard.value.data["empty"]]


def test_a_new_row_taking_an_unchanged_linked_rows_number_is_a_conflict(books: Books) -> None:
    ops_id, number, _ = _linked_invoice(books)
    _sql(books, "INSERT INTO invoices (id, number, contact_id, date, due_date, currency, "
                "amounts_are, status, updated_at) SELECT 'INV-NEW', number, contact_id, date, "
                "due_date, currency, amounts_are, 'approved', ? FROM invoices WHERE id = ?",
         [books.stamp(), ops_id])
    _sql(books, "INSERT INTO invoice_lines (id, invoice_id, position, description, quantity, "
                "unit_price, account_code, tax_type) VALUES ('INV-NEW-L1', 'INV-NEW', 1, "
                "'Copy', '1', '10.00', '200', 'OUTPUT')")
    result = books.run()
    assert result.exit_code == 3, result.to_json()
    [clash] = [c for c in result.conflicts if c.field == "_number"]
    assert clash.ops_id == "INV-NEW" and f"ops {ops_id}" in clash.reason
    assert len(books.http.get("/Invoices", params={"InvoiceNumbers": number}).json()[
        "Invoices"]) == 1


def test_a_new_contact_like_an_unchanged_linked_one_is_a_possible_duplicate(
        books: Books) -> None:
    row = books.ops.conn.execute(
        "SELECT * FROM contacts WHERE email IS NOT NULL AND email != '' ORDER BY id").fetchone()
    _sql(books, "INSERT INTO contacts (id, name, email, status, updated_at) "
                "VALUES ('C-NEW', 'Someone Else', ?, 'active', ?)", [row["email"], books.stamp()])
    result = books.run()
    assert result.exit_code == 3, result.to_json()
    assert [c.ops_id for c in result.conflicts if c.field == "_match"] == ["C-NEW"]


def test_a_row_spoilt_without_a_new_change_time_is_named_once_its_twin_changes(
        books: Books) -> None:
    ops_id, _, xero_id = _linked_invoice(books)
    # the platform breaks its contract twice: a value that is not money, and no new stamp
    _sql(books, "UPDATE invoices SET total = '12,50' WHERE id = ?", [ops_id])
    # unread, so unchanged: nothing is written for it either way
    assert books.cycle() == 0
    reply = books.http.post(f"/Invoices/{xero_id}", json={"Invoices": [{
        "InvoiceID": xero_id, "Reference": "edited in Xero"}]})
    assert reply.status_code == 200, reply.text
    result = books.run()
    assert result.exit_code == 4, result.to_json()
    [why] = [r.reason for r in result.rejected if r.ops_id == ops_id]
    assert "total" in why and "12,50" in why, why
    assert books.ops.conn.execute("SELECT total FROM invoices WHERE id = ?",
                                  [ops_id]).fetchone()[0] == "12,50"
