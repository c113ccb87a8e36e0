"""`xsync status`: organisation, last runs, open conflicts, pending writes, calls left."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from xsync.cli.console import console
from xsync.cli.render import add_row, print_json
from xsync.cli.runner import WORKSPACE_HELP

# the entity's own outcome: the run's outcome speaks for all its entities, so one entity's
# conflicts or read failure would otherwise show against every entity of that run
_RUN_ONLY = ("entity_outcome", "entity_reason", "entity_outcomes")


def status(
    workspace: Path | None = typer.Option(None, "--workspace", help=WORKSPACE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Show the organisation, the last run of each entity and its outcome, open conflicts,
    pending writes and Xero calls left today. Makes no call to Xero."""
    from xsync.cli.runtime import load_runtime

    runtime = load_runtime(workspace)
    data = _gather(runtime.workspace)
    if as_json:
        print_json(console, data)
        return
    org = data["organisation"] or "not connected (run `xsync connect`)"
    console.print(f"Organisation: [bold]{escape(org)}[/]")
    console.print(f"Workspace: {escape(data['workspace'])}")
    table = Table(title="last run per entity", title_justify="left")
    for column in ("entity", "run", "command", "ended", "outcome", "why"):
        table.add_column(column, overflow="fold")
    for entity, run in data["last_runs"].items():
        add_row(table, entity, run["id"], run["command"], run["ended_at"] or "running",
                run["outcome"] or "", run["reason"] or "")
    console.print(table)
    console.print(f"Open conflicts: {data['open_conflicts']}"
                  + (" (`xsync resolve`)" if data["open_conflicts"] else ""))
    console.print(f"Pending writes: {data['pending_writes']}")
    left = data["calls_left_today"]
    console.print(f"Xero calls left today: {'unknown' if left is None else left}")
    if data["watcher"] is not None:
        console.print(watcher_line(data["watcher"]), markup=False)


def watcher_line(w: dict[str, Any]) -> str:
    """`xsync watch` as status shows it: running or not, since, last event, queue, last error."""
    if w["running"]:
        line = (f"Watcher: {'retrying' if w['state'] == 'retrying' else 'running'}, pid "
                f"{w['pid']} since {w['started_at'][:19]}")
    elif w["state"] == "stopped":
        line = f"Watcher: stopped at {(w['stopped_at'] or '')[:19]} (exit {w['exit_code']})"
    else:
        line = (f"Watcher: not running (pid {w['pid']} last seen {w['heartbeat_at'][:19]}, "
                "it did not stop cleanly)")
    line += (f"; last event {(w['last_event_at'] or 'none')[:19]}; "
             f"queue {w['queue_depth']}")
    if w["last_error"] and (w["state"] == "retrying" or not w["running"]):
        line += f"; last error at {w['last_error_at'][:19]}: {w['last_error']}"
        if w["next_try_at"] and w["running"]:
            line += f" (next try {w['next_try_at'][11:19]})"
    return line


def _gather(workspace: Any) -> dict[str, Any]:
    from xsync.cli.session import endpoints_for, load_connection, load_limits
    from xsync.sync.books import Books

    with Books.opened(workspace.state_path) as books:
        connection = load_connection(workspace)
        limits = load_limits(workspace, connection.tenant_id) if connection else None
        last_runs = _in_sync_order(
            {entity: entity_view(run) for entity, run in books.last_runs().items()})
        return {
            "workspace": str(workspace.root),
            "organisation": connection.tenant_name if connection else None,
            "tenant_id": connection.tenant_id if connection else None,
            # the URL a run uses now ([xero] settings win over what connect stored)
            "api_url": endpoints_for(workspace.settings().xero, connection).api_url,
            "last_runs": last_runs,
            "unread": [{"entity": entity, "reason": run["reason"]}
                       for entity, run in last_runs.items() if run["outcome"] == "unread"],
            "open_conflicts": len(books.conflicts(open_only=True)),
            "pending_writes": books.pending_writes(),
            "calls_left_today": (limits or {}).get("day_remaining"),
            "watcher": books.watcher(),
        }


def entity_view(run: dict[str, Any]) -> dict[str, Any]:
    """One entity's last run: the run's facts, with ``outcome`` and ``reason`` the entity's own
    (``run_outcome`` keeps the whole run's). Runs recorded before entities had their own outcome
    give the run's."""
    view = {k: v for k, v in run.items() if k not in _RUN_ONLY}
    own = run.get("entity_outcome")
    view["run_outcome"] = run.get("outcome")
    view["outcome"] = own if own is not None else run.get("outcome")
    view["reason"] = run.get("entity_reason")
    return view


def _in_sync_order(last: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    from xsync.model.entities import ENTITY_ORDER

    return {e: last[e] for e in ENTITY_ORDER if e in last}


def register(app: typer.Typer) -> None:
    app.command("status")(status)
