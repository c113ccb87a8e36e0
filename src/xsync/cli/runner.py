"""The shared body of `pull`, `push` and `sync`: plan, guard, apply, report, exit code.

One code path for all three (and for `diff`, which stops after planning), so a dry run shows
exactly what a real run would do.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import typer

from xsync.cli.console import console
from xsync.cli.progress import progress_sides
from xsync.cli.render import plan_tables, print_json, result_summary
from xsync.cli.runtime import Runtime, load_runtime, open_engine, record_failure
from xsync.errors import RunLocked, StateCorrupt, XsyncError
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


def sync_command(mode: str, doc: str) -> Callable[..., None]:
    """The Typer command for `pull`, `push` or `sync`: same flags, one code path."""

    def command(
        workspace: Path | None = typer.Option(None, "--workspace", help=WORKSPACE_HELP),
        entity: list[str] | None = typer.Option(None, "--entity", help=ENTITY_HELP),
        dry_run: bool = typer.Option(False, "--dry-run", help="Show the plan; write nothing."),
        quiet: bool = typer.Option(False, "--quiet", "-q",
                                   help="Print only problems (for cron)."),
        as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
        allow_mass_delete: bool = typer.Option(
            False, "--allow-mass-delete", help="Apply a plan that deletes or voids many records."
        ),
        allow_empty_side: bool = typer.Option(
            False, "--allow-empty-side", help="Apply a plan although one side listed nothing."
        ),
        wait: float = typer.Option(
            0.0, "--wait", min=0.0, metavar="SECONDS",
            help="If another run holds the workspace, wait up to this long for it (else exit 8).",
        ),
    ) -> None:
        run_sync(
            mode, workspace=workspace, entities=entity, dry_run=dry_run, quiet=quiet,
            as_json=as_json, allow_mass_delete=allow_mass_delete,
            allow_empty_side=allow_empty_side, wait=wait,
        )

    command.__doc__ = doc
    command.__name__ = mode
    return command


# A run allocates many small, long-lived objects per record (records, snapshots, plan steps);
# with the default thresholds the collector rescans them over and over (a first pull of 30,000
# invoices: 20 s with them, 14 s without). Collections become rarer for the length of a run;
# nothing is left uncollected.
GC_THRESHOLDS = (50_000, 20, 20)


@contextlib.contextmanager
def lenient_gc() -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)


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
    wait: float = 0.0,
) -> None:
    """Plan and (unless ``dry_run``) apply; exits with the documented code.

    A real run holds the workspace's run lock from its first read to its last write; a dry run
    takes no lock (it writes nothing) and exits with the code the real run would, guards
    included."""
    wanted = check_entities(entities)
    runtime = load_runtime(workspace)
    try:
        _run(mode, runtime, wanted, dry_run=dry_run, quiet=quiet, as_json=as_json, wait=wait,
             flags={"allow_mass_delete": allow_mass_delete,
                    "allow_empty_side": allow_empty_side})
    except XsyncError as exc:
        if not dry_run and not isinstance(exc, RunLocked | StateCorrupt) \
                and "run_id" not in exc.data:
            record_failure(runtime, mode, wanted, exc)
        if as_json:
            print_json(console, failure_json(mode, wanted, exc))
        raise


def _run(mode: str, runtime: Runtime, wanted: list[str] | None, *, dry_run: bool, quiet: bool,
         as_json: bool, wait: float, flags: dict[str, bool]) -> None:
    with lenient_gc(), open_engine(runtime) as engine, \
            progress_sides(engine, enabled=not (quiet or as_json)):
        if dry_run:
            with engine.preview(mode, wanted) as plan:
                code = plan.exit_code(engine.guard_code(plan, **flags))
                if as_json:
                    print_json(console, {**plan.json_parts(), "exit_code": code})
                elif not quiet or code:
                    plan_tables(console, plan, problems_only=quiet)
                    if not quiet:
                        console.print("[dim]dry run: nothing was written.[/]")
            raise typer.Exit(code)
        with engine.locked(wait=wait):
            result = engine.apply(engine.plan(mode, wanted), **flags)
    if as_json:
        print_json(console, result.json_parts())
    elif not quiet or result.exit_code:
        result_summary(console, result, problems_only=quiet)
    raise typer.Exit(result.exit_code)


def failure_json(mode: str, wanted: list[str] | None, exc: XsyncError) -> dict[str, Any]:
    """`--json` of a run that stopped: every entity it was to cover is named, with the cause."""
    side = "ops" if type(exc).__name__.startswith("Ops") else "xero"
    return {
        "mode": mode, "exit_code": exc.exit_code, "error": str(exc), "hint": exc.hint,
        "read_errors": [{"entity": e, "side": side, "reason": str(exc),
                         "exit_code": exc.exit_code, "cause": None}
                        for e in (wanted or list(ENTITY_ORDER))],
    }
