"""Fixtures of the CLI tests (their helpers are in cli_helpers)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import Cli

from xsync.cli.app import main


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Iterator[Cli]:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    # output goes to a pipe, as under cron: no terminal width to fold at
    monkeypatch.delenv("COLUMNS", raising=False)
    for name in ("XSYNC_WORKSPACE", "XSYNC_CLIENT_ID", "XSYNC_CLIENT_SECRET",
                 "XSYNC_ACCESS_TOKEN", "XSYNC_REFRESH_TOKEN", "XSYNC_TENANT_ID"):
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "books"
    try:
        main(["init", str(root)])
    except SystemExit as exc:
        assert not exc.code
    yield Cli(root, capsys)
