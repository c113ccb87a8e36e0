"""`xsync diff`: exactly the plan `xsync sync` would apply, without side effects."""

from __future__ import annotations

from pathlib import Path

import typer

from xsync.cli.console import console
from xsync.cli.render import plan_tables, print_json
from xsync.cli.runner import ENTITY_HELP, WORKSPACE_HELP, check_entities, failure_json
from xsync.cli.runtime import load_runtime, open_engine
from xsync.errors import XsyncError


def diff(
    workspace: Path | None = typer.Option(None, "--workspace", help=WORKSPACE_HELP),
    entity: list[str] | None = typer.Option(None, "--entity", help=ENTITY_HELP),
    mode: str = typer.Option("sync", "--mode", help="Plan as `sync` (default), `pull` or `push`."),
    as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON."),
) -> None:
    """Show what a sync would do, field by field, with the rule behind each change.

    Conflicts are shown with base, ops and Xero values side by side. Writes nothing. Exits with
    the code the real run would (3 conflicts, 4 rejected records, 5 a safety guard, 6 or 8 a
    side that could not be read).
    """
    if mode not in ("sync", "pull", "push"):
        raise typer.BadParameter("must be sync, pull or push", param_hint="--mode")
    wanted = check_entities(entity)
    runtime = load_runtime(workspace)
    try:
        with open_engine(runtime) as engine:
            plan = engine.preview(mode, wanted)
            code = plan.exit_code(engine.guard_code(plan))
    except XsyncError as exc:
        if as_json:
            print_json(console, failure_json(mode, wanted, exc))
        raise
    with plan:
        if as_json:
            print_json(console, {**plan.json_parts(), "exit_code": code})
        else:
            plan_tables(console, plan)
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("diff")(diff)
