"""OAuth2 with Xero's identity service: PKCE, client credentials, refresh, revocation, connections.

Invariants:
- the PKCE verifier is 43-128 characters of `[A-Za-z0-9-._~]` and the challenge is S256;
- a client secret, when known, goes in HTTP Basic auth; without one the client id goes in the form;
- no token, code or secret ever appears in an exception's message or a log line: errors carry only
  the OAuth2 error code and the HTTP status;
- only an answer from Xero can end a connection: `invalid_grant` raises
  :class:`~xsync.errors.InvalidGrant` and another OAuth2 refusal :class:`~xsync.errors.OAuthError`
  (both exit 6). A lost reply (connection error, timeout) or a 5xx/429 is retried with backoff
  through the injected ``sleep``, resending the same form; once the attempts are spent it raises
  :class:`~xsync.errors.XeroTransientError` (exit 8), never an auth error. Resending a rotated
  refresh token is safe: Xero keeps the replaced one valid for 30 minutes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from xsync import __version__
from xsync.errors import (
    DailyLimitReached,
    InvalidGrant,
    OAuthError,
    XeroError,
    XeroTransientError,
)
from xsync.xero.replies import error_for
from xsync.xero.tls import tls_context

log = logging.getLogger("xsync.xero.oauth")

TOKEN_ATTEMPTS = 4
MAX_WAIT = 30.0


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
        """Parse :meth:`to_json` text; anything else raises ValueError (never saying what)."""
        try:
            raw = json.loads(text)
        except ValueError:
            raise ValueError("not JSON") from None
        if not isinstance(raw, Mapping):
            raise ValueError("not a JSON object")
        texts = {}
        for name in ("access_token", "refresh_token", "scope", "client_secret", "seed"):
            value = raw.get(name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{name} is not text")
            texts[name] = value
        expires_at = raw.get("expires_at") or 0
        if isinstance(expires_at, bool) or not isinstance(expires_at, int | float):
            raise ValueError("expires_at is not a number")
        if not texts["access_token"] and not texts["refresh_token"]:
            raise ValueError("it holds neither an access token nor a refresh token")
        return cls(
            access_token=texts["access_token"] or "",
            expires_at=float(expires_at),
            refresh_token=texts["refresh_token"],
            scope=texts["scope"],
            client_secret=texts["client_secret"],
            seed=texts["seed"],
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
        sleep: Callable[[float], None] = time.sleep,
        attempts: int = TOKEN_ATTEMPTS,
        backoff: float = 1.0,
    ) -> None:
        self.endpoints = endpoints
        self.client_id = client_id
        self.client_secret = client_secret
        self._clock = clock
        self._sleep = sleep
        self._attempts = max(1, attempts)
        self._backoff = backoff
        self.calls = 0  # requests sent to the identity service, retries included
        self._http = httpx.Client(
            transport=transport, timeout=timeout, verify=tls_context(),
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
        except httpx.TransportError as exc:
            raise XeroTransientError(
                f"could not reach Xero's authorisation page ({type(exc).__name__})",
                request="GET /identity/connect/authorize",
            ) from exc
        except httpx.HTTPError as exc:
            raise OAuthError(f"the authorisation page could not be followed ({type(exc).__name__})",
                             error="bad_redirect") from exc
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
        # RFC 7009: revoking a revoked token succeeds, so a lost reply may be sent again.
        response = self._retrying(
            lambda: self._post(self.endpoints.revocation_url, {"token": token}),
            "POST /connect/revocation",
        )
        if response.status_code >= 400:
            raise OAuthError("the revocation was refused", error=_error_code(response),
                             status=response.status_code)

    def connections(self, access_token: str) -> list[dict[str, Any]]:
        """The organisations this token may use (`GET /connections`)."""
        response = self._retrying(
            lambda: self._identity("GET", self.endpoints.connections_url, access_token),
            "GET /connections",
        )
        body = response.json()
        return list(body) if isinstance(body, list) else []

    def delete_connection(self, access_token: str, connection_id: str) -> None:
        # Not resent: after a lost reply the second DELETE would answer 404 for a done deletion.
        self._identity("DELETE", f"{self.endpoints.connections_url}/{connection_id}", access_token)

    def _identity(self, method: str, url: str, access_token: str) -> httpx.Response:
        path = "/connections" if method == "GET" else "/connections/{id}"
        request = f"{method} {path}"
        self.calls += 1
        try:
            response = self._http.request(
                method, url, headers={"Authorization": f"Bearer {access_token}"}
            )
        except httpx.TransportError as exc:
            raise _unreachable(exc, request) from exc
        except httpx.HTTPError as exc:
            raise OAuthError(f"Xero's answer could not be read ({type(exc).__name__})",
                             error="bad_reply") from exc
        if response.status_code >= 400:
            try:
                body: Any = response.json()
            except ValueError:
                body = {}
            raise error_for(response.status_code, response.headers, body, request)
        return response

    def _token(self, form: dict[str, str]) -> TokenSet:
        now = self._clock()
        response = self._retrying(
            lambda: self._post(self.endpoints.token_url, form), "POST /connect/token"
        )
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
        self.calls += 1
        try:
            if auth is None:
                return self._http.post(url, data=form)
            return self._http.post(url, data=form, auth=auth)
        except httpx.TransportError as exc:
            raise _unreachable(exc, f"POST {httpx.URL(url).path}") from exc
        except httpx.HTTPError as exc:
            raise OAuthError(f"the identity service's answer could not be read "
                             f"({type(exc).__name__})", error="bad_reply") from exc

    def _retrying(self, send: Callable[[], httpx.Response], request: str) -> httpx.Response:
        """``send`` until Xero answers with something other than a 5xx or 429, or the attempts
        are spent: then :class:`XeroTransientError`, marked ``retries_spent`` so that no caller
        multiplies the attempts by retrying it again."""
        for attempt in range(1, self._attempts + 1):
            wait: float | None = None
            cause: BaseException | None = None
            status: int | None = None
            try:
                response = send()
            except DailyLimitReached:
                raise
            except XeroTransientError as exc:
                failure, cause = exc.message, exc
            except XeroError as exc:
                if not _transient_status(exc.status):
                    raise
                failure, cause, status = f"Xero answered {exc.status}", exc, exc.status
                wait = _seconds(getattr(exc, "retry_after", None))
            else:
                if not _transient_status(response.status_code):
                    return response
                status = response.status_code
                failure = f"Xero answered {status}"
                wait = _seconds(response.headers.get("retry-after"))
            if attempt == self._attempts:
                raise XeroTransientError(
                    f"Xero's identity service kept failing ({failure}; {attempt} attempts)",
                    request=request, status=status, retries_spent=True,
                ) from cause
            delay = min(wait if wait is not None else self._backoff * 2 ** (attempt - 1), MAX_WAIT)
            log.info("%s failed (%s); retrying in %.1f s", request, failure, delay)
            self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover


def _transient_status(status: int | None) -> bool:
    return status is not None and (status >= 500 or status in (408, 425, 429))


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return None


def _unreachable(exc: httpx.TransportError, request: str) -> XeroTransientError:
    what = "did not answer in time" if isinstance(exc, httpx.TimeoutException) else (
        f"could not be reached ({type(exc).__name__})")
    return XeroTransientError(f"Xero's identity service {what}", request=request)


def _error_code(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"http_{response.status_code}"
    if isinstance(body, Mapping) and body.get("error"):
        return str(body["error"])
    return f"http_{response.status_code}"
