"""A BAS report as JSON, CSV and a self-contained printable HTML page.

All three are built from :func:`to_json`, so they never disagree. Money is decimal text
(``"1234.50"``); whole dollars are integers, cents dropped, as the ATO form takes them.
"""

from __future__ import annotations

import csv
import html
import io
from decimal import Decimal
from typing import Any

from xsync.reports.bas import Difference, Report, dollars
from xsync.reports.bas_data import Organisation


def _money(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")


def _row(d: Difference) -> dict[str, Any]:
    return {
        "cause": d.cause, "entity": d.entity, "number": d.number, "contact": d.contact,
        "ops_id": d.ops_id, "xero_id": d.xero_id,
        "date": d.date.isoformat() if d.date else None,
        "labels": {k: {"xero": _money(x), "ops": _money(o)} for k, (x, o) in d.labels.items()},
        "reason": d.reason,
    }


def to_json(report: Report, org: Organisation, *, read_at: str | None, offline: bool,
            lodged_now: bool = False) -> dict[str, Any]:
    labels = {}
    for label in report.labels:
        x, o = report.xero[label], report.ops[label]
        labels[label] = {"xero": _money(x), "ops": _money(o), "difference": _money(x - o),
                         "xero_dollars": dollars(x), "ops_dollars": dollars(o),
                         "difference_dollars": dollars(x) - dollars(o)}
    lodged = None
    if report.lodged is not None:
        lodged = {"at": report.lodged.at,
                  "labels": {k: _money(v) for k, v in report.lodged.labels.items()}}
    return {
        "organisation": org.name, "abn": org.abn,
        "period": {"from": report.period.start.isoformat(), "to": report.period.end.isoformat(),
                   "name": report.period.name},
        "basis": report.basis,
        "labels": labels,
        "differences": [_row(d) for d in report.differences],
        "xero_only": [_row(d) for d in report.xero_only],
        "changed_after_lodging": [_row(d) for d in report.changed_after_lodging],
        "lodged": lodged, "lodged_now": lodged_now,
        "lock_date": org.lock_date,
        "warnings": report.warnings,
        "read_at": read_at, "offline": offline,
        "reconciled": report.reconciled,
    }


def summary(data: dict[str, Any]) -> str:
    """The closing line: reconciled, or how many differences and what they come to on 1A."""
    if data["reconciled"]:
        return "reconciled"
    count = len(data["differences"])
    parts = [f"{count} difference{'s' if count != 1 else ''}"]
    one_a = data["labels"].get("1A")
    if one_a and Decimal(one_a["difference"]):
        parts[0] += f", ${one_a['difference']} on 1A"
    if data["changed_after_lodging"]:
        parts.append(f"{len(data['changed_after_lodging'])} changed after lodging")
    if data["warnings"]:
        parts.append(f"{len(data['warnings'])} warning{'s' if len(data['warnings']) != 1 else ''}")
    return "; ".join(parts)


CSV_COLUMNS = ("cause", "label", "entity", "number", "contact", "date", "xero", "ops",
               "difference", "ops_id", "xero_id", "reason")


def to_csv(data: dict[str, Any]) -> str:
    """The difference list, one row per document and label."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in data["differences"]:
        for label, values in row["labels"].items():
            diff = _money(Decimal(values["xero"]) - Decimal(values["ops"]))
            writer.writerow([row["cause"], label, row["entity"], row["number"] or "",
                             row["contact"] or "", row["date"] or "", values["xero"],
                             values["ops"], diff, row["ops_id"] or "", row["xero_id"] or "",
                             row["reason"]])
    return out.getvalue()


_CSS = """
body { font-family: Helvetica, Arial, sans-serif; font-size: 11pt; color: #111; margin: 2em; }
h1 { font-size: 16pt; margin-bottom: 0.2em; } h2 { font-size: 13pt; margin-top: 1.6em; }
table { border-collapse: collapse; width: 100%; margin-top: 0.5em; }
th, td { border: 1px solid #999; padding: 3px 6px; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.meta td { border: none; padding: 1px 8px 1px 0; }
.status { font-weight: bold; margin-top: 1.2em; }
@media print { body { margin: 0; font-size: 9pt; } h2 { page-break-after: avoid; }
  tr { page-break-inside: avoid; } @page { size: A4; margin: 15mm; } }
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _differences_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p>None.</p>"
    head = ("<tr><th>cause</th><th>document</th><th>contact</th><th>date</th><th>label</th>"
            "<th class='n'>Xero</th><th class='n'>ops</th><th>reason</th></tr>")
    body = []
    for row in rows:
        for label, values in row["labels"].items():
            body.append(
                f"<tr><td>{_e(row['cause'])}</td><td>{_e(row['entity'])} "
                f"{_e(row['number'] or row['xero_id'] or row['ops_id'])}</td>"
                f"<td>{_e(row['contact'])}</td><td>{_e(row['date'])}</td><td>{_e(label)}</td>"
                f"<td class='n'>{_e(values['xero'])}</td><td class='n'>{_e(values['ops'])}</td>"
                f"<td>{_e(row['reason'])}</td></tr>")
    return f"<table>{head}{''.join(body)}</table>"


def to_html(data: dict[str, Any]) -> str:
    """One printable page for the accountant: no scripts, no external assets."""
    period = data["period"]
    label_rows = "".join(
        f"<tr><td>{_e(k)}</td><td class='n'>{_e(v['xero'])}</td><td class='n'>{_e(v['ops'])}"
        f"</td><td class='n'>{_e(v['difference'])}</td><td class='n'>{v['xero_dollars']}</td>"
        f"<td class='n'>{v['ops_dollars']}</td></tr>" for k, v in data["labels"].items())
    warnings = "".join(f"<li>{_e(w)}</li>" for w in data["warnings"] + data.get("notices", []))
    source = ("the state database, as read " if data["offline"] else "read ") + \
        _e(data["read_at"] or "never")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>BAS reconciliation {_e(period['name'])} — {_e(data['organisation'])}</title>
<style>{_CSS}</style></head>
<body>
<h1>BAS reconciliation: {_e(data['organisation'])}</h1>
<table class="meta">
<tr><td>ABN</td><td>{_e(data['abn'])}</td></tr>
<tr><td>Period</td><td>{_e(period['from'])} to {_e(period['to'])} ({_e(period['name'])})</td></tr>
<tr><td>Basis</td><td>{_e(data['basis'])}</td></tr>
<tr><td>Figures</td><td>{source}</td></tr>
</table>
<h2>Labels</h2>
<table><tr><th>label</th><th class="n">Xero</th><th class="n">ops</th><th class="n">difference</th>
<th class="n">Xero ($)</th><th class="n">ops ($)</th></tr>{label_rows}</table>
<h2>Differences by cause</h2>
{_differences_table(data['differences'])}
<h2>Only in Xero</h2>
{_differences_table(data['xero_only'])}
<h2>Changed after lodging</h2>
{_differences_table(data['changed_after_lodging'])}
{f'<h2>Warnings</h2><ul>{warnings}</ul>' if warnings else ''}
<p class="status">{_e(summary(data))}</p>
</body></html>
"""
