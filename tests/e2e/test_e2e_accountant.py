"""The README's "Play the accountant" walk-through, typed as written: changes made in the
sandbox's Xero with `xsync sandbox xero ...` reach ops.db on the next sync."""

from __future__ import annotations

from decimal import Decimal

from e2e_helpers import World


def accountant(world: World, *args: str) -> str:
    result = world.run("sandbox", "xero", *args, "--url", world.url)
    assert result.code == 0, result.out + result.err
    assert result.out.strip() and "\n" not in result.out.strip(), result.out
    return result.out.strip()


def test_make_a_change_in_xero_see_it_in_ops(world: World) -> None:
    first = world.run("sync")
    assert first.code == 0, first.out + first.err
    owed = Decimal(str(world.xero.invoice("INV-0011")["AmountDue"]))
    credited_due = Decimal(str(world.xero.invoice("INV-0012")["AmountDue"]))
    lines_before = len(world.xero.invoice("INV-0009")["LineItems"])
    assert lines_before > 1

    accountant(world, "pay", "INV-0011", "500")  # dated Xero's today, 2026-11-24
    accountant(world, "edit", "INV-0009", "--line", "1", "--tax-type", "EXEMPTOUTPUT")
    accountant(world, "credit", "INV-0012", "110")
    accountant(world, "edit-contact", "Coco Cafe", "--phone", "02 9555 0199")
    accountant(world, "void", "INV-0015")
    accountant(world, "merge-contacts", "Bayside Club", "Coco Cafe")
    deposit_due = Decimal(str(world.xero.invoice("INV-0013")["AmountDue"]))
    said = accountant(world, "prepay", "Port & Philip Freight", "300", "--reference", "Deposit")
    prepayment = said.split(" as prepayment ")[1].split(" ")[0]
    accountant(world, "allocate", prepayment, "INV-0013", "100")

    diff = world.run("diff")
    assert diff.code == 0, diff.out + diff.err
    assert "INV-0011" in diff.out and "INV-0009" in diff.out
    synced = world.run("sync")
    assert synced.code == 0, synced.out + synced.err

    paid = world.ops.one("SELECT * FROM invoices WHERE number = 'INV-0011'")
    assert Decimal(paid["amount_due"]) == owed - 500
    payment = world.ops.one("SELECT * FROM payments WHERE invoice_id = ?", [paid["id"]])
    assert payment["amount"] == "500.00" and payment["date"] == "2026-11-24"

    edited = world.ops.one("SELECT id FROM invoices WHERE number = 'INV-0009'")
    line = world.ops.rows("SELECT * FROM invoice_lines WHERE invoice_id = ? ORDER BY position",
                          [edited["id"]])[0]
    assert line["tax_type"] == "EXEMPTOUTPUT"
    kept_lines = world.ops.rows("SELECT * FROM invoice_lines WHERE invoice_id = ?", [edited["id"]])
    assert len(kept_lines) == lines_before  # the other lines untouched, not dropped

    credited = world.ops.one("SELECT * FROM invoices WHERE number = 'INV-0012'")
    assert credited["amount_credited"] == "110.00"
    assert Decimal(credited["amount_due"]) == credited_due - 110
    assert world.ops.one("SELECT * FROM credit_notes WHERE invoice_id = ?",
                         [credited["id"]])["total"] == "110.00"

    coco = world.ops.one("SELECT * FROM contacts WHERE name = 'Coco Cafe'")
    assert coco["phone"] == "02 9555 0199"
    voided = world.ops.one("SELECT * FROM invoices WHERE number = 'INV-0015'")
    assert voided["status"] == "void"
    bayside = world.ops.one("SELECT * FROM contacts WHERE name = 'Bayside Club'")
    assert bayside["status"] == "archived"
    moved = world.ops.one("SELECT * FROM invoices WHERE number = 'INV-0014'")
    assert moved["contact_id"] == coco["id"]  # its documents followed the merge

    deposit = world.ops.one("SELECT * FROM credits")
    assert (deposit["kind"], deposit["total"], deposit["remaining"]) == (
        "prepayment", "300.00", "200.00")
    deposited = world.ops.one("SELECT * FROM invoices WHERE number = 'INV-0013'")
    assert Decimal(deposited["amount_due"]) == deposit_due - 100
    assert world.ops.one("SELECT * FROM allocations WHERE credit_id = ?",
                         [deposit["id"]])["invoice_id"] == deposited["id"]

    again = world.run("diff")
    assert again.code == 0, again.out + again.err

    locked = accountant(world, "lock-period", "2026-10-31")
    assert "2026-10-31" in locked
    refused = world.run("sandbox", "xero", "pay", "INV-0011", "10", "--date", "2026-10-30",
                        "--url", world.url)
    assert refused.code == 4 and "period lock date" in refused.err

