"""A workspace's connection to Xero: the non-secret facts in the state database, and a ready client.

The state database's `connection` row holds only facts that are safe to read: tenant, URLs, client
id, scopes, auth mode. Tokens and secrets live in the token store (:mod:`.tokens`).

Where Xero lives is decided on every run by :func:`endpoints_for`: a `[xero]` URL that xsync.toml
sets to something other than Xero's own wins; otherwise a connection made with `--sandbox` keeps
the sandbox's URLs, and any other workspace uses Xero's (the URLs stored at connect time only say
where the tokens came from).

`XSYNC_CLIENT_ID` chooses the app (and so the token-store entry), `XSYNC_CLIENT_SECRET` replaces a
stored secret, `XSYNC_TENANT_ID` the stored tenant, and `XSYNC_ACCESS_TOKEN` every stored token:
with both of the last two a workspace needs no stored connection at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any

import httpx

from xsync.config import Workspace, XeroSettings
from xsync.errors import NotConnected
from xsync.sync import books as state_connection
from xsync.xero.client import StaticTokens, TokenProvider, XeroClient
from xsync.xero.limits import LimitState
from xsync.xero.oauth import Endpoints, OAuthClient
from xsync.xero.tokens import EnvOverrides, TokenManager, TokenStore

PKCE = "pkce"
CLIENT_CREDENTIALS = "client_credentials"


@dataclass
class Connection:
    """The `connection` row: which organisation, where its Xero lives, how xsync signs in."""

    tenant_id: str | None
    tenant_name: str | None
    connection_id: str | None
    auth_mode: str
    client_id: str
    scopes: str
    api_url: str
    authorize_url: str
    token_url: str
    revocation_url: str
    connections_url: str
    connected_at: str

    @property
    def endpoints(self) -> Endpoints:
        return Endpoints(
            api_url=self.api_url, authorize_url=self.authorize_url, token_url=self.token_url,
            revocation_url=self.revocation_url, connections_url=self.connections_url,
        )


URL_FIELDS = ("api_url", "authorize_url", "token_url", "revocation_url", "connections_url")
SANDBOX_API_PATH = "/api.xro/2.0"


def is_sandbox_layout(endpoints: Endpoints) -> bool:
    """Whether every URL sits on one base the way `xsync sandbox serve` lays them out."""
    api = endpoints.api_url.rstrip("/")
    if not api.endswith(SANDBOX_API_PATH):
        return False
    return Endpoints.sandbox(api[: -len(SANDBOX_API_PATH)]) == endpoints


def endpoints_for(settings: XeroSettings, connection: Connection | None) -> Endpoints:
    """Where Xero lives for this run (see the module docstring)."""
    defaults = XeroSettings()
    stored = connection.endpoints if connection is not None else None
    base = stored if stored is not None and is_sandbox_layout(stored) else Endpoints()
    chosen = {}
    for name in URL_FIELDS:
        value = getattr(settings, name)
        # The template `xsync init` writes spells Xero's own URLs out, so that value is no choice
        # of the user's and must not pull a sandbox connection over to Xero.
        overridden = name in settings.model_fields_set and value != getattr(defaults, name)
        chosen[name] = value if overridden else getattr(base, name)
    return Endpoints(**chosen)


def _xero_settings(workspace: Workspace) -> XeroSettings:
    if not workspace.config_path.exists():
        return XeroSettings()
    return workspace.settings().xero


def load_connection(workspace: Workspace) -> Connection | None:
    row = state_connection.load_connection(workspace.state_path)
    if row is None:
        return None
    names = {f.name for f in fields(Connection)}
    return Connection(**{k: v for k, v in row.items() if k in names})


def save_connection(workspace: Workspace, connection: Connection) -> None:
    state_connection.save_connection(workspace.state_path, asdict(connection))


def clear_connection(workspace: Workspace) -> None:
    state_connection.clear_connection(workspace.state_path)


def save_limits(workspace: Workspace, tenant_id: str | None, limits: LimitState) -> None:
    """Record the last readings; advisory, so a busy database is skipped, never waited on."""
    if limits.observed_at is None:
        return
    state_connection.save_limits(workspace.state_path, tenant_id, limits.day_remaining,
                                 limits.minute_remaining, limits.app_minute_remaining,
                                 datetime.now(UTC).isoformat(timespec="seconds"))


def load_limits(workspace: Workspace, tenant_id: str | None) -> dict[str, Any] | None:
    return state_connection.load_limits(workspace.state_path, tenant_id)


def token_manager(
    workspace: Workspace,
    connection: Connection,
    *,
    env: EnvOverrides | None = None,
    transport: httpx.BaseTransport | None = None,
    warn: Callable[[str], None] | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    settings: XeroSettings | None = None,
) -> TokenManager:
    """The token manager for a connected workspace (refreshing through this run's identity URLs).

    Raises :class:`~xsync.errors.AuthError` when the stored tokens cannot be read.
    """
    env = env or EnvOverrides.read()
    client_id = env.client_id or connection.client_id
    store = TokenStore(workspace.root, client_id, warn=warn)
    stored = store.load()
    secret = env.client_secret or (stored.client_secret if stored else None)
    endpoints = endpoints_for(settings or _xero_settings(workspace), connection)
    oauth = OAuthClient(endpoints, client_id, secret, transport=transport, clock=clock,
                        sleep=sleep)
    return TokenManager(
        store, oauth,
        client_credentials=connection.auth_mode == CLIENT_CREDENTIALS,
        env_refresh_token=env.refresh_token,
        clock=clock,
    )


def open_client(
    workspace: Workspace,
    *,
    environ: Mapping[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], float] = time.time,
    warn: Callable[[str], None] | None = None,
    **client_options: Any,
) -> XeroClient:
    """A ready :class:`XeroClient` for the workspace's organisation.

    Raises :class:`~xsync.errors.NotConnected` if the workspace was never connected and the
    environment does not give both `XSYNC_ACCESS_TOKEN` and `XSYNC_TENANT_ID`, and
    :class:`~xsync.errors.AuthError` if the stored tokens cannot be read. The last rate-limit
    readings are saved when the client closes.
    """
    env = EnvOverrides.read(environ)
    settings = _xero_settings(workspace)
    connection = load_connection(workspace)
    if connection is None and not (env.access_token and env.tenant_id):
        raise NotConnected("this workspace is not connected to Xero", path=str(workspace.root))
    tokens: TokenProvider
    if env.access_token:
        tokens = StaticTokens(env.access_token)
    else:
        assert connection is not None
        manager = token_manager(workspace, connection, env=env, transport=transport,
                                warn=warn, clock=wall_clock, sleep=sleep, settings=settings)
        if manager.current() is None and not manager.client_credentials:
            raise NotConnected("no Xero tokens are stored for this workspace",
                               path=str(workspace.root))
        tokens = manager
    tenant_id = env.tenant_id or (connection.tenant_id if connection else None)
    client = XeroClient(
        api_url=endpoints_for(settings, connection).api_url, tenant_id=tenant_id, tokens=tokens,
        transport=transport, sleep=sleep, clock=clock,
        on_close=lambda limits: save_limits(workspace, tenant_id, limits),
        **client_options,
    )
    return client
