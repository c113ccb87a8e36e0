"""Values arrive as written: 4-decimal unit prices both ways, and an ops.db that breaks the
schema contract stops the run before anything is pushed."""

from __future__ import annotations

import sqlite3
from decimal import Decimal

from e2e_helpers import World

PRICED = """
INSERT INTO contacts (id, name, status, updated_at)
    VALUES ('C-4DP', 'Fine Prices Pty Ltd', 'active', '2026-11-24T10:00:00Z');
INSERT INTO invoices (id, number, contact_id, date, due_date, status, updated_at)
    VALUES ('I-4DP', 'FP-0001', 'C-4DP', '2026-11-20', '2026-12-20', 'approved',
            '2026-11-24T10:00:00Z');
INSERT INTO invoice_lines (id, invoice_id, position, description, quantity, unit_price,
                           account_code, tax_type)
    VALUES ('I-4DP-1', 'I-4DP', 1, 'Cable per metre', '12.5', '3.4567', '200', 'OUTPUT');
"""


def _synced(world: World) -> None:
    assert world.run("sync").code in (0, 3)
    world.run("resolve", "--all", "--take", "xero")
    assert world.run("sync").code == 0


def test_a_four_decimal_unit_price_survives_both_ways(world: World) -> None:
    _synced(world)
    world.ops.script(PRICED)
    pushed = world.run("sync")
    assert pushed.code == 0, pushed.out + pushed.err
    [invoice] = world.xero.invoices(InvoiceNumbers="FP-0001", unitdp="4")
    assert Decimal(str(invoice["LineItems"][0]["UnitAmount"])) == Decimal("3.4567")
    # Xero's line amount is of the exact price: 12.5 x 3.4567 = 43.20875 -> 43.21
    assert Decimal(str(invoice["LineItems"][0]["LineAmount"])) == Decimal("43.21")
    line = world.ops.one("SELECT * FROM invoice_lines WHERE id = 'I-4DP-1'")
    assert line["unit_price"] == "3.4567"
    assert line["line_amount"] == "43.21"

    world.advance()
    world.xero.call("POST", f"/Invoices/{invoice['InvoiceID']}", {"Invoices": [{
        "InvoiceID": invoice["InvoiceID"],
        "LineItems": [{"LineItemID": invoice["LineItems"][0]["LineItemID"],
                       "UnitAmount": 2.9876}]}]}, unitdp="4")
    pulled = world.run("sync")
    assert pulled.code == 0, pulled.out + pulled.err
    line = world.ops.one("SELECT * FROM invoice_lines WHERE id = 'I-4DP-1'")
    assert line["unit_price"] == "2.9876"
    assert world.run("diff").code == 0


def test_an_ops_db_lacking_a_contract_column_stops_before_anything_is_pushed(
        world: World) -> None:
    _synced(world)
    world.ops.script(PRICED)
    conn = sqlite3.connect(world.root / "ops.db")
    conn.execute("ALTER TABLE invoices DROP COLUMN reference")
    conn.commit()
    conn.close()
    world.sandbox.reset_counters()
    for args in (("sync",), ("diff",), ("push", "--dry-run")):
        result = world.run(*args)
        assert result.code == 2, (args, result.out, result.err)
        assert "invoices" in result.err and "reference" in result.err, result.err
        assert "Traceback" not in result.err
    writes = sum(v["writes"] for v in world.sandbox.get_counters()["endpoints"].values())
    assert writes == 0
    assert world.xero.invoices(InvoiceNumbers="FP-0001") == []
