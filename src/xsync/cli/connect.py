"""`xsync connect` and `xsync disconnect`: sign a workspace in to one Xero organisation, or out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from xsync.cli.console import console, err_console

if TYPE_CHECKING:
    from collections.abc import Sequence

    from xsync.config import Workspace
    from xsync.xero.login import Tenant
    from xsync.xero.oauth import Endpoints

WORKSPACE_HELP = "Workspace folder (default: $XSYNC_WORKSPACE, then the current directory)."


def connect(
    workspace: Path | None = typer.Option(None, "--workspace", help=WORKSPACE_HELP),
    client_id: str | None = typer.Option(
        None, "--client-id", help="The Xero app's client id (or $XSYNC_CLIENT_ID)."),
    client_secret: str | None = typer.Option(
        None, "--client-secret", help="The app's client secret (or $XSYNC_CLIENT_SECRET)."),
    client_credentials: bool = typer.Option(
        False, "--client-credentials",
        help="Use a custom connection (client credentials): no browser, natural for cron."),
    sandbox: str | None = typer.Option(
        None, "--sandbox", metavar="URL",
        help="Connect to a running `xsync sandbox serve` at URL instead of Xero."),
    tenant: str | None = typer.Option(
        None, "--tenant", metavar="NAME|ID", help="The organisation to sync, by name or id."),
    no_browser: bool = typer.Option(
        False, "--no-browser", help="Print the sign-in URL instead of opening a browser."),
    legacy_scopes: bool = typer.Option(
        False, "--legacy-scopes",
        help="Ask for the broad scopes (accounting.transactions) of apps made before March 2026."),
    port: int | None = typer.Option(
        None, "--port", help="Loopback port for the redirect (default: xsync.toml redirect_port)."),
    status: bool = typer.Option(
        False, "--status", help="Show the current connection instead of connecting."),
    as_json: bool = typer.Option(False, "--json", help="With --status: print JSON."),
) -> None:
    """Connect this workspace to a Xero organisation (OAuth2 with PKCE, or client credentials).

    Tokens go to the OS keyring (or a private tokens.json in the workspace when there is none);
    the state database keeps only the organisation, URLs, client id, scopes and auth mode.
    """
    from xsync.config import LEGACY_SCOPES, find_workspace

    ws = find_workspace(workspace)
    if status:
        _show_status(ws, as_json)
        return
    from xsync.xero.oauth import Endpoints

    settings = ws.settings().xero
    endpoints = Endpoints.sandbox(sandbox) if sandbox else Endpoints(
        api_url=settings.api_url, authorize_url=settings.authorize_url,
        token_url=settings.token_url, revocation_url=settings.revocation_url,
        connections_url=settings.connections_url,
    )
    scopes = LEGACY_SCOPES if legacy_scopes else settings.scopes
    cid, secret = _credentials(client_id, client_secret, sandbox=bool(sandbox),
                               need_secret=client_credentials)
    chosen_port = port if port is not None else (0 if sandbox else settings.redirect_port)
    _connect(ws, endpoints, cid, secret, scopes=scopes, client_credentials=client_credentials,
             follow=bool(sandbox), no_browser=no_browser, port=chosen_port, tenant=tenant)


def _credentials(
    flag_id: str | None, flag_secret: str | None, *, sandbox: bool, need_secret: bool
) -> tuple[str, str | None]:
    from xsync.errors import UsageError
    from xsync.xero.login import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
    from xsync.xero.tokens import EnvOverrides

    env = EnvOverrides.read()
    cid = flag_id or env.client_id
    secret = flag_secret or env.client_secret
    if cid is None and sandbox:
        cid, secret = SANDBOX_CLIENT_ID, secret or SANDBOX_CLIENT_SECRET
    interactive = sys.stdin.isatty()
    if cid is None:
        if not interactive:
            raise UsageError("no client id: pass --client-id or set XSYNC_CLIENT_ID")
        cid = typer.prompt("Xero app client id")
    if need_secret and not secret:
        if not interactive:
            raise UsageError("client credentials need a secret: pass --client-secret or set "
                             "XSYNC_CLIENT_SECRET")
        secret = typer.prompt("Xero app client secret", hide_input=True)
    return cid, secret


def _connect(
    ws: Workspace, endpoints: Endpoints, cid: str, secret: str | None, *, scopes: str,
    client_credentials: bool, follow: bool, no_browser: bool, port: int, tenant: str | None,
) -> None:
    from dataclasses import replace
    from datetime import UTC, datetime

    from xsync.cli import session
    from xsync.xero import login
    from xsync.xero.oauth import OAuthClient
    from xsync.xero.tokens import TokenStore

    oauth = OAuthClient(endpoints, cid, secret)
    try:
        if client_credentials:
            tokens = oauth.client_credentials()
            mode = session.CLIENT_CREDENTIALS
        else:
            # --no-browser wins over following a sandbox's page: the user pastes the answer
            opener = _print_url if no_browser else (None if follow else _open_browser)
            tokens = login.pkce_login(oauth, scopes=scopes, port=port, open_url=opener,
                                      pasted=_read_pasted if no_browser else None)
            mode = session.PKCE
        tokens = replace(tokens, client_secret=secret)
        chosen = _pick_tenant(oauth, tokens.access_token, tenant, client_credentials)
    finally:
        oauth.close()
    where = TokenStore(ws.root, cid, warn=_warn).save(tokens)
    session.save_connection(ws, session.Connection(
        tenant_id=chosen.id if chosen else None, tenant_name=chosen.name if chosen else None,
        connection_id=chosen.connection_id if chosen else None, auth_mode=mode, client_id=cid,
        scopes=tokens.scope or scopes, api_url=endpoints.api_url,
        authorize_url=endpoints.authorize_url, token_url=endpoints.token_url,
        revocation_url=endpoints.revocation_url, connections_url=endpoints.connections_url,
        connected_at=datetime.now(UTC).isoformat(timespec="seconds"),
    ))
    name = f"{chosen.name} ({chosen.id})" if chosen else "the custom connection's organisation"
    console.print(f"Connected {ws.root} to {name}; tokens kept in the {where}.", markup=False)


def _pick_tenant(oauth: Any, access_token: str, wanted: str | None,
                 client_credentials: bool) -> Tenant | None:
    from xsync.errors import XeroError
    from xsync.xero import login

    try:
        tenants = login.list_tenants(oauth, access_token)
    except XeroError:
        if client_credentials:
            return None  # a custom connection needs no tenant header
        raise
    if client_credentials and not tenants:
        return None
    ask = _ask_tenant if sys.stdin.isatty() else None
    return login.choose_tenant(tenants, wanted, ask)


def _ask_tenant(tenants: Sequence[Tenant]) -> Tenant:
    for number, t in enumerate(tenants, 1):
        err_console.print(f"  {number}. {t.name} ({t.id})", markup=False)
    while True:
        choice = typer.prompt("Organisation to sync (number)", type=int)
        if 1 <= choice <= len(tenants):
            return tenants[choice - 1]


def _open_browser(url: str) -> None:
    import webbrowser

    err_console.print("Opening Xero's sign-in page in your browser. If it does not open, visit:")
    err_console.print(url, soft_wrap=True)
    webbrowser.open(url)


def _print_url(url: str) -> None:
    err_console.print("Visit this URL to let xsync use your Xero organisation:")
    err_console.print(url, soft_wrap=True, markup=False)
    err_console.print("After you allow access, your browser is sent to "
                      "http://localhost:.../callback (on another machine that page does not "
                      "load: that is fine). Paste that address from the browser's address bar "
                      "here, or just its code, and press Enter:", markup=False)


def _read_pasted() -> str | None:
    """One line from stdin, or None at its end (nothing will be pasted)."""
    line = sys.stdin.readline()
    return line if line else None


def _warn(message: str) -> None:
    from rich.markup import escape

    err_console.print(f"[yellow]warning:[/] {escape(message)}")


def _show_status(ws: Workspace, as_json: bool) -> None:
    from xsync.cli.connection_status import connection_status

    info = connection_status(ws, warn=_warn)
    if as_json:
        from xsync.cli.render import print_json

        print_json(console, info)
        return
    if not info["connected"]:
        console.print("Not connected. Run `xsync connect`.")
        return
    console.print(f"Organisation: {info['organisation']} ({info['tenant_id']})", markup=False)
    console.print(f"Auth mode:    {info['auth_mode']} (client {info['client_id']})", markup=False)
    console.print(f"Scopes:       {info['scopes']}", markup=False)
    console.print(f"API:          {info['api_url']}", markup=False)
    console.print(f"Token:        {info['token']}", markup=False)
    console.print(f"Calls left today: {info['calls_left_today']}", markup=False)


def disconnect(
    workspace: Path | None = typer.Option(None, "--workspace", help=WORKSPACE_HELP),
) -> None:
    """Disconnect from Xero: remove the organisation's connection, revoke and forget the tokens."""
    from rich.markup import escape

    from xsync.cli import session
    from xsync.config import find_workspace
    from xsync.errors import XsyncError
    from xsync.xero.tokens import EnvOverrides, TokenStore

    ws = find_workspace(workspace)
    conn = session.load_connection(ws)
    if conn is None:
        console.print("This workspace is not connected; nothing to do.")
        return
    try:
        manager = session.token_manager(ws, conn, warn=_warn)
    except XsyncError as exc:
        # unreadable tokens cannot be revoked, and must not keep the workspace connected
        err_console.print(f"[yellow]warning:[/] {escape(str(exc))}; they are forgotten without "
                          "revoking.", highlight=False)
    else:
        try:
            _revoke(conn, manager)
        except XsyncError as exc:
            err_console.print(f"[yellow]warning:[/] Xero did not confirm the disconnection "
                              f"({escape(str(exc))}); the local tokens are forgotten anyway.")
        finally:
            manager.oauth.close()
    client_id = EnvOverrides.read().client_id or conn.client_id
    TokenStore(ws.root, client_id).forget()
    session.clear_connection(ws)
    console.print(f"Disconnected {ws.root} from {conn.tenant_name or 'Xero'}; tokens forgotten.",
                  markup=False)


def _revoke(conn: Any, manager: Any) -> None:
    """Remove the organisation's connection, then revoke the grant.

    An access token Xero says has expired (its clock, not ours, decides) is refreshed once and
    the removal sent again; a removal that still fails does not stop the revocation, which
    removes the user's connections as well.
    """
    from xsync.errors import XeroNotFound, XeroUnauthorized, XsyncError

    tokens = manager.current()
    if tokens is None:
        return
    failed: XsyncError | None = None
    if conn.connection_id and conn.auth_mode != "client_credentials":
        token = manager.access_token()
        try:
            try:
                manager.oauth.delete_connection(token, conn.connection_id)
            except XeroUnauthorized:
                manager.oauth.delete_connection(manager.refresh_after_rejection(token),
                                                conn.connection_id)
        except XeroNotFound:
            pass  # already removed (in Xero's screens, or by an earlier disconnect)
        except XsyncError as exc:
            failed = exc
    current = manager.current()
    if current is not None and current.refresh_token:
        manager.oauth.revoke(current.refresh_token)
    if failed is not None:
        raise failed


def register(app: typer.Typer) -> None:
    app.command("connect")(connect)
    app.command("disconnect")(disconnect)
