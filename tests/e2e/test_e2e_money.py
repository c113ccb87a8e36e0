"""The money story through the CLI: what the accountant does to payments, bills and contacts
in the sandbox's Xero, and what a bookkeeper then finds in ops.db.

Each test starts from the sandbox's demo company and an empty ops.db, runs the first sync, and
then plays one flow: a bill paid in Xero, a payment deleted there, two contacts merged.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from e2e_helpers import World, fast_retries, run_json

SUPPLIER = """
INSERT INTO contacts (id, name, email, status, updated_at) VALUES
    ('S-1', 'Harbour Timber Supplies', 'ap@harbourtimber.example', 'active',
     '2026-11-24T10:00:00Z');
INSERT INTO bills (id, number, contact_id, date, due_date, status, updated_at) VALUES
    ('BL-1', 'HTS-5001', 'S-1', '2026-11-10', '2026-12-10', 'approved', '2026-11-24T10:00:00Z');
INSERT INTO bill_lines (id, bill_id, position, description, quantity, unit_price, account_code,
                        tax_type) VALUES
    ('BL-1-1', 'BL-1', 1, 'Hardwood decking', '10', '50.00', '400', 'INPUT');
"""


def accountant(world: World, *args: str) -> str:
    result = world.run("sandbox", "xero", *args, "--url", world.url)
    assert result.code == 0, result.out + result.err
    return result.out.strip()


def synced(world: World, command: str = "sync") -> None:
    result = world.run(command)
    assert result.code == 0, result.out + result.err


def bill_in_xero(world: World, number: str) -> dict[str, Any]:
    found = [b for b in world.xero.invoices(where='Type=="ACCPAY"')
             if b["InvoiceNumber"] == number]
    assert len(found) == 1, found
    return found[0]


def test_a_bill_paid_in_xero_is_paid_in_ops_with_its_payment(world: World) -> None:
    synced(world)
    world.ops.script(SUPPLIER)
    synced(world)
    bill = bill_in_xero(world, "HTS-5001")
    assert Decimal(str(bill["Total"])) == Decimal("550.00")

    accountant(world, "pay", bill["InvoiceID"], "200", "--date", "2026-11-20")
    synced(world)
    part = world.ops.one("SELECT * FROM bills WHERE id = 'BL-1'")
    assert (part["status"], part["amount_paid"], part["amount_due"]) == (
        "approved", "200.00", "350.00")
    accountant(world, "pay", bill["InvoiceID"], "350", "--date", "2026-11-24")
    synced(world)

    paid = world.ops.one("SELECT * FROM bills WHERE id = 'BL-1'")
    assert paid["status"] == "paid"
    assert (paid["amount_paid"], paid["amount_due"], paid["paid_on"]) == (
        "550.00", "0.00", "2026-11-24")
    payments = world.ops.rows("SELECT * FROM payments WHERE bill_id = 'BL-1' ORDER BY date")
    assert [(p["amount"], p["date"], p["status"]) for p in payments] == [
        ("200.00", "2026-11-20", "authorised"), ("350.00", "2026-11-24", "authorised")]
    assert all(p["invoice_id"] is None for p in payments)
    # an invoice payment names its invoice, never a bill
    assert world.ops.rows("SELECT * FROM payments WHERE invoice_id IS NOT NULL "
                          "AND bill_id IS NOT NULL") == []
    # the demo company's payments on bills ops never held are not ops' business
    assert world.ops.rows("SELECT * FROM payments WHERE bill_id IS NOT NULL "
                          "AND bill_id != 'BL-1'") == []
    again = world.run("diff")
    assert again.code == 0 and "BL-1" not in again.out, again.out


def delete_payment(world: World, payment_id: str) -> None:
    """The accountant deletes a payment (a bounced transfer), as Xero's API takes it."""
    world.xero.call("POST", f"/Payments/{payment_id}", {"Status": "DELETED"})


def test_a_payment_deleted_in_xero_reopens_the_invoice_and_the_bill_in_ops(
        world: World) -> None:
    synced(world)
    world.ops.script(SUPPLIER)
    synced(world)
    invoice = world.xero.invoice("INV-0011")
    owed = Decimal(str(invoice["AmountDue"]))
    bill = bill_in_xero(world, "HTS-5001")
    accountant(world, "pay", "INV-0011", str(owed), "--date", "2026-11-21")
    accountant(world, "pay", bill["InvoiceID"], "550", "--date", "2026-11-21")
    synced(world)
    paid = world.ops.one("SELECT * FROM invoices WHERE number = 'INV-0011'")
    assert (paid["status"], paid["amount_due"]) == ("paid", "0.00")
    assert world.ops.one("SELECT status FROM bills WHERE id = 'BL-1'")["status"] == "paid"

    for payment in world.xero.call("GET", "/Payments", where='Date==DateTime(2026,11,21)')[
            "Payments"]:
        delete_payment(world, payment["PaymentID"])
    synced(world)

    reopened = world.ops.one("SELECT * FROM invoices WHERE number = 'INV-0011'")
    assert reopened["status"] == "approved"
    assert Decimal(reopened["amount_due"]) == owed
    assert reopened["paid_on"] is None
    assert Decimal(reopened["amount_paid"]) == Decimal(str(invoice["AmountPaid"]))
    bill_row = world.ops.one("SELECT * FROM bills WHERE id = 'BL-1'")
    assert (bill_row["status"], bill_row["amount_paid"], bill_row["amount_due"],
            bill_row["paid_on"]) == ("approved", "0.00", "550.00", None)
    reversed_ = world.ops.rows("SELECT * FROM payments WHERE date = '2026-11-21' ORDER BY amount")
    assert [(p["amount"], p["status"]) for p in reversed_] == sorted(
        [(f"{owed:.2f}", "reversed"), ("550.00", "reversed")])
    assert {p["invoice_id"] or p["bill_id"] for p in reversed_} == {paid["id"], "BL-1"}
    again = world.run("diff")
    assert again.code == 0 and "INV-0011" not in again.out, again.out


def test_contacts_merged_in_xero_merge_in_ops_and_every_document_follows(world: World) -> None:
    import json

    synced(world)
    gone = world.ops.one("SELECT * FROM contacts WHERE name = 'Bayside Club'")
    kept = world.ops.one("SELECT * FROM contacts WHERE name = 'Coco Cafe'")
    theirs = [i for i in world.xero.invoices(where='Type=="ACCREC"')
              if i["Contact"]["Name"] == "Bayside Club"]
    voidable = next(i for i in theirs if i["Status"] == "AUTHORISED"
                    and Decimal(str(i["AmountPaid"])) == 0 and not i["CreditNotes"])
    accountant(world, "void", voidable["InvoiceNumber"])
    synced(world)
    assert world.ops.one("SELECT status FROM invoices WHERE number = ?",
                         [voidable["InvoiceNumber"]])["status"] == "void"
    # the team raises a job for Bayside Club, and keeps a quote in draft, before the merge
    world.ops.script(f"""
        INSERT INTO invoices (id, number, contact_id, date, due_date, status, updated_at) VALUES
            ('J-1', 'JOB-1', '{gone["id"]}', '2026-11-24', '2026-12-24', 'approved',
             '2026-11-24T10:00:00Z'),
            ('Q-1', 'QUOTE-1', '{gone["id"]}', '2026-11-24', '2026-12-24', 'draft',
             '2026-11-24T10:00:00Z');
        INSERT INTO invoice_lines (id, invoice_id, position, description, quantity, unit_price,
                                   account_code, tax_type) VALUES
            ('J-1-1', 'J-1', 1, 'Deck repair', '1', '400.00', '200', 'OUTPUT'),
            ('Q-1-1', 'Q-1', 1, 'New pergola', '1', '2400.00', '200', 'OUTPUT');
    """)
    contacts_before = len(world.xero.contacts())

    accountant(world, "merge-contacts", "Bayside Club", "Coco Cafe")
    synced(world)

    merged = world.ops.one("SELECT * FROM contacts WHERE id = ?", [gone["id"]])
    assert (merged["status"], merged["merged_into"]) == ("archived", kept["id"])
    assert world.ops.one("SELECT * FROM contacts WHERE id = ?", [kept["id"]])[
        "merged_into"] is None
    numbers = [i["InvoiceNumber"] for i in theirs] + ["JOB-1", "QUOTE-1"]
    for number in numbers:
        row = world.ops.one("SELECT contact_id FROM invoices WHERE number = ?", [number])
        assert row["contact_id"] == kept["id"], number
    assert world.ops.rows("SELECT id FROM invoices WHERE contact_id = ?", [gone["id"]]) == []
    # nothing re-created in Xero: the job went to the kept contact, no contact was added
    assert len(world.xero.contacts()) == contacts_before
    assert world.xero.invoice("JOB-1")["Contact"]["Name"] == "Coco Cafe"

    log = world.run("log", "--json")
    entries = json.loads(log.out)
    said = [e for e in entries if e["rule"] and e["rule"].startswith("merged")]
    assert any(e["entity"] == "contacts" and e["field"] == "merged_into" for e in said), said
    assert {e["label"].split(" ")[0] for e in said if e["entity"] == "invoices"} >= {
        voidable["InvoiceNumber"], "QUOTE-1"}
    again = world.run("diff")
    assert again.code == 0, again.out + again.err
    assert "Bayside" not in again.out and "merged" not in again.out, again.out


@pytest.mark.parametrize("survivor", ["as merged", "edited since"])
def test_a_first_sync_brings_in_contacts_merged_before_it_in_one_run(world: World,
                                                                     survivor: str) -> None:
    """Merged in Xero before xsync ever read them: the merged contact and its survivor are
    both new to ops, created together, the merged one naming the survivor's ops twin, whichever
    Xero lists first (the survivor edited after the merge is listed after the merged one)."""
    accountant(world, "merge-contacts", "Bayside Club", "Coco Cafe")
    if survivor == "edited since":
        world.advance(60)
        accountant(world, "edit-contact", "Coco Cafe", "--phone", "02 9555 0101")
    synced(world)
    gone = world.ops.one("SELECT * FROM contacts WHERE name = 'Bayside Club'")
    kept = world.ops.one("SELECT * FROM contacts WHERE name = 'Coco Cafe'")
    assert (gone["status"], gone["merged_into"]) == ("archived", kept["id"])
    assert world.ops.rows("SELECT id FROM invoices WHERE contact_id = ?", [gone["id"]]) == []
    again = world.run("diff")
    assert again.code == 0, again.out + again.err


def test_contacts_merged_in_xero_keep_their_documents_in_ops_when_linking(world: World) -> None:
    world.configure('[sync]\nmerged_contacts = "link"')
    synced(world)
    gone = world.ops.one("SELECT * FROM contacts WHERE name = 'Bayside Club'")
    kept = world.ops.one("SELECT * FROM contacts WHERE name = 'Coco Cafe'")
    theirs = {r["number"] for r in world.ops.rows(
        "SELECT number FROM invoices WHERE contact_id = ?", [gone["id"]])}
    assert theirs
    world.ops.script(f"""
        INSERT INTO invoices (id, number, contact_id, date, due_date, status, updated_at) VALUES
            ('J-1', 'JOB-1', '{gone["id"]}', '2026-11-24', '2026-12-24', 'approved',
             '2026-11-24T10:00:00Z');
        INSERT INTO invoice_lines (id, invoice_id, position, description, quantity, unit_price,
                                   account_code, tax_type) VALUES
            ('J-1-1', 'J-1', 1, 'Deck repair', '1', '400.00', '200', 'OUTPUT');
    """)
    contacts_before = len(world.xero.contacts())

    accountant(world, "merge-contacts", "Bayside Club", "Coco Cafe")
    synced(world)

    # archived and linked to the survivor, as Xero says; its documents stay on it in ops
    merged = world.ops.one("SELECT * FROM contacts WHERE id = ?", [gone["id"]])
    assert (merged["status"], merged["merged_into"]) == ("archived", kept["id"])
    for number in theirs | {"JOB-1"}:
        row = world.ops.one("SELECT contact_id FROM invoices WHERE number = ?", [number])
        assert row["contact_id"] == gone["id"], number
    # what is pushed naming it goes to the surviving contact; nothing is re-created
    assert world.xero.invoice("JOB-1")["Contact"]["Name"] == "Coco Cafe"
    assert len(world.xero.contacts()) == contacts_before
    world.ops.execute("UPDATE invoices SET reference = 'Deck, back stairs', "
                      "updated_at = '2026-11-24T11:00:00Z' WHERE id = 'J-1'")
    synced(world)
    pushed = world.xero.invoice("JOB-1")
    assert (pushed["Reference"], pushed["Contact"]["Name"]) == ("Deck, back stairs", "Coco Cafe")
    again = world.run("diff")
    assert again.code == 0, again.out + again.err
    assert "Bayside" not in again.out and "JOB-1" not in again.out, again.out


TRACKED_JOB = """
INSERT INTO contacts (id, name, email, status, updated_at) VALUES
    ('C-7', 'Balmain Renovations', 'office@balmainreno.example', 'active',
     '2026-11-24T10:00:00Z');
INSERT INTO invoices (id, number, contact_id, date, due_date, status, updated_at) VALUES
    ('J-2001', 'JOB-2001', 'C-7', '2026-11-24', '2026-12-24', 'approved',
     '2026-11-24T10:00:00Z');
INSERT INTO invoice_lines (id, invoice_id, position, description, quantity, unit_price,
                           account_code, tax_type, job, site) VALUES
    ('J-2001-1', 'J-2001', 1, 'Framing', '8', '95.00', '200', 'OUTPUT', 'J-100', 'Balmain'),
    ('J-2001-2', 'J-2001', 2, 'Timber', '1', '640.00', '200', 'OUTPUT', 'J-100', NULL);
"""


def tracking_category(world: World, name: str, *options: str) -> str:
    made = world.xero.call("PUT", "/TrackingCategories", {"TrackingCategories": [{"Name": name}]})
    category_id = str(made["TrackingCategories"][0]["TrackingCategoryID"])
    for option in options:
        world.xero.call("PUT", f"/TrackingCategories/{category_id}/Options",
                        {"Options": [{"Name": option}]})
    return category_id


def test_job_and_site_costing_reach_xero_tracking_and_come_back(world: World) -> None:
    synced(world)
    tracking_category(world, "Job", "J-100", "J-101")
    site = tracking_category(world, "Site")
    world.configure('[mappings.tracking]\njob = "Job"\nsite = "Site"\ncreate_options = false')
    world.ops.script(TRACKED_JOB)

    refused = world.run("sync")
    assert refused.code == 4, refused.out + refused.err
    assert "'Balmain'" in refused.out and "create_options = true" in refused.out, refused.out
    assert world.xero.invoices(InvoiceNumbers="JOB-2001") == []

    world.configure('[mappings.tracking]\njob = "Job"\nsite = "Site"\ncreate_options = true')
    synced(world)
    invoice = world.xero.invoice("JOB-2001")
    tracked = [sorted((t["Name"], t["Option"]) for t in line["Tracking"])
               for line in invoice["LineItems"]]
    assert tracked == [[("Job", "J-100"), ("Site", "Balmain")], [("Job", "J-100")]]
    options = world.xero.call("GET", f"/TrackingCategories/{site}")["TrackingCategories"][0]
    assert [o["Name"] for o in options["Options"]] == ["Balmain"]

    # the accountant moves the timber to the other job in Xero
    lines = [{"LineItemID": ln["LineItemID"]} for ln in invoice["LineItems"]]
    lines[1]["Tracking"] = [{"Name": "Job", "Option": "J-101"}]
    world.xero.update_invoice(invoice, LineItems=lines)
    synced(world)
    rows = world.ops.rows("SELECT id, job, site FROM invoice_lines WHERE invoice_id = 'J-2001' "
                          "ORDER BY position")
    assert [(r["id"], r["job"], r["site"]) for r in rows] == [
        ("J-2001-1", "J-100", "Balmain"), ("J-2001-2", "J-101", None)]
    again = world.run("diff")
    assert again.code == 0 and "JOB-2001" not in again.out, again.out

    # a mapping to a category Xero does not have reads nothing, rather than every line untracked
    world.configure('[mappings.tracking]\njob = "Crew"\nsite = "Site"')
    wrong = world.run("sync")
    assert wrong.code == 2 and "'Crew'" in wrong.out + wrong.err, wrong.out + wrong.err
    assert [r["job"] for r in world.ops.rows(
        "SELECT job FROM invoice_lines WHERE invoice_id = 'J-2001' ORDER BY position")] == [
        "J-100", "J-101"]


def test_a_credit_note_across_invoices_and_refunded_in_cash_keeps_every_balance(
        world: World) -> None:
    synced(world)
    owing: dict[str, list[dict[str, Any]]] = {}
    for i in world.xero.invoices(where='Type=="ACCREC"'):
        if i["Status"] == "AUTHORISED" and Decimal(str(i["AmountDue"])) >= 100:
            owing.setdefault(i["Contact"]["ContactID"], []).append(i)
    contact, (a, b) = next((c, found[:2]) for c, found in owing.items() if len(found) >= 2)
    note = world.xero.call("PUT", "/CreditNotes", {"CreditNotes": [{
        "Type": "ACCRECCREDIT", "Contact": {"ContactID": contact}, "Date": "2026-11-24",
        "Status": "AUTHORISED", "LineAmountTypes": "Inclusive",
        "LineItems": [{"Description": "Overcharge", "Quantity": 1, "UnitAmount": 330,
                       "AccountCode": "200", "TaxType": "OUTPUT"}]}]})["CreditNotes"][0]
    for invoice in (a, b):
        world.xero.call("PUT", f"/CreditNotes/{note['CreditNoteID']}/Allocations",
                        {"Allocations": [{"Invoice": {"InvoiceID": invoice["InvoiceID"]},
                                          "Amount": 100, "Date": "2026-11-24"}]})
    world.xero.call("PUT", "/Payments", {"Payments": [{
        "CreditNote": {"CreditNoteID": note["CreditNoteID"]}, "Account": {"Code": "090"},
        "Date": "2026-11-24", "Amount": 130, "Reference": "Refund"}]})
    synced(world)

    for invoice in (a, b):
        xero = world.xero.invoice(invoice["InvoiceNumber"])
        row = world.ops.one("SELECT * FROM invoices WHERE number = ?", [invoice["InvoiceNumber"]])
        assert (row["amount_credited"], row["amount_due"]) == (
            f"{Decimal(str(xero['AmountCredited'])):.2f}", f"{Decimal(str(xero['AmountDue'])):.2f}")
        assert Decimal(row["amount_due"]) == Decimal(str(invoice["AmountDue"])) - 100
    credit = world.ops.one("SELECT * FROM credit_notes WHERE number = ?",
                           [note["CreditNoteNumber"]])
    assert (credit["total"], credit["remaining"], credit["status"]) == ("330.00", "0.00", "paid")
    refund = world.ops.one("SELECT * FROM payments WHERE credit_note_id = ?", [credit["id"]])
    assert (refund["amount"], refund["invoice_id"], refund["bill_id"]) == ("130.00", None, None)
    again = world.run("diff")
    assert again.code == 0, again.out


def received(world: World, contact: str, typ: str, amount: str, reference: str) -> str:
    """The accountant records money received (spend and receive money in Xero); returns the
    overpayment's or prepayment's id."""
    bank = world.xero.call("PUT", "/BankTransactions", {"BankTransactions": [{
        "Type": typ, "Contact": {"ContactID": contact}, "BankAccount": {"Code": "090"},
        "Date": "2026-11-20", "Reference": reference, "LineAmountTypes": "NoTax",
        "LineItems": [{"Description": reference, "Quantity": 1, "UnitAmount": amount,
                       "AccountCode": "200"}]}]})["BankTransactions"][0]
    return str(bank.get("OverpaymentID") or bank["PrepaymentID"])


def test_overpayments_and_prepayments_are_credits_in_ops_and_lower_what_invoices_owe(
        world: World) -> None:
    synced(world)
    owing: dict[str, list[dict[str, Any]]] = {}
    for i in world.xero.invoices(where='Type=="ACCREC"'):
        if i["Status"] == "AUTHORISED" and Decimal(str(i["AmountDue"])) >= 100:
            owing.setdefault(i["Contact"]["ContactID"], []).append(i)
    contact, (a, b) = next(
        (c, sorted(found, key=lambda i: -Decimal(str(i["AmountDue"])))[:2])
        for c, found in owing.items()
        if len(found) >= 2 and max(Decimal(str(i["AmountDue"])) for i in found) >= 250)
    over = received(world, contact, "RECEIVE-OVERPAYMENT", "250.00", "Paid twice")
    pre = received(world, contact, "RECEIVE-PREPAYMENT", "400.00", "Deposit, kitchen job")
    synced(world)
    ops_contact = world.ops.one("SELECT * FROM contacts WHERE id = (SELECT contact_id FROM "
                                "invoices WHERE number = ?)", [a["InvoiceNumber"]])
    credits = world.ops.rows("SELECT * FROM credits ORDER BY kind")
    assert [(c["kind"], c["contact_id"], c["date"], c["reference"], c["total"], c["remaining"],
             c["status"]) for c in credits] == [
        ("overpayment", ops_contact["id"], "2026-11-20", "Paid twice", "250.00", "250.00",
         "approved"),
        ("prepayment", ops_contact["id"], "2026-11-20", "Deposit, kitchen job", "400.00",
         "400.00", "approved")]

    # the overpayment pays 100 of each invoice and the rest is refunded; the deposit goes
    # 150 to the first invoice and the rest stays as credit
    for invoice in (a, b):
        world.xero.call("PUT", f"/Overpayments/{over}/Allocations", {"Allocations": [{
            "Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Amount": 100,
            "Date": "2026-11-21"}]})
    world.xero.call("PUT", f"/Prepayments/{pre}/Allocations", {"Allocations": [{
        "Invoice": {"InvoiceID": a["InvoiceID"]}, "Amount": "150", "Date": "2026-11-21"}]})
    world.xero.call("PUT", "/Payments", {"Payments": [{
        "Overpayment": {"OverpaymentID": over}, "Account": {"Code": "090"},
        "Date": "2026-11-22", "Amount": 50, "Reference": "Refund of overpayment"}]})
    synced(world)

    for invoice, applied in ((a, Decimal(250)), (b, Decimal(100))):
        xero = world.xero.invoice(invoice["InvoiceNumber"])
        row = world.ops.one("SELECT * FROM invoices WHERE number = ?", [invoice["InvoiceNumber"]])
        assert (row["amount_credited"], row["amount_due"]) == (
            f"{Decimal(str(xero['AmountCredited'])):.2f}", f"{Decimal(str(xero['AmountDue'])):.2f}")
        assert Decimal(row["amount_due"]) == Decimal(str(invoice["AmountDue"])) - applied
    by_kind = {c["kind"]: c for c in world.ops.rows("SELECT * FROM credits")}
    assert (by_kind["overpayment"]["remaining"], by_kind["overpayment"]["status"]) == (
        "0.00", "paid")
    assert (by_kind["prepayment"]["remaining"], by_kind["prepayment"]["status"]) == (
        "250.00", "approved")
    refund = world.ops.one("SELECT * FROM payments WHERE credit_id = ?",
                           [by_kind["overpayment"]["id"]])
    assert (refund["amount"], refund["invoice_id"], refund["bill_id"], refund["credit_note_id"],
            refund["reference"]) == ("50.00", None, None, None, "Refund of overpayment")
    again = world.run("diff")
    assert again.code == 0, again.out


def test_every_allocation_is_a_row_of_its_own_and_one_removed_in_xero_is_deleted(
        world: World) -> None:
    synced(world)
    owing: dict[str, list[dict[str, Any]]] = {}
    for i in world.xero.invoices(where='Type=="ACCREC"'):
        if i["Status"] == "AUTHORISED" and Decimal(str(i["AmountDue"])) >= 100:
            owing.setdefault(i["Contact"]["ContactID"], []).append(i)
    contact, (a, b) = next((c, found[:2]) for c, found in owing.items() if len(found) >= 2)
    note = world.xero.call("PUT", "/CreditNotes", {"CreditNotes": [{
        "Type": "ACCRECCREDIT", "Contact": {"ContactID": contact}, "Date": "2026-11-24",
        "Status": "AUTHORISED", "LineAmountTypes": "NoTax",
        "LineItems": [{"Description": "Overcharge", "Quantity": 1, "UnitAmount": 120,
                       "AccountCode": "200"}]}]})["CreditNotes"][0]
    placed = {}
    for invoice, amount in ((a, 70), (b, 50)):
        placed[invoice["InvoiceNumber"]] = world.xero.call(
            "PUT", f"/CreditNotes/{note['CreditNoteID']}/Allocations",
            {"Allocations": [{"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Amount": amount,
                              "Date": "2026-11-24"}]})["Allocations"][0]["AllocationID"]
    over = received(world, contact, "RECEIVE-OVERPAYMENT", "30.00", "Paid twice")
    world.xero.call("PUT", f"/Overpayments/{over}/Allocations", {"Allocations": [{
        "Invoice": {"InvoiceID": b["InvoiceID"]}, "Amount": 30, "Date": "2026-11-25"}]})
    synced(world)

    ops_note = world.ops.one("SELECT id FROM credit_notes WHERE number = ?",
                             [note["CreditNoteNumber"]])["id"]
    ops_credit = world.ops.one("SELECT id FROM credits")["id"]
    rows = world.ops.rows(
        "SELECT i.number, a.kind, a.credit_note_id, a.credit_id, a.amount, a.date, a.status "
        "FROM allocations a JOIN invoices i ON i.id = a.invoice_id "
        "WHERE a.credit_note_id = ? OR a.credit_id = ? ORDER BY a.date, a.amount DESC",
        [ops_note, ops_credit])
    assert [tuple(r.values()) for r in rows] == [
        (a["InvoiceNumber"], "credit_note", ops_note, None, "70.00", "2026-11-24", "applied"),
        (b["InvoiceNumber"], "credit_note", ops_note, None, "50.00", "2026-11-24", "applied"),
        (b["InvoiceNumber"], "overpayment", None, ops_credit, "30.00", "2026-11-25", "applied")]
    # what each invoice was credited is the sum of its allocations
    for invoice in (a, b):
        row = world.ops.one("SELECT * FROM invoices WHERE number = ?", [invoice["InvoiceNumber"]])
        applied = world.ops.one(
            "SELECT sum(CAST(amount AS NUMERIC)) AS s FROM allocations "
            "WHERE invoice_id = ? AND status = 'applied'", [row["id"]])["s"]
        assert Decimal(row["amount_credited"]) == Decimal(str(invoice["AmountCredited"])) + \
            Decimal(str(applied))

    # the accountant takes the note's allocation off the second invoice
    world.xero.call("DELETE", f"/CreditNotes/{note['CreditNoteID']}/Allocations/"
                              f"{placed[b['InvoiceNumber']]}")
    synced(world)
    gone = world.ops.one("SELECT a.status FROM allocations a JOIN invoices i "
                         "ON i.id = a.invoice_id WHERE i.number = ? AND a.kind = 'credit_note'",
                         [b["InvoiceNumber"]])
    assert gone["status"] == "deleted"
    row = world.ops.one("SELECT * FROM invoices WHERE number = ?", [b["InvoiceNumber"]])
    assert Decimal(row["amount_due"]) == Decimal(str(b["AmountDue"])) - 30
    assert world.ops.one("SELECT remaining FROM credit_notes WHERE id = ?",
                         [ops_note])["remaining"] == "50.00"
    again = world.run("diff")
    assert again.code == 0, again.out


def test_the_accountant_takes_a_deposit_and_applies_it_from_the_command_line(
        world: World) -> None:
    synced(world)
    invoice = world.xero.invoice("INV-0011")
    customer = invoice["Contact"]["Name"]
    said = accountant(world, "prepay", customer, "100", "--date", "2026-11-20",
                      "--reference", "Deposit")
    credit_id = said.split(" as prepayment ")[1].split(" ")[0]
    assert f"Received 100.00 from {customer}" in said
    said = accountant(world, "allocate", credit_id, "INV-0011", "60", "--date", "2026-11-21")
    assert said.startswith(f"Allocated 60.00 of prepayment {credit_id} to INV-0011;"), said
    synced(world)
    credit = world.ops.one("SELECT * FROM credits")
    assert (credit["kind"], credit["total"], credit["remaining"], credit["reference"]) == (
        "prepayment", "100.00", "40.00", "Deposit")
    row = world.ops.one("SELECT * FROM invoices WHERE number = 'INV-0011'")
    assert Decimal(row["amount_due"]) == Decimal(str(invoice["AmountDue"])) - 60
    applied = world.ops.one("SELECT * FROM allocations WHERE credit_id = ?", [credit["id"]])
    assert (applied["invoice_id"], applied["amount"], applied["kind"]) == (
        row["id"], "60.00", "prepayment")
    wrong = world.run("sandbox", "xero", "allocate", credit_id, "INV-0011", "50", "--url",
                      world.url)
    assert wrong.code == 4 and "remaining credit" in (wrong.out + wrong.err), wrong.out
    unknown = world.run("sandbox", "xero", "allocate", "8d0c6a2e-0000-4000-8000-000000000000",
                        "INV-0011", "5", "--url", world.url)
    assert unknown.code == 2 and "no overpayment or prepayment" in unknown.err, unknown.err


def test_prepayments_xero_cannot_serve_fail_the_run_and_nothing_that_refers_to_them_is_touched(
        world: World, monkeypatch: Any) -> None:
    fast_retries(monkeypatch)
    synced(world)
    contact = world.xero.invoice("INV-0011")["Contact"]["ContactID"]
    pre = received(world, contact, "RECEIVE-PREPAYMENT", "80.00", "Deposit")
    world.xero.call("PUT", "/Payments", {"Payments": [{
        "Prepayment": {"PrepaymentID": pre}, "Account": {"Code": "090"},
        "Date": "2026-11-22", "Amount": 80, "Reference": "Deposit back"}]})
    world.sandbox.set_faults(error_rate=1.0, status=500, match="GET /Prepayments")
    code, report = run_json(world, "sync")
    assert code == report["exit_code"] != 0, report
    causes = {e["entity"]: e["cause"] for e in report["read_errors"]}
    assert causes == {"credits": None, "payments": "credits", "allocations": "credits"}
    assert world.ops.rows("SELECT * FROM credits") == []
    assert world.ops.rows("SELECT * FROM payments WHERE reference = 'Deposit back'") == []
    world.sandbox.clear_faults()
    synced(world)
    credit = world.ops.one("SELECT * FROM credits")
    assert (credit["remaining"], credit["status"]) == ("0.00", "paid")
    refund = world.ops.one("SELECT * FROM payments WHERE reference = 'Deposit back'")
    assert refund["credit_id"] == credit["id"]
