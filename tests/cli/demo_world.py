"""The demo's world, made the same every time: `xsync init --example` connected to the sandbox's
demo company on a pinned clock, its first sync done, then one change by the accountant in Xero
and a few by the team in ops.db, one of them clashing with the accountant's."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from xsync.cli.app import main
from xsync.sandbox.app import Sandbox
from xsync.sandbox.clock import Clock

START = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@dataclass
class Shown:
    code: int
    out: str
    err: str


class DemoWorld:
    def __init__(self, sandbox: Sandbox, url: str, root: Path,
                 capsys: pytest.CaptureFixture[str]) -> None:
        self.sandbox = sandbox
        self.url = url
        self.root = root
        self.capsys = capsys

    def run(self, *args: str) -> Shown:
        self.sandbox.advance_clock(61)  # a minute between a person's commands
        self.capsys.readouterr()
        code = 0
        try:
            main([*args, "--workspace", str(self.root)] if args[0] != "init" else list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = self.capsys.readouterr()
        return Shown(code, captured.out, captured.err)

    def xero(self, method: str, path: str, body: Any = None, **params: str) -> Any:
        tenant = self.sandbox.tenant_ids[0]
        token = self.sandbox.client_credentials_token(tenant)
        reply = httpx.request(method, f"{self.url}/api.xro/2.0{path}", json=body,
                              params=params or None,
                              headers={"Authorization": f"Bearer {token}",
                                       "xero-tenant-id": tenant, "Accept": "application/json"})
        assert reply.status_code < 400, reply.text
        return reply.json()

    def ops(self, sql: str, params: Any = ()) -> None:
        conn = sqlite3.connect(self.root / "ops.db")
        with conn:
            conn.execute(sql, params)
        conn.close()

    def changes(self) -> None:
        """The accountant rewords INV-0013's first line in Xero; the team rewords it too, and
        changes a phone number, in ops."""
        invoice = self.xero("GET", "/Invoices", InvoiceNumbers="INV-0013", page="1")["Invoices"][0]
        lines: list[dict[str, Any]] = [{"LineItemID": ln["LineItemID"]}
                                       for ln in invoice["LineItems"]]
        lines[0]["Description"] = "Consulting - November (accountant)"
        self.xero("POST", f"/Invoices/{invoice['InvoiceID']}",
                  {"Invoices": [{"InvoiceID": invoice["InvoiceID"], "LineItems": lines}]})
        stamp = "2026-11-24T10:30:00Z"
        self.ops("UPDATE contacts SET phone = '02 8000 9999', updated_at = ? WHERE id = 'C-103'",
                 [stamp])
        self.ops("UPDATE invoice_lines SET description = 'Consulting - November (ops)' WHERE id ="
                 " (SELECT l.id FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id "
                 "WHERE i.number = 'INV-0013' ORDER BY l.position LIMIT 1)")
        self.ops("UPDATE invoices SET updated_at = ? WHERE number = 'INV-0013'", [stamp])


@contextmanager
def demo_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
               capsys: pytest.CaptureFixture[str]) -> Iterator[DemoWorld]:
    """The example workspace after its first sync, connected to the pinned demo company."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    for name in ("XSYNC_WORKSPACE", "XSYNC_CLIENT_ID", "XSYNC_CLIENT_SECRET", "COLUMNS",
                 "XSYNC_ACCESS_TOKEN", "XSYNC_REFRESH_TOKEN", "XSYNC_TENANT_ID"):
        monkeypatch.delenv(name, raising=False)
    with Sandbox(seed="demo", clock=Clock(START)) as sandbox:
        url = sandbox.start("127.0.0.1", 0)
        world = DemoWorld(sandbox, url, tmp_path / "books", capsys)
        assert world.run("init", "--example", str(world.root)).code == 0
        connected = world.run("connect", "--sandbox", url)
        assert connected.code == 0, connected.err
        first = world.run("sync")
        assert first.code == 0, first.out + first.err
        yield world
