"""Where a run finds Xero and its tokens: xsync.toml's `[xero]` URLs on every run, the
environment's token without any stored connection, and unreadable token stores named, not
crashed on."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
from xero_fakes import reply

from xsync.cli import session
from xsync.cli.app import main
from xsync.config import Workspace, parse_settings
from xsync.errors import AuthError, NotConnected
from xsync.xero.oauth import Endpoints, TokenSet
from xsync.xero.tokens import TokenStore

XERO_API = "https://api.xero.com/api.xro/2.0"
OLD = "http://old-sandbox.test"
ENV_NAMES = ("XSYNC_CLIENT_ID", "XSYNC_CLIENT_SECRET", "XSYNC_ACCESS_TOKEN",
             "XSYNC_REFRESH_TOKEN", "XSYNC_TENANT_ID", "XSYNC_WORKSPACE")


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "ws"
    main(["init", str(root)])
    return Workspace(root)


def connect_row(ws: Workspace, endpoints: Endpoints, mode: str = session.PKCE) -> None:
    session.save_connection(ws, session.Connection(
        tenant_id="tenant-1", tenant_name="Org", connection_id="conn-1", auth_mode=mode,
        client_id="cid", scopes="offline_access", api_url=endpoints.api_url,
        authorize_url=endpoints.authorize_url, token_url=endpoints.token_url,
        revocation_url=endpoints.revocation_url, connections_url=endpoints.connections_url,
        connected_at=datetime.now(UTC).isoformat(),
    ))


def set_xero(ws: Workspace, **urls: str) -> None:
    lines = "".join(f'{k} = "{v}"\n' for k, v in urls.items())
    text = ws.config_path.read_text()
    start = text.index("[xero]\n") + len("[xero]\n")
    ws.config_path.write_text(text[:start] + lines + _without(text[start:], urls))


def _without(text: str, urls: dict[str, str]) -> str:
    return "".join(line for line in text.splitlines(keepends=True)
                   if line.split("=")[0].strip() not in urls)


class Recorder:
    def __init__(self) -> None:
        self.urls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "new-access", "expires_in": 1800,
                                             "refresh_token": "new-refresh"})
        return reply(body={"Organisations": [{"Name": "Org"}]})


# -- [xero] URLs ---------------------------------------------------------------------------------


def test_xero_toml_urls_win_on_every_run_over_the_stored_ones(workspace, memory_keyring):
    connect_row(workspace, Endpoints.sandbox(OLD))
    TokenStore(workspace.root, "cid").save(TokenSet("expired", 0.0, "refresh"))
    set_xero(workspace, api_url="http://proxy.test/api.xro/2.0",
             token_url="http://identity-proxy.test/connect/token")
    recorder = Recorder()
    with session.open_client(workspace, environ={}, transport=httpx.MockTransport(recorder),
                             sleep=lambda s: None) as client:
        client.get("Organisation")
    assert recorder.urls == ["http://identity-proxy.test/connect/token",
                             "http://proxy.test/api.xro/2.0/Organisation"]


def test_a_sandbox_connection_keeps_its_urls_under_the_default_template(workspace):
    # `xsync init` writes Xero's own URLs out in full: that is no choice of the user's
    assert 'api_url = "https://api.xero.com/api.xro/2.0"' in workspace.config_path.read_text()
    connect_row(workspace, Endpoints.sandbox(OLD))
    chosen = session.endpoints_for(workspace.settings().xero, session.load_connection(workspace))
    assert chosen == Endpoints.sandbox(OLD)


def test_urls_stored_at_connect_do_not_outlive_their_setting(workspace):
    """Connected through a proxy set in xsync.toml, then the setting removed: Xero again."""
    proxied = Endpoints(api_url="http://proxy.test/api.xro/2.0")
    connect_row(workspace, proxied)
    chosen = session.endpoints_for(workspace.settings().xero, session.load_connection(workspace))
    assert chosen == Endpoints()


@pytest.mark.parametrize("name", session.URL_FIELDS)
def test_each_xero_url_setting_takes_effect(name):
    settings = parse_settings(f'[xero]\n{name} = "http://set.test/{name}"\n').xero
    for connection_endpoints in (Endpoints(), Endpoints.sandbox(OLD)):
        row = _row(connection_endpoints)
        chosen = session.endpoints_for(settings, row)
        assert getattr(chosen, name) == f"http://set.test/{name}"
        others = [n for n in session.URL_FIELDS if n != name]
        assert all(getattr(chosen, n) == getattr(connection_endpoints, n) for n in others)


def _row(endpoints: Endpoints) -> session.Connection:
    return session.Connection(
        tenant_id="t", tenant_name=None, connection_id=None, auth_mode=session.PKCE,
        client_id="cid", scopes="", api_url=endpoints.api_url,
        authorize_url=endpoints.authorize_url, token_url=endpoints.token_url,
        revocation_url=endpoints.revocation_url, connections_url=endpoints.connections_url,
        connected_at="",
    )


def test_connect_status_shows_the_url_this_run_uses(workspace, memory_keyring):
    connect_row(workspace, Endpoints.sandbox(OLD))
    from xsync.xero.limits import LimitState

    # a stored reading of the limits spares the status its call to Xero
    session.save_limits(workspace, "tenant-1", LimitState(day_remaining=10, observed_at=1.0))
    set_xero(workspace, api_url="http://proxy.test/api.xro/2.0")
    from xsync.cli.connection_status import connection_status

    assert connection_status(workspace)["api_url"] == "http://proxy.test/api.xro/2.0"


# -- XSYNC_ACCESS_TOKEN + XSYNC_TENANT_ID -------------------------------------------------------


def test_access_token_and_tenant_need_no_stored_connection(workspace):
    assert session.load_connection(workspace) is None
    seen: list[httpx.Request] = []

    def respond(request):
        seen.append(request)
        return reply(body={"Organisations": [{"Name": "Org"}]})

    env = {"XSYNC_ACCESS_TOKEN": "env-access", "XSYNC_TENANT_ID": "env-tenant"}
    with session.open_client(workspace, environ=env,
                             transport=httpx.MockTransport(respond)) as client:
        client.get("Organisation")
    [request] = seen
    assert str(request.url) == f"{XERO_API}/Organisation"
    assert request.headers["authorization"] == "Bearer env-access"
    assert request.headers["xero-tenant-id"] == "env-tenant"


def test_access_token_without_a_connection_uses_the_toml_api_url(workspace):
    set_xero(workspace, api_url="http://mock.test/api.xro/2.0")
    seen: list[str] = []

    def respond(request):
        seen.append(str(request.url))
        return reply(body={})

    env = {"XSYNC_ACCESS_TOKEN": "a", "XSYNC_TENANT_ID": "t"}
    with session.open_client(workspace, environ=env,
                             transport=httpx.MockTransport(respond)) as client:
        client.get("Organisation")
    assert seen == ["http://mock.test/api.xro/2.0/Organisation"]


def test_access_token_without_tenant_or_connection_is_not_connected(workspace):
    with pytest.raises(NotConnected):
        session.open_client(workspace, environ={"XSYNC_ACCESS_TOKEN": "a"})


# -- unreadable token stores ---------------------------------------------------------------------

JUNK = [
    "not json at all \x00 secret-refresh-value",
    "[1, 2, 3]",
    "{}",
    '{"access_token": 5, "expires_at": 1}',
    '{"access_token": "a", "expires_at": "tomorrow"}',
    '{"access_token": "a", "refresh_token": ["r"]}',
]


@pytest.mark.parametrize("junk", JUNK)
def test_a_garbage_tokens_file_is_named_never_a_traceback(tmp_path, fail_keyring, junk):
    (tmp_path / "tokens.json").write_text(junk)
    with pytest.raises(AuthError) as caught:
        TokenStore(tmp_path, "cid").load()
    assert caught.value.exit_code == 6
    assert str(tmp_path / "tokens.json") in str(caught.value)
    assert "xsync connect" in caught.value.hint
    assert "secret-refresh-value" not in str(caught.value)


def test_a_tokens_file_of_binary_junk_is_named(tmp_path, fail_keyring):
    (tmp_path / "tokens.json").write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(AuthError) as caught:
        TokenStore(tmp_path, "cid").load()
    assert "tokens.json" in str(caught.value)


def test_a_garbage_keyring_entry_is_named(tmp_path, memory_keyring):
    store = TokenStore(tmp_path, "cid")
    memory_keyring.set_password("xsync", store.username, "{{ garbage secret-refresh-value")
    with pytest.raises(AuthError) as caught:
        store.load()
    assert "keyring" in str(caught.value) and store.username in str(caught.value)
    assert "secret-refresh-value" not in str(caught.value)


def test_pull_with_a_garbage_tokens_file_exits_6_naming_it(workspace, fail_keyring, capsys):
    connect_row(workspace, Endpoints.sandbox(OLD))
    path = workspace.root / "tokens.json"
    path.write_text('{"access_token": ')  # truncated mid-write
    capsys.readouterr()
    with pytest.raises(SystemExit) as caught:
        main(["pull", "--workspace", str(workspace.root)])
    err = capsys.readouterr().err
    assert caught.value.code == 6
    assert "tokens.json" in err and "xsync connect" in err and "Traceback" not in err


def test_status_and_disconnect_with_a_garbage_tokens_file(workspace, fail_keyring, capsys):
    connect_row(workspace, Endpoints.sandbox(OLD))
    path = workspace.root / "tokens.json"
    path.write_text("garbage")
    capsys.readouterr()
    main(["connect", "--status", "--json", "--workspace", str(workspace.root)])
    status = json.loads(capsys.readouterr().out)
    assert "unreadable" in status["token"] and "xsync connect" in status["token"]
    main(["disconnect", "--workspace", str(workspace.root)])
    captured = capsys.readouterr()
    assert "Disconnected" in captured.out and "tokens.json" in captured.err
    assert not path.exists() and session.load_connection(workspace) is None


@pytest.mark.parametrize("bad", ["api.xero.com/api.xro/2.0", "ftp://x.test/token", "http://"])
def test_a_xero_url_that_is_no_url_is_a_configuration_error(bad):
    from xsync.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        parse_settings(f'[xero]\ntoken_url = "{bad}"\n')
    assert caught.value.exit_code == 2 and "xero.token_url" in str(caught.value)


def test_pull_with_only_the_environment_and_toml_against_the_sandbox(
        workspace, monkeypatch, capsys):
    """A never-connected workspace, as a CI job would run it: token and tenant from the
    environment, the API from xsync.toml."""
    from xsync.sandbox.app import Sandbox

    with Sandbox() as sandbox:
        sandbox.start()
        set_xero(workspace, api_url=sandbox.base_url + "/api.xro/2.0")
        monkeypatch.setenv("XSYNC_ACCESS_TOKEN", sandbox.grant_tokens()["access_token"])
        monkeypatch.setenv("XSYNC_TENANT_ID", sandbox.tenant_ids[0])
        capsys.readouterr()
        main(["pull", "--workspace", str(workspace.root)])  # returns only on exit 0
        pulled = capsys.readouterr().out
    assert session.load_connection(workspace) is None
    import sqlite3

    ops = sqlite3.connect(workspace.root / "ops.db")
    try:
        invoices = ops.execute("SELECT count(*) FROM invoices").fetchone()[0]
    finally:
        ops.close()
    assert invoices > 0, pulled
