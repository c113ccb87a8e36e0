"""A run that finds the workspace held by another run says who holds it, and exits 8."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from cli_helpers import Cli

from xsync.sandbox.app import Sandbox
from xsync.sandbox.clock import Clock


@pytest.fixture
def connected(cli: Cli) -> Iterator[Cli]:
    with Sandbox(seed="empty", clock=Clock(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))) as sandbox:
        url = sandbox.start("127.0.0.1", 0)
        result = cli("connect", "--sandbox", url)
        assert result.code == 0, result.err
        yield cli


def test_a_held_workspace_is_exit_8_with_its_owner_and_the_next_step(connected: Cli) -> None:
    # a live process of this host holds the lock, with a fresh heartbeat
    now = datetime.now(UTC).isoformat()
    connected.execute(
        "INSERT INTO run_lock (id, token, pid, host, acquired_at, heartbeat_at) "
        "VALUES (1, 'another-run', ?, ?, ?, ?)", [os.getpid(), socket.gethostname(), now, now])
    result = connected("sync")
    assert result.code == 8, result.err
    assert "holds" in result.err and "workspace" in result.err
    assert f"pid {os.getpid()}" in result.err
    assert "--wait" in result.err
    assert "unexpected" not in result.err.lower() and "Traceback" not in result.err
