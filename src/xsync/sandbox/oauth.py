"""HTTP face of the identity service: authorize, token, revocation and connections.

Paths as on Xero's hosts (login, identity and api merged on one host):
``GET /identity/connect/authorize``, ``POST /connect/token``, ``POST /connect/revocation``,
``GET /connections`` and ``DELETE /connections/{id}`` (any case, as the SDK says ``Connections``).
Token replies are never cached (``Cache-Control: no-store``).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode, urlsplit, urlunsplit

from xsync.sandbox.faults import Call, Faults
from xsync.sandbox.gateway import failure, problem, unauthorised
from xsync.sandbox.identity import Identity, OAuthError, TokenRefused, redirect_allowed
from xsync.sandbox.wsgi import ConnectionDropped, Reply, Request, json_reply

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _with_query(uri: str, params: dict[str, str]) -> str:
    parts = urlsplit(uri)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


class OAuthRoutes:
    def __init__(self, identity: Identity, faults: Faults) -> None:
        self.identity = identity
        self.faults = faults

    def route(self, request: Request) -> Reply | None:
        """The reply for an identity path, or None when the path is not one."""
        path = request.path.rstrip("/").lower()
        method = request.method
        if path == "/identity/connect/authorize" and method == "GET":
            return self.authorize(request)
        if path == "/connect/token" and method == "POST":
            return self._faulted(request, "POST /connect/token", self.token)
        if path == "/connect/revocation" and method == "POST":
            return self._faulted(request, "POST /connect/revocation", self.revocation)
        if path == "/connections" and method == "GET":
            return self.connections(request)
        if path.startswith("/connections/") and method == "DELETE":
            return self.delete_connection(request, request.path.rstrip("/").rsplit("/", 1)[1])
        return None

    def _faulted(
        self, request: Request, endpoint: str, handler: Callable[[Request], Reply]
    ) -> Reply:
        """Identity calls obey faults that name them in ``match`` (e.g. a lost token reply)."""
        call = Call(request.method, endpoint, "identity")
        injected = self.faults.before(call)
        if injected is not None and injected.lose_as is None:
            return failure(injected.status, "")
        reply = handler(request)
        lost = injected.lose_as if injected is not None else self.faults.lose(call)
        if lost == "drop":
            raise ConnectionDropped(endpoint)
        return failure(int(lost), "") if lost else reply

    # authorisation endpoint ------------------------------------------------------------------

    def authorize(self, request: Request) -> Reply:
        client_id = request.arg("client_id") or ""
        redirect_uri = request.arg("redirect_uri") or ""
        if client_id != self.identity.client_id:
            return json_reply(400, {"error": "unauthorized_client",
                                    "error_description": "unknown client_id"})
        if not redirect_allowed(redirect_uri):
            return json_reply(400, {"error": "invalid_request",
                                    "error_description": "invalid redirect_uri"})
        state = request.arg("state")
        try:
            if request.arg("response_type") != "code":
                raise OAuthError("unsupported_response_type")
            code = self.identity.authorize(
                client_id, redirect_uri, request.arg("scope") or "",
                request.arg("code_challenge"), request.arg("code_challenge_method"),
            )
            params = {"code": code, "scope": request.arg("scope") or ""}
        except OAuthError as exc:
            params = exc.body()
        if state is not None:
            params["state"] = state
        return Reply(302, b"", {"Location": _with_query(redirect_uri, params), **_NO_STORE})

    # token endpoint --------------------------------------------------------------------------

    def token(self, request: Request) -> Reply:
        form = request.form()
        try:
            client = self.identity.authenticate_client(request.basic_auth(), form)
            grant = form.get("grant_type", "")
            if grant == "authorization_code":
                tokens = self.identity.exchange_code(
                    client, form.get("code", ""), form.get("redirect_uri", ""),
                    form.get("code_verifier"),
                )
            elif grant == "refresh_token":
                tokens = self.identity.refresh(client, form.get("refresh_token", ""))
            elif grant == "client_credentials":
                tokens = self.identity.client_credentials(client)
            else:
                raise OAuthError("unsupported_grant_type")
        except OAuthError as exc:
            return self._error(exc)
        return json_reply(200, tokens, _NO_STORE)

    def revocation(self, request: Request) -> Reply:
        form = request.form()
        try:
            client = self.identity.authenticate_client(request.basic_auth(), form)
            self.identity.revoke(client, form.get("token", ""))
        except OAuthError as exc:
            return self._error(exc)
        return Reply(200, b"", _NO_STORE)

    @staticmethod
    def _error(exc: OAuthError) -> Reply:
        headers = dict(_NO_STORE)
        if exc.status == 401:
            headers["WWW-Authenticate"] = "Basic"
        return json_reply(exc.status, exc.body(), headers)

    # connections -----------------------------------------------------------------------------

    def connections(self, request: Request) -> Reply:
        try:
            bearer = self.identity.bearer(request.headers.get("authorization"))
        except TokenRefused as refused:
            return unauthorised(refused, "")
        rows = self.identity.connections(bearer, request.arg("authEventId"))
        return json_reply(200, rows)

    def delete_connection(self, request: Request, connection_id: str) -> Reply:
        try:
            bearer = self.identity.bearer(request.headers.get("authorization"))
        except TokenRefused as refused:
            return unauthorised(refused, "")
        if not self.identity.delete_connection(bearer, connection_id):
            return json_reply(404, problem(404, "NotFound", "Connection not found", ""))
        return Reply(204)
