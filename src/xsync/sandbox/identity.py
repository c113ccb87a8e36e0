"""The sandbox's OAuth2 identity: authorisation codes with PKCE, token grants and connections.

One app (a client id, with a secret for confidential use) and one user. The user approves every
authorisation at once, connecting every organisation; a custom connection (client credentials)
is bound to a single organisation and needs no tenant header.

Invariants:
- Only SHA-256 hashes of codes, access tokens and refresh tokens reach the database; the clear
  values exist only in the replies that hand them out.
- Times are epoch seconds read from the sandbox clock, so tests move time instead of sleeping.
- A refresh token rotates on every use; the replaced token stays usable for ``ROTATION_GRACE``
  seconds, then answers ``invalid_grant``. A refresh token unused for ``REFRESH_LIFETIME`` expires.
- An authorisation code is single-use and lives ``CODE_LIFETIME`` seconds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from xsync.sandbox.clock import Clock

DEFAULT_CLIENT_ID = "xsync-sandbox-client"
DEFAULT_CLIENT_SECRET = "xsync-sandbox-secret"
DEFAULT_SCOPE = (
    "openid profile email offline_access accounting.transactions accounting.contacts "
    "accounting.settings accounting.reports.read"
)
ACCESS_LIFETIME = 1800
CODE_LIFETIME = 300
ROTATION_GRACE = 1800
REFRESH_LIFETIME = 60 * 86400
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS identity_codes (
    code_hash TEXT PRIMARY KEY, client_id TEXT NOT NULL, redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL, challenge TEXT, auth_event_id TEXT NOT NULL,
    expires_at REAL NOT NULL, used INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS identity_grants (
    grant_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, public INTEGER NOT NULL,
    scope TEXT NOT NULL, auth_event_id TEXT NOT NULL, created_at REAL NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS identity_refresh_tokens (
    token_hash TEXT PRIMARY KEY, grant_id TEXT NOT NULL, issued_at REAL NOT NULL,
    rotated_at REAL);
CREATE TABLE IF NOT EXISTS identity_access_tokens (
    token_hash TEXT PRIMARY KEY, grant_id TEXT, tenant_id TEXT, scope TEXT NOT NULL,
    expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS identity_connections (
    id TEXT PRIMARY KEY, client_id TEXT NOT NULL, tenant_id TEXT NOT NULL,
    auth_event_id TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL,
    UNIQUE (client_id, tenant_id));
"""


class OrgDirectory(Protocol):
    """What identity needs of the document store: its connection, lock and organisations."""

    conn: sqlite3.Connection
    lock: threading.RLock

    def organisations(self) -> list[dict[str, Any]]: ...


class OAuthError(Exception):
    """An OAuth2 error reply: ``{"error": ...}`` with its HTTP status."""

    def __init__(self, error: str, status: int = 400, description: str | None = None) -> None:
        super().__init__(error, status, description)
        self.error = error
        self.status = status
        self.description = description

    def body(self) -> dict[str, str]:
        out = {"error": self.error}
        if self.description:
            out["error_description"] = self.description
        return out


@dataclass(frozen=True)
class Client:
    """The caller of the token endpoint; ``confidential`` when it proved the secret."""

    client_id: str
    confidential: bool


@dataclass(frozen=True)
class Bearer:
    """A valid access token: a user grant (``grant_id``) or a custom connection (``tenant_id``)."""

    grant_id: str | None
    tenant_id: str | None
    client_id: str
    scope: str
    expires_at: float


class TokenRefused(Exception):
    """An access token that cannot be used: ``reason`` is missing, invalid or expired."""

    def __init__(self, reason: str, expired_at: float | None = None) -> None:
        super().__init__(reason, expired_at)
        self.reason = reason
        self.expired_at = expired_at


def digest(secret: str) -> str:
    """The stored form of a code or token."""
    return hashlib.sha256(secret.encode()).hexdigest()


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier."""
    raw = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def redirect_allowed(uri: str) -> bool:
    """https anywhere, plain http only to ``localhost`` (Xero refuses 127.0.0.1 and schemes)."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return False
    if parts.fragment or not parts.hostname:
        return False
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and parts.hostname == "localhost"


def iso_utc(epoch: float) -> str:
    """Connections' timestamp form: ``2019-12-07T18:46:19.5165400`` (UTC, no zone)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0")


class Identity:
    """Codes, tokens and connections of one app, kept in the store's database."""

    def __init__(
        self,
        store: OrgDirectory,
        clock: Clock,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        custom_tenant: str | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.client_id = client_id
        self._secret_hash = digest(client_secret)
        self.custom_tenant = custom_tenant
        with store.lock:
            store.conn.executescript(_SCHEMA)

    def now(self) -> float:
        return self.clock.now().timestamp()

    # client authentication ------------------------------------------------------------------

    def authenticate_client(
        self, basic: tuple[str, str] | None, form: dict[str, str]
    ) -> Client:
        """The client of a token or revocation request: Basic header or form fields.

        A client id without a secret is a public (PKCE) client; a wrong secret is refused.
        """
        if basic is not None:
            client_id, secret = basic
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if not hmac.compare_digest(client_id.encode(), self.client_id.encode()):
            raise OAuthError("invalid_client", 401)
        if not secret:
            return Client(client_id, confidential=False)
        if not hmac.compare_digest(digest(secret), self._secret_hash):
            raise OAuthError("invalid_client", 401)
        return Client(client_id, confidential=True)

    # authorisation ---------------------------------------------------------------------------

    def authorize(
        self,
        client_id: str,
        redirect_uri: str,
        scope: str,
        challenge: str | None,
        challenge_method: str | None,
    ) -> str:
        """Approve at once: connect every organisation and return a fresh code.

        The caller has checked the client and redirect URI; errors here go back to the client.
        """
        if challenge is not None and challenge_method != "S256":
            raise OAuthError("invalid_request", description="code_challenge_method must be S256")
        if challenge is not None and not re.fullmatch(r"[A-Za-z0-9\-_]{43}", challenge):
            raise OAuthError("invalid_request", description="malformed code_challenge")
        if not scope.split():
            raise OAuthError("invalid_scope")
        code = secrets.token_urlsafe(32)
        event = str(uuid.uuid4())
        now = self.now()
        with self.store.lock:
            self._connect_all(client_id, event, now)
            self.store.conn.execute(
                "INSERT INTO identity_codes VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
                (digest(code), client_id, redirect_uri, scope, challenge, event,
                 now + CODE_LIFETIME),
            )
        return code

    def connect(self, tenant_id: str) -> None:
        """Connect one more organisation to the user (as if approved in a new authorisation)."""
        now = self.now()
        with self.store.lock:
            self._upsert_connection(self.client_id, tenant_id, str(uuid.uuid4()), now)

    def _upsert_connection(self, client_id: str, tenant_id: str, event: str, now: float) -> None:
        self.store.conn.execute(
            "INSERT INTO identity_connections VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (client_id, tenant_id) DO UPDATE SET "
            "auth_event_id = excluded.auth_event_id, updated_at = excluded.updated_at",
            (str(uuid.uuid4()), client_id, tenant_id, event, now, now),
        )

    def _connect_all(self, client_id: str, event: str, now: float) -> None:
        for org in self.store.organisations():
            self._upsert_connection(client_id, org["tenant_id"], event, now)

    # token grants ----------------------------------------------------------------------------

    def exchange_code(
        self, client: Client, code: str, redirect_uri: str, verifier: str | None
    ) -> dict[str, Any]:
        """``grant_type=authorization_code``: a single-use code for a token set."""
        now = self.now()
        with self.store.lock:
            row = self.store.conn.execute(
                "SELECT client_id, redirect_uri, scope, challenge, auth_event_id, expires_at, used "
                "FROM identity_codes WHERE code_hash = ?",
                (digest(code),),
            ).fetchone()
            if row is None:
                raise OAuthError("invalid_grant")
            owner, expected_uri, scope, challenge, event, expires_at, used = row
            if used or now >= expires_at or owner != client.client_id:
                raise OAuthError("invalid_grant")
            self.store.conn.execute(
                "UPDATE identity_codes SET used = 1 WHERE code_hash = ?", (digest(code),)
            )
            if redirect_uri != expected_uri:
                raise OAuthError("invalid_grant", description="redirect_uri mismatch")
            if challenge is None and not client.confidential:
                raise OAuthError("invalid_client", 401)
            if challenge is not None and not (
                verifier and _VERIFIER.match(verifier)
                and hmac.compare_digest(s256(verifier), challenge)
            ):
                raise OAuthError("invalid_grant", description="code_verifier does not match")
            grant_id = str(uuid.uuid4())
            self.store.conn.execute(
                "INSERT INTO identity_grants VALUES (?, ?, ?, ?, ?, ?, 0)",
                (grant_id, client.client_id, int(not client.confidential), scope, event, now),
            )
            return self._token_set(grant_id, scope, now)

    def refresh(self, client: Client, refresh_token: str) -> dict[str, Any]:
        """``grant_type=refresh_token``: rotate, keeping the old token for the grace period."""
        now = self.now()
        with self.store.lock:
            row = self.store.conn.execute(
                "SELECT r.grant_id, r.issued_at, r.rotated_at, g.client_id, g.public, g.scope, "
                "g.revoked FROM identity_refresh_tokens r JOIN identity_grants g "
                "USING (grant_id) WHERE r.token_hash = ?",
                (digest(refresh_token),),
            ).fetchone()
            if row is None:
                raise OAuthError("invalid_grant")
            grant_id, issued_at, rotated_at, owner, public, scope, revoked = row
            if owner != client.client_id:
                raise OAuthError("invalid_grant")
            if not public and not client.confidential:
                raise OAuthError("invalid_client", 401)
            if revoked or now >= issued_at + REFRESH_LIFETIME:
                raise OAuthError("invalid_grant")
            if rotated_at is not None and now >= rotated_at + ROTATION_GRACE:
                raise OAuthError("invalid_grant")
            if rotated_at is None:
                self.store.conn.execute(
                    "UPDATE identity_refresh_tokens SET rotated_at = ? WHERE token_hash = ?",
                    (now, digest(refresh_token)),
                )
            return self._token_set(grant_id, scope, now)

    def client_credentials(self, client: Client, tenant_id: str | None = None) -> dict[str, Any]:
        """``grant_type=client_credentials``: a token bound to one organisation, no refresh."""
        if not client.confidential:
            raise OAuthError("invalid_client", 401)
        tenant = tenant_id or self.custom_tenant or self._first_tenant()
        if tenant is None:
            raise OAuthError("unauthorized_client", description="no organisation to connect")
        token = secrets.token_urlsafe(48)
        now = self.now()
        scope = " ".join(s for s in DEFAULT_SCOPE.split() if s != "offline_access")
        with self.store.lock:
            self.store.conn.execute(
                "INSERT INTO identity_access_tokens VALUES (?, NULL, ?, ?, ?)",
                (digest(token), tenant, scope, now + ACCESS_LIFETIME),
            )
        return {
            "access_token": token,
            "expires_in": ACCESS_LIFETIME,
            "token_type": "Bearer",
            "scope": scope,
        }

    def grant(self, scope: str = DEFAULT_SCOPE, *, public: bool = False) -> dict[str, Any]:
        """A user grant made in-process (no browser): connects every organisation."""
        now = self.now()
        event = str(uuid.uuid4())
        grant_id = str(uuid.uuid4())
        with self.store.lock:
            self._connect_all(self.client_id, event, now)
            self.store.conn.execute(
                "INSERT INTO identity_grants VALUES (?, ?, ?, ?, ?, ?, 0)",
                (grant_id, self.client_id, int(public), scope, event, now),
            )
            return self._token_set(grant_id, scope, now)

    def _first_tenant(self) -> str | None:
        orgs = self.store.organisations()
        return orgs[0]["tenant_id"] if orgs else None

    def _token_set(self, grant_id: str, scope: str, now: float) -> dict[str, Any]:
        access = secrets.token_urlsafe(48)
        self.store.conn.execute(
            "INSERT INTO identity_access_tokens VALUES (?, ?, NULL, ?, ?)",
            (digest(access), grant_id, scope, now + ACCESS_LIFETIME),
        )
        out: dict[str, Any] = {
            "access_token": access,
            "expires_in": ACCESS_LIFETIME,
            "token_type": "Bearer",
        }
        if "offline_access" in scope.split():
            refresh = secrets.token_urlsafe(48)
            self.store.conn.execute(
                "INSERT INTO identity_refresh_tokens VALUES (?, ?, ?, NULL)",
                (digest(refresh), grant_id, now),
            )
            out["refresh_token"] = refresh
        out["scope"] = scope
        return out

    # revocation and expiry -------------------------------------------------------------------

    def revoke(self, client: Client, token: str) -> None:
        """Revoke the refresh token's grant and remove the user's connections.

        Unknown tokens succeed silently, as RFC 7009 asks.
        """
        with self.store.lock:
            row = self.store.conn.execute(
                "SELECT g.grant_id, g.client_id, g.public FROM identity_refresh_tokens r "
                "JOIN identity_grants g USING (grant_id) WHERE r.token_hash = ?",
                (digest(token),),
            ).fetchone()
            if row is None or row[1] != client.client_id:
                return
            if not row[2] and not client.confidential:
                raise OAuthError("invalid_client", 401)
            conn = self.store.conn
            conn.execute("UPDATE identity_grants SET revoked = 1 WHERE grant_id = ?", (row[0],))
            conn.execute("DELETE FROM identity_access_tokens WHERE grant_id = ?", (row[0],))
            conn.execute("DELETE FROM identity_connections WHERE client_id = ?", (row[1],))

    def expire_access_tokens(self) -> int:
        """Make every access token expire now; returns how many were live."""
        now = self.now()
        with self.store.lock:
            cur = self.store.conn.execute(
                "UPDATE identity_access_tokens SET expires_at = ? WHERE expires_at > ?",
                (now, now),
            )
            return cur.rowcount

    # access tokens and connections -----------------------------------------------------------

    def bearer(self, authorization: str | None) -> Bearer:
        """The access token of an ``Authorization: Bearer`` header, or ``TokenRefused``."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise TokenRefused("missing")
        token = authorization[7:].strip()
        with self.store.lock:
            row = self.store.conn.execute(
                "SELECT a.grant_id, a.tenant_id, a.scope, a.expires_at, g.revoked "
                "FROM identity_access_tokens a LEFT JOIN identity_grants g USING (grant_id) "
                "WHERE a.token_hash = ?",
                (digest(token),),
            ).fetchone()
        if row is None or row[4]:
            raise TokenRefused("invalid")
        grant_id, tenant_id, scope, expires_at, _ = row
        if self.now() >= expires_at:
            raise TokenRefused("expired", expired_at=expires_at)
        return Bearer(grant_id, tenant_id, self.client_id, scope, expires_at)

    def may_access(self, bearer: Bearer, tenant_id: str) -> bool:
        """Whether the token reaches ``tenant_id``: its custom tenant, or a live connection."""
        if bearer.tenant_id is not None:
            return bearer.tenant_id == tenant_id
        with self.store.lock:
            row = self.store.conn.execute(
                "SELECT 1 FROM identity_connections WHERE client_id = ? AND tenant_id = ?",
                (bearer.client_id, tenant_id),
            ).fetchone()
        return row is not None

    def connections(self, bearer: Bearer, auth_event_id: str | None = None) -> list[dict[str, Any]]:
        """The ``/connections`` rows visible to a token (its single org for custom ones)."""
        names = {o["tenant_id"]: o["name"] for o in self.store.organisations()}
        if bearer.tenant_id is not None:
            now = self.now()
            rows = [(bearer.tenant_id, bearer.tenant_id, bearer.tenant_id, now, now)]
        else:
            with self.store.lock:
                rows = self.store.conn.execute(
                    "SELECT id, tenant_id, auth_event_id, created_at, updated_at "
                    "FROM identity_connections WHERE client_id = ? ORDER BY created_at, rowid",
                    (bearer.client_id,),
                ).fetchall()
        out = []
        for conn_id, tenant, event, created, updated in rows:
            if auth_event_id and event != auth_event_id:
                continue
            out.append(
                {
                    "id": conn_id,
                    "authEventId": event,
                    "tenantId": tenant,
                    "tenantType": "ORGANISATION",
                    "tenantName": names.get(tenant, ""),
                    "createdDateUtc": iso_utc(created),
                    "updatedDateUtc": iso_utc(updated),
                }
            )
        return out

    def delete_connection(self, bearer: Bearer, connection_id: str) -> bool:
        """Disconnect one organisation from the user; False when no such connection."""
        if bearer.tenant_id is not None:
            return False
        with self.store.lock:
            cur = self.store.conn.execute(
                "DELETE FROM identity_connections WHERE id = ? AND client_id = ?",
                (connection_id, bearer.client_id),
            )
            return cur.rowcount > 0
