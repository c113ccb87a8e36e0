"""Fixtures for the sandbox tests: in-process and live sandboxes on a pinned clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from sandbox_helpers import Live

from xsync.sandbox.app import Sandbox
from xsync.sandbox.clock import Clock

PINNED = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
BASE = "http://sandbox.test"


@pytest.fixture
def clock() -> Clock:
    return Clock(PINNED)


@pytest.fixture
def sleeps() -> list[float]:
    """Every pause the sandbox asked for (latency faults), instead of sleeping."""
    return []


@pytest.fixture
def sandbox(clock: Clock, sleeps: list[float]) -> Iterator[Sandbox]:
    with Sandbox(seed="demo", clock=clock, sleep=sleeps.append) as sb:
        yield sb


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[httpx.Client]:
    transport = httpx.WSGITransport(app=sandbox.app)
    with httpx.Client(transport=transport, base_url=BASE) as http:
        yield http


@pytest.fixture
def tenant(sandbox: Sandbox) -> str:
    return sandbox.tenant_ids[0]


@pytest.fixture
def token(sandbox: Sandbox) -> str:
    return str(sandbox.grant_tokens()["access_token"])


@pytest.fixture
def api(client: httpx.Client, token: str, tenant: str) -> httpx.Client:
    """The in-process client, authorised for the first organisation."""
    client.headers.update({"Authorization": f"Bearer {token}", "xero-tenant-id": tenant,
                           "Accept": "application/json"})
    return client


@pytest.fixture
def live_sandbox(clock: Clock) -> Iterator[Live]:
    with Sandbox(seed="demo", clock=clock) as sb:
        url = sb.start("127.0.0.1", 0)
        yield Live(url, sb)
