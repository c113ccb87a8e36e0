"""Nothing is written into a period Xero has locked: the write waits as a conflict, says why,
and goes through once the lock moves; a cycle that pushes nothing never asks for the lock."""

from __future__ import annotations

from e2e_helpers import World, run_json


def _accountant(world: World, *args: str) -> None:
    result = world.run("sandbox", "xero", *args, "--url", world.url)
    assert result.code == 0, result.out + result.err


def _new_invoice(world: World, number: str, day: str) -> None:
    contact = world.ops.one("SELECT id FROM contacts WHERE status = 'active' ORDER BY id LIMIT 1")
    world.ops.script(
        "INSERT INTO invoices (id, number, contact_id, date, due_date, amounts_are, status, "
        f"updated_at) VALUES ('L-{number}', '{number}', '{contact['id']}', '{day}', "
        f"'2026-12-20', 'exclusive', 'approved', '2026-11-24T10:30:00Z');"
        "INSERT INTO invoice_lines (id, invoice_id, position, description, quantity, "
        f"unit_price, account_code, tax_type) VALUES ('L-{number}-1', 'L-{number}', 1, "
        "'Work', '1', '100.00', '200', 'OUTPUT');")


def _in_xero(world: World, number: str) -> bool:
    return any(i["InvoiceNumber"] == number for i in world.xero.invoices(where='Type=="ACCREC"'))


def _organisation_reads(world: World) -> int:
    endpoints = world.sandbox.get_counters()["endpoints"]
    return sum(v["calls"] for k, v in endpoints.items() if k.endswith("/Organisation"))


def test_a_write_into_a_locked_period_waits_as_a_conflict_until_the_lock_moves(
        world: World) -> None:
    assert world.run("sync").code == 0
    _accountant(world, "lock-period", "2026-10-31")
    _new_invoice(world, "LOCKED-1", "2026-10-15")
    _new_invoice(world, "OPEN-1", "2026-11-20")

    code, planned = run_json(world, "diff")
    assert code == 3, planned
    code, ran = run_json(world, "sync")
    assert code == 3, ran
    assert not _in_xero(world, "LOCKED-1") and _in_xero(world, "OPEN-1")
    code, listed = run_json(world, "resolve")
    [held] = [c for c in listed if c["field"] == "_locked"]
    assert held["ops_id"] == "L-LOCKED-1"
    assert "2026-10-15" in held["reason"] and "2026-10-31" in held["reason"]
    refused = world.run("resolve", str(held["id"]), "--take", "ops")
    assert refused.code == 2 and "locked" in refused.err

    # the next cycle holds it again, once, and still writes nothing
    code, again = run_json(world, "sync")
    assert code == 3, again
    assert not _in_xero(world, "LOCKED-1")

    _accountant(world, "lock-period", "none")
    code, after = run_json(world, "sync")
    assert code == 0, after
    assert _in_xero(world, "LOCKED-1")
    code, listed = run_json(world, "resolve")
    assert [c for c in listed if c["field"] == "_locked"] == []


def test_an_ops_edit_of_a_document_in_a_locked_period_is_kept_until_it_can_be_written(
        world: World) -> None:
    assert world.run("sync").code == 0
    # one nothing was paid or credited on (Xero takes no edit of those, locked or not)
    row = world.ops.one("SELECT id, number, date FROM invoices WHERE status = 'approved' "
                        "AND amount_due = total ORDER BY date LIMIT 1")
    _accountant(world, "lock-period", row["date"])
    world.ops.execute("UPDATE invoices SET reference = 'edited in ops', "
                      "updated_at = '2026-11-24T12:00:00Z' WHERE id = ?", [row["id"]])
    code, ran = run_json(world, "sync")
    assert code == 3, ran
    assert world.xero.invoice(row["number"]).get("Reference") != "edited in ops"
    # the edit is not lost while it waits
    assert world.ops.one("SELECT reference FROM invoices WHERE id = ?",
                         [row["id"]])["reference"] == "edited in ops"
    _accountant(world, "lock-period", "none")
    assert world.run("sync").code == 0
    assert world.xero.invoice(row["number"]).get("Reference") == "edited in ops"


def test_a_document_xero_holds_in_a_locked_period_is_held_even_when_re_dated_out_of_it(
        world: World) -> None:
    assert world.run("sync").code == 0
    row = world.ops.one("SELECT id, number, date FROM invoices WHERE status = 'approved' "
                        "AND amount_due = total ORDER BY date LIMIT 1")
    _accountant(world, "lock-period", row["date"])
    world.ops.execute("UPDATE invoices SET date = '2026-11-23', due_date = '2026-12-23', "
                      "updated_at = '2026-11-24T12:00:00Z' WHERE id = ?", [row["id"]])
    code, ran = run_json(world, "sync")
    assert code == 3, ran  # held, not sent for Xero to refuse
    assert ran["rejected"] == []
    [held] = [c for c in ran["conflicts"] if c["field"] == "_locked"]
    assert row["date"] in held["reason"] and "re-dated" not in held["reason"]
    assert world.xero.invoice(row["number"])["DateString"].startswith(row["date"])


def test_a_cycle_that_pushes_nothing_does_not_ask_for_the_lock_date(world: World) -> None:
    assert world.run("sync").code == 0
    world.sandbox.reset_counters()
    assert world.run("sync").code == 0
    assert _organisation_reads(world) == 0
    _new_invoice(world, "OPEN-2", "2026-11-21")
    world.sandbox.reset_counters()
    assert world.run("sync").code == 0
    assert _organisation_reads(world) == 1
