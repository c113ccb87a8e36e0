"""One run converges: after a clean `sync`, `diff` has nothing to do.

Xero computes line amounts, tax, totals and statuses; the run that pushes a document takes them
from Xero's reply into ops and into its base, so the next `diff` sees both sides agree. A write a
killed run left unsettled is settled by the next run and no longer counted as pending.
"""

from __future__ import annotations

import json
from decimal import Decimal

from e2e_helpers import World, kill_while_held

NEW_INVOICES = """
INSERT INTO contacts (id, name, status, updated_at)
    VALUES ('C-CV', 'Converge Customer', 'active', '2026-11-24T10:00:00Z');
INSERT INTO invoices (id, number, contact_id, date, due_date, amounts_are, status, updated_at)
VALUES
    ('CV-1', 'CV-0001', 'C-CV', '2026-11-20', '2026-12-20', 'exclusive', 'approved',
     '2026-11-24T10:00:00Z'),
    ('CV-2', 'CV-0002', 'C-CV', '2026-11-20', '2026-12-20', 'inclusive', 'approved',
     '2026-11-24T10:00:00Z'),
    ('CV-3', 'CV-0003', 'C-CV', '2026-11-21', '2026-12-21', 'exclusive', 'approved',
     '2026-11-24T10:00:00Z');
INSERT INTO invoice_lines (id, invoice_id, position, description, quantity, unit_price,
                           account_code, tax_type, tax_amount, line_amount, discount_rate)
VALUES
    -- nothing computed by ops: Xero fills tax and line amounts
    ('CV-1-1', 'CV-1', 1, 'Three thirds', '3', '33.3333', '200', 'OUTPUT', NULL, NULL, NULL),
    ('CV-1-2', 'CV-1', 2, 'Odd cents', '7', '1.15', '200', 'OUTPUT', NULL, NULL, NULL),
    -- ops rounded differently from Xero (and a discount Xero applies itself)
    ('CV-2-1', 'CV-2', 1, 'Inclusive price', '1', '99.99', '200', 'OUTPUT', '9.10', '99.99',
     NULL),
    ('CV-3-1', 'CV-3', 1, 'Discounted', '3', '19.99', '200', 'OUTPUT', '6.00', '59.97',
     '12.5'),
    ('CV-3-2', 'CV-3', 2, 'Tax free', '2', '10.005', '200', 'EXEMPTOUTPUT', '0.01', '20.00',
     NULL);
"""


def first_sync(world: World) -> None:
    result = world.run("sync")
    assert result.code == 0, result.out + result.err
    world.advance()


def assert_nothing_to_do(world: World) -> None:
    shown = world.run("diff")
    assert shown.code == 0, shown.out + shown.err
    assert "nothing to do" in shown.out, shown.out
    plan = json.loads(world.run("diff", "--json").out)
    assert plan["actions"] == [] and plan["conflicts"] == [], plan
    assert plan["exit_code"] == 0, plan


def assert_ops_holds_xeros_numbers(world: World, number: str) -> None:
    xero = world.xero.invoice(number)
    row = world.ops.one("SELECT * FROM invoices WHERE number = ?", [number])
    assert row["status"] == xero["Status"].lower().replace("authorised", "approved"), \
        (row["status"], xero["Status"])
    for ops_field, xero_field in (("subtotal", "SubTotal"), ("total_tax", "TotalTax"),
                                  ("total", "Total"), ("amount_due", "AmountDue"),
                                  ("amount_paid", "AmountPaid")):
        assert Decimal(row[ops_field]) == Decimal(str(xero[xero_field])), \
            (number, ops_field, row[ops_field], xero[xero_field])
    lines = world.ops.rows("SELECT * FROM invoice_lines WHERE invoice_id = ? ORDER BY position",
                           [row["id"]])
    assert len(lines) == len(xero["LineItems"]), (lines, xero["LineItems"])
    for line, item in zip(lines, xero["LineItems"], strict=True):
        assert line["tax_amount"] is not None and line["line_amount"] is not None, line
        assert Decimal(line["tax_amount"]) == Decimal(str(item["TaxAmount"])), (line, item)
        assert Decimal(line["line_amount"]) == Decimal(str(item["LineAmount"])), (line, item)


def test_one_sync_pushes_and_pulls_and_leaves_nothing_to_do(world: World) -> None:
    first_sync(world)
    world.ops.script(NEW_INVOICES)
    # the accountant works in Xero at the same time: a payment and a changed reference
    paid = world.xero.invoice("INV-0011")
    world.xero.pay(paid, paid["AmountDue"])
    world.xero.update_invoice(world.xero.invoice("INV-0012"), Reference="Checked by accounts")

    result = world.run("sync")
    assert result.code == 0, result.out + result.err

    assert_nothing_to_do(world)
    for number in ("CV-0001", "CV-0002", "CV-0003", "INV-0011", "INV-0012"):
        assert_ops_holds_xeros_numbers(world, number)
    # Xero's arithmetic, not a guess: 3 x 33.3333 is 100.00 with 10.00 tax
    first = world.ops.one("SELECT * FROM invoice_lines WHERE id = 'CV-1-1'")
    assert (Decimal(first["line_amount"]), Decimal(first["tax_amount"])) == \
        (Decimal("100.00"), Decimal("10.00"))
    assert world.ops.one("SELECT * FROM invoices WHERE number = 'INV-0011'")["status"] == "paid"
    assert world.ops.one("SELECT * FROM invoices WHERE number = 'INV-0012'")["reference"] == \
        "Checked by accounts"
    # and a second sync, a minute later, has nothing to write either
    world.sandbox.reset_counters()
    assert world.run("sync").code == 0
    writes = sum(v["writes"] for v in world.sandbox.get_counters()["endpoints"].values())
    assert writes == 0, world.sandbox.get_counters()


def test_an_update_left_pending_by_a_killed_run_is_settled_by_the_next(world: World) -> None:
    first_sync(world)
    row = world.ops.one("SELECT * FROM invoices WHERE number = 'INV-0011'")
    world.ops.execute("UPDATE invoices SET reference = 'Changed in ops', updated_at = "
                      "'2026-11-24T10:10:00Z' WHERE id = ?", [row["id"]])
    # The update reaches Xero and is held there; the run dies before it hears back.
    kill_while_held(world, "POST /Invoices", "sync", "--quiet")
    left = json.loads(world.run("status", "--json").out)
    assert left["pending_writes"] >= 1, left     # the killed run's write is still unsettled

    result = world.run("sync")
    assert result.code == 0, result.out + result.err
    status = json.loads(world.run("status", "--json").out)
    assert status["pending_writes"] == 0, status
    assert world.xero.invoice("INV-0011")["Reference"] == "Changed in ops"
    assert_nothing_to_do(world)
