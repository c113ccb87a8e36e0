"""`xsync status`: organisation, last runs, open conflicts, pending writes, calls left."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from xsync.cli.console import console
from xsync.cli.render import print_json
from xsync.cli.runner import WORKSPACE_HELP


def status(
    workspace: Path | None = typer.Option(None, "--workspace", help=WORKSPACE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Show the organisation, the last run of each entity, open conflicts, pending writes and
    Xero calls left today. Makes no call to Xero."""
    from xsync.cli.runtime import load_runtime
    from xsync.state.db import open_state
    from xsync.sync.ledger import Ledger
    from xsync.xero.session import load_connection, load_limits

    runtime = load_runtime(workspace)
    connection = load_connection(runtime.workspace)
    limits = load_limits(runtime.workspace, connection.tenant_id) if connection else None
    db = open_state(runtime.workspace.state_path)
    try:
        ledger = Ledger(db)
        data: dict[str, Any] = {
            "workspace": str(runtime.workspace.root),
            "organisation": connection.tenant_name if connection else None,
            "tenant_id": connection.tenant_id if connection else None,
            "api_url": connection.api_url if connection else None,
            "last_runs": _in_sync_order(ledger.last_run_per_entity()),
            "open_conflicts": len(ledger.conflicts(open_only=True)),
            "pending_writes": sum(n for state, n in ledger.outbox_counts().items()
                                  if state in ("pending", "sent")),
            "calls_left_today": (limits or {}).get("day_remaining"),
        }
    finally:
        db.close()
    if as_json:
        print_json(console, data)
        return
    org = data["organisation"] or "not connected (run `xsync connect`)"
    console.print(f"Organisation: [bold]{org}[/]")
    console.print(f"Workspace: {data['workspace']}")
    table = Table(title="last run per entity", title_justify="left")
    for column in ("entity", "run", "command", "ended", "outcome"):
        table.add_column(column)
    for entity, run in data["last_runs"].items():
        table.add_row(entity, str(run["id"]), run["command"], run["ended_at"] or "running",
                      run["outcome"] or "")
    console.print(table)
    console.print(f"Open conflicts: {data['open_conflicts']}"
                  + (" (`xsync resolve`)" if data["open_conflicts"] else ""))
    console.print(f"Pending writes: {data['pending_writes']}")
    left = data["calls_left_today"]
    console.print(f"Xero calls left today: {'unknown' if left is None else left}")


def _in_sync_order(last: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    from xsync.model.entities import ENTITY_ORDER

    return {e: last[e] for e in ENTITY_ORDER if e in last}


def register(app: typer.Typer) -> None:
    app.command("status")(status)
