"""The accountant's changes flow back, the team's changes flow out, through the CLI.

Each test starts from the sandbox's demo company and an empty ops.db, runs the first sync, then
makes changes on one or both sides and checks what a bookkeeper would check.
"""

from __future__ import annotations

import json
from decimal import Decimal

from e2e_helpers import World


def first_sync(world: World) -> None:
    result = world.run("sync")
    assert result.code == 0, result.out + result.err
    world.advance()


def ops_invoice(world: World, number: str) -> dict:
    return world.ops.one("SELECT * FROM invoices WHERE number = ?", [number])


def test_first_sync_imports_chart_contacts_and_invoices(world: World) -> None:
    first_sync(world)
    assert world.ops.one("SELECT * FROM tax_rates WHERE tax_type = 'OUTPUT'")["rate"] == "10.00"
    assert world.ops.one("SELECT * FROM accounts WHERE code = '200'")["tax_type"] == "OUTPUT"
    assert len(world.ops.rows("SELECT * FROM contacts")) == len(world.xero.contacts())
    inv = ops_invoice(world, "INV-0011")
    xero = world.xero.invoice("INV-0011")
    assert Decimal(inv["total"]) == Decimal(str(xero["Total"]))
    lines = world.ops.rows("SELECT * FROM invoice_lines WHERE invoice_id = ?", [inv["id"]])
    assert len(lines) == len(xero["LineItems"])


def test_payment_recorded_in_xero_marks_the_ops_invoice_paid(world: World) -> None:
    first_sync(world)
    invoice = world.xero.invoice("INV-0011")
    world.xero.pay(invoice, invoice["AmountDue"], day="2026-11-23")
    result = world.run("pull")
    assert result.code == 0, result.out
    row = ops_invoice(world, "INV-0011")
    assert row["status"] == "paid"
    assert row["amount_due"] == "0.00"
    assert Decimal(row["amount_paid"]) == Decimal(str(invoice["Total"]))
    assert row["paid_on"] == "2026-11-23"
    payment = world.ops.one("SELECT * FROM payments WHERE invoice_id = ?", [row["id"]])
    assert payment["date"] == "2026-11-23"
    assert Decimal(payment["amount"]) == Decimal(str(invoice["AmountDue"]))


def test_credit_note_applied_in_xero_lowers_the_balance_and_adds_a_credit(world: World) -> None:
    first_sync(world)
    invoice = world.xero.invoice("INV-0012")
    note = world.xero.call("PUT", "/CreditNotes", {"CreditNotes": [{
        "Type": "ACCRECCREDIT", "Contact": {"ContactID": invoice["Contact"]["ContactID"]},
        "Date": "2026-11-24", "Status": "AUTHORISED",
        "LineItems": [{"Description": "Goodwill", "Quantity": 1, "UnitAmount": 100,
                       "AccountCode": "200", "TaxType": "OUTPUT"}]}]})["CreditNotes"][0]
    world.xero.call("PUT", f"/CreditNotes/{note['CreditNoteID']}/Allocations", {"Allocations": [{
        "Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Amount": 110, "Date": "2026-11-24"}]})
    result = world.run("pull")
    assert result.code == 0, result.out
    row = ops_invoice(world, "INV-0012")
    assert row["amount_credited"] == "110.00"
    assert Decimal(row["amount_due"]) == Decimal(str(invoice["AmountDue"])) - 110
    credit = world.ops.one("SELECT * FROM credit_notes WHERE number = ?",
                           [note["CreditNoteNumber"]])
    assert credit["invoice_id"] == row["id"]
    assert credit["total"] == "110.00"
    assert credit["remaining"] == "0.00"


def test_gst_code_corrected_in_xero_flows_to_the_ops_line(world: World) -> None:
    first_sync(world)
    invoice = world.xero.invoice("INV-0013")
    world.xero.edit_first_line(invoice, TaxType="EXEMPTOUTPUT")
    assert world.run("pull").code == 0
    row = ops_invoice(world, "INV-0013")
    first = world.ops.rows("SELECT * FROM invoice_lines WHERE invoice_id = ? ORDER BY position",
                           [row["id"]])[0]
    assert first["tax_type"] == "EXEMPTOUTPUT"
    assert Decimal(row["total"]) == Decimal(str(world.xero.invoice("INV-0013")["Total"]))


def test_contact_details_changed_in_xero_reach_the_ops_contact(world: World) -> None:
    first_sync(world)
    contact = world.xero.contact("Bayside Club")
    world.xero.update_contact(
        contact, EmailAddress="accounts@bayside.example",
        Phones=[{"PhoneType": "DEFAULT", "PhoneNumber": "03 9555 0101"}],
        Addresses=[{"AddressType": "STREET", "AddressLine1": "1 Beach Road",
                    "City": "Brighton", "Region": "VIC", "PostalCode": "3186",
                    "Country": "Australia"}])
    assert world.run("pull").code == 0
    row = world.ops.one("SELECT * FROM contacts WHERE name = 'Bayside Club'")
    assert row["email"] == "accounts@bayside.example"
    assert row["phone"] == "03 9555 0101"
    assert row["address_line1"] == "1 Beach Road"


def _new_ops_invoice(world: World, number: str, status: str, unit: str = "95.00") -> None:
    world.ops.script(f"""
        INSERT INTO contacts (id, name, email, status, updated_at)
            VALUES ('C-{number}', 'Customer {number}', 'c{number}@example.com', 'active',
                    '2026-11-24T10:00:00Z');
        INSERT INTO invoices (id, number, contact_id, date, due_date, currency, amounts_are,
                              status, total, updated_at)
            VALUES ('{number}', '{number}', 'C-{number}', '2026-11-20', '2026-12-20', 'AUD',
                    'exclusive', '{status}', NULL, '2026-11-24T10:00:00Z');
        INSERT INTO invoice_lines (id, invoice_id, position, description, quantity, unit_price,
                                   account_code, category, tax_type)
            VALUES ('{number}-1', '{number}', 1, 'Labour', '20', '{unit}', NULL, 'labour',
                    'OUTPUT'),
                   ('{number}-2', '{number}', 2, 'Parts', '1', '550.00', '260', NULL,
                    'EXEMPTOUTPUT');
    """)


def test_invoice_approved_in_ops_is_pushed_coded_and_its_payment_flows_back(
        world: World) -> None:
    world.configure('[mappings.categories]\nlabour = "200"\n')
    first_sync(world)
    _new_ops_invoice(world, "JOB-1", "draft")
    assert world.run("push").code == 0
    assert world.xero.invoices(InvoiceNumbers="JOB-1") == []  # drafts stay home
    world.ops.execute("UPDATE invoices SET status = 'approved', updated_at = "
                      "'2026-11-24T10:05:00Z' WHERE id = 'JOB-1'")
    result = world.run("push")
    assert result.code == 0, result.out
    xero = world.xero.invoice("JOB-1")
    assert xero["Status"] == "AUTHORISED"
    assert [ln["AccountCode"] for ln in xero["LineItems"]] == ["200", "260"]
    assert [ln["TaxType"] for ln in xero["LineItems"]] == ["OUTPUT", "EXEMPTOUTPUT"]
    assert Decimal(str(xero["Total"])) == Decimal("2640.00")  # 1900 + 190 GST + 550 GST-free
    assert xero["Contact"]["Name"] == "Customer JOB-1"
    world.advance()
    world.xero.pay(xero, xero["Total"], day="2026-11-25")
    assert world.run("pull").code == 0
    row = ops_invoice(world, "JOB-1")
    assert (row["status"], row["amount_due"], row["paid_on"]) == ("paid", "0.00", "2026-11-25")
    assert row["total"] == "2640.00"


def test_disjoint_edits_to_one_contact_both_survive(world: World) -> None:
    first_sync(world)
    contact = world.xero.contact("Coco Cafe")
    world.xero.update_contact(contact, Addresses=[{
        "AddressType": "STREET", "AddressLine1": "9 Market St", "City": "Fremantle",
        "Region": "WA", "PostalCode": "6160", "Country": "Australia"}])
    world.ops.execute("UPDATE contacts SET phone = '08 9000 1234', updated_at = "
                      "'2026-11-24T10:02:00Z' WHERE name = 'Coco Cafe'")
    result = world.run("sync")
    assert result.code == 0, result.out
    row = world.ops.one("SELECT * FROM contacts WHERE name = 'Coco Cafe'")
    assert (row["address_line1"], row["phone"]) == ("9 Market St", "08 9000 1234")
    xero = world.xero.contact("Coco Cafe")
    assert xero["Addresses"][0]["AddressLine1"] == "9 Market St" or any(
        a.get("AddressLine1") == "9 Market St" for a in xero["Addresses"])
    phones = [p for p in xero["Phones"] if p["PhoneType"] == "DEFAULT"]
    assert phones and phones[0]["PhoneNumber"].endswith("9000 1234")
    assert world.run("resolve", "--json").out.strip() in ("[]", "")


def test_tax_type_changed_on_both_sides_xero_wins_and_the_log_says_why(world: World) -> None:
    first_sync(world)
    invoice = world.xero.invoice("INV-0014")
    world.xero.edit_first_line(invoice, TaxType="BASEXCLUDED")
    row = ops_invoice(world, "INV-0014")
    line = world.ops.rows("SELECT * FROM invoice_lines WHERE invoice_id = ? ORDER BY position",
                          [row["id"]])[0]
    world.ops.execute("UPDATE invoice_lines SET tax_type = 'INPUTTAXED' WHERE id = ?",
                      [line["id"]])
    world.ops.execute("UPDATE invoices SET updated_at = '2026-11-24T11:00:00Z' WHERE id = ?",
                      [row["id"]])
    result = world.run("sync")
    assert result.code == 0, result.out
    line = world.ops.one("SELECT * FROM invoice_lines WHERE id = ?", [line["id"]])
    assert line["tax_type"] == "BASEXCLUDED"
    assert world.xero.invoice("INV-0014")["LineItems"][0]["TaxType"] == "BASEXCLUDED"
    log = json.loads(world.run("log", "--record", "INV-0014", "--json").out)
    decided = [e for e in log if (e["field"] or "").endswith("tax_type")]
    assert decided and all("xero" in (e["rule"] or "") for e in decided)


def test_flagged_description_conflict_diff_resolve_and_agreement(world: World) -> None:
    world.configure('[sync.policies]\ntax_type = "xero"\naccount_code = "xero"\n'
                    'description = "flag"\n')
    first_sync(world)
    invoice = world.xero.invoice("INV-0015")
    world.xero.edit_first_line(invoice, Description="Accountant's wording",
                               other={"Reference": "Xero ref"})
    row = ops_invoice(world, "INV-0015")
    line = world.ops.rows("SELECT * FROM invoice_lines WHERE invoice_id = ? ORDER BY position",
                          [row["id"]])[0]
    world.ops.execute("UPDATE invoice_lines SET description = 'Team wording' WHERE id = ?",
                      [line["id"]])
    world.ops.execute("UPDATE invoices SET due_date = '2027-01-31', updated_at = "
                      "'2026-11-24T10:30:00Z' WHERE id = ?", [row["id"]])

    diff = world.run("diff")
    assert "Accountant's wording" in diff.out and "Team wording" in diff.out
    plan = json.loads(world.run("diff", "--json").out)
    assert plan["conflicts"] and plan["conflicts"][0]["field"].endswith("description")

    result = world.run("sync")
    assert result.code == 3, result.out
    after = ops_invoice(world, "INV-0015")
    assert after["reference"] == "Xero ref"                       # the rest merged
    assert world.xero.invoice("INV-0015")["DueDate"].startswith("/Date(")
    listing = json.loads(world.run("resolve", "--json").out)
    assert len(listing) == 1
    assert world.run("resolve", str(listing[0]["id"]), "--take", "ops").code == 0
    assert world.run("sync").code == 0
    assert world.xero.invoice("INV-0015")["LineItems"][0]["Description"] == "Team wording"
    line = world.ops.one("SELECT * FROM invoice_lines WHERE id = ?", [line["id"]])
    assert line["description"] == "Team wording"
    final = json.loads(world.run("diff", "--json").out)
    assert final["actions"] == [] and final["conflicts"] == []


def test_invoice_below_the_configured_value_is_not_pushed(world: World) -> None:
    world.configure('[sync.invoices]\ndirection = "both"\nmin_total = "500.00"\n')
    first_sync(world)
    world.ops.script("""
        INSERT INTO contacts (id, name, status, updated_at)
            VALUES ('C-S', 'Small Jobs', 'active', '2026-11-24T10:00:00Z');
        INSERT INTO invoices (id, number, contact_id, date, status, total, updated_at) VALUES
            ('S-1', 'SMALL-1', 'C-S', '2026-11-20', 'approved', '44.00', '2026-11-24T10:00:00Z'),
            ('S-2', 'BIG-1', 'C-S', '2026-11-20', 'approved', '1100.00', '2026-11-24T10:00:00Z');
        INSERT INTO invoice_lines (id, invoice_id, position, description, quantity, unit_price,
                                   account_code, tax_type) VALUES
            ('S-1-1', 'S-1', 1, 'Call-out', '1', '40.00', '200', 'OUTPUT'),
            ('S-2-1', 'S-2', 1, 'Install', '1', '1000.00', '200', 'OUTPUT');
    """)
    assert world.run("push").code == 0
    assert world.xero.invoices(InvoiceNumbers="SMALL-1") == []
    assert len(world.xero.invoices(InvoiceNumbers="BIG-1")) == 1


def test_first_sync_links_overlapping_contacts_and_flags_the_ambiguous(world: World) -> None:
    coco = world.xero.contact("Coco Cafe")
    abc = world.xero.contact("ABC Furniture")
    city = world.xero.contact("City Agency")
    world.ops.script(f"""
        INSERT INTO contacts (id, name, email, abn, status, updated_at) VALUES
          ('C-1', 'ABC Furniture Pty Ltd', NULL, '{abc["TaxNumber"]}', 'active',
           '2026-11-24T09:00:00Z'),
          ('C-2', 'City Agency Group', '{city["EmailAddress"].upper()}', NULL, 'active',
           '2026-11-24T09:00:00Z'),
          ('C-3', 'boom FM', NULL, NULL, 'active', '2026-11-24T09:00:00Z'),
          ('C-4', 'Coco Cafe', NULL, NULL, 'active', '2026-11-24T09:00:00Z'),
          ('C-5', ' coco  cafe ', NULL, NULL, 'active', '2026-11-24T09:00:00Z'),
          ('C-6', 'Brand New Customer', 'new@example.com', NULL, 'active',
           '2026-11-24T09:00:00Z');
    """)
    before = len(world.xero.contacts())
    plan = json.loads(world.run("diff", "--json").out)
    links = [a for a in plan["actions"] if a["entity"] == "contacts" and a["kind"] == "link"]
    assert {a["ops_id"] for a in links} >= {"C-1", "C-2", "C-3"}
    result = world.run("sync")
    assert result.code == 3, result.out
    names = [c["Name"] for c in world.xero.contacts()]
    assert len(names) == before + 1                          # only the new customer
    assert "Brand New Customer" in names
    assert names.count("Coco Cafe") == 1
    conflicts = json.loads(world.run("resolve", "--json").out)
    assert any((c["entity"] == "contacts" and coco["ContactID"] in json.dumps(c))
               or "coco" in json.dumps(c).lower() for c in conflicts)
    assert len(world.ops.rows("SELECT * FROM contacts WHERE name = 'ABC Furniture Pty Ltd' "
                              "OR name = 'ABC Furniture'")) == 1
