"""Fixtures of the sandbox API tests (their helpers are in api_helpers)."""

from __future__ import annotations

import pytest
from api_helpers import START, Client

from xsync.sandbox.api import AccountingApi
from xsync.sandbox.clock import Clock
from xsync.sandbox.store import Store


@pytest.fixture
def clock() -> Clock:
    return Clock(start=START)


@pytest.fixture
def store() -> Store:
    s = Store()
    yield s  # type: ignore[misc]
    s.close()


@pytest.fixture
def client(store: Store, clock: Clock) -> Client:
    tenant = store.create_organisation("Test Co", seed="empty", clock=clock)
    return Client(AccountingApi(store, clock), tenant)


@pytest.fixture
def demo(store: Store, clock: Clock) -> Client:
    tenant = store.create_organisation("Demo Co", seed="demo", clock=clock)
    return Client(AccountingApi(store, clock), tenant)
