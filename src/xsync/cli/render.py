"""Rich rendering of plans, run results, conflicts and the audit log.

Everything printed here is built from the same objects that `--json` serialises, so the table a
person reads and the JSON a script reads cannot disagree.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

ARROWS = {"ops->xero": "ops → Xero", "xero->ops": "Xero → ops", "": "", "both": "both"}


def show(value: str | None) -> str:
    return "∅" if value is None else value


def field_label(field: str) -> str:
    """`lines.<line id>.tax_type` as a person reads it: `line …a1b2c3 tax_type`."""
    if field.startswith("lines.") and field.count(".") >= 2:
        line_id, name = field[len("lines."):].rsplit(".", 1)
        return f"line …{line_id[-8:]} {name}"
    if field == "_match":
        return "(which record?)"
    return field


def print_json(console: Console, data: Any) -> None:
    console.print_json(json.dumps(data, default=str))


def plan_tables(console: Console, plan: Any) -> None:
    """One table per entity: direction, record, action, and each field's old → new and rule."""
    by_entity: dict[str, list[Any]] = {}
    for action in plan.actions:
        if action.kind != "conflict":
            by_entity.setdefault(action.entity, []).append(action)
    if not by_entity and not plan.conflicts and not plan.rejected:
        console.print("[green]In sync:[/] nothing to do.")
    for entity, actions in by_entity.items():
        table = Table(title=f"{entity} ({len(actions)})", title_justify="left", expand=False)
        for column in ("direction", "record", "action", "field", "old → new", "rule"):
            table.add_column(column, overflow="fold")
        for action in actions:
            _action_rows(table, action)
        console.print(table)
    conflict_table(console, plan.conflicts, title="conflicts (not written; `xsync resolve`)")
    rejected_table(console, plan.rejected)
    for entity, side, reason in getattr(plan, "read_errors", []):
        console.print(f"[red]could not read {entity} from {side}:[/] {reason}")


def _action_rows(table: Table, action: Any) -> None:
    record = action.label or action.ops_id or action.xero_id or "?"
    direction = ARROWS.get(action.direction, action.direction)
    if action.kind == "create":
        # a new record: one row; `--json` lists every field
        filled = sum(1 for c in action.changes if c.new is not None)
        table.add_row(direction, record, "create", f"{filled} fields", "", "new record")
        return
    if not action.changes:
        table.add_row(direction, record, action.kind, "", "", action.reason)
        return
    for index, change in enumerate(action.changes):
        first = index == 0
        table.add_row(
            direction if first else "",
            record if first else "",
            action.kind if first else "",
            field_label(change.field),
            f"{show(change.old)} → {show(change.new)}",
            change.rule,
        )


def conflict_table(console: Console, conflicts: Sequence[Any], *, title: str) -> None:
    if not conflicts:
        return
    table = Table(title=title, title_justify="left")
    for column in ("id", "entity", "record", "field", "base", "ops", "xero", "why"):
        table.add_column(column, overflow="fold")
    for c in conflicts:
        table.add_row(
            "" if c.id is None else str(c.id), c.entity, c.label or c.ops_id or c.xero_id or "",
            field_label(c.field), show(c.base), show(c.ops), show(c.xero), c.reason,
        )
    console.print(table)


def rejected_table(console: Console, rejected: Iterable[Any]) -> None:
    rows = list(rejected)
    if not rows:
        return
    table = Table(title="rejected (fix and run again)", title_justify="left")
    for column in ("entity", "record", "ops id", "xero id", "reason"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(r.entity, r.label or "", r.ops_id or "", r.xero_id or "", r.reason)
    console.print(table)


def result_summary(console: Console, result: Any) -> None:
    """The totals of a run, then what was rejected and what waits for review."""
    if result.counts:
        table = Table(title=f"run {result.run_id} ({result.mode})", title_justify="left")
        table.add_column("entity")
        table.add_column("applied")
        for entity, counts in result.counts.items():
            parts = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()) if n)
            table.add_row(entity, parts or "-")
        console.print(table)
    else:
        console.print(f"run {result.run_id} ({result.mode}): nothing to change.")
    rejected_table(console, result.rejected)
    conflict_table(console, result.conflicts, title="conflicts waiting for `xsync resolve`")
