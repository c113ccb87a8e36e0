"""End-to-end fixtures: a live sandbox, a connected workspace, and the two people who edit.

`world.run("sync")` runs the real CLI in-process and returns its exit code and output;
`world.xero` is the accountant working in Xero (through the sandbox's API); `world.ops` is the
operations team editing `ops.db`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_helpers import World, live_world


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
          capsys: pytest.CaptureFixture[str]) -> Iterator[World]:
    yield from live_world(tmp_path, monkeypatch, capsys)
