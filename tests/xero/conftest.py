"""Fixtures for the Xero client tests: a scripted fake Xero, a fake clock, an in-memory keyring."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import keyring
import pytest
from keyring.backend import KeyringBackend
from xero_fakes import API

from xsync.xero.client import StaticTokens, XeroClient


class FakeClock:
    """A monotonic clock that moves only when the client sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeXero:
    """An httpx handler: records every request and answers from ``respond``."""

    def __init__(self, respond: Callable[[httpx.Request], httpx.Response]) -> None:
        self.respond = respond
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.respond(request)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(clock: FakeClock) -> Callable[..., tuple[XeroClient, FakeXero]]:
    clients: list[XeroClient] = []

    def build(
        respond: Callable[[httpx.Request], httpx.Response], **kw: Any
    ) -> tuple[XeroClient, FakeXero]:
        fake = FakeXero(respond)
        options: dict[str, Any] = {
            "api_url": API, "tenant_id": "tenant-1", "tokens": StaticTokens("tok-123"),
            "transport": httpx.MockTransport(fake), "sleep": clock.sleep, "clock": clock,
        }
        options.update(kw)
        client = XeroClient(**options)
        clients.append(client)
        return client, fake

    yield build
    for c in clients:
        c.close()


class MemoryKeyring(KeyringBackend):
    """A keyring that keeps passwords in a dict."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.items.pop((service, username), None)


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    previous = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(previous)


@pytest.fixture
def fail_keyring() -> None:
    from keyring.backends.fail import Keyring as Fail

    previous = keyring.get_keyring()
    keyring.set_keyring(Fail())
    yield
    keyring.set_keyring(previous)
