"""The e2e test world: the CLI, the accountant in Xero, the team in ops.db."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from xsync.cli.app import main
from xsync.sandbox.app import ORG_NAMES, Sandbox
from xsync.sandbox.clock import Clock
from xsync.sandbox.store import Store
from xsync.xero.tls import tls_context


@dataclass
class Result:
    code: int
    out: str
    err: str


class Accountant:
    """Changes made in Xero through its API, as Xero's own screens would make them."""

    def __init__(self, sandbox: Sandbox, base_url: str) -> None:
        tenant = sandbox.tenant_ids[0]
        token = sandbox.client_credentials_token(tenant)
        self.http = httpx.Client(
            base_url=base_url + "/api.xro/2.0", verify=tls_context(),
            headers={"Authorization": f"Bearer {token}", "xero-tenant-id": tenant,
                     "Accept": "application/json"},
        )

    def call(self, method: str, path: str, body: Any = None, **params: str) -> Any:
        reply = self.http.request(method, path, json=body, params=params or None)
        assert reply.status_code < 400, f"{method} {path}: {reply.status_code} {reply.text}"
        return reply.json()

    def invoices(self, **params: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            batch = self.call("GET", "/Invoices", page=str(page), pageSize="1000",
                              **params)["Invoices"]
            found += batch
            if len(batch) < 1000:
                return found
            page += 1

    def invoice(self, number: str) -> dict[str, Any]:
        found = self.invoices(InvoiceNumbers=number)
        assert len(found) == 1, f"{len(found)} invoices numbered {number} in Xero"
        return found[0]

    def contacts(self, **params: str) -> list[dict[str, Any]]:
        return self.call("GET", "/Contacts", page="1", includeArchived="true",
                         **params)["Contacts"]

    def contact(self, name: str) -> dict[str, Any]:
        found = [c for c in self.contacts() if c["Name"] == name]
        assert len(found) == 1, f"{len(found)} contacts named {name} in Xero"
        return found[0]

    def pay(self, invoice: dict[str, Any], amount: Any, day: str = "2026-11-24") -> None:
        self.call("PUT", "/Payments", {"Payments": [{
            "Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Account": {"Code": "090"},
            "Date": day, "Amount": amount, "Reference": "EFT"}]})

    def update_invoice(self, invoice: dict[str, Any], **fields: Any) -> dict[str, Any]:
        body = {"Invoices": [{"InvoiceID": invoice["InvoiceID"], **fields}]}
        return self.call("POST", f"/Invoices/{invoice['InvoiceID']}", body)["Invoices"][0]

    def edit_first_line(self, invoice: dict[str, Any], *, other: dict[str, Any] | None = None,
                        **line: Any) -> dict[str, Any]:
        """Change the first line of ``invoice`` (keeping every line by its id), and ``other``
        invoice fields with it."""
        lines: list[dict[str, Any]] = [{"LineItemID": ln["LineItemID"]}
                                       for ln in invoice["LineItems"]]
        lines[0].update(line)
        return self.update_invoice(invoice, LineItems=lines, **(other or {}))

    def update_contact(self, contact: dict[str, Any], **fields: Any) -> None:
        body = {"Contacts": [{"ContactID": contact["ContactID"], **fields}]}
        self.call("POST", f"/Contacts/{contact['ContactID']}", body)

    def close(self) -> None:
        self.http.close()


class Ops:
    """The operations team, editing ops.db directly as their platform would."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def execute(self, sql: str, params: Any = ()) -> None:
        conn = sqlite3.connect(self.path)
        with conn:
            conn.execute(sql, params)
        conn.close()

    def script(self, sql: str) -> None:
        conn = sqlite3.connect(self.path)
        with conn:
            # one edit of the platform's, in one transaction
            conn.executescript(f"BEGIN;\n{sql}\n;COMMIT;")
        conn.close()

    def rows(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        conn = sqlite3.connect(self.path)
        conn.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in conn.execute(sql, params)]
        finally:
            conn.close()

    def one(self, sql: str, params: Any = ()) -> dict[str, Any]:
        found = self.rows(sql, params)
        assert len(found) == 1, f"{len(found)} rows for {sql} {params}"
        return found[0]


class World:
    def __init__(self, sandbox: Sandbox, url: str, root: Path,
                 capsys: pytest.CaptureFixture[str]) -> None:
        self.sandbox = sandbox
        self.url = url
        self.root = root
        self.capsys = capsys
        self.xero = Accountant(sandbox, url)
        self.ops = Ops(root / "ops.db")

    def setup(self, extra_config: str = "") -> None:
        assert self.run("init", str(self.root)).code == 0
        if extra_config:
            self.configure(extra_config)
        result = self.run("connect", "--sandbox", self.url)
        assert result.code == 0, result.err

    def configure(self, toml_text: str) -> None:
        """Replace whole tables of xsync.toml (TOML forbids a table twice)."""
        path = self.root / "xsync.toml"
        redefined = {ln.strip() for ln in toml_text.splitlines() if ln.strip().startswith("[")}
        kept, skipping = [], False
        for line in path.read_text().splitlines():
            if line.startswith("["):
                skipping = line.strip() in redefined
            if not skipping:
                kept.append(line)
        path.write_text("\n".join(kept) + "\n" + toml_text + "\n")

    def run(self, *args: str) -> Result:
        # A minute passes between commands, as between a person's commands: each starts with
        # a fresh Xero minute window (the sandbox keeps Xero's 60 calls a minute).
        self.advance(61)
        self.capsys.readouterr()
        code = 0
        try:
            main([*args, *self._workspace_flag(args)])
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def _workspace_flag(self, args: tuple[str, ...]) -> list[str]:
        if (args and args[0] in ("init",)) or (len(args) > 1 and args[0] == "sandbox"):
            return []
        return ["--workspace", str(self.root)]

    def advance(self, seconds: float = 60) -> None:
        self.sandbox.advance_clock(seconds)

    def close(self) -> None:
        self.xero.close()


def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Xero client retries and backoff run as in production, without their real waits."""
    import functools

    import xsync.cli.session as session

    monkeypatch.setattr(session, "open_client",
                        functools.partial(session.open_client, sleep=lambda _s: None))


def run_json(world: World, *args: str) -> tuple[int, dict[str, Any]]:
    """Run a command with `--json`: its exit code and its parsed output."""
    import json

    result = world.run(*args, "--json")
    try:
        return result.code, json.loads(result.out)
    except ValueError:
        raise AssertionError(
            f"{args}: exit {result.code}, not JSON: {result.out}{result.err}") from None


PYTHON_TEXT = ("Traceback", "invalid literal", "KeyError", "sqlite3", "ValueError",
               "InvalidOperation", "decimal.")


def assert_plain_words(text: str) -> None:
    """A reason meant for people carries no Python exception text."""
    for word in PYTHON_TEXT:
        assert word not in text, f"{word!r} in {text!r}"


_DEMO_STORES: dict[datetime, Store] = {}


def demo_store(clock: Clock) -> Store:
    """A fresh in-memory store holding the demo organisation as seeded at the clock's instant:
    seeded once per process and copied (SQLite's backup) for each world, since seeding costs
    more than most tests' own work. Every world gets its own copy; none sees another's."""
    instant = clock.now()
    template = _DEMO_STORES.get(instant)
    if template is None:
        template = _DEMO_STORES[instant] = Store(None)
        template.create_organisation(ORG_NAMES["demo"], seed="demo", clock=clock)
    copy = Store(None)
    with template.lock:
        template.conn.backup(copy.conn)
    return copy


def live_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
               capsys: pytest.CaptureFixture[str]) -> Iterator[World]:
    """A sandbox on loopback with the demo organisation on a pinned clock, and a workspace
    connected to it, with no keyring and no stray xsync variables from the environment."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setenv("COLUMNS", "200")
    for name in ("XSYNC_WORKSPACE", "XSYNC_CLIENT_ID", "XSYNC_CLIENT_SECRET",
                 "XSYNC_ACCESS_TOKEN", "XSYNC_REFRESH_TOKEN", "XSYNC_TENANT_ID"):
        monkeypatch.delenv(name, raising=False)
    clock = Clock(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    with Sandbox(seed="demo", clock=clock, store=demo_store(clock)) as sandbox:
        url = sandbox.start("127.0.0.1", 0)
        world = World(sandbox, url, tmp_path / "books", capsys)
        world.setup()
        yield world
        world.close()


def spawn(world: World, *args: str) -> subprocess.Popen[str]:
    """`xsync ARGS` as its own process on the world's workspace."""
    env = {**os.environ, "XSYNC_WORKSPACE": str(world.root)}
    return subprocess.Popen([sys.executable, "-m", "xsync", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def kill(proc: subprocess.Popen[str]) -> None:
    """SIGKILL: no handler runs, no lock is released, nothing is flushed."""
    try:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def kill_while_held(world: World, match: str, *args: str) -> None:
    """Run `xsync ARGS` as a process, hold its first call matching ``match`` inside Xero, kill
    it there (SIGKILL), then let Xero carry the held call out: its reply is lost."""
    world.sandbox.set_faults(hold=True, match=match)
    proc = spawn(world, *args)
    try:
        assert world.sandbox.faults.wait_held(1, timeout=60), f"the run never made {match}"
    finally:
        kill(proc)
    world.sandbox.clear_faults()
    # the released call goes on in the sandbox's thread: what it writes is there once it is done
    import time

    deadline = time.monotonic() + 30
    tenant = world.sandbox.tenant_ids[0]
    while world.sandbox.limiter.in_flight(tenant) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not world.sandbox.limiter.in_flight(tenant), f"{match} never finished in the sandbox"
