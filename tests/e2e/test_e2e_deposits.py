"""A deposit taken in ops before the job is invoiced: pushed to Xero as a prepayment, and applied
to the job's invoice once the platform records the allocation, through the CLI against the
sandbox, as a bookkeeper checks it in ops.db and the accountant sees it in Xero."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from e2e_helpers import World, kill_while_held, run_json

CUSTOMER = """
INSERT INTO contacts (id, name, email, status, updated_at) VALUES
    ('C-D1', 'Glebe Kitchens', 'office@glebekitchens.example', 'active',
     '2026-11-24T10:00:00Z');
"""
DEPOSIT = """
INSERT INTO credits (id, kind, contact_id, date, reference, total, updated_at, bank_account,
                     account_code, tax_type) VALUES
    ('CR-1', 'prepayment', 'C-D1', '2026-11-20', 'Deposit, kitchen JOB-3001', '1100.00',
     '2026-11-24T10:00:00Z', '090', '200', 'OUTPUT');
"""
# 2000.00 + GST = 2200.00
JOB = """
INSERT INTO invoices (id, number, contact_id, date, due_date, status, updated_at) VALUES
    ('J-3001', 'JOB-3001', 'C-D1', '2026-11-24', '2026-12-24', '{status}',
     '2026-11-24T11:00:00Z');
INSERT INTO invoice_lines (id, invoice_id, position, description, quantity, unit_price,
                           account_code, tax_type) VALUES
    ('J-3001-1', 'J-3001', 1, 'Kitchen refit', '1', '2000.00', '200', 'OUTPUT');
"""
APPLIED = """
INSERT INTO allocations (id, kind, credit_id, invoice_id, amount, updated_at) VALUES
    ('AL-1', 'prepayment', 'CR-1', 'J-3001', '800.00', '2026-11-24T11:00:00Z');
"""


def synced(world: World) -> None:
    result = world.run("sync")
    assert result.code == 0, result.out + result.err


def prepayments(world: World, contact_name: str) -> list[dict[str, Any]]:
    """The accountant's view: every prepayment Xero holds for the customer."""
    found = world.xero.call("GET", "/Prepayments", page="1")["Prepayments"]
    return [p for p in found if p["Contact"]["Name"] == contact_name]


def prepayment(world: World, contact_name: str) -> dict[str, Any]:
    found = prepayments(world, contact_name)
    assert len(found) == 1, f"{len(found)} prepayments for {contact_name} in Xero"
    got = world.xero.call("GET", f"/Prepayments/{found[0]['PrepaymentID']}")
    return dict(got["Prepayments"][0])


def money(value: Any) -> str:
    return f"{Decimal(str(value)):.2f}"


def ops_state(world: World) -> dict[str, list[dict[str, Any]]]:
    return {table: world.ops.rows(f"SELECT * FROM {table} ORDER BY 1")
            for table in ("contacts", "invoices", "invoice_lines", "credits", "allocations",
                          "payments")}


def test_a_deposit_taken_in_ops_is_a_prepayment_in_xero_and_the_later_invoice_shows_it_applied(
        world: World) -> None:
    synced(world)
    world.ops.script(CUSTOMER + DEPOSIT)
    synced(world)

    made = prepayment(world, "Glebe Kitchens")
    assert (made["Type"], made["Status"], money(made["Total"]), money(made["RemainingCredit"]),
            made["Reference"]) == ("RECEIVE-PREPAYMENT", "AUTHORISED", "1100.00", "1100.00",
                                   "Deposit, kitchen JOB-3001")
    [line] = made["LineItems"]
    assert (line["AccountCode"], line["TaxType"], money(line["TaxAmount"])) == (
        "200", "OUTPUT", "100.00")
    bank = world.xero.call("GET", "/BankTransactions", where='Type=="RECEIVE-PREPAYMENT"')
    assert [b["BankAccount"]["Code"] for b in bank["BankTransactions"]
            if b.get("PrepaymentID") == made["PrepaymentID"]] == ["090"]
    credit = world.ops.one("SELECT * FROM credits WHERE id = 'CR-1'")
    assert (credit["total"], credit["remaining"], credit["status"]) == (
        "1100.00", "1100.00", "approved")
    # linked: the audit log names the prepayment it was created as
    log = json.loads(world.run("log", "--json").out)
    assert [(e["ops_id"], e["xero_id"], e["direction"]) for e in log
            if e["entity"] == "credits" and e["action"] == "create"] == [
        ("CR-1", made["PrepaymentID"], "ops->xero")]

    # the job is invoiced, and the deposit applied to it
    world.ops.script(JOB.format(status="approved") + APPLIED)
    synced(world)

    invoice = world.xero.invoice("JOB-3001")
    assert (invoice["Status"], money(invoice["Total"]), money(invoice["AmountCredited"]),
            money(invoice["AmountDue"])) == ("AUTHORISED", "2200.00", "800.00", "1400.00")
    applied = prepayment(world, "Glebe Kitchens")
    assert [(a["Invoice"]["InvoiceNumber"], money(a["Amount"])) for a in
            applied["Allocations"]] == [("JOB-3001", "800.00")]
    assert money(applied["RemainingCredit"]) == "300.00"
    job = world.ops.one("SELECT * FROM invoices WHERE id = 'J-3001'")
    assert (job["status"], job["total"], job["amount_credited"], job["amount_due"]) == (
        "approved", "2200.00", "800.00", "1400.00")
    assert job["amount_due"] == money(invoice["AmountDue"])
    credit = world.ops.one("SELECT * FROM credits WHERE id = 'CR-1'")
    assert (credit["remaining"], credit["status"]) == ("300.00", "approved")
    allocation = world.ops.one("SELECT * FROM allocations WHERE id = 'AL-1'")
    # Xero needs the day it is applied: the later of the deposit's and the invoice's
    assert (allocation["amount"], allocation["date"], allocation["status"]) == (
        "800.00", "2026-11-24", "applied")
    assert len(world.ops.rows("SELECT * FROM credits")) == 1
    assert len(world.ops.rows("SELECT * FROM allocations WHERE kind != 'credit_note'")) == 1

    # a second sync changes nothing, on either side, and creates nothing
    before = ops_state(world)
    counted = len(prepayments(world, "Glebe Kitchens"))
    world.sandbox.reset_counters()
    code, again = run_json(world, "sync")
    assert code == 0 and again["applied"] == [] and again["rejected"] == [], again
    writes = sum(v["writes"] for v in world.sandbox.get_counters()["endpoints"].values())
    assert writes == 0
    assert ops_state(world) == before
    assert len(prepayments(world, "Glebe Kitchens")) == counted == 1
    assert world.run("diff").out.strip().startswith("In sync"), world.run("diff").out


def test_an_allocation_waits_visibly_while_its_invoice_is_a_draft_in_xero(world: World) -> None:
    synced(world)
    world.ops.script(CUSTOMER + DEPOSIT + JOB.format(status="draft") + APPLIED)
    # a draft is not pushed at all by default: the allocation waits for the invoice to be there
    kept = world.run("diff")
    assert kept.code == 0, kept.out + kept.err
    assert ("allocations AL-1: waits for invoice JOB-3001, which is not in Xero yet (draft: "
            "only approved documents are pushed)") in kept.out, kept.out

    world.configure("[sync.invoices]\ndirection = \"both\"\npush_only_when_approved = false")
    planned = world.run("diff")
    assert planned.code == 0, planned.out + planned.err
    waits = "waits for invoice JOB-3001 to be approved: it is a draft in Xero"
    assert "held back" in planned.out and "allocations AL-1" in planned.out, planned.out
    assert waits in planned.out, planned.out
    code, report = run_json(world, "sync")
    assert code == 0, report
    assert [(s["entity"], s["ops_id"]) for s in report["skipped"]] == [("allocations", "AL-1")]
    assert report["skipped"][0]["reason"].startswith(waits)
    assert world.xero.invoice("JOB-3001")["Status"] == "DRAFT"
    assert prepayment(world, "Glebe Kitchens")["Allocations"] == []
    assert world.ops.one("SELECT amount_due FROM invoices WHERE id = 'J-3001'")[
        "amount_due"] == "2200.00"
    # still waiting, run after run, and never an error
    assert world.run("sync").code == 0
    assert waits in world.run("diff").out

    world.ops.execute("UPDATE invoices SET status = 'approved', updated_at = "
                      "'2026-11-24T12:00:00Z' WHERE id = 'J-3001'")
    synced(world)
    invoice = world.xero.invoice("JOB-3001")
    assert (invoice["Status"], money(invoice["AmountDue"])) == ("AUTHORISED", "1400.00")
    assert [money(a["Amount"]) for a in prepayment(world, "Glebe Kitchens")["Allocations"]] == [
        "800.00"]
    job = world.ops.one("SELECT * FROM invoices WHERE id = 'J-3001'")
    assert (job["status"], job["amount_due"]) == ("approved", "1400.00")
    assert world.ops.one("SELECT remaining FROM credits WHERE id = 'CR-1'")[
        "remaining"] == "300.00"
    assert world.run("diff").out.strip().startswith("In sync")


def _owing(world: World) -> dict[str, Any]:
    """A customer's approved invoice in the demo company, owing between 200 and 900."""
    for invoice in world.xero.invoices(where='Type=="ACCREC"'):
        if invoice["Status"] == "AUTHORISED" and 200 < Decimal(str(invoice["AmountDue"])) <= 900:
            return invoice
    raise AssertionError("the demo company has no such invoice")


def _reasons(report: dict[str, Any]) -> dict[str, str]:
    return {r["ops_id"]: r["reason"] for r in report["rejected"]}


def test_bad_deposits_and_allocations_are_rejected_one_by_one_and_the_rest_syncs(
        world: World) -> None:
    synced(world)
    invoice = _owing(world)
    due = Decimal(str(invoice["AmountDue"]))
    row = world.ops.one("SELECT id, contact_id FROM invoices WHERE number = ?",
                        [invoice["InvoiceNumber"]])
    customer = row["contact_id"]
    name = invoice["Contact"]["Name"]
    world.ops.script(f"""
        INSERT INTO credits (id, kind, contact_id, date, reference, total, updated_at,
                             bank_account, account_code, tax_type) VALUES
            ('CR-G', 'prepayment', '{customer}', '2026-11-20', 'Deposit', '1000.00',
             '2026-11-24T10:00:00Z', '090', '200', 'OUTPUT'),
            ('CR-NC', 'prepayment', NULL, '2026-11-20', 'No one', '50.00',
             '2026-11-24T10:00:00Z', '090', '200', 'OUTPUT'),
            ('CR-NEG', 'prepayment', '{customer}', '2026-11-20', 'Minus', '-5.00',
             '2026-11-24T10:00:00Z', '090', '200', 'OUTPUT'),
            ('CR-ZERO', 'prepayment', '{customer}', '2026-11-20', 'Nothing', '0',
             '2026-11-24T10:00:00Z', '090', '200', 'OUTPUT'),
            ('CR-BANK', 'prepayment', '{customer}', '2026-11-20', 'Wrong bank', '10.00',
             '2026-11-24T10:00:00Z', '200', '200', 'OUTPUT');
    """)
    code, report = run_json(world, "sync")
    assert code == 4, report
    reasons = _reasons(report)
    assert set(reasons) == {"CR-NC", "CR-NEG", "CR-ZERO", "CR-BANK"}, reasons
    assert reasons["CR-NC"].startswith("deposit CR-NC: contact_id is empty: set it to the "
                                       "customer"), reasons
    assert reasons["CR-NEG"].startswith("deposit CR-NEG: total -5.00 is not more than zero: "
                                        "set it to the amount received"), reasons
    assert reasons["CR-ZERO"].startswith("deposit CR-ZERO: total 0.00 is not more than zero"), \
        reasons
    assert reasons["CR-BANK"].startswith("deposit CR-BANK: bank_account '200' is not an active "
                                         "bank account"), reasons
    # the good one went: one prepayment in Xero, linked in ops
    [made] = prepayments(world, name)
    assert money(made["Total"]) == "1000.00"
    assert world.ops.one("SELECT remaining FROM credits WHERE id = 'CR-G'")[
        "remaining"] == "1000.00"

    over_due = due - 100 + 10
    world.ops.script(f"""
        INSERT INTO invoices (id, number, contact_id, date, due_date, status, updated_at) VALUES
            ('J-9', 'JOB-9', '{customer}', '2026-11-24', '2026-12-24', 'approved',
             '2026-11-24T11:00:00Z');
        INSERT INTO invoice_lines (id, invoice_id, position, description, quantity, unit_price,
                                   account_code, tax_type) VALUES
            ('J-9-1', 'J-9', 1, 'Call-out', '1', '300.00', '200', 'OUTPUT');
        INSERT INTO allocations (id, kind, credit_id, invoice_id, amount, updated_at) VALUES
            ('AL-1', 'prepayment', 'CR-G', '{row["id"]}', '100.00', '2026-11-24T11:00:00Z'),
            ('AL-2', 'prepayment', 'CR-G', '{row["id"]}', '950.00', '2026-11-24T11:00:00Z'),
            ('AL-3', 'prepayment', 'CR-G', '{row["id"]}', '{over_due:.2f}',
             '2026-11-24T11:00:00Z'),
            ('AL-4', 'prepayment', 'CR-G', 'INV-NOPE', '10.00', '2026-11-24T11:00:00Z'),
            ('AL-5', 'prepayment', 'CR-NC', '{row["id"]}', '10.00', '2026-11-24T11:00:00Z'),
            ('AL-6', 'prepayment', 'CR-G', 'J-9', '500.00', '2026-11-24T11:00:00Z');
    """)
    code, report = run_json(world, "sync")
    assert code == 4, report
    reasons = _reasons(report)
    assert {k for k in reasons if k.startswith("AL-")} == {"AL-2", "AL-3", "AL-4", "AL-6"}, \
        reasons
    assert reasons["AL-2"] == ("allocation AL-2: amount 950.00 is more than what is left of "
                               "deposit CR-G (900.00): lower the amount to at most 900.00")
    owed = due - 100
    assert reasons["AL-3"] == (
        f"allocation AL-3: amount {over_due:.2f} is more than invoice "
        f"{invoice['InvoiceNumber']} owes in Xero ({owed:.2f}): lower the amount to at most "
        f"{owed:.2f}")
    assert reasons["AL-4"].startswith("allocation AL-4: invoice_id 'INV-NOPE' names no invoice "
                                      "of the invoices table (an unknown invoice): set "
                                      "invoice_id"), reasons
    # a new invoice's balance is Xero's to judge: its refusal names the allocation and the fix
    assert "exceeds the amount due on the invoice" in reasons["AL-6"], reasons
    assert "lower the allocation's amount" in reasons["AL-6"], reasons
    assert next(r for r in report["rejected"] if r["ops_id"] == "AL-6")["entity"] == \
        "allocations"
    assert [(s["ops_id"], s["reason"].split(",")[0]) for s in report["skipped"]] == [
        ("AL-5", "waits for deposit CR-NC")]
    # the rest synced: the good allocation is in Xero and in the invoice's balance in ops
    applied = prepayment(world, name)
    assert [(a["Invoice"]["InvoiceNumber"], money(a["Amount"])) for a in
            applied["Allocations"]] == [(invoice["InvoiceNumber"], "100.00")]
    assert world.ops.one("SELECT amount_due FROM invoices WHERE id = ?", [row["id"]])[
        "amount_due"] == f"{owed:.2f}"
    assert world.xero.invoice("JOB-9")["Status"] == "AUTHORISED"
    assert world.ops.one("SELECT remaining FROM credits WHERE id = 'CR-G'")[
        "remaining"] == "900.00"


# Xero keeps an idempotency key for six minutes: a run after that must find what it made
PAST_IDEMPOTENCY = 7 * 60


def _writes(world: World, endpoint: str) -> int:
    return sum(v["writes"] for k, v in world.sandbox.get_counters()["endpoints"].items()
               if k.startswith(endpoint))


def test_a_push_killed_at_the_prepayment_never_makes_a_second_one(world: World) -> None:
    synced(world)
    world.ops.script(CUSTOMER + DEPOSIT)
    # the prepayment is made in Xero while the run that asked for it is killed: its reply is lost
    kill_while_held(world, "PUT /BankTransactions", "sync")
    assert len(prepayments(world, "Glebe Kitchens")) == 1
    world.advance(PAST_IDEMPOTENCY)

    world.sandbox.reset_counters()
    synced(world)
    assert _writes(world, "PUT /BankTransactions") == 0
    made = prepayment(world, "Glebe Kitchens")
    credit = world.ops.one("SELECT * FROM credits WHERE id = 'CR-1'")
    assert (credit["remaining"], credit["status"]) == (money(made["RemainingCredit"]),
                                                       "approved")
    assert len(world.ops.rows("SELECT * FROM credits")) == 1
    assert world.run("diff").out.strip().startswith("In sync")

    # and the deposit is applied as any other, once
    world.ops.script(JOB.format(status="approved") + APPLIED)
    synced(world)
    assert money(world.xero.invoice("JOB-3001")["AmountDue"]) == "1400.00"
    assert len(prepayment(world, "Glebe Kitchens")["Allocations"]) == 1


def test_a_push_killed_at_the_allocation_never_applies_the_deposit_twice(world: World) -> None:
    synced(world)
    world.ops.script(CUSTOMER + DEPOSIT)
    synced(world)
    world.ops.script(JOB.format(status="approved") + APPLIED)
    kill_while_held(world, "PUT /Prepayments", "sync")
    assert len(prepayment(world, "Glebe Kitchens")["Allocations"]) == 1
    world.advance(PAST_IDEMPOTENCY)

    world.sandbox.reset_counters()
    synced(world)
    assert _writes(world, "PUT /Prepayments") == 0
    applied = prepayment(world, "Glebe Kitchens")
    assert [money(a["Amount"]) for a in applied["Allocations"]] == ["800.00"]
    invoice = world.xero.invoice("JOB-3001")
    job = world.ops.one("SELECT * FROM invoices WHERE id = 'J-3001'")
    assert job["amount_due"] == money(invoice["AmountDue"]) == "1400.00"
    assert world.ops.one("SELECT remaining FROM credits WHERE id = 'CR-1'")[
        "remaining"] == "300.00"
    allocation = world.ops.one("SELECT * FROM allocations WHERE id = 'AL-1'")
    assert (allocation["amount"], allocation["date"]) == ("800.00", "2026-11-24")
    assert len(world.ops.rows("SELECT * FROM allocations WHERE kind = 'prepayment'")) == 1
    assert world.run("diff").out.strip().startswith("In sync"), world.run("diff").out


def test_a_deposit_or_allocation_edited_in_ops_after_it_reached_xero_is_refused_naming_the_fix(
        world: World) -> None:
    synced(world)
    world.ops.script(CUSTOMER + DEPOSIT + JOB.format(status="approved") + APPLIED)
    synced(world)
    # the accountant takes part of the deposit back in cash: the credit changes in Xero
    made = prepayment(world, "Glebe Kitchens")
    world.xero.call("PUT", "/Payments", {"Payments": [{
        "Prepayment": {"PrepaymentID": made["PrepaymentID"]}, "Account": {"Code": "090"},
        "Date": "2026-11-25", "Amount": 100, "Reference": "Part refund"}]})
    synced(world)
    assert world.ops.one("SELECT remaining FROM credits WHERE id = 'CR-1'")[
        "remaining"] == "200.00"

    world.ops.execute("UPDATE credits SET total = '1200.00', bank_account = '091', "
                      "updated_at = '2026-11-25T09:00:00Z' WHERE id = 'CR-1'")
    world.ops.execute("UPDATE allocations SET amount = '900.00', "
                      "updated_at = '2026-11-25T09:00:00Z' WHERE id = 'AL-1'")
    world.sandbox.reset_counters()
    code, report = run_json(world, "sync")
    assert code == 4, report
    reasons = _reasons(report)
    assert reasons["CR-1"] == (
        "deposit CR-1: total and bank_account changed in ops, but the credit is in Xero, and "
        "Xero cannot change a prepayment once made: put it back (total = '1100.00', "
        "bank_account = '090'); to change a deposit, the accountant refunds or voids it in "
        "Xero and the platform records a new one")
    assert reasons["AL-1"].startswith(
        "allocation AL-1: amount changed in ops, but the allocation is in Xero, and Xero cannot "
        "change one: put it back (amount = '800.00')"), reasons
    assert _writes(world, "PUT") + _writes(world, "POST") == 0
    made = prepayment(world, "Glebe Kitchens")
    assert (money(made["Total"]), [money(a["Amount"]) for a in made["Allocations"]]) == (
        "1100.00", ["800.00"])
    # put back, both sync again
    world.ops.script("""
        UPDATE credits SET total = '1100.00', bank_account = '090',
                           updated_at = '2026-11-25T10:00:00Z' WHERE id = 'CR-1';
        UPDATE allocations SET amount = '800.00', updated_at = '2026-11-25T10:00:00Z'
            WHERE id = 'AL-1';
    """)
    synced(world)
    assert world.run("diff").out.strip().startswith("In sync")

    # a row removed by the platform is not taken for one taken back in Xero
    kept = world.ops.one("SELECT * FROM allocations WHERE id = 'AL-1'")
    world.ops.execute("DELETE FROM allocations WHERE id = 'AL-1'")
    code, report = run_json(world, "sync")
    assert code == 4, report
    assert _reasons(report)["AL-1"].startswith(
        "allocation AL-1: its row is gone from ops, but Xero holds it"), report
    assert len(prepayment(world, "Glebe Kitchens")["Allocations"]) == 1
    world.ops.execute(f"INSERT INTO allocations ({', '.join(kept)}) VALUES "
                      f"({', '.join('?' for _ in kept)})", list(kept.values()))
    synced(world)
    assert world.run("diff").out.strip().startswith("In sync")


def test_credits_made_in_xero_come_to_ops_and_are_never_pushed_back(world: World) -> None:
    synced(world)
    invoice = _owing(world)
    contact = invoice["Contact"]["ContactID"]
    bank = world.xero.call("PUT", "/BankTransactions", {"BankTransactions": [{
        "Type": "RECEIVE-PREPAYMENT", "Contact": {"ContactID": contact},
        "BankAccount": {"Code": "090"}, "Date": "2026-11-20", "Reference": "Deposit at desk",
        "LineAmountTypes": "NoTax", "LineItems": [{"Description": "Deposit", "Quantity": 1,
                                                   "UnitAmount": "150.00",
                                                   "AccountCode": "200"}]}]})
    pre = bank["BankTransactions"][0]["PrepaymentID"]
    world.xero.call("PUT", f"/Prepayments/{pre}/Allocations", {"Allocations": [{
        "Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Amount": "100.00",
        "Date": "2026-11-21"}]})
    world.sandbox.reset_counters()
    synced(world)
    synced(world)
    assert _writes(world, "PUT") + _writes(world, "POST") == 0
    pulled = world.ops.one("SELECT * FROM credits")
    assert (pulled["remaining"], pulled["bank_account"], pulled["account_code"]) == (
        "50.00", None, None)
    assert len(world.ops.rows("SELECT * FROM allocations WHERE credit_id = ?",
                              [pulled["id"]])) == 1
    assert len(world.xero.call("GET", "/Prepayments", page="1")["Prepayments"]) == 1
    assert world.run("diff").out.strip().startswith("In sync")


def test_the_money_example_deposit_reaches_xero_and_its_job_shows_it_applied(
        world: World) -> None:
    from pathlib import Path

    synced(world)
    for name in ("Job", "Site"):
        world.xero.call("PUT", "/TrackingCategories", {"TrackingCategories": [{"Name": name}]})
    world.configure('[mappings.tracking]\njob = "Job"\nsite = "Site"\ncreate_options = true')
    example = Path(__file__).resolve().parents[2] / "examples" / "money.sql"
    world.ops.script(example.read_text())
    synced(world)
    made = prepayment(world, "Balmain Renovations")
    assert (money(made["Total"]), money(made["RemainingCredit"])) == ("500.00", "200.00")
    job = world.xero.invoice("JOB-2001")
    row = world.ops.one("SELECT * FROM invoices WHERE id = 'J-2001'")
    assert row["amount_due"] == money(job["AmountDue"]) == "536.00"
    assert world.ops.one("SELECT remaining FROM credits WHERE id = 'DEP-1'")[
        "remaining"] == "200.00"


def test_a_state_db_rebuilt_finds_the_deposit_and_its_allocation_and_makes_neither_again(
        world: World) -> None:
    synced(world)
    world.ops.script(CUSTOMER + DEPOSIT + JOB.format(status="approved") + APPLIED)
    synced(world)
    for path in world.root.glob("state.db*"):
        path.rename(path.with_name(path.name + ".broken"))
    assert world.run("connect", "--sandbox", world.url).code == 0

    world.sandbox.reset_counters()
    synced(world)
    assert _writes(world, "PUT /BankTransactions") + _writes(world, "PUT /Prepayments") == 0
    applied = prepayment(world, "Glebe Kitchens")
    assert [money(a["Amount"]) for a in applied["Allocations"]] == ["800.00"]
    assert [r["id"] for r in world.ops.rows("SELECT id FROM credits")] == ["CR-1"]
    assert [r["id"] for r in world.ops.rows(
        "SELECT id FROM allocations WHERE kind = 'prepayment'")] == ["AL-1"]
    assert world.ops.one("SELECT amount_due FROM invoices WHERE id = 'J-3001'")[
        "amount_due"] == "1400.00"
