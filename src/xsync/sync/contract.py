"""The contract every side must keep for the engine, as a reusable test suite.

Subclass :class:`SideContract` in a test module as ``class TestMySide(SideContract)`` and
implement :meth:`make_side` (and, where the side needs them, the sample-data hooks and
:meth:`advance`); pytest then runs every ``test_`` method against that side. The suite needs no
test framework: plain ``assert`` statements only.
"""

from __future__ import annotations

from datetime import timedelta

from xsync.model.entities import spec
from xsync.model.records import Fields, Line, Record
from xsync.model.side import Change, Side, SupportsFind


class SideContract:
    """What the engine relies on: scan/fetch/write semantics, ids, lines, cursors."""

    def make_side(self) -> Side:
        raise NotImplementedError

    def advance(self, side: Side) -> None:
        """Let time pass on the side (so a later change has a later change time)."""

    def contact_fields(self, n: int) -> Fields:
        return {"name": f"Contract Contact {n}", "email": f"c{n}@example.test",
                "status": "active"}

    def invoice_fields(self, contact_id: str, n: int) -> Fields:
        return {"number": f"CT-{n:04d}", "contact_id": contact_id, "date": "2026-03-01",
                "due_date": "2026-03-31", "currency": "AUD", "amounts_are": "exclusive",
                "status": "draft"}

    def line_fields(self, n: int) -> Fields:
        return {"description": f"Line {n}", "quantity": "1.00", "unit_price": f"{10 * n}.00",
                "account_code": "200", "tax_type": "OUTPUT"}

    # -- helpers ---------------------------------------------------------------------------------

    def _create(self, side: Side, entity: str, fields: Fields,
                lines: list[Line] | None = None) -> Record:
        [result] = side.write(entity, [Change("k", "create", None, fields, lines)])
        assert result.ok, result.errors
        assert result.id
        [record] = side.fetch(entity, [result.id])
        return record

    def _contact(self, side: Side, n: int = 1) -> Record:
        return self._create(side, "contacts", self.contact_fields(n))

    def _invoice(self, side: Side, n: int = 1, lines: int = 2) -> Record:
        contact = self._contact(side, 100 + n)
        return self._create(side, "invoices", self.invoice_fields(contact.id, n),
                            [Line(None, self.line_fields(i + 1)) for i in range(lines)])

    # -- the contract ----------------------------------------------------------------------------

    def test_name_is_ops_or_xero(self) -> None:
        assert self.make_side().name in ("ops", "xero")

    def test_created_record_reads_back_in_canonical_form(self) -> None:
        side = self.make_side()
        record = self._contact(side)
        assert record.entity == "contacts"
        assert record.fields["name"] == "Contract Contact 1"
        assert set(spec("contacts").fields) <= set(record.fields)
        assert all(v is None or isinstance(v, str) for v in record.fields.values())
        if record.updated_at is not None:
            assert record.updated_at.utcoffset() == timedelta(0)

    def test_one_result_per_change_in_order_and_failures_do_not_stop_the_rest(self) -> None:
        side = self.make_side()
        changes = [
            Change("a", "create", None, self.contact_fields(2)),
            Change("b", "update", "no-such-id-0000", {"name": "Nobody"}),
            Change("c", "create", None, self.contact_fields(3)),
        ]
        results = side.write("contacts", changes)
        assert [r.key for r in results] == ["a", "b", "c"]
        assert results[0].ok and results[2].ok
        assert not results[1].ok and results[1].errors
        assert results[0].id != results[2].id

    def test_update_changes_only_the_fields_sent(self) -> None:
        side = self.make_side()
        record = self._contact(side)
        [result] = side.write("contacts", [Change("u", "update", record.id,
                                                  {"email": "new@example.test"})])
        assert result.ok, result.errors
        [after] = side.fetch("contacts", [record.id])
        assert after.fields["email"] == "new@example.test"
        assert after.fields["name"] == record.fields["name"]

    def test_fetch_leaves_out_missing_ids(self) -> None:
        side = self.make_side()
        record = self._contact(side)
        found = side.fetch("contacts", [record.id, "no-such-id-0000"])
        assert [r.id for r in found] == [record.id]

    def test_full_scan_is_complete_and_later_changes_show_after_the_cursor(self) -> None:
        side = self.make_side()
        first = self._contact(side, 1)
        scan = side.scan("contacts", None)
        assert scan.complete
        assert first.id in {r.id for r in scan.records}
        self.advance(side)
        second = self._contact(side, 2)
        again = side.scan("contacts", scan.cursor)
        assert second.id in {r.id for r in again.records}
        if not again.complete:
            assert again.cursor is not None

    def test_lines_get_ids_and_keep_them_on_update(self) -> None:
        side = self.make_side()
        invoice = self._invoice(side, 1, lines=2)
        assert invoice.lines is not None and len(invoice.lines) == 2
        assert all(line.id for line in invoice.lines)
        keep = invoice.lines[0]
        wanted = [Line(keep.id, {**keep.fields, "description": "Kept and edited"}),
                  Line(None, self.line_fields(9))]
        [result] = side.write("invoices", [Change("l", "update", invoice.id, {}, wanted)])
        assert result.ok, result.errors
        [after] = side.fetch("invoices", [invoice.id])
        assert after.lines is not None and len(after.lines) == 2
        assert after.lines[0].id == keep.id
        assert after.lines[0].fields["description"] == "Kept and edited"
        assert after.lines[1].id not in (None, keep.id, invoice.lines[1].id)

    def test_delete_of_a_draft_document_shows_as_deleted(self) -> None:
        side = self.make_side()
        invoice = self._invoice(side, 2, lines=1)
        [result] = side.write("invoices", [Change("d", "delete", invoice.id)])
        assert result.ok, result.errors
        after = side.fetch("invoices", [invoice.id])
        assert not after or after[0].fields["status"] == "deleted"

    def test_find_when_offered_returns_matching_records(self) -> None:
        side = self.make_side()
        if not isinstance(side, SupportsFind):
            return
        record = self._contact(side, 7)
        found = side.find("contacts", "email", ["C7@example.test", "nobody@example.test"])
        assert record.id in {r.id for r in found}
