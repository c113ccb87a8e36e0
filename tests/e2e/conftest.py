"""End-to-end fixtures: a live sandbox, a connected workspace, and the two people who edit.

`world.run("sync")` runs the real CLI in-process and returns its exit code and output;
`world.xero` is the accountant working in Xero (through the sandbox's API); `world.ops` is the
operations team editing `ops.db`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
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
