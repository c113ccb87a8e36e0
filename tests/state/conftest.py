"""Fixtures of the state database tests: a world whose state database is a file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from stateworld import StateWorld


@pytest.fixture
def world(tmp_path: Path) -> Iterator[StateWorld]:
    w = StateWorld(tmp_path / "state.db")
    yield w
    w.close()
