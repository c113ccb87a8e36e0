"""`xsync watch` as a user runs it, with the money that is not an invoice's: a deposit the
accountant takes in Xero (`xsync sandbox xero prepay`) and applies to an invoice (`allocate`)
reaches ops.db's credits and allocations, and the invoice's balance, by webhook alone: the poll
is set a day away and never runs."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from e2e_helpers import World
from watch_helpers import KEY, Watch, event_states, wait_until


@pytest.fixture
def watched(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("XSYNC_WEBHOOK_KEY", KEY)
    world.sandbox.set_limits(minute_limit=100_000, reset=True)
    result = world.run("sync")
    assert result.code == 0, result.out + result.err
    yield world


def accountant(world: World, *args: str) -> str:
    result = world.run("sandbox", "xero", *args, "--url", world.url)
    assert result.code == 0, result.out + result.err
    return result.out.strip()


def one_or_none(world: World, sql: str, params: Any = ()) -> dict[str, Any] | None:
    rows = world.ops.rows(sql, params)
    return rows[0] if len(rows) == 1 else None


def test_a_deposit_taken_and_applied_in_xero_reaches_ops_by_webhook_alone(
        watched: World) -> None:
    world = watched
    invoice = world.xero.invoice("INV-0011")
    owed = Decimal(str(invoice["AmountDue"]))
    watch = Watch(world, "--poll", "86400")
    try:
        assert watch.register()["status"] == "OK"
        wait_until(lambda: (watch.healthy() or {}).get("last_step"), "the sync at start")

        said = accountant(world, "prepay", invoice["Contact"]["Name"], "100", "--date",
                          "2026-11-20", "--reference", "Deposit")
        credit_id = said.split(" as prepayment ")[1].split(" ")[0]
        credit = wait_until(lambda: one_or_none(
            world, "SELECT * FROM credits WHERE reference = 'Deposit' AND remaining = '100.00'"),
            "the prepayment in ops")
        assert (credit["kind"], credit["total"], credit["status"]) == (
            "prepayment", "100.00", "approved")

        accountant(world, "allocate", credit_id, "INV-0011", "60", "--date", "2026-11-21")
        applied = wait_until(lambda: one_or_none(
            world, "SELECT * FROM allocations WHERE credit_id = ?", [credit["id"]]),
            "the allocation in ops")
        row = world.ops.one("SELECT * FROM invoices WHERE number = 'INV-0011'")
        assert (applied["kind"], applied["invoice_id"], applied["amount"], applied["status"]) \
            == ("prepayment", row["id"], "60.00", "applied")
        wait_until(lambda: world.ops.one(
            "SELECT amount_due FROM invoices WHERE number = 'INV-0011'")["amount_due"]
            == f"{owed - 60:.2f}", "the invoice's balance in ops")
        wait_until(lambda: world.ops.one("SELECT remaining FROM credits WHERE id = ?",
                                         [credit["id"]])["remaining"] == "40.00",
                   "the credit left in ops")
        wait_until(lambda: event_states(world) == {"done": 3}, "the three events done")
        code, out, err = watch.terminate()
    finally:
        watch.close()
    assert code == 0, out + err
    # the sync of every entity at start, then only webhook steps: no poll ran
    assert [line.split(" ", 1)[1].split(":")[0] for line in out.splitlines()
            if ": run " in line] == ["poll", "events", "events"], out
    assert "webhook event(s): syncing" in out and "PREPAYMENT" not in err
