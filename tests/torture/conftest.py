"""Torture fixtures: the e2e world (real CLI, sandbox on loopback, accountant and ops team),
with runs that may be killed or started side by side as separate processes."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

# The torture runs drive the same world as the e2e tests; share its helpers rather than copy them.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "e2e"))

from e2e_helpers import World

from xsync.sandbox.app import Sandbox
from xsync.sandbox.clock import Clock

PINNED = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
          capsys: pytest.CaptureFixture[str]) -> Iterator[World]:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setenv("COLUMNS", "200")
    for name in ("XSYNC_WORKSPACE", "XSYNC_CLIENT_ID", "XSYNC_CLIENT_SECRET",
                 "XSYNC_ACCESS_TOKEN", "XSYNC_REFRESH_TOKEN", "XSYNC_TENANT_ID"):
        monkeypatch.delenv(name, raising=False)
    with Sandbox(seed="demo", clock=Clock(PINNED)) as sandbox:
        url = sandbox.start("127.0.0.1", 0)
        w = World(sandbox, url, tmp_path / "books", capsys)
        w.setup()
        yield w
        w.close()
