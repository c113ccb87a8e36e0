"""Safety through the CLI: crashes converge, quiet syncs are cheap, bad input loses nothing."""

from __future__ import annotations

import json

from e2e_helpers import World, kill_while_held


def first_sync(world: World) -> None:
    result = world.run("sync")
    assert result.code == 0, result.out + result.err
    world.advance()


def _approved_invoices(world: World, count: int, prefix: str = "JOB") -> None:
    rows = []
    lines = []
    for n in range(count):
        number = f"{prefix}-{n:04d}"
        rows.append(f"('{number}', '{number}', 'C-K', '2026-11-20', 'approved', "
                    "'2026-11-24T10:00:00Z')")
        lines.append(f"('{number}-1', '{number}', 1, 'Work {n}', '1', '{100 + n}.00', '200', "
                     "'OUTPUT')")
    world.ops.script(
        "INSERT INTO contacts (id, name, status, updated_at) VALUES "
        "('C-K', 'Kill Test Customer', 'active', '2026-11-24T10:00:00Z');"
        "INSERT INTO invoices (id, number, contact_id, date, status, updated_at) VALUES "
        + ", ".join(rows) + ";"
        "INSERT INTO invoice_lines (id, invoice_id, position, description, quantity, "
        "unit_price, account_code, tax_type) VALUES " + ", ".join(lines) + ";"
    )


def test_killing_a_push_midway_and_running_it_again_loses_nothing_duplicates_nothing(
        world: World) -> None:
    first_sync(world)
    _approved_invoices(world, 120)
    # The first invoice batch reaches Xero but is held there; the process dies meanwhile.
    # Xero carries out the held batch after the client is gone: its reply is lost.
    kill_while_held(world, "POST /Invoices", "push", "--quiet")

    result = world.run("push")
    assert result.code == 0, result.out + result.err
    numbers = [inv["InvoiceNumber"] for inv in world.xero.invoices(where='Type=="ACCREC"')]
    pushed = [n for n in numbers if n.startswith("JOB-")]
    assert sorted(pushed) == [f"JOB-{n:04d}" for n in range(120)]      # each exactly once
    assert [c["Name"] for c in world.xero.contacts()].count("Kill Test Customer") == 1
    again = json.loads(world.run("diff", "--json").out)
    assert [a for a in again["actions"] if a["direction"] == "ops->xero"] == []
    assert world.run("sync").code == 0          # Xero's computed line amounts come home
    settled = json.loads(world.run("diff", "--json").out)
    assert settled["actions"] == [] and settled["conflicts"] == []


def _calls(world: World) -> dict[str, dict[str, int]]:
    return world.sandbox.get_counters()["endpoints"]


def test_a_quiet_sync_costs_one_read_per_entity_and_no_write(world: World) -> None:
    first_sync(world)
    assert world.run("sync").code == 0
    world.advance()
    world.sandbox.reset_counters()
    assert world.run("sync").code == 0
    counters = _calls(world)
    reads = sum(v["calls"] for k, v in counters.items() if k.startswith("GET "))
    writes = sum(v["writes"] for v in counters.values())
    # accounts, tax rates, contacts, invoices, payments, credit notes, bills and credits (from
    # two endpoints: overpayments and prepayments); allocations are not read at all, since
    # nothing that an allocation changes (invoices, credit notes, credits) changed
    synced_endpoints = 9
    assert not [k for k in counters if "Allocations" in k or "AppliedAmount" in k], counters
    assert reads <= synced_endpoints, counters
    assert writes == 0, counters

    row = world.ops.one("SELECT * FROM invoices WHERE number = 'INV-0011'")
    world.ops.execute("UPDATE invoices SET reference = 'Changed in ops', updated_at = "
                      "'2026-11-24T10:10:00Z' WHERE id = ?", [row["id"]])
    world.sandbox.reset_counters()
    assert world.run("sync").code == 0
    counters = _calls(world)
    assert sum(v["writes"] for v in counters.values()) == 1, counters
    assert counters["GET /Invoices"]["calls"] <= 2, counters  # invoices and bills, one page each
    assert world.xero.invoice("INV-0011")["Reference"] == "Changed in ops"

    # the next cycle lists that write back once; found as written, it is no news, so the
    # allocations are still not read
    world.advance()
    world.sandbox.reset_counters()
    assert world.run("sync").code == 0
    counters = _calls(world)
    assert not [k for k in counters if "Allocations" in k or "AppliedAmount" in k], counters
    assert sum(v["calls"] for k, v in counters.items() if k.startswith("GET ")) \
        <= synced_endpoints, counters
    assert sum(v["writes"] for v in counters.values()) == 0, counters


BAD_ROWS = """
INSERT INTO contacts (id, name, status, updated_at)
    VALUES ('C-B', 'Bad Input Pty', 'active', '2026-11-24T10:00:00Z');
INSERT INTO invoices (id, number, contact_id, date, status, updated_at) VALUES
    ('B-OK', 'OK-1', 'C-B', '2026-11-20', 'approved', '2026-11-24T10:00:00Z'),
    ('B-ACC', 'BAD-ACCOUNT', 'C-B', '2026-11-20', 'approved', '2026-11-24T10:00:00Z'),
    ('B-CON', 'BAD-CONTACT', 'C-NOBODY', '2026-11-20', 'approved', '2026-11-24T10:00:00Z'),
    ('B-AMT', 'BAD-AMOUNT', 'C-B', '2026-11-20', 'approved', '2026-11-24T10:00:00Z'),
    ('B-DAT', 'BAD-DATE', 'C-B', '20/11/2026', 'approved', '2026-11-24T10:00:00Z'),
    ('B-TAX', 'BAD-TAX', 'C-B', '2026-11-20', 'approved', '2026-11-24T10:00:00Z');
INSERT INTO invoice_lines (id, invoice_id, position, description, quantity, unit_price,
                           account_code, tax_type) VALUES
    ('L-OK', 'B-OK', 1, 'Fine', '1', '10.00', '200', 'OUTPUT'),
    ('L-ACC', 'B-ACC', 1, 'Unknown account', '1', '10.00', '999', 'OUTPUT'),
    ('L-CON', 'B-CON', 1, 'No contact', '1', '10.00', '200', 'OUTPUT'),
    ('L-AMT', 'B-AMT', 1, 'Bad amount', '1', '12.3.4', '200', 'OUTPUT'),
    ('L-DAT', 'B-DAT', 1, 'Bad date', '1', '10.00', '200', 'OUTPUT'),
    ('L-TAX', 'B-TAX', 1, 'Tax type Xero refuses', '1', '10.00', '200', 'NOSUCHTAX');
"""


def test_bad_input_is_named_skipped_and_syncs_once_fixed(world: World) -> None:
    first_sync(world)
    world.ops.script(BAD_ROWS)
    result = world.run("sync", "--json")
    assert result.code == 4, result.out + result.err
    report = json.loads(result.out)
    rejected = {r["ops_id"] or r["label"]: r["reason"] for r in report["rejected"]}
    for ops_id, words in (("B-ACC", "999"), ("B-CON", "C-NOBODY"), ("B-AMT", "12.3.4"),
                          ("B-DAT", "20/11/2026"), ("B-TAX", "NOSUCHTAX")):
        assert ops_id in rejected, (ops_id, rejected)
        assert words in rejected[ops_id], (ops_id, rejected[ops_id])
    assert len(world.xero.invoices(InvoiceNumbers="OK-1")) == 1          # the rest synced
    for number in ("BAD-ACCOUNT", "BAD-CONTACT", "BAD-AMOUNT", "BAD-DATE", "BAD-TAX"):
        assert world.xero.invoices(InvoiceNumbers=number) == []
    # nothing was lost: the bad rows are still there, untouched
    assert len(world.ops.rows("SELECT * FROM invoices WHERE id LIKE 'B-%'")) == 6

    world.ops.script("""
        UPDATE invoice_lines SET account_code = '200' WHERE id = 'L-ACC';
        UPDATE invoices SET contact_id = 'C-B' WHERE id = 'B-CON';
        UPDATE invoice_lines SET unit_price = '12.34' WHERE id = 'L-AMT';
        UPDATE invoices SET date = '2026-11-20' WHERE id = 'B-DAT';
        UPDATE invoice_lines SET tax_type = 'OUTPUT' WHERE id = 'L-TAX';
        UPDATE invoices SET updated_at = '2026-11-24T10:20:00Z' WHERE id LIKE 'B-%';
    """)
    world.advance()
    fixed = world.run("sync")
    assert fixed.code == 0, fixed.out
    for number in ("BAD-ACCOUNT", "BAD-CONTACT", "BAD-AMOUNT", "BAD-DATE", "BAD-TAX"):
        assert len(world.xero.invoices(InvoiceNumbers=number)) == 1, number


def test_a_mass_delete_stops_with_exit_5_until_allowed(world: World) -> None:
    world.configure('[sync]\ndefault_policy = "latest"\nmass_delete_threshold = 2\n')
    first_sync(world)
    drafts = world.ops.rows("SELECT * FROM invoices WHERE status = 'draft' ORDER BY number")
    assert len(drafts) >= 3
    for row in drafts[:3]:
        world.ops.execute("UPDATE invoices SET status = 'deleted', updated_at = "
                          "'2026-11-24T10:30:00Z' WHERE id = ?", [row["id"]])
    stopped = world.run("sync")
    assert stopped.code == 5, stopped.out + stopped.err
    assert "--allow-mass-delete" in stopped.err
    assert all(world.xero.invoice(r["number"])["Status"] in ("DRAFT", "SUBMITTED")
               for r in drafts[:3])
    allowed = world.run("sync", "--allow-mass-delete")
    assert allowed.code == 0, allowed.out
    assert all(world.xero.invoice(r["number"])["Status"] == "DELETED" for r in drafts[:3])


def test_the_daily_limit_stops_with_exit_7_and_the_next_run_resumes(world: World) -> None:
    first_sync(world)
    invoice = world.xero.invoice("INV-0011")
    world.xero.pay(invoice, invoice["AmountDue"])
    world.sandbox.set_faults(rate_limit_next={"problem": "day", "retry_after": 3600},
                             match="GET /Invoices")
    stopped = world.run("pull")
    assert stopped.code == 7, stopped.out + stopped.err
    assert "resume" in stopped.err.lower() and "xsync connect" not in stopped.err
    assert world.ops.one("SELECT * FROM invoices WHERE number = 'INV-0011'")["status"] == \
        "approved"
    world.sandbox.clear_faults()
    resumed = world.run("pull")
    assert resumed.code == 0, resumed.out
    assert world.ops.one("SELECT * FROM invoices WHERE number = 'INV-0011'")["status"] == "paid"
