"""`xsync log`: the audit trail of every change xsync applied."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.table import Table

from xsync.cli.console import console
from xsync.cli.render import ARROWS, add_row, field_label, print_json, show
from xsync.cli.runner import WORKSPACE_HELP, check_entities
from xsync.model.entities import ENTITY_ORDER


def log(
    since: str | None = typer.Option(
        None, "--since", help="From this ISO date or time (UTC unless it names an offset)."
    ),
    entity: str | None = typer.Option(
        None, "--entity", help=f"Only this entity: {', '.join(ENTITY_ORDER)}."
    ),
    record: str | None = typer.Option(
        None, "--record", help="Only this record: ops id, Xero id, or number/name."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
    workspace: Path | None = typer.Option(None, "--workspace", help=WORKSPACE_HELP),
) -> None:
    """Show the audit trail: run, time, record, direction, field, old → new, and the rule."""
    since = parse_since(since)
    check_entities([entity] if entity else None)
    from xsync.cli.runtime import load_runtime
    from xsync.sync.books import Books

    runtime = load_runtime(workspace)
    with Books.opened(runtime.workspace.state_path) as books:
        entries = books.audit(since=since, entity=entity)
    if record:
        entries = [e for e in entries if _is_record(e, record)]
    if as_json:
        print_json(console, [e.to_json() for e in entries])
        return
    if not entries:
        console.print("No changes recorded.")
        return
    table = Table(title=f"audit ({len(entries)})", title_justify="left")
    for column in ("run", "at", "entity", "record", "direction", "action", "field",
                   "old → new", "rule"):
        table.add_column(column, overflow="fold")
    for e in entries:
        add_row(table, e.run_id or "", e.at[:19], e.entity,
                e.label or e.ops_id or e.xero_id or "", ARROWS.get(e.direction, e.direction),
                e.action, field_label(e.field or ""), f"{show(e.old)} → {show(e.new)}",
                e.rule or "")
    console.print(table)


def parse_since(value: str | None) -> str | None:
    """`--since` as the audit stores times (ISO, UTC), so that comparing them as text is
    comparing moments. A date is its first moment; a time without an offset is UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date or time; use an ISO date (2026-11-24) or time "
            "(2026-11-24T10:00, UTC unless it names an offset)", param_hint="--since") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def _is_record(entry: object, record: str) -> bool:
    """An ops id, a Xero id, or the label a person knows (`INV-0014` of "INV-0014 (total …)")."""
    label = getattr(entry, "label", None) or ""
    return record in (getattr(entry, "ops_id", None), getattr(entry, "xero_id", None), label) \
        or label.startswith(record + " ")


def register(app: typer.Typer) -> None:
    app.command("log")(log)
