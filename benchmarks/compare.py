"""xsync against the script a user would write instead, on one sandbox organisation per size.

    python benchmarks/compare.py [--invoices 10000 100000] [--repeat 2] [--json out.json]

For each size: a generated organisation (80% sales invoices, 3 lines each, one contact per 20
invoices) is served on loopback by this process, and every measured run is a child process of
its own, so its CPU seconds exclude the server and its peak RSS is its own:

- first pull: xsync's ``pull`` into an empty workspace, and ``sdk_baseline.py`` (Xero's SDK,
  pages of 1,000, into SQLite); CPU, peak RSS, Xero calls and bytes, disk bytes written, and
  the sizes of ops.db, state.db and the SDK's database; the two databases are compared row by row;
- a sync with nothing changed right after the pull, from the same copy of the workspace each
  time; then one after that no-change sync (what most cycles of a polling cron job cost), and
  one after the changed syncs below (a sync after a sync that wrote);
- a sync after 100 invoices changed in Xero through its API (their reference, as an accountant
  would edit it) and 100 other invoices' references changed in ops.db; its bytes are set against
  those 200 records' own JSON (as Xero serves them, lines included), and both sides' edits are
  checked to have arrived.

Five minutes pass before each xsync run (a cron interval): the sandbox's clock and the clock of
the xsync child (``xsync_run.py --later``) move on together, so change times age as they would.
Each measurement runs ``--repeat`` times; the lower CPU figure is shown (the machine may be busy).
CPU is the work's, from connecting to closing the files; "process" adds the interpreter's start
and the imports, as a command a user runs costs. Peak RSS is the whole process's. Xero's pacing
(60 calls a minute) is counted, not slept.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from xsync.sandbox.app import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox
from xsync.sandbox.generate import generate_organisation

HERE = Path(__file__).resolve().parent
MIB = 2**20
CHANGES = 100
# seconds between two xsync runs, as a cron job polling every five minutes
CRON = 300
# files of one workspace, WAL and journal included, whichever exist
WORKSPACE_FILES = ("ops.db", "ops.db-wal", "state.db", "state.db-wal")


class ChildFailed(RuntimeError):
    pass


def child(script: str, args: list[str], secrets: dict[str, Any]) -> dict[str, Any]:
    """Run ``benchmarks/<script>`` in a fresh interpreter; its last stdout line is its figures."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([sys.executable, str(HERE / script), *args], input=json.dumps(secrets),
                          capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise ChildFailed(f"{script} {' '.join(args[:1])} exited {done.returncode}:\n"
                          f"{done.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(lines[-1])
    # the whole process, interpreter start and imports included, as a user's command costs
    figures["process_cpu_s"] = (after.ru_utime + after.ru_stime) - (before.ru_utime
                                                                    + before.ru_stime)
    return figures


def size_of(path: Path) -> int:
    total = 0
    for suffix in ("", "-wal", "-journal"):
        candidate = path.with_name(path.name + suffix)
        if candidate.exists():
            total += candidate.stat().st_size
    return total


class Bench:
    """One organisation of ``invoices`` invoices, served on loopback, and the runs against it."""

    def __init__(self, folder: Path, invoices: int, repeat: int) -> None:
        self.folder = folder
        self.repeat = repeat
        self.sandbox = Sandbox(folder / "sandbox", seed="empty", minute_limit=10**7,
                               day_limit=10**8, concurrent_limit=100, app_minute_limit=10**8)
        started = time.perf_counter()
        self.tenant = generate_organisation(self.sandbox.store, "Benchmark Pty Ltd",
                                            invoices=invoices)
        self.generate_s = time.perf_counter() - started
        self.sandbox.identity.connect(self.tenant)
        self.base_url = self.sandbox.start()
        self.api_url = self.base_url + "/api.xro/2.0"
        self.http = httpx.Client(base_url=self.api_url, timeout=120)
        self.figures: dict[str, Any] = {"invoices": invoices}
        # how far the sandbox's clock, and so every xsync run's, is ahead of this machine's
        self.later = 0.0

    def close(self) -> None:
        self.http.close()
        self.sandbox.close()

    # -- children ------------------------------------------------------------------------------

    def _counted(self, script: str, args: list[str], secrets: dict[str, Any]) -> dict[str, Any]:
        self.sandbox.reset_counters()
        figures = child(script, args, secrets)
        counters = self.sandbox.get_counters()
        figures["xero"] = counters["total"]
        figures["endpoints"] = {k: v["calls"] for k, v in counters["endpoints"].items()}
        figures["endpoint_bytes"] = {k: v["bytes"] for k, v in counters["endpoints"].items()}
        return figures

    def now(self) -> datetime:
        """The time on the sandbox's clock, which xsync's runs share."""
        return datetime.now(UTC) + timedelta(seconds=self.later)

    def xsync(self, mode: str, workspace: Path) -> dict[str, Any]:
        self.later += CRON
        self.sandbox.advance_clock(CRON)
        token = {"access_token": self.sandbox.client_credentials_token(self.tenant)}
        args = [mode, "--api-url", self.api_url, "--tenant", self.tenant, "--folder",
                str(workspace), "--later", str(self.later)]
        return self._counted("xsync_run.py", args, token)

    def sdk(self, db: Path) -> dict[str, Any]:
        tokens = self.sandbox.grant_tokens()
        tokens["scope"] = tokens["scope"].split()
        secrets = {"tokens": tokens, "client_id": DEFAULT_CLIENT_ID,
                   "client_secret": DEFAULT_CLIENT_SECRET}
        args = ["--base-url", self.base_url, "--tenant", self.tenant, "--db", str(db)]
        return self._counted("sdk_baseline.py", args, secrets)

    @staticmethod
    def lowest(runs: list[dict[str, Any]]) -> dict[str, Any]:
        best = dict(min(runs, key=lambda r: r["cpu_s"]))
        best["cpu_runs"] = [r["cpu_s"] for r in runs]
        best["peak_rss"] = min(r["peak_rss"] for r in runs)
        best["process_cpu_s"] = min(r["process_cpu_s"] for r in runs)
        return best

    # -- the measurements ----------------------------------------------------------------------

    def first_pulls(self) -> Path:
        """Both first pulls, ``repeat`` times each; returns xsync's workspace for the cycles."""
        runs = []
        for attempt in range(self.repeat):
            workspace = self.folder / f"xsync-{attempt}"
            workspace.mkdir()
            run = self.xsync("pull", workspace)
            run["ops_db"] = size_of(workspace / "ops.db")
            run["state_db"] = size_of(workspace / "state.db")
            runs.append(run)
        self.figures["xsync_pull"] = self.lowest(runs)
        sdk_runs = []
        for attempt in range(self.repeat):
            db = self.folder / f"sdk-{attempt}.db"
            run = self.sdk(db)
            run["db"] = size_of(db)
            sdk_runs.append(run)
        self.figures["sdk_pull"] = self.lowest(sdk_runs)
        workspace = self.folder / "xsync-0"
        self.figures["same_rows"] = same_rows(workspace / "ops.db", self.folder / "sdk-0.db")
        for attempt in range(1, self.repeat):
            shutil.rmtree(self.folder / f"xsync-{attempt}")
            (self.folder / f"sdk-{attempt}.db").unlink()
        return workspace

    def no_change(self, workspace: Path, key: str) -> None:
        """A sync with nothing changed, ``repeat`` times from the same copy of the workspace."""
        snapshot = self.folder / f"before-{key}"
        snapshot.mkdir()
        for name in WORKSPACE_FILES:
            if (workspace / name).exists():
                shutil.copy2(workspace / name, snapshot / name)
        runs = []
        for _ in range(self.repeat):
            for name in WORKSPACE_FILES:
                (workspace / name).unlink(missing_ok=True)
                if (snapshot / name).exists():
                    shutil.copy2(snapshot / name, workspace / name)
            runs.append(self.xsync("sync", workspace))
        self.figures[key] = self.lowest(runs)
        self.figures[key]["xero_runs"] = [r["xero"] for r in runs]
        shutil.rmtree(snapshot)

    def changed(self, workspace: Path) -> None:
        token = self.sandbox.client_credentials_token(self.tenant)
        self.http.headers.update({"Authorization": f"Bearer {token}",
                                  "Xero-Tenant-Id": self.tenant, "Accept": "application/json"})
        listed = self.http.get("/Invoices", params={"where": 'Type=="ACCREC"', "page": 1,
                                                    "pageSize": 1000}).json()["Invoices"]
        authorised = [(i["InvoiceID"], i["InvoiceNumber"]) for i in listed
                      if i["Status"] == "AUTHORISED"]
        runs = []
        for attempt in range(self.repeat):
            chosen = authorised[attempt * 2 * CHANGES:(attempt + 1) * 2 * CHANGES]
            if len(chosen) < 2 * CHANGES:
                break
            in_xero, in_ops = chosen[:CHANGES], chosen[CHANGES:]
            if attempt:
                # the cycle after the last attempt's sync, which lists its writes once more
                # (measured below, "after a sync"): each attempt then starts where the first did
                self.xsync("sync", workspace)
            # stamps are whole seconds: an edit within the previous run's last second could pass
            # for one that run already saw
            time.sleep(1.1)
            for k, (invoice_id, _) in enumerate(in_xero):
                body = {"Invoices": [{"InvoiceID": invoice_id, "Reference": f"XERO-{attempt}-{k}"}]}
                self.http.post(f"/Invoices/{invoice_id}", json=body).raise_for_status()
            now = self.now().strftime("%Y-%m-%dT%H:%M:%SZ")
            with sqlite3.connect(str(workspace / "ops.db")) as ops:
                ops.executemany(
                    "UPDATE invoices SET reference = ?, updated_at = ? WHERE number = ?",
                    [(f"OPS-{attempt}-{k}", now, number) for k, (_, number) in enumerate(in_ops)])
            ops.close()
            run = self.xsync("sync", workspace)
            run["own_bytes"], run["arrived"] = self._arrived(workspace, attempt, in_xero, in_ops)
            runs.append(run)
        if runs:
            self.figures["changed"] = self.lowest(runs)
            self.figures["changed"]["xero_runs"] = [r["xero"] for r in runs]
            self.figures["changed"]["arrived"] = all(r["arrived"] for r in runs)
            self.figures["changed"]["ratios"] = [r["xero"]["bytes"] / max(r["own_bytes"], 1)
                                                 for r in runs]

    def _arrived(self, workspace: Path, attempt: int, in_xero: list[tuple[str, str]],
                 in_ops: list[tuple[str, str]]) -> tuple[int, bool]:
        """The changed records' own bytes as Xero serves them now, and whether each side got the
        other's edits."""
        own = 0
        references: dict[str, str] = {}
        for group in (in_xero, in_ops):
            reply = self.http.get("/Invoices", params={"IDs": ",".join(i for i, _ in group),
                                                       "page": 1, "pageSize": 1000})
            reply.raise_for_status()
            own += len(reply.content)
            references.update({i["InvoiceNumber"]: i.get("Reference") or ""
                               for i in reply.json()["Invoices"]})
        with sqlite3.connect(str(workspace / "ops.db")) as ops:
            in_ops_db = dict(ops.execute("SELECT number, reference FROM invoices"))
        ops.close()
        xero_ok = all(in_ops_db.get(n) == f"XERO-{attempt}-{k}"
                      for k, (_, n) in enumerate(in_xero))
        ops_ok = all(references.get(n) == f"OPS-{attempt}-{k}" for k, (_, n) in enumerate(in_ops))
        return own, xero_ok and ops_ok


def same_rows(ops_db: Path, sdk_db: Path) -> dict[str, Any]:
    """Rows per table in both databases, and how many differ in content (ids aside: xsync keys
    ops rows by its own ids, the script by Xero's)."""
    conn = sqlite3.connect(str(ops_db))
    conn.execute("ATTACH DATABASE ? AS sdk", (str(sdk_db),))
    queries = {
        "contacts": "SELECT name, email, phone, abn, address_line1, city, region, postal_code, "
                    "country, status FROM {db}contacts",
        "invoices": "SELECT number, date, due_date, reference, currency, amounts_are, status, "
                    "subtotal, total_tax, total, amount_paid, amount_credited, amount_due, "
                    "paid_on FROM {db}invoices",
        "invoice_lines": "SELECT i.number, l.position, l.description, l.quantity, l.unit_price, "
                         "l.account_code, l.tax_type, l.tax_amount, l.line_amount, "
                         "COALESCE(l.discount_rate, '0.00') FROM {db}invoice_lines l "
                         "JOIN {db}invoices i ON i.id = l.invoice_id",
    }
    out: dict[str, Any] = {}
    for table, query in queries.items():
        mine, theirs = query.format(db="main."), query.format(db="sdk.")
        counts = [conn.execute(f"SELECT COUNT(*) FROM {db}{table}").fetchone()[0]
                  for db in ("main.", "sdk.")]
        differ = sum(conn.execute(f"SELECT COUNT(*) FROM ({a} EXCEPT {b})").fetchone()[0]
                     for a, b in ((mine, theirs), (theirs, mine)))
        out[table] = {"xsync": counts[0], "sdk": counts[1], "differ": differ}
    conn.close()
    return out


# -- printing ----------------------------------------------------------------------------------


def mib(value: float) -> str:
    return f"{value / MIB:,.1f} MiB"


def kib(value: float) -> str:
    return f"{value / 1024:,.1f} KiB"


def calls(run: dict[str, Any]) -> str:
    xero = run["xero"]
    return f"{xero['calls']} calls ({xero['writes']} writes)"


def endpoints(run: dict[str, Any]) -> str:
    sizes = run.get("endpoint_bytes", {})
    return ", ".join(f"{k} {v} ({sizes[k] / 1024:,.1f} KiB)" if k in sizes else f"{k} {v}"
                     for k, v in run["endpoints"].items())


def traffic(run: dict[str, Any]) -> str:
    """Calls and bytes of the lowest-CPU run, and each run's bytes where they differ."""
    text = f"{calls(run)}, {kib(run['xero']['bytes'])}"
    sizes = [x["bytes"] for x in run.get("xero_runs", [])]
    if len(set(sizes)) > 1:
        text += " (runs: " + " / ".join(f"{b / 1024:,.0f}" for b in sizes) + " KiB)"
    return text


def cpu(run: dict[str, Any]) -> str:
    tries = " / ".join(f"{c:.2f}" for c in run["cpu_runs"])
    return f"{run['cpu_s']:.2f} s (runs: {tries}; process {run['process_cpu_s']:.2f} s)"


def quiet_rows(n: dict[str, Any], title: str) -> list[tuple[str, str, str, str]]:
    return [
        (f"{title}, Xero", traffic(n), "-", "goal <= 1 call per entity, <= 8 KB each"),
        (f"{title}, CPU", cpu(n), "-", "goal <= 0.5 s"),
        (f"{title}, peak RSS", mib(n["peak_rss"]), "-", ""),
        (f"{title}, calls", endpoints(n), "", ""),
    ]


def render(f: dict[str, Any]) -> str:
    px, ps = f["xsync_pull"], f["sdk_pull"]
    rows = [
        ("first pull, CPU", f"{cpu(px)}", f"{cpu(ps)}",
         f"xsync / SDK = {px['cpu_s'] / ps['cpu_s']:.2f}  (goal <= 0.33; aim <= 5 s)"),
        ("first pull, peak RSS", mib(px["peak_rss"]), mib(ps["peak_rss"]), "goal <= 200 MiB, flat"),
        ("first pull, Xero", f"{calls(px)}, {mib(px['xero']['bytes'])}",
         f"{calls(ps)}, {mib(ps['xero']['bytes'])}",
         f"xsync's pacing waits, not slept: {px['pacing_s']:.0f} s"),
        ("first pull, disk written", mib(px["disk_written"]), mib(ps["disk_written"]),
         f"{px['disk_written'] / max(px['ops_db'] + px['state_db'], 1):.1f}x the final sizes "
         "(goal <= 3x)"),
        ("databases", f"ops.db {mib(px['ops_db'])}, state.db {mib(px['state_db'])}",
         f"{mib(ps['db'])}", "goal: state.db <= ops.db"),
    ]
    same = f["same_rows"]
    rows.append(("same rows (xsync / SDK)",
                 ", ".join(f"{t} {v['xsync']:,} / {v['sdk']:,}" for t, v in same.items())
                 + "; differing: " + ", ".join(f"{v['differ']}" for v in same.values()), "", ""))
    rows += quiet_rows(f["no_change"], "no-change sync after the pull")
    rows += quiet_rows(f["polled"], "no-change sync after a no-change sync")
    c = f.get("changed")
    if c:
        ratios = " / ".join(f"{r:.2f}x" for r in c["ratios"])
        rows += [
            (f"{CHANGES} changed on each side, Xero",
             traffic(c), "-",
             f"those {2 * CHANGES} records' own JSON: {kib(c['own_bytes'])}; "
             f"{ratios} (goal <= 1.2x)"),
            (f"{CHANGES} changed on each side, CPU", cpu(c), "-", ""),
            (f"{CHANGES} changed on each side, peak RSS", mib(c["peak_rss"]), "-", ""),
            (f"{CHANGES} changed on each side, outcome",
             f"exit {c['exit_code']}, {c['conflicts']} conflicts, {c['rejected']} rejected",
             "", "both sides' edits arrived: " + ("yes" if f["changed"]["arrived"] else "NO")),
            (f"{CHANGES} changed on each side, calls", endpoints(c), "", ""),
        ]
    rows += quiet_rows(f["steady"], "no-change sync after a sync")
    width = max(len(r[0]) for r in rows)
    head = (f"\n== {f['invoices']:,} invoices (generated in {f['generate_s']:.1f} s) ==\n"
            f"{'':<{width}}  {'xsync':<50}  {'SDK script':<44}  against the goal\n")
    body = "\n".join(f"{a:<{width}}  {b:<50}  {c_:<44}  {d}".rstrip() for a, b, c_, d in rows)
    return head + body


def bench(invoices: int, repeat: int, parent: Path | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="xsync-compare-", dir=parent) as tmp:
        run = Bench(Path(tmp), invoices, repeat)
        try:
            run.figures["generate_s"] = run.generate_s
            workspace = run.first_pulls()
            run.no_change(workspace, "no_change")
            # polled again with nothing changed: what most cycles of a cron job cost
            run.no_change(workspace, "polled")
            run.changed(workspace)
            run.no_change(workspace, "steady")
        finally:
            run.close()
        return run.figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, nargs="+", default=[10_000])
    parser.add_argument("--repeat", type=int, default=2, help="runs of each measurement")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--tmp", type=Path, help="folder for the temporary files")
    args = parser.parse_args(argv)
    results = []
    for invoices in args.invoices:
        figures = bench(invoices, max(args.repeat, 1), args.tmp)
        results.append(figures)
        print(render(figures), flush=True)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
