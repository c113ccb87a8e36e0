"""Applying a plan never changes it: what apply learns on the way (the totals and line amounts
Xero computes for what was sent) goes to the ops side and the base, and the plan still reads as
`xsync diff` showed it. Over the real SQLite ops store and the sandbox."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bookworld import Books

from xsync.state.ledger import Ledger


def _steps(plan: Any) -> str:
    return json.dumps([s.to_json() for s in plan.steps], sort_keys=True, default=str)


def test_xeros_computed_totals_reach_ops_and_the_base_but_not_the_plan(tmp_path: Path) -> None:
    books = Books(tmp_path, invoices=30)
    assert books.cycle("pull") == 0
    conn = books.ops.conn
    row = conn.execute("SELECT id, total FROM invoices WHERE status = 'approved' "
                       "ORDER BY number").fetchone()
    ops_id, total_before = str(row["id"]), str(row["total"])
    line = conn.execute("SELECT id, quantity, line_amount FROM invoice_lines "
                        "WHERE invoice_id = ? ORDER BY position", [ops_id]).fetchone()
    # the platform changes a quantity and leaves the amounts for Xero to work out
    conn.execute("UPDATE invoice_lines SET quantity = ? WHERE id = ?",
                 [str(int(float(line["quantity"])) + 3), line["id"]])
    conn.execute("UPDATE invoices SET updated_at = ? WHERE id = ?", [books.stamp(), ops_id])
    books.sandbox.advance_clock(120)

    with books.engine.locked():
        plan = books.engine.plan("sync")
        planned = _steps(plan)
        step = next(s for s in plan.steps if s.ops_id == ops_id)
        assert step.to_xero is not None and step.to_ops is None
        result = books.engine.apply(plan)
    assert result.exit_code == 0, result.to_json()
    assert _steps(plan) == planned

    # Xero's computed amounts reached the ops row and its line, and the base holds them
    after = conn.execute("SELECT total FROM invoices WHERE id = ?", [ops_id]).fetchone()
    amount = conn.execute("SELECT line_amount FROM invoice_lines WHERE id = ?",
                          [line["id"]]).fetchone()
    assert after["total"] != total_before and amount["line_amount"] != line["line_amount"]
    base = Ledger(books.engine.state).bases_of("invoices", [ops_id])[ops_id]
    assert base.snapshot["fields"]["total"] == after["total"]
    # and the next cycle has nothing to do
    books.sandbox.advance_clock(600)
    with books.engine.locked():
        again = books.engine.plan("sync")
    assert [a.to_json() for a in again.actions if a.kind != "conflict"] == []


def test_a_first_pull_applied_reads_as_planned(tmp_path: Path) -> None:
    # a create into ops shares its lines' values between its write and its base: applying it
    # must change neither
    books = Books(tmp_path, invoices=30)
    with books.engine.locked():
        plan = books.engine.plan("pull")
        planned = _steps(plan)
        assert any(s.to_ops is not None and s.to_ops.lines for s in plan.steps)
        assert books.engine.apply(plan).exit_code == 0
    assert _steps(plan) == planned
