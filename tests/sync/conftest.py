"""Fixtures of the sync tests: a fresh world (both sides, state, clock) per test."""

from __future__ import annotations

import pytest
from syncworld import World


@pytest.fixture
def world() -> World:
    return World()
