"""Torture helpers: runs as real processes, fresh work on both sides, and the books' invariants.

The invariants are what a bookkeeper would check after any mishap: nothing twice in Xero or in
ops, nothing the other side holds missing, both sides agreeing, and nothing left to do.
"""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from e2e_helpers import Accountant, World

LOCK_MESSAGE = r"another run holds the workspace since \d\d:\d\d( UTC)?, pid \d+"


@dataclass
class Finished:
    code: int
    out: str
    err: str
    started: float
    ended: float


def finish(*procs: tuple[subprocess.Popen[str], float], timeout: float = 120) -> list[Finished]:
    """Wait for each (process, start time); each ``ended`` is when that process exited."""
    done: dict[int, Finished] = {}

    def collect(n: int, proc: subprocess.Popen[str], started: float) -> None:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        done[n] = Finished(proc.returncode, out, err, started, time.monotonic())

    threads = [threading.Thread(target=collect, args=(n, proc, started))
               for n, (proc, started) in enumerate(procs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [done[n] for n in range(len(procs))]


def log_in_again(world: World) -> None:
    """A new accountant session: the sandbox's clock moves on and its tokens last 30 minutes."""
    world.xero.close()
    world.xero = Accountant(world.sandbox, world.url)


class Work:
    """Fresh changes on both sides, each batch under its own tag so rounds never collide."""

    def __init__(self, world: World, seed: int) -> None:
        self.world = world
        self.rng = random.Random(seed)
        self._contact_made = False

    def ops_invoices(self, tag: str, count: int) -> list[str]:
        """``count`` new approved invoices in ops (and their contact, once); their numbers."""
        ops = self.world.ops
        if not self._contact_made:
            ops.execute("INSERT INTO contacts (id, name, status, updated_at) VALUES "
                        "('C-T', 'Torture Customer', 'active', '2026-11-24T10:00:00Z')")
            self._contact_made = True
        numbers = [f"{tag}-{n:03d}" for n in range(count)]
        for number in numbers:
            lines = self.rng.randint(1, 3)
            ops.execute("INSERT INTO invoices (id, number, contact_id, date, due_date, status, "
                        "updated_at) VALUES (?, ?, 'C-T', '2026-11-20', '2026-12-20', "
                        "'approved', '2026-11-24T10:00:00Z')", [number, number])
            for pos in range(1, lines + 1):
                price = f"{self.rng.randint(100, 99999) / 100:.2f}"
                ops.execute(
                    "INSERT INTO invoice_lines (id, invoice_id, position, description, quantity, "
                    "unit_price, account_code, tax_type) VALUES (?, ?, ?, ?, ?, ?, '200', "
                    "'OUTPUT')",
                    [f"{number}-{pos}", number, pos, f"Item {pos}", str(self.rng.randint(1, 5)),
                     price])
        return numbers

    def xero_payments(self, count: int, day: str = "2026-11-24") -> None:
        """``count`` small payments in Xero on authorised sales invoices with money due."""
        due = [inv for inv in self.world.xero.invoices(where='Type=="ACCREC"')
               if inv["Status"] == "AUTHORISED" and Decimal(str(inv["AmountDue"])) >= 2]
        for invoice in self.rng.sample(due, min(count, len(due))):
            self.world.xero.pay(invoice, "1.00", day=day)

    def xero_edit(self, tag: str) -> None:
        """A contact's email changed in Xero by the accountant."""
        contact = self.rng.choice([c for c in self.world.xero.contacts()
                                   if c["ContactStatus"] == "ACTIVE"])
        slug = "".join(ch for ch in tag.lower() if ch.isalnum())
        self.world.xero.update_contact(contact, EmailAddress=f"accounts.{slug}@example.com")


def _dupes(values: list[Any]) -> dict[Any, int]:
    return {v: n for v, n in Counter(values).items() if n > 1}


def xero_payments(world: World) -> list[dict[str, Any]]:
    return [p for p in world.xero.call("GET", "/Payments")["Payments"]
            if p["Invoice"]["Type"] == "ACCREC" and p["Status"] == "AUTHORISED"]


def ran_in_turn(world: World) -> bool:
    """Whether the last run began its work (took the run lock) no earlier than the run before
    it had ended, as the state database records both. The processes' own exit times do not
    tell: the first may still be closing its files when the second, quick, is done."""
    conn = sqlite3.connect(f"file:{world.root / 'state.db'}?mode=ro", uri=True, timeout=5)
    try:
        rows = conn.execute("SELECT started_at, ended_at FROM runs ORDER BY id DESC LIMIT 2"
                            ).fetchall()
    finally:
        conn.close()
    (later_started, _), (_, earlier_ended) = rows
    return bool(earlier_ended) and (datetime.fromisoformat(later_started)
                                    >= datetime.fromisoformat(earlier_ended))


def check_books(world: World) -> None:
    """Nothing twice, nothing lost, both sides agreeing, and `diff` with nothing to do."""
    sales = world.xero.invoices(where='Type=="ACCREC"')
    assert _dupes([inv["InvoiceNumber"] for inv in sales]) == {}, "an invoice twice in Xero"
    assert _dupes([c["Name"] for c in world.xero.contacts()]) == {}, "a contact twice in Xero"
    ops_invoices = world.ops.rows("SELECT * FROM invoices")
    assert _dupes([r["number"] for r in ops_invoices]) == {}, "an invoice twice in ops"
    assert _dupes([r["name"] for r in world.ops.rows("SELECT * FROM contacts")]) == {}, \
        "a contact twice in ops"

    by_id = {r["id"]: r for r in ops_invoices}
    ops_payments = Counter(
        (by_id[p["invoice_id"]]["number"] if p["invoice_id"] in by_id else p["invoice_id"],
         p["date"], Decimal(p["amount"]))
        for p in world.ops.rows("SELECT * FROM payments WHERE status != 'deleted'"))
    xero_side = Counter(
        (p["Invoice"]["InvoiceNumber"], _day(p["Date"]), Decimal(str(p["Amount"])))
        for p in xero_payments(world))
    assert ops_payments - xero_side == Counter(), "payments in ops that Xero does not hold"
    assert xero_side - ops_payments == Counter(), "Xero payments missing from ops"

    in_xero = {inv["InvoiceNumber"]: inv for inv in sales}
    for row in ops_invoices:
        if row["status"] not in ("approved", "paid"):
            continue
        assert row["number"] in in_xero, f"ops invoice {row['number']} never reached Xero"
        xero = in_xero[row["number"]]
        for ops_field, xero_field in (("total", "Total"), ("amount_due", "AmountDue"),
                                      ("amount_paid", "AmountPaid")):
            assert Decimal(row[ops_field]) == Decimal(str(xero[xero_field])), \
                (row["number"], ops_field, row[ops_field], xero[xero_field])

    plan = world.run("diff", "--json")
    report = json.loads(plan.out)
    assert report["actions"] == [] and report["conflicts"] == [], report
    assert plan.code == 0, plan.out + plan.err


def _day(value: str) -> str:
    """A Xero `/Date(ms+hhmm)/` as the ops side's `YYYY-MM-DD`."""
    from datetime import UTC, datetime

    ms = int(value[len("/Date("):].split("+")[0].split("-")[0].rstrip(")/"))
    return datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()
