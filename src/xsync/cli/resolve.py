"""`xsync resolve`: list open conflicts and settle them, one field or all at once.

A settled conflict records the chosen value; the next sync writes it to both sides (or at once
with `--apply`). Nothing is written to either side by this command without `--apply`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from rich.text import Text

from xsync.cli.console import console
from xsync.cli.render import conflict_table, print_json, show
from xsync.cli.runner import WORKSPACE_HELP, run_sync
from xsync.errors import UsageError

TAKES = ("ops", "xero")


def resolve(
    conflict_id: int | None = typer.Argument(None, help="The conflict to settle."),
    take: str | None = typer.Option(None, "--take", help="Keep this side's value: ops or xero."),
    field: list[str] | None = typer.Option(
        None, "--field",
        help="NAME=ops|xero|VALUE for a field of the same record (repeatable).",
    ),
    all_: bool = typer.Option(False, "--all", help="Settle every open conflict (with --take)."),
    apply: bool = typer.Option(False, "--apply", help="Run a sync right away to write them."),
    as_json: bool = typer.Option(False, "--json", help="List open conflicts as JSON."),
    workspace: Path | None = typer.Option(None, "--workspace", help=WORKSPACE_HELP),
) -> None:
    """List open conflicts, or settle them: `ID --take ops|xero`, `ID --field NAME=VALUE`,
    `--all --take xero`. Interactive when run in a terminal with no arguments."""
    from xsync.cli.runtime import load_runtime
    from xsync.sync.books import Books

    runtime = load_runtime(workspace)
    with Books.opened(runtime.workspace.state_path) as books:
        open_conflicts = books.conflicts(open_only=True)
        if take is not None and take not in TAKES:
            raise UsageError(f"--take must be ops or xero, not {take!r}")
        if conflict_id is None and not all_:
            if as_json:
                print_json(console, [c.to_json() for c in open_conflicts])
                return
            if sys.stdin.isatty() and console.is_terminal and open_conflicts:
                settled = _interactive(books, open_conflicts)
            else:
                _list(open_conflicts)
                return
        elif all_:
            if take is None:
                raise UsageError("--all needs --take ops or --take xero")
            settled = [_settle(books, c, take, None) for c in open_conflicts]
        else:
            settled = _settle_one(books, open_conflicts, conflict_id, take, field or [])
    for line in settled:
        console.print(line, markup=False)
    if not settled:
        console.print("Nothing settled.")
        return
    if apply:
        run_sync("sync", workspace=workspace, entities=None, dry_run=False, quiet=False,
                 as_json=False, allow_mass_delete=False, allow_empty_side=False)
    console.print("The chosen values are written on the next `xsync sync` (or use --apply).")


def _list(conflicts: list[Any]) -> None:
    if not conflicts:
        console.print("[green]No open conflicts.[/]")
        return
    conflict_table(console, conflicts, title=f"open conflicts ({len(conflicts)})")
    console.print("Settle one with `xsync resolve ID --take ops|xero` "
                  "or `xsync resolve ID --field NAME=VALUE`.")


def _settle(books: Any, conflict: Any, take: str | None, value: str | None) -> str:
    settled = books.resolve(conflict.id, take, value)
    record = conflict.label or conflict.ops_id or conflict.xero_id
    how = {"ops": "the ops value", "xero": "Xero's value"}.get(take or "", "a value of your own")
    if conflict.field == "_match":
        return f"conflict {conflict.id}: {conflict.entity} {record}: match settled ({how})"
    return f"conflict {conflict.id}: {conflict.entity} {record} {conflict.field} = " \
           f"{show(settled.resolution)} ({how})"


def _settle_one(books: Any, open_conflicts: list[Any], conflict_id: int | None,
                take: str | None, fields: list[str]) -> list[str]:
    chosen = next((c for c in open_conflicts if c.id == conflict_id), None)
    if chosen is None:
        known = ", ".join(str(c.id) for c in open_conflicts) or "none"
        raise UsageError(f"conflict {conflict_id} is not open (open: {known}); "
                         "see `xsync resolve`")
    if take is None and not fields:
        raise UsageError("say which value to keep: --take ops|xero or --field NAME=VALUE")
    settled = []
    if take is not None:
        settled.append(_settle(books, chosen, take, None))
    same_record = [c for c in open_conflicts if c.entity == chosen.entity
                   and c.ops_id == chosen.ops_id and c.xero_id == chosen.xero_id]
    for spec in fields:
        name, sep, choice = spec.partition("=")
        if not sep:
            raise UsageError(f"--field takes NAME=ops|xero|VALUE, not {spec!r}")
        matches = [c for c in same_record if c.field == name or c.field.endswith("." + name)]
        if not matches:
            names = ", ".join(c.field for c in same_record)
            raise UsageError(f"no open conflict on field {name!r} of this record (open: {names})")
        for conflict in matches:
            if choice in TAKES:
                settled.append(_settle(books, conflict, choice, None))
            else:
                settled.append(_settle(books, conflict, None, choice))
    return settled


ANSWERS = {"o": "ops", "ops": "ops", "x": "xero", "xero": "xero", "v": "value",
           "value": "value", "s": "skip", "skip": "skip"}


def _ask() -> str:
    """ops, xero, value or skip: an answer it does not know is asked again, never taken as one."""
    while True:
        answer = typer.prompt("Keep [o]ps, [x]ero, [v]alue of your own, or [s]kip",
                              default="s").strip().lower()
        if answer in ANSWERS:
            return ANSWERS[answer]
        console.print(Text(f"{answer!r} is not an answer here: type o, x, v or s."))


def _interactive(books: Any, conflicts: list[Any]) -> list[str]:
    settled = []
    for conflict in conflicts:
        conflict_table(console, [conflict], title=f"conflict {conflict.id}")
        answer = _ask()
        if answer in ("ops", "xero"):
            settled.append(_settle(books, conflict, answer, None))
        elif answer == "value":
            value = typer.prompt("Value")
            settled.append(_settle(books, conflict, None, value))
    return settled


def register(app: typer.Typer) -> None:
    app.command("resolve")(resolve)
