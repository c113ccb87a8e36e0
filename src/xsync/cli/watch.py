"""`xsync watch`: receive Xero's webhooks, watch the ops store, and sync both within seconds."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import typer

from xsync.cli.console import console, err_console
from xsync.cli.runner import WORKSPACE_HELP, lenient_gc
from xsync.errors import ExitCode, RunLocked, UsageError

DEFAULT_LISTEN = "127.0.0.1:8750"


def watch(
    workspace: Path | None = typer.Option(None, "--workspace", help=WORKSPACE_HELP),
    listen: str = typer.Option(
        DEFAULT_LISTEN, "--listen", metavar="HOST:PORT",
        help="Where the webhook receiver listens (put your HTTPS reverse proxy in front).",
    ),
    poll: float | None = typer.Option(
        None, "--poll", min=1.0, metavar="SECONDS",
        help="Read what has no webhook this often (default: from the day's call budget).",
    ),
    ops_poll: float = typer.Option(
        5.0, "--ops-poll", min=0.05, metavar="SECONDS",
        help="Check the ops store for changes this often (a change starts a push).",
    ),
    notify_command: str | None = typer.Option(
        None, "--notify-command", metavar="CMD",
        help="Run CMD (a shell command) on new conflicts, rejections, failures and a stop, "
             "with a JSON summary on its standard input.",
    ),
    settle: float = typer.Option(
        1.0, "--settle", min=0.0, metavar="SECONDS",
        help="Gather webhook events this long after the first of a burst, then sync once.",
    ),
    wait: float = typer.Option(
        30.0, "--wait", min=0.0, metavar="SECONDS",
        help="Wait up to this long for another run holding the workspace (else retry later).",
    ),
    store_key: bool = typer.Option(
        False, "--store-key",
        help="Read the webhook key from standard input, keep it in the OS keyring, and exit.",
    ),
) -> None:
    """Sync as changes happen, until SIGTERM or Ctrl-C (the step in flight is finished, exit 0).

    Xero's webhooks are received on /xero/webhooks (key: $XSYNC_WEBHOOK_KEY, else the keyring)
    and synced within seconds; what has no webhook is polled; the ops store is checked every
    --ops-poll seconds and a change is pushed. A guard (5) or a refused grant (6) stops it."""
    from xsync.cli.runtime import load_runtime

    host, port = parse_listen(listen)
    runtime = load_runtime(workspace)
    if store_key:
        _store_key(runtime.workspace.root)
        return
    with lenient_gc():
        code = _watch(runtime, host, port, poll=poll, ops_poll=ops_poll,
                      notify_command=notify_command, settle=settle, wait=wait)
    raise typer.Exit(code)


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UsageError(f"--listen must be HOST:PORT, such as {DEFAULT_LISTEN}, not {text!r}",
                         option="--listen")
    return host, int(port)


def _store_key(root: Path) -> None:
    from xsync.watch.key import ENV, save_key

    if sys.stdin.isatty():
        key = typer.prompt("Webhook key (from Xero's developer portal)", hide_input=True)
    else:
        key = sys.stdin.readline()
    key = key.strip()
    if not key:
        raise UsageError("no webhook key was given on standard input")
    if not save_key(root, key):
        raise UsageError(f"no usable OS keyring here: give the key in {ENV} instead",
                         option="--store-key")
    console.print("The webhook key is kept in the OS keyring for this workspace.")


def _watch(runtime: Any, host: str, port: int, *, poll: float | None, ops_poll: float,
           notify_command: str | None, settle: float, wait: float) -> int:
    from xsync.cli.runtime import open_engine
    from xsync.model.entities import ENTITY_ORDER
    from xsync.sides.xero import reads_per_scan
    from xsync.watch.key import load_key
    from xsync.watch.loop import (
        DAY_CALLS,
        POLL_SHARE,
        UNHOOKED,
        Watcher,
        WatchOptions,
        default_poll,
    )
    from xsync.watch.notify import run_notify
    from xsync.watch.receiver import Receiver
    from xsync.watch.sink import StateSink

    root = runtime.workspace.root
    key, source = load_key(root)
    with open_engine(runtime) as engine:
        other = engine.watcher(datetime.now(UTC))
        if other is not None and other["running"]:
            raise RunLocked(
                f"another xsync watch (pid {other['pid']} on {other['host']}) watches this "
                f"workspace since {other['started_at'][:19]} UTC",
                pid=other["pid"], host=other["host"], since=other["started_at"])
        poll_entities = list(UNHOOKED) if key else None
        polled = poll_entities or list(ENTITY_ORDER)
        interval = poll or default_poll(sum(reads_per_scan(e) for e in polled))
        options = WatchOptions(
            poll=interval, ops_poll=ops_poll, poll_entities=poll_entities, settle=settle,
            lock_wait=wait, tenant_id=getattr(engine.xero.client, "tenant_id", None),
            listen=f"{host}:{port}", workspace=str(root))
        notify = None
        if notify_command:
            def notify(summary: dict[str, Any]) -> None:
                problem = run_notify(notify_command, summary)
                if problem:
                    say(problem)

        probe = _probe(engine)
        watcher = Watcher(engine, options, probe=probe, notify=notify, say=say)
        state_path = runtime.workspace.state_path
        try:
            receiver = Receiver(host, port, key,
                                sink=lambda: StateSink.at(state_path, watcher.health),
                                on_events=watcher.arrived)
        except OSError as exc:
            raise UsageError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); "
                             "pick another --listen", option="--listen") from None
        watcher.receiver_error = lambda: receiver.error
        try:
            receiver.start()
            _banner(receiver.url, source, polled, interval, len(polled) * 86400 / interval,
                    DAY_CALLS, POLL_SHARE, probe is not None, ops_poll)
            with _stop_on_signals(watcher.request_stop):
                code = watcher.run()
        finally:
            receiver.stop()
            if probe is not None and hasattr(probe, "close"):
                probe.close()
    say(f"stopped (exit {code})")
    return code


def _probe(engine: Any) -> Any:
    """The ops side's cheap change check: the SQLite store's own, or a plugin's."""
    from xsync.model.side_changes import SupportsChangedSince
    from xsync.sides.ops_changes import SqliteChangeProbe
    from xsync.sides.ops_sqlite import SqliteOpsStore

    ops = engine.ops
    if isinstance(ops, SqliteOpsStore):
        return SqliteChangeProbe(ops.path)
    if isinstance(ops, SupportsChangedSince):
        return ops
    return None


def _banner(url: str, source: str, polled: list[str], interval: float, calls: float,
            day_calls: int, share: float, probed: bool, ops_poll: float) -> None:
    if source == "none":
        say("No webhook key ($XSYNC_WEBHOOK_KEY or `xsync watch --store-key`): webhooks are "
            f"refused (401) at {url}, and every entity is polled instead.")
    else:
        say(f"Receiving Xero's webhooks at {url} (key from the {source}); health at /healthz")
    say(f"Polling {', '.join(polled)} every {interval:.0f} s: about {calls:,.0f} Xero calls a "
        f"day when idle, within {share:.0%} of the {day_calls:,} a day; every entity once an "
        "hour")
    if probed:
        say(f"Checking the ops store every {ops_poll:g} s; a change is pushed")
    else:
        say("The ops store cannot be checked cheaply: its changes are pushed at each poll")
    say("SIGTERM or Ctrl-C stops after the step in flight")


def say(line: str) -> None:
    stamp = datetime.now(UTC).strftime("%H:%M:%S")
    console.print(f"{stamp} {line}", markup=False, highlight=False)


@contextmanager
def _stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """SIGTERM and Ctrl-C ask for a stop after the step in flight; a second Ctrl-C interrupts
    the step (the next start settles whatever it left)."""
    asked: list[int] = []

    def handler(signum: int, _frame: FrameType | None) -> None:
        if asked and signum == signal.SIGINT:
            raise KeyboardInterrupt
        asked.append(signum)
        err_console.print("stopping after the step in flight (Ctrl-C again interrupts it)")
        stop()

    before = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    except KeyboardInterrupt:
        err_console.print("interrupted inside a step; the next start settles what it left")
        raise typer.Exit(ExitCode.UNEXPECTED) from None
    finally:
        for sig, old in before.items():
            signal.signal(sig, old)


def register(app: typer.Typer) -> None:
    app.command("watch")(watch)
