"""`xsync sync`: Sync both directions in one plan: merge, apply, and flag what needs a person."""

from __future__ import annotations

from pathlib import Path

import typer

from xsync.cli.runner import ENTITY_HELP, WORKSPACE_HELP, run_sync


def sync(
    workspace: Path | None = typer.Option(None, "--workspace", help=WORKSPACE_HELP),
    entity: list[str] | None = typer.Option(None, "--entity", help=ENTITY_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the plan; write nothing."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only problems (for cron)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    allow_mass_delete: bool = typer.Option(
        False, "--allow-mass-delete", help="Apply a plan that deletes or voids many records."
    ),
    allow_empty_side: bool = typer.Option(
        False, "--allow-empty-side", help="Apply a plan although one side listed nothing."
    ),
) -> None:
    """Sync both directions in one plan: merge, apply, and flag what needs a person."""
    run_sync(
        "sync", workspace=workspace, entities=entity, dry_run=dry_run, quiet=quiet,
        as_json=as_json, allow_mass_delete=allow_mass_delete, allow_empty_side=allow_empty_side,
    )


def register(app: typer.Typer) -> None:
    app.command("sync")(sync)
