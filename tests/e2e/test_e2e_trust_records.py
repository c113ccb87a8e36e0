"""Bad or clashing records never touch the books: through the CLI, against the sandbox.

Only a positively known absence is a delete; one record that cannot be mapped is rejected alone,
named with its field and value; a new ops record can never take over another record's Xero twin
(a reused invoice number, a contact that is already linked, bills already in Xero on first
contact).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from e2e_helpers import World, assert_plain_words, run_json


def first_sync(world: World) -> None:
    result = world.run("sync")
    assert result.code == 0, result.out + result.err
    world.advance()


def ops_invoice(world: World, number: str) -> dict[str, Any]:
    return world.ops.one("SELECT * FROM invoices WHERE number = ?", [number])


def new_invoice(ops_id: str, number: str, contact_id: str,
                unit: str = "100.00", amounts_are: str = "exclusive") -> str:
    return (
        "INSERT INTO invoices (id, number, contact_id, date, due_date, amounts_are, status, "
        f"updated_at) VALUES ('{ops_id}', '{number}', '{contact_id}', '2026-11-20', "
        f"'2026-12-20', '{amounts_are}', 'approved', '2026-11-24T10:30:00Z');"
        "INSERT INTO invoice_lines (id, invoice_id, position, description, quantity, "
        f"unit_price, account_code, tax_type) VALUES ('{ops_id}-1', '{ops_id}', 1, "
        f"'Work for {number}', '1', '{unit}', '200', 'OUTPUT');"
    )


# -- only a positively known absence is a delete ------------------------------------------------


@pytest.mark.parametrize("bad", ["12.3.4", "1,2,3.4", "NaN"])
def test_a_linked_draft_whose_line_cannot_be_read_is_left_alone_and_syncs_once_fixed(
        world: World, bad: str) -> None:
    first_sync(world)
    draft = world.ops.one("SELECT * FROM invoices WHERE status = 'draft' ORDER BY number "
                          "LIMIT 1")
    line = world.ops.rows("SELECT * FROM invoice_lines WHERE invoice_id = ? ORDER BY position",
                          [draft["id"]])[0]
    before = world.xero.invoice(draft["number"])
    world.ops.execute("UPDATE invoice_lines SET unit_price = ? WHERE id = ?", [bad, line["id"]])
    world.ops.execute("UPDATE invoices SET updated_at = '2026-11-24T10:30:00Z' WHERE id = ?",
                      [draft["id"]])

    code, plan = run_json(world, "diff")
    assert code == 4, plan
    assert [a for a in plan["actions"] if a["kind"] in ("delete", "void")] == []
    code, report = run_json(world, "sync")
    assert code == 4, report
    [rejected] = report["rejected"]
    assert rejected["ops_id"] == draft["id"]
    assert line["id"] in rejected["reason"] and "unit_price" in rejected["reason"]
    assert repr(bad) in rejected["reason"] or bad in rejected["reason"]
    assert_plain_words(rejected["reason"])
    after = world.xero.invoice(draft["number"])
    assert after["Status"] == before["Status"] == "DRAFT"
    assert after == before                       # not deleted, voided nor rewritten
    assert ops_invoice(world, draft["number"])["status"] == "draft"

    world.ops.execute("UPDATE invoice_lines SET unit_price = '12.34' WHERE id = ?", [line["id"]])
    world.ops.execute("UPDATE invoices SET updated_at = '2026-11-24T10:40:00Z' WHERE id = ?",
                      [draft["id"]])
    fixed = world.run("sync")
    assert fixed.code == 0, fixed.out + fixed.err
    # the link held: the same Xero invoice takes the fixed line
    now = world.xero.invoice(draft["number"])
    assert now["InvoiceID"] == before["InvoiceID"] and now["Status"] == "DRAFT"
    assert Decimal(str(now["LineItems"][0]["UnitAmount"])) == Decimal("12.34")


# -- one record, one fate -----------------------------------------------------------------------


def test_one_unmappable_value_rejects_its_record_alone_and_names_field_and_value(
        world: World) -> None:
    first_sync(world)
    rows = ["INSERT INTO contacts (id, name, status, updated_at) VALUES "
            "('C-BATCH', 'Batch Customer', 'active', '2026-11-24T10:00:00Z');"]
    for n in range(60):
        amounts_are = "gross" if n == 37 else "exclusive"
        rows.append(new_invoice(f"B-{n:02d}", f"BATCH-{n:02d}", "C-BATCH",
                                unit=f"{100 + n}.00", amounts_are=amounts_are))
    # the ops platform's own database need not hold xsync's CHECK constraints
    world.ops.script("PRAGMA ignore_check_constraints = ON;" + "".join(rows))
    assert world.ops.one("SELECT amounts_are FROM invoices WHERE id = 'B-37'") == \
        {"amounts_are": "gross"}

    text = world.run("push")
    assert text.code == 4, text.out + text.err
    assert_plain_words(text.out + text.err)
    pushed = {i["InvoiceNumber"] for i in world.xero.invoices(where='Type=="ACCREC"')
              if i["InvoiceNumber"].startswith("BATCH-")}
    assert pushed == {f"BATCH-{n:02d}" for n in range(60) if n != 37}
    code, again = run_json(world, "push")
    assert code == 4
    [rejected] = again["rejected"]
    assert rejected["ops_id"] == "B-37"
    assert "amounts_are" in rejected["reason"] and "gross" in rejected["reason"]
    assert "B-37" in rejected["reason"] or rejected["label"] in ("B-37", "BATCH-37")
    assert_plain_words(json.dumps(again))
    assert again["applied"] == []                 # the 59 are not sent twice


# -- no takeover ----------------------------------------------------------------------------------


def _open_conflicts(world: World) -> list[dict[str, Any]]:
    code, listing = run_json(world, "resolve")
    assert code == 0
    assert isinstance(listing, list)
    return listing


def test_a_new_ops_invoice_reusing_a_linked_number_is_a_conflict_and_changes_nothing(
        world: World) -> None:
    first_sync(world)
    linked = ops_invoice(world, "INV-0011")
    xero_before = world.xero.invoice("INV-0011")
    world.ops.script(new_invoice("TAKEOVER", "INV-0011", linked["contact_id"],
                                 unit="1.00").replace("'2026-11-20'", "'2026-11-21'", 1)
                     + "UPDATE invoices SET reference = 'Takeover ref' WHERE id = 'TAKEOVER';")
    result = world.run("sync")
    assert result.code == 3, result.out + result.err
    [conflict] = _open_conflicts(world)
    assert conflict["ops_id"] == "TAKEOVER"
    assert linked["id"] in conflict["reason"] and "TAKEOVER" in conflict["reason"]
    assert "INV-0011" in conflict["reason"]
    code, plan = run_json(world, "diff")
    assert code == 3
    assert [c["ops_id"] for c in plan["conflicts"]] == ["TAKEOVER"]
    assert [a for a in plan["actions"] if a["kind"] != "conflict"] == []
    after = world.xero.invoice("INV-0011")      # exactly one, and it is untouched
    assert (after["InvoiceID"], after["Total"], after.get("Reference")) == \
        (xero_before["InvoiceID"], xero_before["Total"], xero_before.get("Reference"))
    assert world.run("resolve", str(conflict["id"]), "--take", "ops").code == 2

    # renamed in ops, the new invoice is pushed and the conflict closes by itself
    world.ops.execute("UPDATE invoices SET number = 'JOB-RENAMED', updated_at = "
                      "'2026-11-24T10:40:00Z' WHERE id = 'TAKEOVER'")
    fixed = world.run("sync")
    assert fixed.code == 0, fixed.out + fixed.err
    assert world.xero.invoice("JOB-RENAMED")["Reference"] == "Takeover ref"
    assert _open_conflicts(world) == []
    # the link did not move: the old row still drives the old Xero invoice
    world.ops.execute("UPDATE invoices SET reference = 'Still mine', updated_at = "
                      "'2026-11-24T10:50:00Z' WHERE id = ?", [linked["id"]])
    assert world.run("sync").code == 0
    still = world.xero.invoice("INV-0011")
    assert (still["InvoiceID"], still["Reference"], still["Total"]) == \
        (xero_before["InvoiceID"], "Still mine", xero_before["Total"])
    assert world.xero.invoice("JOB-RENAMED")["Reference"] == "Takeover ref"


def test_two_new_ops_invoices_sharing_a_number_are_both_held(world: World) -> None:
    first_sync(world)
    contact = world.ops.one("SELECT id FROM contacts WHERE name = 'Coco Cafe'")["id"]
    world.ops.script(new_invoice("TWIN-A", "JOB-TWIN", contact, unit="10.00")
                     + new_invoice("TWIN-B", "JOB-TWIN", contact, unit="20.00"))
    result = world.run("sync")
    assert result.code == 3, result.out + result.err
    conflicts = {c["ops_id"]: c for c in _open_conflicts(world)}
    assert set(conflicts) == {"TWIN-A", "TWIN-B"}
    assert "TWIN-B" in conflicts["TWIN-A"]["reason"]
    assert "TWIN-A" in conflicts["TWIN-B"]["reason"]
    assert world.xero.invoices(InvoiceNumbers="JOB-TWIN") == []
    assert world.run("sync").code == 3           # still held, still nothing written
    assert world.xero.invoices(InvoiceNumbers="JOB-TWIN") == []

    world.ops.execute("UPDATE invoices SET number = 'JOB-TWIN-2', updated_at = "
                      "'2026-11-24T10:40:00Z' WHERE id = 'TWIN-B'")
    fixed = world.run("sync")
    assert fixed.code == 0, fixed.out + fixed.err
    assert Decimal(str(world.xero.invoice("JOB-TWIN")["SubTotal"])) == Decimal("10.00")
    assert Decimal(str(world.xero.invoice("JOB-TWIN-2")["SubTotal"])) == Decimal("20.00")
    assert _open_conflicts(world) == []


def _duplicate_contact(world: World) -> tuple[dict[str, Any], dict[str, Any], int]:
    """A new ops contact with the ABN of a linked one, and an approved invoice of it."""
    first_sync(world)
    linked = world.ops.one("SELECT * FROM contacts WHERE name = 'Boom FM'")
    assert linked["abn"]
    xero = world.xero.contact("Boom FM")
    count = len(world.xero.contacts())
    world.ops.execute("INSERT INTO contacts (id, name, abn, status, updated_at) VALUES "
                      "('C-AGAIN', 'Boom FM Radio', ?, 'active', '2026-11-24T10:30:00Z')",
                      [linked["abn"]])
    world.ops.script(new_invoice("AGAIN-1", "JOB-AGAIN-1", "C-AGAIN"))
    result = world.run("sync")
    assert result.code == 3, result.out + result.err
    assert len(world.xero.contacts()) == count
    assert world.xero.invoices(InvoiceNumbers="JOB-AGAIN-1") == []
    return linked, xero, count


def _the_conflict(world: World, linked: dict[str, Any], xero: dict[str, Any]) -> int:
    [conflict] = _open_conflicts(world)
    assert conflict["ops_id"] == "C-AGAIN"
    assert linked["id"] in conflict["reason"] and xero["ContactID"] in conflict["reason"]
    assert linked["abn"] in conflict["reason"]
    return int(conflict["id"])


def test_a_new_ops_contact_with_a_linked_contacts_abn_taken_as_xero_merges_into_it(
        world: World) -> None:
    linked, xero, count = _duplicate_contact(world)
    conflict = _the_conflict(world, linked, xero)
    assert world.run("resolve", str(conflict), "--take", "xero").code == 0
    result = world.run("sync")
    assert result.code == 0, result.out + result.err
    assert len(world.xero.contacts()) == count
    pushed = world.xero.invoice("JOB-AGAIN-1")
    assert pushed["Contact"]["ContactID"] == xero["ContactID"]
    assert _open_conflicts(world) == []
    # the duplicate is merged into the contact it is: archived, naming it; its job follows
    again = world.ops.one("SELECT * FROM contacts WHERE id = 'C-AGAIN'")
    assert (again["status"], again["merged_into"]) == ("archived", linked["id"])
    assert world.ops.one("SELECT contact_id FROM invoices WHERE number = 'JOB-AGAIN-1'")[
        "contact_id"] == linked["id"]
    assert world.ops.one("SELECT status FROM contacts WHERE id = ?",
                         [linked["id"]])["status"] == "active"
    entries = json.loads(world.run("log", "--json").out)
    said = {(e["entity"], e["field"]) for e in entries if e["rule"] == "merged:contact"}
    assert {("contacts", "merged_into"), ("contacts", "status"),
            ("invoices", "contact_id")} <= said, said
    # a job raised later against the merged contact is moved as well, and goes to Xero once
    world.ops.script(new_invoice("AGAIN-2", "JOB-AGAIN-2", "C-AGAIN"))
    assert world.run("sync").code == 0
    assert world.ops.one("SELECT contact_id FROM invoices WHERE number = 'JOB-AGAIN-2'")[
        "contact_id"] == linked["id"]
    assert world.xero.invoice("JOB-AGAIN-2")["Contact"]["ContactID"] == xero["ContactID"]
    assert len(world.xero.contacts()) == count
    quiet = world.run("diff")
    assert quiet.code == 0 and "C-AGAIN" not in quiet.out, quiet.out


def test_a_duplicate_taken_as_xero_stays_another_name_of_that_contact_when_linking(
        world: World) -> None:
    world.configure('[sync]\nmerged_contacts = "link"')
    linked, xero, count = _duplicate_contact(world)
    conflict = _the_conflict(world, linked, xero)
    assert world.run("resolve", str(conflict), "--take", "xero").code == 0
    result = world.run("sync")
    assert result.code == 0, result.out + result.err
    assert len(world.xero.contacts()) == count
    assert world.xero.invoice("JOB-AGAIN-1")["Contact"]["ContactID"] == xero["ContactID"]
    again = world.ops.one("SELECT * FROM contacts WHERE id = 'C-AGAIN'")
    assert (again["status"], again["merged_into"]) == ("active", None)
    assert _open_conflicts(world) == []
    # a job raised later against it goes to that Xero contact too, and stays on it in ops
    world.ops.script(new_invoice("AGAIN-2", "JOB-AGAIN-2", "C-AGAIN"))
    result = world.run("sync")
    assert result.code == 0, result.out + result.err
    assert world.xero.invoice("JOB-AGAIN-2")["Contact"]["ContactID"] == xero["ContactID"]
    assert world.run("sync").code == 0
    assert len(world.xero.contacts()) == count
    for number in ("JOB-AGAIN-1", "JOB-AGAIN-2"):
        assert world.ops.one("SELECT contact_id FROM invoices WHERE number = ?", [number])[
            "contact_id"] == "C-AGAIN", number


def test_a_new_ops_contact_with_a_linked_contacts_abn_taken_as_ops_is_created(
        world: World) -> None:
    linked, xero, count = _duplicate_contact(world)
    conflict = _the_conflict(world, linked, xero)
    assert world.run("resolve", str(conflict), "--take", "ops").code == 0
    result = world.run("sync")
    assert result.code == 0, result.out + result.err
    assert len(world.xero.contacts()) == count + 1
    created = world.xero.contact("Boom FM Radio")
    assert created["ContactID"] != xero["ContactID"]
    assert world.xero.invoice("JOB-AGAIN-1")["Contact"]["ContactID"] == created["ContactID"]
    assert world.xero.contact("Boom FM")["ContactID"] == xero["ContactID"]


BILLS = """
INSERT INTO contacts (id, name, email, status, updated_at) VALUES
    ('S-1', 'Paper Supplies Pty', 'ap@paper.example', 'active', '2026-11-24T10:00:00Z'),
    ('S-2', 'Ink Wholesale', 'ap@ink.example', 'active', '2026-11-24T10:00:00Z');
INSERT INTO bills (id, number, contact_id, date, due_date, status, updated_at) VALUES
    ('BL-1', 'SUP-100', 'S-1', '2026-11-10', '2026-12-10', 'approved', '2026-11-24T10:00:00Z'),
    ('BL-2', 'SUP-100', 'S-2', '2026-11-10', '2026-12-10', 'approved', '2026-11-24T10:00:00Z'),
    ('BL-3', 'SUP-101', 'S-1', '2026-11-12', '2026-12-12', 'approved', '2026-11-24T10:00:00Z'),
    ('BL-4', 'SUP-102', 'S-1', '2026-11-13', '2026-12-13', 'approved', '2026-11-24T10:00:00Z');
INSERT INTO bill_lines (id, bill_id, position, description, quantity, unit_price, account_code,
                        tax_type) VALUES
    ('BL-1-1', 'BL-1', 1, 'Paper', '10', '4.50', '400', 'INPUT'),
    ('BL-2-1', 'BL-2', 1, 'Ink', '2', '30.00', '400', 'INPUT'),
    ('BL-3-1', 'BL-3', 1, 'Paper', '5', '4.50', '400', 'INPUT'),
    ('BL-4-1', 'BL-4', 1, 'Paper', '5', '4.50', '400', 'INPUT');
"""


def _bills(world: World) -> list[tuple[str, str, str, str]]:
    return sorted((b["Contact"]["Name"], b["InvoiceNumber"], b["DateString"][:10],
                   str(b["Total"])) for b in world.xero.invoices(where='Type=="ACCPAY"'))


def test_a_fresh_workspace_over_an_organisation_never_creates_its_bills_again(
        world: World) -> None:
    first_sync(world)
    world.ops.script(BILLS)
    result = world.run("sync")
    assert result.code == 0, result.out + result.err
    bills = _bills(world)
    assert sum(1 for b in bills if b[1].startswith("SUP-")) == 4

    # state.db lost: rebuilt from both sides, as its own error message tells
    state = world.root / "state.db"
    for path in world.root.glob("state.db*"):
        path.rename(path.with_name(path.name + ".broken"))
    assert not state.exists()
    assert world.run("connect", "--sandbox", world.url).code == 0
    again = world.run("sync")
    assert again.code == 0, again.out + again.err
    assert _bills(world) == bills
    code, plan = run_json(world, "diff")
    assert code == 0, plan
    assert [a for a in plan["actions"] if a["entity"] == "bills"] == []


OPS_TABLES = ("contacts", "invoices", "invoice_lines", "bills", "payments", "credit_notes",
              "credits", "allocations", "accounts", "tax_rates")


def test_a_rebuilt_state_database_duplicates_no_ops_row_of_any_kind(world: World) -> None:
    first_sync(world)
    # money of every kind in both sides: payments, a refund, credit notes and their allocation
    world.ops.script(BILLS)
    assert world.run("sync").code == 0
    counts = {t: world.ops.one(f"SELECT count(*) AS n FROM {t}")["n"] for t in OPS_TABLES}
    assert counts["payments"] and counts["credit_notes"] and counts["allocations"], counts

    for path in world.root.glob("state.db*"):
        path.rename(path.with_name(path.name + ".broken"))
    assert world.run("connect", "--sandbox", world.url).code == 0
    again = world.run("sync")
    assert again.code == 0, again.out + again.err
    assert {t: world.ops.one(f"SELECT count(*) AS n FROM {t}")["n"]
            for t in OPS_TABLES} == counts
    code, plan = run_json(world, "diff")
    assert code == 0, plan
    assert plan["actions"] == [], plan["actions"]


def _damage_in_xero(world: World, number: str, **fields: Any) -> dict[str, Any]:
    """Store a Xero invoice with values xsync cannot map, as a newer version of it."""
    invoice = world.xero.invoice(number)
    tenant = world.sandbox.tenant_ids[0]
    doc = world.sandbox.store.get("invoices", tenant, invoice["InvoiceID"])
    assert doc is not None
    doc.update(fields)
    world.sandbox.store.put("invoices", tenant, doc, int(world.sandbox.now().timestamp() * 1000))
    return invoice


def test_a_xero_invoice_that_cannot_be_mapped_is_named_and_its_ops_twin_left_alone(
        world: World) -> None:
    first_sync(world)
    ops_before = ops_invoice(world, "INV-0012")
    lines_before = world.ops.rows("SELECT * FROM invoice_lines WHERE invoice_id = ?",
                                  [ops_before["id"]])
    invoice = _damage_in_xero(world, "INV-0012", Date="yesterday", DateString="yesterday")
    code, report = run_json(world, "sync")
    assert code == 4, report
    [rejected] = report["rejected"]
    assert rejected["xero_id"] == invoice["InvoiceID"] and "yesterday" in rejected["reason"]
    assert_plain_words(rejected["reason"])
    assert ops_invoice(world, "INV-0012") == ops_before          # not deleted nor rewritten
    assert world.ops.rows("SELECT * FROM invoice_lines WHERE invoice_id = ?",
                          [ops_before["id"]]) == lines_before
    # fixed in Xero, it syncs into the same ops row
    world.xero.update_invoice(invoice, Date="2026-11-20", Reference="Fixed in Xero")
    fixed = world.run("sync")
    assert fixed.code == 0, fixed.out + fixed.err
    assert ops_invoice(world, "INV-0012")["id"] == ops_before["id"]
    assert ops_invoice(world, "INV-0012")["reference"] == "Fixed in Xero"


def test_the_reason_for_an_unmappable_xero_invoice_names_the_field_and_the_invoice(
        world: World) -> None:
    first_sync(world)
    _damage_in_xero(world, "INV-0012", Date="yesterday", DateString="yesterday")
    [rejected] = run_json(world, "sync")[1]["rejected"]
    assert "date" in rejected["reason"].lower().replace("xero date", "")
    assert "INV-0012" in rejected["reason"] or rejected["label"].startswith("INV-0012")


def test_a_xero_invoice_that_cannot_be_mapped_stays_alone_on_the_runs_after(
        world: World) -> None:
    # rejected once, it waits as a retry; each later run reads it again by its id, and it must
    # still be its own fate: the other invoices keep syncing, both ways
    first_sync(world)
    invoice = _damage_in_xero(world, "INV-0012", Date="yesterday", DateString="yesterday")
    code, first = run_json(world, "sync")
    assert code == 4, first
    other = world.xero.invoice("INV-0013")
    world.xero.update_invoice(other, Reference="Edited in Xero later")
    code, second = run_json(world, "sync")
    assert code == 4, second
    assert ops_invoice(world, "INV-0013")["reference"] == "Edited in Xero later"
    # the cursor is past the damaged invoice now: from here on only its retry reads it, by id
    ops_before = ops_invoice(world, "INV-0012")
    world.xero.update_invoice(world.xero.invoice("INV-0014"), Reference="And another")
    for _ in range(2):
        code, later = run_json(world, "sync")
        assert code == 4, later
        assert later["read_errors"] == [], later["read_errors"]
        [rejected] = later["rejected"]
        assert rejected["xero_id"] == invoice["InvoiceID"] and "yesterday" in rejected["reason"]
    assert ops_invoice(world, "INV-0014")["reference"] == "And another"
    assert ops_invoice(world, "INV-0012") == ops_before          # neither deleted nor rewritten


@pytest.mark.parametrize("read", ["whole", "incremental"])
def test_an_unreadable_xero_invoice_holds_back_only_its_namesake_in_ops(
        world: World, read: str) -> None:
    # an ops invoice numbered as one Xero has but xsync cannot read, met by the first sync's
    # whole read or, later, by the lookup before a create: that one ops invoice waits (creating
    # it could duplicate the Xero one), named with the next step; every other still goes
    xero_contact = world.xero.contacts()[0]
    world.ops.execute("INSERT INTO contacts (id, name, status, updated_at) VALUES "
                      "('C-HELD', ?, 'active', '2026-11-24T10:00:00Z')", [xero_contact["Name"]])
    if read == "incremental":
        first_sync(world)
    [made] = world.xero.call("PUT", "/Invoices", {"Invoices": [{
        "Type": "ACCREC", "InvoiceNumber": "INV-9001", "Status": "AUTHORISED",
        "Contact": {"ContactID": xero_contact["ContactID"]}, "Date": "2026-11-20",
        "DueDate": "2026-12-20", "LineItems": [{"Description": "Typed in Xero",
                                                "Quantity": 1, "UnitAmount": 100,
                                                "AccountCode": "200"}]}]})["Invoices"]
    _damage_in_xero(world, "INV-9001", Date="yesterday", DateString="yesterday")
    world.advance()
    if read == "incremental":
        assert run_json(world, "sync")[0] == 4  # the damaged invoice, named as it is listed
        world.advance()
    world.ops.script(new_invoice("HELD", "INV-9001", "C-HELD")
                     + new_invoice("GOES", "INV-9002", "C-HELD"))
    code, report = run_json(world, "sync")
    assert code == 4, report
    held = [r for r in report["rejected"] if r["ops_id"] == "HELD"]
    assert len(held) == 1, report["rejected"]
    assert made["InvoiceID"] in held[0]["reason"] and "fix that one in Xero" in held[0]["reason"]
    assert_plain_words(held[0]["reason"])
    assert world.xero.invoice("INV-9002")["Status"] == "AUTHORISED"   # its neighbour went
    assert len(world.xero.invoices(InvoiceNumbers="INV-9001")) == 1   # no duplicate
    # fixed in Xero, the two are matched by their number: one invoice, linked
    world.xero.update_invoice(made, Date="2026-11-20")
    world.advance()
    fixed = world.run("sync")
    assert fixed.code == 0, fixed.out + fixed.err
    assert len(world.xero.invoices(InvoiceNumbers="INV-9001")) == 1
    code, plan = run_json(world, "diff")
    assert code == 0 and plan["actions"] == [], plan
