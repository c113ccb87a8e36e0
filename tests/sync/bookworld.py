"""A large organisation in the in-process sandbox, synced with the real ops store.

The engine runs over the SQLite ops store and the Xero side over the sandbox; one clock (the
sandbox's) is the engine's, Xero's and the ops platform's. ``Books.wire`` records every request.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx

from xsync.sandbox.app import Sandbox
from xsync.sandbox.clock import Clock
from xsync.sandbox.generate import generate_organisation
from xsync.sides.ops_sqlite import SqliteOpsStore
from xsync.sides.xero import XeroSide
from xsync.state.db import open_state
from xsync.sync import Engine, default_rules
from xsync.sync.plan import RunResult
from xsync.xero.client import StaticTokens, XeroClient

START = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
BASE = "http://sandbox.test"


class Recording(httpx.BaseTransport):
    """Every request the Xero client sends, as (method, path, query)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.sent: list[tuple[str, str, dict[str, str]]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.method, request.url.path.rsplit("/", 1)[-1],
                          dict(request.url.params)))
        return self.inner.handle_request(request)


class Books:
    """``micro``: the platform stamps its changes to the microsecond, as xsync stamps the rows
    it writes on a real clock (else in whole seconds, as many platforms do)."""

    def __init__(self, folder: Path, invoices: int, micro: bool = False) -> None:
        self.micro = micro
        self.sandbox = Sandbox(seed="empty", clock=Clock(START), minute_limit=100_000,
                               day_limit=1_000_000)
        self.tenant = generate_organisation(self.sandbox.store, "Large Pty Ltd",
                                            invoices=invoices, clock=self.sandbox.clock)
        self.sandbox.identity.connect(self.tenant)
        token = self.sandbox.client_credentials_token(self.tenant)
        self.wire = Recording(httpx.WSGITransport(app=self.sandbox.app))
        self.http = httpx.Client(transport=httpx.WSGITransport(app=self.sandbox.app),
                                 base_url=BASE + "/api.xro/2.0",
                                 headers={"Authorization": f"Bearer {token}",
                                          "xero-tenant-id": self.tenant})
        client = XeroClient(api_url=BASE + "/api.xro/2.0", tenant_id=self.tenant,
                            tokens=StaticTokens(token), transport=self.wire,
                            sleep=self.sandbox.advance_clock,
                            clock=lambda: self.sandbox.now().timestamp())
        # the platform's clock and the engine's are the same one here, as on a real machine
        self.ops = SqliteOpsStore(folder / "ops.db", now=self.stamp)
        self.engine = Engine(open_state(folder / "state.db"), self.ops, XeroSide(client),
                             default_rules(), now=self.sandbox.now)

    def stamp(self) -> str:
        """Now, as the ops platform stamps a change."""
        if self.micro:
            return self.sandbox.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return self.sandbox.now().strftime("%Y-%m-%dT%H:%M:%SZ")

    def cycle(self, mode: str = "sync") -> int:
        return int(self.run(mode).exit_code)

    def run(self, mode: str = "sync") -> RunResult:
        # two minutes pass between cycles, well past the If-Modified-Since overlap (and well
        # within the access token's half hour)
        self.sandbox.advance_clock(120)
        self.wire.sent.clear()
        return self.engine.run(mode)

    def reads(self) -> Counter[str]:
        """GETs per entity read (invoices and bills share /Invoices, told apart by Type)."""
        return Counter(f"{path} {query.get('where', '')}".strip()
                       for method, path, query in self.wire.sent if method == "GET")

    def by_id(self) -> list[str]:
        return [i for method, _, query in self.wire.sent if method == "GET"
                for i in query.get("IDs", "").split(",") if i]

    def delete_drafts(self, count: int) -> None:
        """Delete ``count`` draft invoices in Xero, ten seconds apart (a round's worth each)."""
        drafts = self.http.get("/Invoices", params={
            "where": 'Type=="ACCREC" AND Status=="DRAFT"'}).json()["Invoices"]
        assert len(drafts) >= count, len(drafts)
        for invoice in drafts[:count]:
            self.sandbox.advance_clock(10)
            reply = self.http.post(f"/Invoices/{invoice['InvoiceID']}", json={"Invoices": [{
                "InvoiceID": invoice["InvoiceID"], "Status": "DELETED"}]})
            assert reply.status_code == 200, reply.text
