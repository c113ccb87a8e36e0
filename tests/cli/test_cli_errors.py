"""The error boundary: each failure names what happened and the next command, with its code."""

from __future__ import annotations

from pathlib import Path

import pytest

from xsync.cli.app import main


def run(*args: str) -> int:
    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_missing_workspace_names_xsync_init(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("XSYNC_WORKSPACE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert run("sync") == 2
    err = capsys.readouterr().err
    assert "no xsync workspace" in err and "xsync init" in err


def test_not_connected_exits_6_and_names_xsync_connect(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    for name in ("XSYNC_ACCESS_TOKEN", "XSYNC_REFRESH_TOKEN", "XSYNC_WORKSPACE"):
        monkeypatch.delenv(name, raising=False)
    assert run("init", str(tmp_path / "ws")) == 0
    capsys.readouterr()
    assert run("pull", "--workspace", str(tmp_path / "ws")) == 6
    err = capsys.readouterr().err
    assert "not connected" in err and "xsync connect" in err


def test_bad_config_is_a_usage_error_naming_the_key(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("init", str(tmp_path / "ws")) == 0
    config = tmp_path / "ws" / "xsync.toml"
    config.write_text(config.read_text().replace('default_policy = "latest"',
                                                 'default_policy = "newest"'))
    capsys.readouterr()
    assert run("diff", "--workspace", str(tmp_path / "ws")) == 2
    err = capsys.readouterr().err
    assert "sync.default_policy" in err


def test_unknown_entity_is_a_usage_error(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert run("init", str(tmp_path / "ws")) == 0
    assert run("pull", "--workspace", str(tmp_path / "ws"), "--entity", "quotes") == 2
    assert "quotes" in capsys.readouterr().err
