"""The shared body of `pull`, `push` and `sync`: plan, guard, apply, report, exit code.

One code path for all three (and for `diff`, which stops after planning), so a dry run shows
exactly what a real run would do.
"""

from __future__ import annotations

from pathlib import Path

import typer

from xsync.cli.console import console
from xsync.cli.progress import progress_sides
from xsync.cli.render import plan_tables, print_json, result_summary
from xsync.cli.runtime import load_runtime, open_engine
from xsync.model.entities import ENTITY_ORDER

WORKSPACE_HELP = "Workspace folder (default: $XSYNC_WORKSPACE, then the current directory)."
ENTITY_HELP = f"Only these entities (repeatable): {', '.join(ENTITY_ORDER)}."


def check_entities(entities: list[str] | None) -> list[str] | None:
    if not entities:
        return None
    unknown = [e for e in entities if e not in ENTITY_ORDER]
    if unknown:
        raise typer.BadParameter(
            f"unknown entity {', '.join(unknown)}; known: {', '.join(ENTITY_ORDER)}",
            param_hint="--entity",
        )
    return entities


def run_sync(
    mode: str,
    *,
    workspace: Path | None,
    entities: list[str] | None,
    dry_run: bool,
    quiet: bool,
    as_json: bool,
    allow_mass_delete: bool,
    allow_empty_side: bool,
) -> None:
    """Plan and (unless ``dry_run``) apply; exits with the documented code."""
    wanted = check_entities(entities)
    runtime = load_runtime(workspace)
    with open_engine(runtime) as engine, progress_sides(engine, enabled=not (quiet or as_json)):
        plan = engine.plan(mode, wanted)
        if dry_run:
            if as_json:
                print_json(console, plan.to_json())
            elif not quiet:
                plan_tables(console, plan)
                console.print("[dim]dry run: nothing was written.[/]")
            code = 4 if plan.rejected else (3 if plan.conflicts else 0)
            raise typer.Exit(code)
        result = engine.apply(
            plan, allow_mass_delete=allow_mass_delete, allow_empty_side=allow_empty_side
        )
    if as_json:
        print_json(console, result.to_json())
    elif quiet:
        if result.exit_code:
            result_summary(console, result)
    else:
        result_summary(console, result)
    raise typer.Exit(result.exit_code)
