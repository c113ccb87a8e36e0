"""What `xsync connect --status` reports: the connection's facts, never a token."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from xsync.cli import session
from xsync.config import Workspace
from xsync.errors import AuthError, XsyncError
from xsync.xero.tokens import EnvOverrides, TokenStore


def connection_status(
    workspace: Workspace,
    *,
    warn: Callable[[str], None] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any]:
    """The connection as plain data. Calls left today come from the last reply seen, or from one
    `GET /Organisation` when no reading is stored (which also names a custom connection's org)."""
    conn = session.load_connection(workspace)
    if conn is None:
        return {"connected": False, "workspace": str(workspace.root)}
    client_id = EnvOverrides.read().client_id or conn.client_id
    store = TokenStore(workspace.root, client_id, warn=warn)
    try:
        tokens = store.load()
    except AuthError as exc:
        return {**_facts(workspace, conn), "token": f"unreadable: {exc}; run `xsync connect` "
                "again", "error": f"{type(exc).__name__}: {exc}"}
    info = _facts(workspace, conn)
    info["token_expires_at"] = _iso(tokens.expires_at) if tokens else None
    info["token_store"] = "file" if store.file.exists() else ("keyring" if tokens else None)
    info["token"] = (
        f"access token valid until {info['token_expires_at']} (kept in the {info['token_store']})"
        if tokens else "none stored"
    )
    limits = session.load_limits(workspace, conn.tenant_id)
    if limits is None or limits.get("day_remaining") is None or not conn.tenant_name:
        _ask_xero(workspace, info, warn, transport)
        limits = session.load_limits(workspace, conn.tenant_id)
    if limits is not None:
        info["calls_left_today"] = limits.get("day_remaining")
        info["calls_left_seen_at"] = limits.get("seen_at")
    return info


def _facts(workspace: Workspace, conn: session.Connection) -> dict[str, Any]:
    """What the state database and the settings say of the connection (no token, no call)."""
    return {
        "connected": True,
        "workspace": str(workspace.root),
        "organisation": conn.tenant_name,
        "tenant_id": conn.tenant_id,
        "auth_mode": conn.auth_mode,
        "client_id": conn.client_id,
        "scopes": conn.scopes,
        "api_url": session.endpoints_for(workspace.settings().xero, conn).api_url,
        "connected_at": conn.connected_at,
        "token_expires_at": None,
        "token_store": None,
        "calls_left_today": None,
        "calls_left_seen_at": None,
    }


def _ask_xero(
    workspace: Workspace,
    info: dict[str, Any],
    warn: Callable[[str], None] | None,
    transport: httpx.BaseTransport | None,
) -> None:
    try:
        with session.open_client(workspace, warn=warn, transport=transport) as client:
            orgs = client.get("Organisation").get("Organisations") or [{}]
    except XsyncError as exc:
        info["error"] = f"{type(exc).__name__}: {exc}"
        return
    if not info["organisation"]:
        info["organisation"] = orgs[0].get("Name")
    tokens = TokenStore(workspace.root, info["client_id"]).load()
    if tokens is not None:
        info["token_expires_at"] = _iso(tokens.expires_at)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")
