"""The contract tests' one Prism process, shared by the whole session (it takes ~30 s to start)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prism_harness import Prism, running_prism


@pytest.fixture(scope="session")
def prism() -> Iterator[Prism]:
    with running_prism() as server:
        yield server
