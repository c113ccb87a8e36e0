"""`xsync connect` / `disconnect` end to end against a live sandbox."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xsync.cli.app import main
from xsync.config import Workspace

pytest.importorskip("xsync.sandbox.app")


@pytest.fixture
def sandbox():
    from xsync.sandbox.app import Sandbox

    sb = Sandbox()
    sb.start()
    yield sb
    sb.close()


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    for name in ("XSYNC_CLIENT_ID", "XSYNC_CLIENT_SECRET", "XSYNC_ACCESS_TOKEN",
                 "XSYNC_REFRESH_TOKEN", "XSYNC_TENANT_ID", "XSYNC_WORKSPACE"):
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "ws"
    main(["init", str(root)])
    return root


def run(capsys, *argv: str) -> tuple[str, str]:
    capsys.readouterr()
    main(list(argv))
    captured = capsys.readouterr()
    return captured.out, captured.err


def test_connect_then_status_names_the_organisation(sandbox, workspace, capsys, memory_keyring):
    out, _ = run(capsys, "connect", "--workspace", str(workspace), "--sandbox", sandbox.base_url)
    assert "Demo Company (AU)" in out and "keyring" in out
    out, _ = run(capsys, "connect", "--status", "--json", "--workspace", str(workspace))
    status = json.loads(out)
    assert status["organisation"] == "Demo Company (AU)"
    assert status["tenant_id"] == sandbox.tenant_ids[0]
    assert status["auth_mode"] == "pkce" and status["api_url"].startswith(sandbox.base_url)
    assert status["calls_left_today"] == 4999  # one cheap call to /Organisation
    [entry] = memory_keyring.items.values()
    tokens = json.loads(entry)
    assert tokens["access_token"] not in out and tokens["refresh_token"] not in out
    out, _ = run(capsys, "connect", "--status", "--workspace", str(workspace))
    assert "Demo Company (AU)" in out and tokens["access_token"] not in out


def test_connect_with_fail_keyring_uses_private_file(sandbox, workspace, capsys, fail_keyring):
    _, err = run(capsys, "connect", "--workspace", str(workspace), "--sandbox", sandbox.base_url)
    path = workspace / "tokens.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert err.count("No usable OS keyring") == 1
    _, err = run(capsys, "connect", "--workspace", str(workspace), "--sandbox", sandbox.base_url)
    assert "No usable OS keyring" not in err
    from xsync.cli.session import open_client

    with open_client(Workspace(workspace)) as client:
        assert client.get("Organisation")["Organisations"][0]["Name"] == "Demo Company (AU)"


def test_tenant_must_be_chosen_among_several(sandbox, workspace, capsys, memory_keyring):
    sandbox.add_organisation("Second Org")
    with pytest.raises(SystemExit) as caught:
        main(["connect", "--workspace", str(workspace), "--sandbox", sandbox.base_url])
    assert caught.value.code == 2
    assert "Second Org" in capsys.readouterr().err
    out, _ = run(capsys, "connect", "--workspace", str(workspace), "--sandbox", sandbox.base_url,
                 "--tenant", "second org")
    assert "Second Org" in out


def test_client_credentials(sandbox, workspace, capsys, memory_keyring):
    out, _ = run(capsys, "connect", "--workspace", str(workspace), "--sandbox", sandbox.base_url,
                 "--client-credentials")
    assert "Connected" in out
    from xsync.cli.session import open_client

    with open_client(Workspace(workspace)) as client:
        assert client.get("Organisation")["Organisations"]


def test_disconnect_revokes_and_forgets(sandbox, workspace, capsys, memory_keyring):
    run(capsys, "connect", "--workspace", str(workspace), "--sandbox", sandbox.base_url)
    stored = json.loads(next(iter(memory_keyring.items.values())))
    out, _ = run(capsys, "disconnect", "--workspace", str(workspace))
    assert "Disconnected" in out and memory_keyring.items == {}
    from xsync.cli.session import open_client
    from xsync.errors import NotConnected

    with pytest.raises(NotConnected):
        open_client(Workspace(workspace))
    from xsync.sandbox.identity import Bearer

    bearer = Bearer(None, None, "xsync-sandbox-client", "", 0)
    assert sandbox.identity.connections(bearer) == []
    assert stored["refresh_token"]


def test_missing_workspace_names_init(tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["connect", "--status", "--workspace", str(tmp_path / "nowhere")])
    assert caught.value.code == 2 and "xsync init" in capsys.readouterr().err


CHILD = """
import sys, time
from pathlib import Path
from xsync.config import Workspace
from xsync.cli.session import open_client
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.005)
with open_client(Workspace(Path(sys.argv[1]))) as client:
    print(client.get("Organisation")["Organisations"][0]["Name"])
"""


def test_two_processes_refresh_at_once(sandbox, workspace, capsys, fail_keyring, tmp_path):
    run(capsys, "connect", "--workspace", str(workspace), "--sandbox", sandbox.base_url)
    token_file = workspace / "tokens.json"
    before = json.loads(token_file.read_text())
    sandbox.advance_clock(1790)  # the access token has 10 s left on Xero's side
    before["expires_at"] = time.time() + 10  # and on ours
    token_file.write_text(json.dumps(before))
    go = tmp_path / "go"
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    children = [subprocess.Popen([sys.executable, "-c", CHILD, str(workspace), str(go)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
                for _ in range(2)]
    go.touch()
    outputs = [c.communicate(timeout=60) for c in children]
    assert [c.returncode for c in children] == [0, 0], outputs
    assert all(o.strip() == "Demo Company (AU)" for o, _ in outputs)
    after = json.loads(token_file.read_text())
    assert after["refresh_token"] != before["refresh_token"]
    sandbox.advance_clock(1800 * 3)  # far past the grace of the replaced refresh token
    from xsync.cli.session import open_client

    with open_client(Workspace(workspace)) as client:
        assert client.get("Organisation")["Organisations"]
    assert json.loads(token_file.read_text())["refresh_token"] != after["refresh_token"]


def test_cli_source_never_imports_the_sandbox():
    src = Path(__file__).resolve().parents[2] / "src" / "xsync"
    for path in [*(src / "xero").glob("*.py"), src / "cli" / "connect.py"]:
        assert "xsync.sandbox" not in path.read_text(), path
