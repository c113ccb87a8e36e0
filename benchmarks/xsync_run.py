"""One xsync run (``pull`` or ``sync``) in a process of its own, against a sandbox server; or
``diff``: the plan a first pull would apply, written as `xsync diff --mode pull --json` writes it
(to nowhere).

    python benchmarks/xsync_run.py pull --api-url URL --tenant ID --folder DIR < token.json

The workspace files are ``DIR/ops.db`` and ``DIR/state.db``. The client's pacing (Xero's 60
calls a minute) is counted, not slept: its clock moves on by each wait, so the figures are
xsync's local work. The last line printed is JSON: the run's outcome, CPU seconds, peak RSS,
disk bytes written, and the pacing waits it would have slept.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from measure import measured, report
from rich.console import Console

from xsync.cli.render import print_json
from xsync.cli.runner import lenient_gc
from xsync.sides.ops_rows import own_stamp
from xsync.sides.ops_sqlite import SqliteOpsStore
from xsync.sides.xero import XeroSide
from xsync.state.db import open_state
from xsync.sync import Engine, default_rules
from xsync.xero.client import StaticTokens, XeroClient


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("pull", "sync", "diff"))
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--folder", required=True, type=Path)
    parser.add_argument("--later", type=float, default=0.0,
                        help="seconds this run's clock is ahead of the machine's (the sandbox's)")
    args = parser.parse_args(argv)
    token = json.loads(sys.stdin.read())["access_token"]
    waited: list[float] = []

    def clock() -> float:
        return time.monotonic() + sum(waited)

    figures: dict[str, Any] = {}
    with measured(figures):
        client = XeroClient(api_url=args.api_url, tenant_id=args.tenant,
                            tokens=StaticTokens(token), sleep=waited.append, clock=clock)
        ahead = timedelta(seconds=args.later)

        def now() -> datetime:
            return datetime.now(UTC) + ahead

        # rows xsync writes are stamped as it stamps them (to the microsecond), on its clock
        ops = SqliteOpsStore(args.folder / "ops.db", now=lambda: own_stamp(now()))
        state = open_state(args.folder / "state.db")
        engine = Engine(state, ops, XeroSide(client), default_rules(), now=now)
        with lenient_gc():  # as the CLI runs it
            if args.mode == "diff":
                plan = engine.preview("pull")
                with plan, open(os.devnull, "w") as nowhere:
                    print_json(Console(file=nowhere), {**plan.json_parts(), "exit_code": 0})
            else:
                result = engine.run(args.mode)
        client.close()
        ops.close()
        state.close()
    if args.mode == "diff":
        figures["exit_code"] = int(plan.exit_code())
        figures["applied"] = plan.counts()
        figures["conflicts"] = len(plan.conflicts)
        figures["rejected"] = len(plan.rejected)
    else:
        figures["exit_code"] = int(result.exit_code)
        figures["applied"] = {entity: dict(counts) for entity, counts in result.counts.items()}
        figures["conflicts"] = len(result.conflicts)
        figures["rejected"] = len(result.rejected)
    figures["pacing_s"] = sum(waited)
    report(figures)


if __name__ == "__main__":
    main()
