"""Torture fixtures: the e2e world (real CLI, sandbox on loopback, accountant and ops team),
with runs that may be killed or started side by side as separate processes."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The torture runs drive the same world as the e2e tests; share its helpers rather than copy them.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "e2e"))

from e2e_helpers import World, live_world


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
          capsys: pytest.CaptureFixture[str]) -> Iterator[World]:
    yield from live_world(tmp_path, monkeypatch, capsys)
