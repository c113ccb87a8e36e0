"""`xsync connect --no-browser` over SSH: the user pastes the redirect address (or its code);
`xsync disconnect` with an access token Xero already calls expired."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from xsync.cli.app import main
from xsync.sandbox.app import Sandbox
from xsync.sandbox.clock import Clock


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(clock=Clock(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))) as sb:
        sb.start("127.0.0.1", 0)
        yield sb


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("XSYNC_CLIENT_ID", "XSYNC_CLIENT_SECRET", "XSYNC_ACCESS_TOKEN",
                 "XSYNC_REFRESH_TOKEN", "XSYNC_TENANT_ID", "XSYNC_WORKSPACE"):
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "ws"
    main(["init", str(root)])
    return root


class Paste:
    """stdin as a person at an SSH prompt: they open the printed URL in a browser elsewhere,
    and paste what ``edit`` makes of the address the browser was sent to."""

    def __init__(self, edit: Callable[[str], str]) -> None:
        self.edit = edit
        self.url: str | None = None
        self.shown = threading.Event()

    def show(self, url: str) -> None:
        self.url = url
        self.shown.set()

    def isatty(self) -> bool:
        return False  # piped, as in a script: nothing else is asked

    def readline(self) -> str:
        assert self.shown.wait(10), "no sign-in URL was printed"
        assert self.url
        reply = httpx.get(self.url, follow_redirects=False)
        assert reply.status_code == 302
        return self.edit(reply.headers["location"]) + "\n"


def connect_pasting(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                    sandbox: Sandbox, workspace: Path,
                    edit: Callable[[str], str]) -> tuple[int, str, str, Paste]:
    import xsync.cli.connect as connect_cli

    paste = Paste(edit)
    printed = connect_cli._print_url

    def show(url: str) -> None:
        printed(url)
        paste.show(url)

    monkeypatch.setattr(connect_cli, "_print_url", show)
    monkeypatch.setattr("sys.stdin", paste)
    capsys.readouterr()
    try:
        main(["connect", "--workspace", str(workspace), "--sandbox", str(sandbox.base_url),
              "--no-browser"])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err, paste


def _query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def _with_state(url: str, state: str) -> str:
    parts = urlsplit(url)
    query = {**_query(url), "state": state}
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def test_pasted_redirect_address_connects(sandbox, workspace, capsys, monkeypatch,
                                          memory_keyring) -> None:
    code, out, err, paste = connect_pasting(monkeypatch, capsys, sandbox, workspace,
                                            lambda location: location)
    assert code == 0, err
    assert "Connected" in out and "Demo Company (AU)" in out
    assert paste.url and paste.url in err and "Paste" in err
    [stored] = memory_keyring.items.values()
    assert json.loads(stored)["refresh_token"] not in out + err


def test_pasted_bare_code_connects(sandbox, workspace, capsys, monkeypatch,
                                   memory_keyring) -> None:
    code, out, err, _ = connect_pasting(monkeypatch, capsys, sandbox, workspace,
                                        lambda location: "  " + _query(location)["code"] + " ")
    assert code == 0, err
    assert "Connected" in out


def test_pasted_address_with_another_state_is_refused(sandbox, workspace, capsys, monkeypatch,
                                                      memory_keyring) -> None:
    code, out, err, _ = connect_pasting(monkeypatch, capsys, sandbox, workspace,
                                        lambda location: _with_state(location, "forged"))
    assert code == 6
    assert "state" in err and "nothing was exchanged" in err
    assert memory_keyring.items == {} and "Connected" not in out


def test_pasted_nonsense_fails_at_once_naming_it(sandbox, workspace, capsys, monkeypatch,
                                                 memory_keyring) -> None:
    code, _, err, _ = connect_pasting(monkeypatch, capsys, sandbox, workspace,
                                      lambda _location: "I clicked allow")
    assert code == 6 and "neither the address" in err
    assert memory_keyring.items == {}


def test_disconnect_refreshes_an_expired_token_then_revokes(sandbox, workspace, capsys,
                                                            memory_keyring) -> None:
    main(["connect", "--workspace", str(workspace), "--sandbox", str(sandbox.base_url)])
    grants = "SELECT revoked FROM identity_grants"
    assert [r[0] for r in sandbox.store.conn.execute(grants)] == [0]
    sandbox.advance_clock(1801)  # Xero's clock: the access token is past its 30 minutes
    capsys.readouterr()
    main(["disconnect", "--workspace", str(workspace)])
    captured = capsys.readouterr()
    assert "Disconnected" in captured.out
    assert "did not confirm" not in captured.err, captured.err
    assert [r[0] for r in sandbox.store.conn.execute(grants)] == [1]
    connections = sandbox.store.conn.execute("SELECT COUNT(*) FROM identity_connections")
    assert connections.fetchone()[0] == 0
    assert memory_keyring.items == {}
