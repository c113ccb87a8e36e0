"""`--quiet` is for cron: silence when all is well, and only the problems when it is not."""

from __future__ import annotations

from e2e_helpers import World


def test_quiet_prints_nothing_when_all_went_well(world: World) -> None:
    assert world.run("sync").code in (0, 3)
    world.run("resolve", "--all", "--take", "xero")
    assert world.run("sync").code == 0
    quiet = world.run("sync", "--quiet")
    assert quiet.code == 0
    assert quiet.out.strip() == ""


def test_quiet_prints_the_problem_and_not_the_totals(world: World) -> None:
    world.run("sync")
    world.run("resolve", "--all", "--take", "xero")
    world.run("sync")
    invoice = world.ops.rows("SELECT * FROM invoices WHERE status = 'draft' ORDER BY number")[0]
    line = world.ops.rows("SELECT * FROM invoice_lines WHERE invoice_id = ? ORDER BY position",
                          [invoice["id"]])[0]
    world.ops.execute("UPDATE invoice_lines SET unit_price = '1,2,3.4' WHERE id = ?",
                      [line["id"]])
    world.ops.execute("UPDATE invoices SET updated_at = '2026-11-25T09:00:00Z' WHERE id = ?",
                      [invoice["id"]])
    loud = world.run("sync", "--dry-run")
    quiet = world.run("sync", "--quiet")
    assert quiet.code == loud.code == 4
    assert "1,2,3.4" in quiet.out
    # the totals table and the dry run's closing line are for people, not for cron
    assert "applied" not in quiet.out and "nothing to change" not in quiet.out
    assert "dry run" in loud.out
