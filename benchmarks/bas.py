"""`xsync bas` at scale. Prints figures; asserts nothing.

    python benchmarks/bas.py [--invoices 100000] [--bank 2000] [--journals 200]

One generated organisation (80% sales invoices, 3 lines each, dated over two years, plus spend
and receive money and journals with GST) is served on loopback; a workspace pulls it, then:

1. the first online `xsync bas` (it reads each endpoint whole, once): calls, seconds;
2. a sync with nothing changed, then `xsync bas` again: the calls an online run costs right after
   a sync (the organisation and tax rates, and one page per endpoint);
3. `xsync bas --offline`: the local seconds of a report from the state database alone (the
   target is 2 s at 100,000 invoices).

Seconds are the CPU time of the command's own thread (the sandbox answers from other threads).

Xero's pacing (60 calls a minute) is counted, not slept.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from xsync.cli.app import main as xsync
from xsync.sandbox.app import Sandbox
from xsync.sandbox.generate import generate_organisation


def run(*args: str) -> tuple[int, float]:
    """Exit code and CPU seconds of one command, in this process (the sandbox serves from other
    threads of it, so its work on the calls counts too; on a busy machine CPU time is the steady
    figure)."""
    started = time.thread_time()
    code = 0
    try:
        xsync(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, time.thread_time() - started


def calls(sandbox: Sandbox) -> tuple[int, dict[str, int]]:
    counters = sandbox.get_counters()
    return counters["total"]["calls"], {k: v["calls"] for k, v in counters["endpoints"].items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--bank", type=int, default=2_000)
    parser.add_argument("--journals", type=int, default=200)
    args = parser.parse_args(argv)
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    os.environ.setdefault("COLUMNS", "160")
    import xsync.cli.session as session

    waited: list[float] = []
    session.open_client = functools.partial(  # type: ignore[assignment]
        session.open_client, sleep=waited.append, clock=lambda: time.monotonic() + sum(waited))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sandbox = Sandbox(folder / "sandbox", seed="empty", minute_limit=10**7, day_limit=10**8,
                          concurrent_limit=100, app_minute_limit=10**8)
        started = time.perf_counter()
        tenant = generate_organisation(sandbox.store, "Benchmark Pty Ltd",
                                       invoices=args.invoices, bank_transactions=args.bank,
                                       manual_journals=args.journals)
        print(f"generate {args.invoices:,} invoices, {args.bank:,} bank transactions, "
              f"{args.journals:,} journals: {time.perf_counter() - started:.1f} s")
        sandbox.identity.connect(tenant)
        url = sandbox.start()
        books = str(folder / "books")
        out = sys.stdout
        figures: dict[str, Any] = {}
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (the CLI's own output is noise here)
            run("init", books)
            run("connect", "--sandbox", url, "--tenant", tenant, "--workspace", books)
            figures["pull"] = run("pull", "--quiet", "--workspace", books)
            sandbox.reset_counters()
            figures["bas_first"] = (*run("bas", "--workspace", books), calls(sandbox))
            figures["sync"] = run("sync", "--quiet", "--workspace", books)
            sandbox.reset_counters()
            figures["bas_after_sync"] = (*run("bas", "--workspace", books), calls(sandbox))
            sandbox.reset_counters()
            figures["offline"] = (*run("bas", "--offline", "--workspace", books),
                                  calls(sandbox))
        finally:
            sys.stdout.close()
            sys.stdout = out
            sandbox.close()
    code, seconds = figures["pull"]
    print(f"pull (setup): exit {code}, {seconds:.1f} s CPU")
    for name, label in (("bas_first", "first `xsync bas` (reads every endpoint whole)"),
                        ("bas_after_sync", "`xsync bas` right after a sync"),
                        ("offline", "`xsync bas --offline`")):
        code, seconds, (total, endpoints) = figures[name]
        shown = ", ".join(f"{k} {v}" for k, v in sorted(endpoints.items()))
        print(f"{label}: exit {code}, {seconds:.2f} s CPU, {total} calls ({shown or 'none'})")


if __name__ == "__main__":
    main()
