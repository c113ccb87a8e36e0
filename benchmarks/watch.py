"""How fast `xsync watch` carries changes, and what it costs. Prints figures; asserts nothing.

    python benchmarks/watch.py [--samples 20] [--idle 240] [--events 10000]

Against the live sandbox (on loopback, real clock, the demo company) and `xsync watch` as its own
process with the default flags, registered as the organisation's webhook:

1. a Xero change (an invoice's reference, through the API) to the ops row: median and p95 s
   (target <= 5 s); changes come ``--gap`` seconds apart (default 5): an invoice event's sync
   reads five endpoints, and at Xero's 60 calls a minute a faster stream waits for the minute window
   (the events queue meanwhile and are then synced together);
2. an ops approval (a new invoice written to ops.db as approved) to the invoice in Xero: median
   and p95 s (target <= 10 s; the ops store is checked every 5 s);
3. Xero calls while idle for ``--idle`` seconds, as calls per hour (and what the schedule
   printed at start predicts);
4. the watcher's resident memory while ``--events`` signed webhook events are posted to it (in
   payloads of 100), sampled every tenth: it should stay flat.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from xsync.cli.app import main
from xsync.model.entities import ENTITY_ORDER
from xsync.sandbox.app import Sandbox
from xsync.sides.xero import reads_per_scan
from xsync.watch.loop import UNHOOKED, default_poll

KEY = "benchmark-webhook-key"


def cli(*args: str) -> None:
    try:
        main(list(args))
    except SystemExit as exc:
        if exc.code:
            raise RuntimeError(f"xsync {' '.join(args)} exited {exc.code}") from None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(ready: Callable[[], Any], timeout: float = 120.0, step: float = 0.02) -> float:
    """Seconds until ``ready()`` is true."""
    started = time.perf_counter()
    while not ready():
        if time.perf_counter() - started > timeout:
            raise RuntimeError("timed out")
        time.sleep(step)
    return time.perf_counter() - started


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def quantiles(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered):5.2f} s   p95 {p95:5.2f} s   (n={len(ordered)})"


class Bench:
    def __init__(self, root: Path, sandbox: Sandbox, url: str, gap: float) -> None:
        self.root = root
        self.gap = gap
        self.sandbox = sandbox
        tenant = sandbox.tenant_ids[0]
        token = sandbox.client_credentials_token(tenant)
        self.xero = httpx.Client(base_url=url + "/api.xro/2.0", headers={
            "Authorization": f"Bearer {token}", "xero-tenant-id": tenant,
            "Accept": "application/json"}, timeout=30)
        self.ops = root / "ops.db"

    def ops_one(self, sql: str, params: Any = ()) -> Any:
        conn = sqlite3.connect(self.ops, timeout=30)
        try:
            return conn.execute(sql, params).fetchone()
        finally:
            conn.close()

    def ops_write(self, sql: str, params: Any = ()) -> None:
        conn = sqlite3.connect(self.ops, timeout=30)
        with conn:
            conn.execute(sql, params)
        conn.close()

    def xero_to_ops(self, samples: int) -> list[float]:
        invoice = self.xero.get("/Invoices", params={"InvoiceNumbers": "INV-0011"}).json()[
            "Invoices"][0]
        seconds = []
        for n in range(samples):
            mark = f"bench-{n}-{uuid.uuid4().hex[:6]}"
            self.xero.post(f"/Invoices/{invoice['InvoiceID']}", json={"Invoices": [
                {"InvoiceID": invoice["InvoiceID"], "Reference": mark}]}).raise_for_status()
            seconds.append(wait_for(lambda m=mark: self.ops_one(
                "SELECT 1 FROM invoices WHERE number = 'INV-0011' AND reference = ?", [m])))
            time.sleep(self.gap)
        return seconds

    def ops_to_xero(self, samples: int) -> list[float]:
        row = self.ops_one("SELECT id, contact_id FROM invoices WHERE status = 'approved' "
                           "ORDER BY number LIMIT 1")
        line = self.ops_one("SELECT account_code, tax_type FROM invoice_lines "
                            "WHERE invoice_id = ? LIMIT 1", [row[0]])
        seconds = []
        for n in range(samples):
            number = f"WATCH-{n:03d}-{uuid.uuid4().hex[:4]}"
            invoice_id = f"bench-{uuid.uuid4().hex}"
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            conn = sqlite3.connect(self.ops, timeout=30)
            with conn:
                conn.execute(
                    "INSERT INTO invoices (id, number, contact_id, date, due_date, status, "
                    "updated_at) VALUES (?, ?, ?, '2026-11-24', '2026-12-24', 'approved', ?)",
                    [invoice_id, number, row[1], stamp])
                conn.execute(
                    "INSERT INTO invoice_lines (id, invoice_id, position, description, "
                    "quantity, unit_price, account_code, tax_type) VALUES "
                    "(?, ?, 1, 'Benchmark work', '1', '100.00', ?, ?)",
                    [invoice_id + "-1", invoice_id, line[0], line[1]])
            conn.close()

            def in_xero(num: str = number) -> bool:
                found = self.xero.get("/Invoices", params={"InvoiceNumbers": num}).json()
                return any(i["Status"] == "AUTHORISED" for i in found["Invoices"])

            seconds.append(wait_for(in_xero, step=0.1))
            time.sleep(self.gap)
        return seconds

    def api_calls(self) -> int:
        return int(self.sandbox.get_counters()["total"]["calls"])


def post_events(url: str, count: int, pid: int, tenant: str) -> list[tuple[int, int]]:
    """Post ``count`` events in payloads of 100; (events so far, RSS KiB) every tenth."""
    samples = []
    sequence = 1
    with httpx.Client(timeout=30) as http:
        for start in range(0, count, 100):
            events = [{"resourceUrl": "", "resourceId": str(uuid.uuid4()),
                       "eventDateUtc": "2026-11-24T10:00:00.000", "eventType": "UPDATE",
                       "eventCategory": "CONTACT", "tenantId": tenant,
                       "tenantType": "ORGANISATION"} for _ in range(min(100, count - start))]
            body = json.dumps({"events": events, "firstEventSequence": sequence,
                               "lastEventSequence": sequence + len(events) - 1,
                               "entropy": uuid.uuid4().hex}).encode()
            sequence += len(events)
            signature = base64.b64encode(
                hmac.new(KEY.encode(), body, hashlib.sha256).digest()).decode()
            http.post(url, content=body,
                      headers={"x-xero-signature": signature}).raise_for_status()
            done = start + len(events)
            if done % max(1, count // 10) == 0 or done == count:
                samples.append((done, rss_kib(pid)))
    return samples


def run(args: argparse.Namespace) -> None:
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    os.environ["XSYNC_WEBHOOK_KEY"] = KEY
    tmp = tempfile.mkdtemp(prefix="xsync-watch-bench-")
    try:
        measure(args, Path(tmp))
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def measure(args: argparse.Namespace, tmp: Path) -> None:
    with Sandbox(seed="demo") as sandbox:
        url = sandbox.start("127.0.0.1", 0)
        sandbox.set_limits(minute_limit=100_000, day_limit=1_000_000, reset=True)
        root = tmp / "books"
        if args.keep:
            print(f"workspace {root}")
        cli("init", str(root))
        cli("connect", "--sandbox", url, "--workspace", str(root))
        cli("sync", "--quiet", "--workspace", str(root))
        port = free_port()
        hook = f"http://127.0.0.1:{port}/xero/webhooks"
        proc = subprocess.Popen(
            [sys.executable, "-m", "xsync", "watch", "--listen", f"127.0.0.1:{port}",
             "--workspace", str(root)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            wait_for(lambda: _healthy(port) and _healthy(port).get("last_step"))
            sandbox.webhooks_out.add(hook, KEY, sandbox.tenant_ids[0])
            bench = Bench(root, sandbox, url, args.gap)
            print(f"xsync watch pid {proc.pid}, receiver {hook}")
            up = quantiles(bench.xero_to_ops(args.samples))
            print(f"Xero change -> ops row            {up}   target <= 5 s")
            down = quantiles(bench.ops_to_xero(max(3, args.samples // 2)))
            print(f"ops approval -> invoice in Xero   {down}   target <= 10 s")

            # our own writes to Xero come back as webhooks: let those echoes settle first
            wait_for(lambda: (_healthy(port) or {}).get("queue_depth") == 0)
            time.sleep(5)
            polled = sum(reads_per_scan(e) for e in UNHOOKED)
            every = sum(reads_per_scan(e) for e in ENTITY_ORDER)
            interval = default_poll(polled)
            before = bench.api_calls()
            time.sleep(args.idle)
            idle = bench.api_calls() - before
            print(f"idle for {args.idle:.0f} s: {idle} Xero calls, "
                  f"{idle * 3600 / args.idle:,.0f} per idle hour "
                  f"(schedule: {polled} calls every {interval} s and all {every} calls once an "
                  f"hour, about {round(3600 / interval * polled + every)})")

            start_rss = rss_kib(proc.pid)
            samples = post_events(hook, args.events, proc.pid, sandbox.tenant_ids[0])
            wait_for(lambda: (_healthy(port) or {}).get("queue_depth") == 0, timeout=600)
            peak = rss_kib(proc.pid, "VmHWM")
            shown = ", ".join(f"{n:,}: {kib / 1024:.0f}" for n, kib in samples)
            print(f"{args.events:,} events: RSS MiB after each tenth  {shown}")
            print(f"  start {start_rss / 1024:.0f} MiB, peak (VmHWM) {peak / 1024:.0f} MiB, "
                  f"end {rss_kib(proc.pid) / 1024:.0f} MiB")
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                out, _ = proc.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, _ = proc.communicate()
            if args.verbose:
                print(out)


def _healthy(port: int) -> dict[str, Any] | None:
    try:
        reply = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    except httpx.HTTPError:
        return None
    return dict(reply.json()) if reply.status_code == 200 else None


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20, help="changes timed each way")
    parser.add_argument("--gap", type=float, default=5.0,
                        help="seconds between timed changes (an invoice event's sync reads 5 "
                             "endpoints, and Xero allows 60 calls a minute)")
    parser.add_argument("--idle", type=float, default=240.0, help="idle seconds measured")
    parser.add_argument("--events", type=int, default=10_000, help="events posted")
    parser.add_argument("--verbose", action="store_true", help="print the watcher's output")
    parser.add_argument("--keep", action="store_true", help="keep the workspace folder")
    run(parser.parse_args())
