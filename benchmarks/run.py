"""Speed and size figures for xsync. Prints figures; asserts nothing.

    python benchmarks/run.py [--invoices 10000 100000] [--repeat 2] [--json out.json]
    python benchmarks/run.py --stages [--invoices 100000] [--pages 20]

By default: xsync against the script a user would write instead (Xero's official SDK paging
into SQLite, ``sdk_baseline.py``), per organisation size: first pull, a sync with nothing
changed, and a sync with 100 records changed on each side (see ``compare.py``).

With ``--stages``, the hot paths one by one, in this process:

1. the sandbox's generator: a large organisation, in a temporary folder;
2. the Xero client over the in-process sandbox: pages of 1,000 invoices, calls and bytes;
3. the mapping of Xero JSON to canonical records (the sync's hot path);
4. the ops store: writing the mapped records to ops.db, reading them back;
5. the whole engine: a first pull of the organisation into an empty ops.db, then a sync with
   nothing changed (calls, bytes, local seconds; Xero's own pace is 60 calls a minute).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import compare
import httpx

from xsync.cli.runner import lenient_gc
from xsync.model.side import Change
from xsync.sandbox.app import Sandbox
from xsync.sandbox.generate import generate_organisation
from xsync.sides.ops_sqlite import SqliteOpsStore
from xsync.sides.xero_map import record_from_xero
from xsync.xero.client import StaticTokens, XeroClient


@contextmanager
def timed(label: str, unit_count: int | None = None, unit: str = "") -> Iterator[None]:
    started = time.perf_counter()
    yield
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    rate = f", {unit_count / seconds:,.0f} {unit}/s" if unit_count else ""
    print(f"{label:<48} {seconds:8.2f} s   process peak {peak:7.0f} MiB{rate}")


def read_pages(sandbox: Sandbox, tenant: str, pages: int) -> list[dict[str, Any]]:
    token = sandbox.client_credentials_token(tenant)
    transport = httpx.WSGITransport(app=sandbox.app)
    sandbox.set_limits(minute_limit=100000, day_limit=1000000, reset=True)
    client = XeroClient(api_url="http://sandbox.local/api.xro/2.0", tenant_id=tenant,
                        tokens=StaticTokens(token), transport=transport)
    elements: list[dict[str, Any]] = []
    sandbox.reset_counters()
    with timed(f"client: {pages} pages of 1,000 invoices", pages * 1000, "invoices"):
        for number, page in enumerate(client.iter_pages("Invoices"), start=1):
            elements.extend(page)
            if number >= pages:
                break
    totals = sandbox.get_counters()["total"]
    print(f"{'':<48} {totals['calls']} calls, {totals['bytes'] / 2**20:.1f} MiB of JSON "
          f"({totals['bytes'] / max(totals['calls'], 1) / 2**20:.2f} MiB a page)")
    client.close()
    return elements


def engine_sync(sandbox: Sandbox, tenant: str, folder: Path) -> None:
    from xsync.sides.xero import XeroSide
    from xsync.state.db import open_state
    from xsync.sync import Engine, default_rules

    token = sandbox.client_credentials_token(tenant)
    waited: list[float] = []

    def clock() -> float:
        return time.monotonic() + sum(waited)

    # the client's pacing (Xero's 60 calls a minute) is counted apart, not slept: its clock
    # moves on by each wait, and the figures are the engine's local work
    client = XeroClient(api_url="http://sandbox.local/api.xro/2.0", tenant_id=tenant,
                        tokens=StaticTokens(token), transport=httpx.WSGITransport(app=sandbox.app),
                        sleep=waited.append, clock=clock)
    ops = SqliteOpsStore(folder / "engine-ops.db")
    engine = Engine(open_state(folder / "engine-state.db"), ops, XeroSide(client),
                    default_rules())
    for label in ("engine: first pull into an empty ops.db", "engine: sync, nothing changed"):
        sandbox.reset_counters()
        waited_before = sum(waited)
        mode = "pull" if "first" in label else "sync"
        with timed(label), lenient_gc():  # as the CLI runs it
            result = engine.run(mode)
        totals = sandbox.get_counters()["total"]
        applied = sum(sum(c.values()) for c in result.counts.values())
        print(f"{'':<48} {totals['calls']} calls ({totals['writes']} writes), "
              f"{totals['bytes'] / 2**20:.1f} MiB; {applied} changes applied, "
              f"exit {result.exit_code}; pacing waits not slept: "
              f"{sum(waited) - waited_before:.1f} s")
    client.close()
    ops.close()


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if "--stages" not in argv:
        compare.main(argv)
        return
    stages([a for a in argv if a != "--stages"])


def stages(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--pages", type=int, default=20, help="pages of 1,000 to read")
    parser.add_argument("--no-engine", dest="engine", action="store_false",
                        help="skip the whole-engine figures")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="xsync-bench-") as tmp:
        folder = Path(tmp)
        sandbox = Sandbox(folder / "sandbox", seed="empty")
        with timed(f"sandbox: generate {args.invoices:,} invoices x 3 lines", args.invoices,
                   "invoices"):
            tenant = generate_organisation(sandbox.store, "Benchmark Pty Ltd",
                                           invoices=args.invoices)
        sandbox.identity.connect(tenant)
        elements = read_pages(sandbox, tenant, min(args.pages, args.invoices // 1000 or 1))
        sandbox.set_limits(minute_limit=1_000_000, day_limit=10_000_000, reset=True)
        records: list[Any] = []
        convert: Callable[[], None] = lambda: records.extend(  # noqa: E731
            record_from_xero("invoices", el) for el in elements)
        with timed(f"mapping: {len(elements):,} Xero invoices -> records", len(elements),
                   "records"):
            convert()
        store = SqliteOpsStore(folder / "ops.db")
        store.conn.execute("INSERT INTO contacts (id, name, status, updated_at) "
                           "VALUES ('C', 'Bench', 'active', '2026-01-01T00:00:00Z')")
        changes = [Change(key=r.id, action="create", id=r.id,
                          fields={**r.fields, "contact_id": "C"},
                          lines=[type(ln)(id=None, fields=ln.fields) for ln in r.lines or []])
                   for r in records]
        with timed(f"ops store: write {len(changes):,} invoices", len(changes), "invoices"):
            store.write("invoices", changes)
        with timed(f"ops store: scan {len(changes):,} invoices", len(changes), "invoices"):
            scanned = store.scan("invoices", None)
        print(f"{'':<48} {len(scanned.records):,} read back, {len(scanned.rejected)} rejected")
        store.close()
        # the engine's figures should not carry the earlier stages' data along
        for data in (elements, records, changes, scanned.records):
            data.clear()
        if args.engine:
            engine_sync(sandbox, tenant, folder)
        sandbox.close()


if __name__ == "__main__":
    main()
