"""Signing a workspace in to Xero: the PKCE loopback flow, client credentials, picking a tenant.

Invariants: the `state` sent to the authorisation page must come back unchanged, or nothing is
exchanged (a pasted bare code carries no state: the PKCE verifier, known only to this process,
binds it to this sign-in); a tenant is picked explicitly (flag, a single organisation, or the
user's answer), never by guessing among several.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from xsync.errors import OAuthError, TenantChoiceNeeded, UsageError
from xsync.xero.loopback import LoopbackServer
from xsync.xero.oauth import OAuthClient, TokenSet, make_pkce

SANDBOX_CLIENT_ID = "xsync-sandbox-client"
SANDBOX_CLIENT_SECRET = "xsync-sandbox-secret"


@dataclass(frozen=True)
class Tenant:
    """One row of `GET /connections`."""

    id: str
    name: str
    connection_id: str | None
    kind: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Tenant:
        return cls(
            id=str(row.get("tenantId") or ""),
            name=str(row.get("tenantName") or ""),
            connection_id=row.get("id"),
            kind=row.get("tenantType"),
        )


def pkce_login(
    oauth: OAuthClient,
    *,
    scopes: str,
    port: int,
    open_url: Callable[[str], None] | None,
    timeout: float = 300.0,
    pasted: Callable[[], str | None] | None = None,
) -> TokenSet:
    """Run the authorisation-code flow with PKCE through a loopback redirect.

    ``open_url`` shows the authorisation page to the user (browser or printed URL); ``None``
    means xsync visits the page itself and follows the redirect (the sandbox consents at once).
    ``pasted``, when given, reads the answer the user pastes (the address the browser was sent
    to, or the bare code) while the loopback keeps listening: the first of the two counts.
    """
    verifier, challenge = make_pkce()
    state = secrets.token_urlsafe(24)
    with LoopbackServer(port) as server:
        url = oauth.authorize_url(
            redirect_uri=server.redirect_uri, scopes=scopes, state=state, challenge=challenge
        )
        if open_url is None:
            oauth.follow_authorize(url)
        else:
            open_url(url)
        if pasted is not None:
            _read_pasted(server, pasted, state)
        params = server.wait(timeout)
    if params.get("error") == "unreadable_paste":
        raise OAuthError(params.get("_message", "the pasted text could not be read"),
                         error="no_code")
    if not secrets.compare_digest(params.get("state", ""), state):
        raise OAuthError("the authorisation answer did not carry our state; nothing was exchanged",
                         error="state_mismatch")
    if params.get("error"):
        raise OAuthError(f"Xero refused the authorisation ({params['error']})",
                         error=params["error"])
    code = params.get("code")
    if not code:
        raise OAuthError("the authorisation answer carried no code", error="no_code")
    return oauth.exchange_code(code, redirect_uri=server.redirect_uri, code_verifier=verifier)


def parse_pasted(text: str, state: str) -> dict[str, str]:
    """The answer in what the user pasted: a redirect URL or its query (``code`` and ``state``,
    or ``error``), else a bare code, which carries no state and so is given ours."""
    text = text.strip()
    if not text:
        raise OAuthError("nothing was pasted; nothing was exchanged", error="no_code")
    query = urlsplit(text).query if "://" in text or text.startswith("/") else text
    if "=" in query:
        return dict(parse_qsl(query.lstrip("?")))
    if any(ch.isspace() for ch in text) or "/" in text:
        raise OAuthError("the pasted text is neither the address Xero sent the browser to nor a "
                         "code; nothing was exchanged", error="no_code")
    return {"code": text, "state": state}


def _read_pasted(server: LoopbackServer, pasted: Callable[[], str | None], state: str) -> None:
    """Read one pasted line beside the loopback; a line that cannot be used is the answer too,
    so that the login fails at once, naming it, instead of waiting out the timeout."""

    def read() -> None:
        line = pasted()
        if line is None:  # no input at all: the loopback alone may still answer
            return
        try:
            params = parse_pasted(line, state)
        except OAuthError as exc:
            params = {"error": "unreadable_paste", "_message": exc.message}
        server.offer(params)

    threading.Thread(target=read, daemon=True, name="xsync-paste").start()


def list_tenants(oauth: OAuthClient, access_token: str) -> list[Tenant]:
    return [Tenant.from_row(row) for row in oauth.connections(access_token) if row.get("tenantId")]


def choose_tenant(
    tenants: Sequence[Tenant],
    wanted: str | None,
    ask: Callable[[Sequence[Tenant]], Tenant] | None,
) -> Tenant:
    """The tenant named by ``wanted`` (name or id), the only one, or the user's choice."""
    if wanted:
        folded = wanted.strip().casefold()
        hits = [t for t in tenants if t.id.casefold() == folded or t.name.casefold() == folded]
        if len(hits) == 1:
            return hits[0]
        raise TenantChoiceNeeded(
            f"no single organisation matches {wanted!r}",
            tenants=[(t.name, t.id) for t in tenants],
        )
    if len(tenants) == 1:
        return tenants[0]
    if not tenants:
        raise UsageError("the sign-in gave access to no organisation")
    if ask is not None:
        return ask(tenants)
    names = "; ".join(f"{t.name} ({t.id})" for t in tenants)
    raise TenantChoiceNeeded(
        f"several organisations are connected: {names}",
        tenants=[(t.name, t.id) for t in tenants],
    )
