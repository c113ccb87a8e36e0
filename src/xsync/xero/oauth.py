"""OAuth2 with Xero's identity service: PKCE, client credentials, refresh, revocation, connections.

Invariants:
- the PKCE verifier is 43-128 characters of `[A-Za-z0-9-._~]` and the challenge is S256;
- a client secret, when known, goes in HTTP Basic auth; without one the client id goes in the form;
- no token, code or secret ever appears in an exception's message or a log line: errors carry only
  the OAuth2 error code and the HTTP status.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from xsync import __version__
from xsync.errors import InvalidGrant, OAuthError
from xsync.xero.replies import error_for


@dataclass(frozen=True)
class Endpoints:
    """Where Xero lives: the API and the identity hosts."""

    api_url: str = "https://api.xero.com/api.xro/2.0"
    authorize_url: str = "https://login.xero.com/identity/connect/authorize"
    token_url: str = "https://identity.xero.com/connect/token"
    revocation_url: str = "https://identity.xero.com/connect/revocation"
    connections_url: str = "https://api.xero.com/connections"

    @classmethod
    def sandbox(cls, base_url: str) -> Endpoints:
        """A running `xsync sandbox serve`: every Xero host merged on one base URL."""
        base = base_url.rstrip("/")
        return cls(
            api_url=f"{base}/api.xro/2.0",
            authorize_url=f"{base}/identity/connect/authorize",
            token_url=f"{base}/connect/token",
            revocation_url=f"{base}/connect/revocation",
            connections_url=f"{base}/connections",
        )


@dataclass
class TokenSet:
    """One token set. ``expires_at`` is epoch seconds of the access token's end.

    ``client_secret`` is kept beside the tokens (in the same secure store) when the flow needs it
    later; ``seed`` fingerprints the `XSYNC_REFRESH_TOKEN` this set descends from, if any.
    """

    access_token: str = field(repr=False)
    expires_at: float
    refresh_token: str | None = field(default=None, repr=False)
    scope: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    seed: str | None = None

    def expires_within(self, seconds: float, now: float) -> bool:
        return not self.access_token or self.expires_at - seconds <= now

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TokenSet:
        raw = json.loads(text)
        return cls(
            access_token=str(raw.get("access_token") or ""),
            expires_at=float(raw.get("expires_at") or 0),
            refresh_token=raw.get("refresh_token"),
            scope=raw.get("scope"),
            client_secret=raw.get("client_secret"),
            seed=raw.get("seed"),
        )

    @classmethod
    def from_reply(cls, reply: Mapping[str, Any], now: float) -> TokenSet:
        if not reply.get("access_token"):
            raise OAuthError("the token endpoint answered without an access token",
                             error="no_access_token")
        return cls(
            access_token=str(reply["access_token"]),
            expires_at=now + float(reply.get("expires_in") or 1800),
            refresh_token=reply.get("refresh_token"),
            scope=reply.get("scope"),
        )


def make_pkce() -> tuple[str, str]:
    """A fresh (verifier, S256 challenge) pair; the verifier is 86 URL-safe characters."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return verifier, challenge


class OAuthClient:
    """Calls to the identity service and `/connections` for one app (client id)."""

    def __init__(
        self,
        endpoints: Endpoints,
        client_id: str,
        client_secret: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        timeout: float = 30.0,
    ) -> None:
        self.endpoints = endpoints
        self.client_id = client_id
        self.client_secret = client_secret
        self._clock = clock
        self._http = httpx.Client(
            transport=transport, timeout=timeout,
            headers={"Accept": "application/json", "User-Agent": f"xsync/{__version__}"},
        )

    def close(self) -> None:
        self._http.close()

    def authorize_url(self, *, redirect_uri: str, scopes: str, state: str, challenge: str) -> str:
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": scopes,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        return f"{self.endpoints.authorize_url}?{urlencode(query)}"

    def follow_authorize(self, url: str) -> None:
        """Visit the authorize URL as a browser would, following redirects to the loopback."""
        try:
            response = self._http.get(url, follow_redirects=True)
        except httpx.HTTPError as exc:
            raise OAuthError(f"could not reach the authorisation page ({type(exc).__name__})",
                             error="unreachable") from exc
        if response.status_code >= 400:
            raise OAuthError("the authorisation page refused the request",
                             error=_error_code(response), status=response.status_code)

    def exchange_code(self, code: str, *, redirect_uri: str, code_verifier: str) -> TokenSet:
        return self._token({
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        })

    def refresh(self, refresh_token: str) -> TokenSet:
        return self._token({"grant_type": "refresh_token", "refresh_token": refresh_token})

    def client_credentials(self, scopes: str | None = None) -> TokenSet:
        if not self.client_secret:
            raise OAuthError("client credentials need a client secret", error="no_secret")
        form = {"grant_type": "client_credentials"}
        if scopes:
            form["scope"] = scopes
        return self._token(form)

    def revoke(self, token: str) -> None:
        response = self._post(self.endpoints.revocation_url, {"token": token})
        if response.status_code >= 400:
            raise OAuthError("the revocation was refused", error=_error_code(response),
                             status=response.status_code)

    def connections(self, access_token: str) -> list[dict[str, Any]]:
        """The organisations this token may use (`GET /connections`)."""
        response = self._identity("GET", self.endpoints.connections_url, access_token)
        body = response.json()
        return list(body) if isinstance(body, list) else []

    def delete_connection(self, access_token: str, connection_id: str) -> None:
        self._identity("DELETE", f"{self.endpoints.connections_url}/{connection_id}", access_token)

    def _identity(self, method: str, url: str, access_token: str) -> httpx.Response:
        try:
            response = self._http.request(
                method, url, headers={"Authorization": f"Bearer {access_token}"}
            )
        except httpx.HTTPError as exc:
            raise OAuthError(f"could not reach Xero ({type(exc).__name__})",
                             error="unreachable") from exc
        if response.status_code >= 400:
            try:
                body: Any = response.json()
            except ValueError:
                body = {}
            path = "/connections" if method == "GET" else "/connections/{id}"
            raise error_for(response.status_code, response.headers, body, f"{method} {path}")
        return response

    def _token(self, form: dict[str, str]) -> TokenSet:
        now = self._clock()
        response = self._post(self.endpoints.token_url, form)
        if response.status_code >= 400:
            code = _error_code(response)
            if code == "invalid_grant":
                raise InvalidGrant("Xero refused the stored grant (invalid_grant)",
                                   error=code, status=response.status_code)
            raise OAuthError(f"the token endpoint refused the request ({code})",
                             error=code, status=response.status_code)
        try:
            reply = response.json()
        except ValueError as exc:
            raise OAuthError("the token endpoint answered with something other than JSON",
                             error="bad_reply", status=response.status_code) from exc
        return TokenSet.from_reply(reply, now)

    def _post(self, url: str, form: dict[str, str]) -> httpx.Response:
        if self.client_secret:
            auth = httpx.BasicAuth(self.client_id, self.client_secret)
        else:
            auth, form = None, {**form, "client_id": self.client_id}
        try:
            if auth is None:
                return self._http.post(url, data=form)
            return self._http.post(url, data=form, auth=auth)
        except httpx.HTTPError as exc:
            raise OAuthError(f"could not reach the identity service ({type(exc).__name__})",
                             error="unreachable") from exc


def _error_code(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"http_{response.status_code}"
    if isinstance(body, Mapping) and body.get("error"):
        return str(body["error"])
    return f"http_{response.status_code}"
