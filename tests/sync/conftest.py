"""Fixtures of the sync tests: a fresh world (both sides, state, clock) per test."""

from __future__ import annotations

import pytest
from syncworld import World


@pytest.fixture(params=["changed rows", "every row"])
def world(request: pytest.FixtureRequest) -> World:
    """Both kinds of ops side: one that lists only changed rows (as ops.db does, so that the
    quiet and changed-row paths run), and a plugin side that lists every row."""
    return World(changed_scans=request.param == "changed rows")
