"""Rich rendering of plans, run results, conflicts and the audit log.

Everything printed here is built from the same objects that `--json` serialises, so the table a
person reads and the JSON a script reads cannot disagree.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

ARROWS = {"ops->xero": "ops → Xero", "xero->ops": "Xero → ops", "": "", "both": "both"}


def show(value: str | None) -> str:
    return "∅" if value is None else value


def plain(value: object) -> Text:
    """A cell built from data, printed as written: `[mappings.categories]` or `[bold]` in a
    reason or a value is text, not markup."""
    return Text("" if value is None else str(value))


def add_row(table: Table, *cells: object) -> None:
    table.add_row(*(plain(cell) for cell in cells))


def field_label(field: str) -> str:
    """`lines.<line id>.tax_type` as a person reads it: `line …a1b2c3 tax_type`."""
    if field.startswith("lines.") and field.count(".") >= 2:
        line_id, name = field[len("lines."):].rsplit(".", 1)
        return f"line …{line_id[-8:]} {name}"
    if field == "_match":
        return "(which record?)"
    return field


def print_json(console: Console, data: Any) -> None:
    """``--json`` output: indented JSON, written as it is (no highlighting, no wrapping), so
    that a plan of many thousand records prints in the time it takes to encode it.

    An object's values that are iterators (a plan's steps, a run's outcomes: see
    ``json_parts``) are written one element at a time, so the text of a large plan is never
    held whole; the bytes are those of ``json.dumps(data, indent=2)`` with the lists read."""
    write = console.file.write
    if isinstance(data, dict):
        _write_object(write, data)
    else:
        write(_dumped(data))
    write("\n")
    console.file.flush()


def _dumped(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _write_object(write: Callable[[str], Any], data: dict[str, Any]) -> None:
    if not data:
        write("{}")
        return
    lead = "{\n  "
    for key, value in data.items():
        write(f"{lead}{_dumped(str(key))}: ")
        lead = ",\n  "
        if isinstance(value, Iterator):
            _write_list(write, value)
        else:
            write(_dumped(value).replace("\n", "\n  "))
    write("\n}")


def _write_list(write: Callable[[str], Any], items: Iterator[Any]) -> None:
    lead = "[\n    "
    for item in items:
        write(lead + _dumped(item).replace("\n", "\n    "))
        lead = ",\n    "
    write("[]" if lead.startswith("[") else "\n  ]")


# actions per table: a plan of many records prints as tables of this many, each printed as it
# is read (rich lays out a whole table before printing it, and a table's layout time grows
# faster than its rows)
TABLE_ACTIONS = 500


def plan_tables(console: Console, plan: Any, *, problems_only: bool = False) -> None:
    """One table per entity: direction, record, action, and each field's old → new and rule
    (a long one in parts of ``TABLE_ACTIONS``). ``problems_only`` (for `--quiet`): only
    conflicts, rejections and unread entities. ``plan``: a plan, or a preview (whose actions
    come entity by entity, read back one at a time)."""
    written = {entity: sum(n for kind, n in per.items() if kind != "conflict")
               for entity, per in plan.counts().items()}
    if not any(written.values()) and not plan.conflicts and not plan.rejected \
            and not problems_only and not plan.read_errors:
        console.print("[green]In sync:[/] nothing to do.")
    if not problems_only and any(written.values()):
        actions: Iterable[Any] = plan.actions
        if isinstance(actions, list):
            # a plan's steps come entity by entity, but for the few a later step adds
            order = {entity: index for index, entity in enumerate(written)}
            actions = sorted(actions, key=lambda a: order.get(a.entity, len(order)))
        shown = (a for a in actions if a.kind != "conflict")
        for entity, group in itertools.groupby(shown, key=lambda a: a.entity):
            rows = iter(group)
            part = list(itertools.islice(rows, TABLE_ACTIONS))
            title: str | None = f"{entity} ({written[entity]})"
            while part:
                table = Table(title=title, title_justify="left", expand=False)
                for column in ("direction", "record", "action", "field", "old → new", "rule"):
                    table.add_column(column, overflow="fold")
                for action in part:
                    _action_rows(table, action)
                console.print(table)
                title, part = None, list(itertools.islice(rows, TABLE_ACTIONS))
    conflict_table(console, plan.conflicts, title="conflicts (not written; `xsync resolve`)")
    rejected_table(console, plan.rejected)
    read_errors(console, plan.read_errors)
    if not problems_only:
        held_back(console, getattr(plan, "skipped", ()))


def held_back(console: Console, skipped: Iterable[Any]) -> None:
    """What the rules keep where it is (drafts, totals below `min_total`, records waiting for a
    conflict), one line per record: not written, and not errors."""
    rows = list(skipped)
    if not rows:
        return
    console.print(f"held back by the rules, not written ({len(rows)}):")
    for r in rows:
        record = r.label or r.ops_id or r.xero_id or "?"
        ids = ", ".join(f"{side} {value}" for side, value in (("ops", r.ops_id),
                                                                ("Xero", r.xero_id)) if value)
        line = f"  {r.entity} {record}" + (f" [{ids}]" if ids and ids != f"ops {record}" else "")
        console.print(Text(f"{line}: {r.reason}"))


def read_errors(console: Console, errors: Iterable[Any]) -> None:
    """One line per entity a side could not read: nothing of it was planned or written."""
    for e in errors:
        side = "Xero" if e.side == "xero" else e.side
        line = f"could not read {e.entity} from {side}: {e.reason}"
        if getattr(e, "cause", None):
            line += f" (waits for {e.cause})"
        if getattr(e, "exit_code", None) == 6:
            line += "; run `xsync connect` again"
        console.print(f"[red]{escape(line)}[/]")


def _action_rows(table: Table, action: Any) -> None:
    record = action.label or action.ops_id or action.xero_id or "?"
    direction = ARROWS.get(action.direction, action.direction)
    if action.kind == "create":
        # a new record: one row; `--json` lists every field
        filled = sum(1 for c in action.changes if c.new is not None)
        add_row(table, direction, record, "create", f"{filled} fields", "", "new record")
        return
    if not action.changes:
        add_row(table, direction, record, action.kind, "", "", action.reason)
        return
    for index, change in enumerate(action.changes):
        first = index == 0
        add_row(
            table,
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
        add_row(
            table, "" if c.id is None else c.id, c.entity, c.label or c.ops_id or c.xero_id or "",
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
        add_row(table, r.entity, r.label or "", r.ops_id or "", r.xero_id or "", r.reason)
    console.print(table)


def result_summary(console: Console, result: Any, *, problems_only: bool = False) -> None:
    """The totals of a run, then what was rejected and what waits for review.
    ``problems_only`` (for `--quiet`): only what was rejected, unread or waits for review."""
    if problems_only:
        pass  # the totals are for people; cron gets the problems below
    elif result.counts:
        table = Table(title=f"run {result.run_id} ({result.mode})", title_justify="left")
        table.add_column("entity")
        table.add_column("applied")
        for entity, counts in result.counts.items():
            parts = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()) if n)
            add_row(table, entity, parts or "-")
        console.print(table)
    else:
        console.print(f"run {result.run_id} ({result.mode}): nothing to change.")
    read_errors(console, getattr(result, "read_errors", ()))
    rejected_table(console, result.rejected)
    conflict_table(console, result.conflicts, title="conflicts waiting for `xsync resolve`")
