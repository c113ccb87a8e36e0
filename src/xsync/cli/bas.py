"""`xsync bas`: the period's GST labels from both sides, and a document and a cause for every
difference."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from xsync.cli.console import console
from xsync.cli.render import add_row
from xsync.cli.runner import WORKSPACE_HELP
from xsync.errors import ExitCode, UsageError


class _Reader:
    """The Xero reads of `xsync bas`, through the workspace's client."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def get(self, endpoint: str) -> dict[str, Any]:
        reply: dict[str, Any] = self.client.get(endpoint)
        return reply

    def pages(self, endpoint: str, params: dict[str, str],
              modified_since: datetime | None) -> Iterator[list[dict[str, Any]]]:
        return iter(self.client.iter_pages(endpoint, modified_since=modified_since,
                                           params=params or None))


def bas(
    quarter: str | None = typer.Option(None, "--quarter", metavar="YYYY-QN",
                                       help="An AU quarter: 2026-Q3 is Jul–Sep 2026."),
    month: str | None = typer.Option(None, "--month", metavar="YYYY-MM", help="One month."),
    start: str | None = typer.Option(None, "--from", metavar="DATE", help="First day."),
    end: str | None = typer.Option(None, "--to", metavar="DATE", help="Last day."),
    basis: str | None = typer.Option(
        None, "--basis", metavar="accrual|cash",
        help="GST basis (default: the organisation's, else accrual)."),
    simpler: bool = typer.Option(False, "--simpler", help="Simpler BAS: G1, 1A and 1B only."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    csv_file: Path | None = typer.Option(None, "--csv", metavar="FILE",
                                         help="Write the difference list as CSV."),
    html_file: Path | None = typer.Option(None, "--html", metavar="FILE",
                                          help="Write a printable page for the accountant."),
    lodge: bool = typer.Option(False, "--lodge",
                               help="Record the period's figures and documents as lodged."),
    offline: bool = typer.Option(False, "--offline",
                                 help="Use the state database alone (no call to Xero)."),
    workspace: Path | None = typer.Option(None, "--workspace", help=WORKSPACE_HELP),
) -> None:
    """Reconcile a BAS period's GST between the ops store and Xero, label by label (G1, G2, G3,
    G10, G11, 1A, 1B), naming the document and the cause of every difference. Exits 0 when
    reconciled to the cent, 3 when there are differences to review."""
    from xsync.reports import bas_output
    from xsync.reports.period import choose

    if basis not in (None, "accrual", "cash"):
        raise UsageError(f"--basis {basis!r}: use accrual or cash")
    if lodge and offline:
        raise UsageError("--lodge records what Xero holds now: run it without --offline")
    period = choose(quarter_text=quarter, month_text=month, start=start, end=end,
                    today=date.today())
    data = _report(workspace, period, basis, simpler=simpler, lodge=lodge, offline=offline)
    if csv_file is not None:
        csv_file.write_text(bas_output.to_csv(data), encoding="utf-8")
    if html_file is not None:
        html_file.write_text(bas_output.to_html(data), encoding="utf-8")
    if as_json:
        # written as it is: a report of thousands of documents is for a program to read, and
        # rich's highlighting of it would cost more than the whole reconciliation
        console.file.write(json.dumps(data, indent=1) + "\n")
    else:
        _print(data)
    raise typer.Exit(ExitCode.OK if data["reconciled"] else ExitCode.CONFLICTS)


def _report(workspace_dir: Path | None, period: Any, basis: str | None, *, simpler: bool,
            lodge: bool, offline: bool) -> dict[str, Any]:
    from xsync.cli.runtime import load_runtime
    from xsync.reports import bas_data, bas_output
    from xsync.reports.bas import reconcile
    from xsync.sync.books import Books

    runtime = load_runtime(workspace_dir)
    at = datetime.now(UTC).isoformat()
    with Books.opened(runtime.workspace.state_path) as books:
        bas = books.bas
        ledger = books.ledger
        warnings: list[str] = []
        if offline:
            cached = bas_data.cached_settings(bas)
            if cached is None:
                error = UsageError("--offline works from what an earlier `xsync bas` "
                                   "read, and there is none in this workspace yet")
                error.hint = "run `xsync bas` once online"
                raise error
            org, rates = cached
        else:
            org, rates, warnings = _read_online(runtime, bas, ledger, at)
        chosen = basis or org.basis or "accrual"
        reason = bas_data.reason_finder(ledger, bas, runtime.rules)
        pairs = bas_data.pairs_for(period, chosen == "cash", bas, reason)
        lodged = bas_data.lodged_for(bas, period, chosen)
        report = reconcile(pairs, period=period, basis=chosen,  # type: ignore[arg-type]
                           report_types=rates.report, simpler=simpler, lodged=lodged)
        report.warnings[:0] = warnings
        if lodged is not None:
            bas_data.name_changes(report.changed_after_lodging, ledger, lodged.at)
        if lodge:
            bas_data.lodge(bas, period, chosen, at, report.xero, report.xero_documents)
        read_at = bas.read_at()
        data = bas_output.to_json(report, org, read_at=read_at, offline=offline,
                                  lodged_now=lodge)
        # what a sync would run into: worth knowing, never itself a difference
        data["notices"] = _lock_notices(org, period, report, lodged)
        if offline:
            data["state_age"] = _age(read_at, at)
        return data


def _read_online(runtime: Any, bas: Any, ledger: Any, at: str) -> tuple[Any, Any, list[str]]:
    from xsync.cli.runtime import open_ops_store
    from xsync.cli.session import open_client
    from xsync.reports import bas_data

    client = open_client(runtime.workspace)
    try:
        org, rates, warnings, _calls = bas_data.read_xero(_Reader(client), bas, at)
    finally:
        client.close()
    ops = open_ops_store(runtime.workspace, runtime.settings)
    try:
        warnings += bas_data.read_ops(ops, bas, ledger, rates, at)
    finally:
        close = getattr(ops, "close", None)
        if callable(close):
            close()
    return org, rates, warnings


def _lock_notices(org: Any, period: Any, report: Any, lodged: Any) -> list[str]:
    """What a sync is about to write into a locked or lodged period."""
    out = []
    lock = org.lock_date
    pending = [d for d in report.differences if d.ops_id and d.date]
    if lock and lock >= period.start.isoformat():
        out.append(f"Xero is locked up to {lock}: nothing dated on or before it can be written, "
                   "so a difference there is settled in ops or by the accountant")
        for d in pending:
            if d.date.isoformat() <= lock:
                out.append(f"{d.entity.rstrip('s')} {d.number or d.ops_id} ({d.date}): a sync "
                           f"writing it to Xero will be refused, Xero is locked up to {lock}")
    if lodged is not None:
        for d in pending:
            out.append(f"{d.entity.rstrip('s')} {d.number or d.ops_id} ({d.date}): a sync "
                       f"would write it into {period.name}, lodged {lodged.at[:10]}")
    return out


def _age(read_at: str | None, now: str) -> str:
    if not read_at:
        return "never read"
    seconds = int((datetime.fromisoformat(now) - datetime.fromisoformat(read_at)).total_seconds())
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} old"
    return "less than a minute old"


def _print(data: dict[str, Any]) -> None:
    from xsync.reports.bas_output import summary

    period = data["period"]
    console.print(f"[bold]{escape(data['organisation'])}[/] (ABN {escape(data['abn'])}): "
                  f"BAS {escape(period['name'])}, {period['from']} to {period['to']}, "
                  f"{data['basis']} basis")
    if data["offline"]:
        console.print(f"Offline: figures from the state database, read {data['read_at']} "
                      f"({data.get('state_age')})")
    table = Table(title="labels", title_justify="left")
    for column in ("label", "Xero", "ops", "difference", "Xero $", "ops $"):
        table.add_column(column, justify="left" if column == "label" else "right")
    for label, v in data["labels"].items():
        add_row(table, label, v["xero"], v["ops"], v["difference"], v["xero_dollars"],
                v["ops_dollars"])
    console.print(table)
    _rows("differences by cause", data["differences"])
    _rows("only in Xero", data["xero_only"])
    _rows("changed after lodging", data["changed_after_lodging"])
    for warning in data["warnings"]:
        console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    for notice in data["notices"]:
        console.print(f"note: {escape(notice)}", highlight=False)
    if data["lodged_now"]:
        console.print(f"Lodged: {period['name']} ({data['basis']}) is recorded as lodged.")
    console.print(summary(data), highlight=False)


# rows a table shows; the rest are counted, and all are in --csv and --json
SHOWN = 40


def _rows(title: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    table = Table(title=f"{title} ({len(rows)})", title_justify="left")
    for column in ("cause", "document", "contact", "date", "labels (Xero / ops)", "reason"):
        table.add_column(column, overflow="fold")
    for row in rows[:SHOWN]:
        labels = ", ".join(f"{k} {v['xero']} / {v['ops']}" for k, v in row["labels"].items())
        add_row(table, row["cause"], f"{row['entity']} {row['number'] or row['xero_id']}",
                row["contact"] or "", row["date"] or "", labels, row["reason"])
    console.print(table)
    if len(rows) > SHOWN:
        causes: dict[str, int] = {}
        for row in rows[SHOWN:]:
            causes[row["cause"]] = causes.get(row["cause"], 0) + 1
        counted = ", ".join(f"{n} {cause}" for cause, n in causes.items())
        console.print(f"… and {len(rows) - SHOWN} more ({counted}): every one is in "
                      "--csv FILE and --json", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("bas")(bas)
