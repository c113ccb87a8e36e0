"""The API gateway: what stands between a request and the accounting documents.

Order per call: bearer token (401), tenant (403), rate limits (429), faults, then the accounting
handler, then a possibly lost response. Every answer carries the three ``X-*Limit-Remaining``
headers, a ``Xero-Correlation-Id`` and a JSON content type, and is counted.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, Protocol

from xsync.sandbox.counters import Counters, endpoint_key
from xsync.sandbox.faults import Call, Faults
from xsync.sandbox.identity import Bearer, Identity, TokenRefused
from xsync.sandbox.limits import RateLimiter
from xsync.sandbox.wsgi import JSON_TYPE, ConnectionDropped, Reply, Request, json_reply

API_ROOT = "/api.xro/2.0"
log = logging.getLogger("xsync.sandbox")



class ApiHandler(Protocol):
    """The accounting side: answers one authorised call for one tenant."""

    def handle(
        self,
        tenant_id: str,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: Mapping[str, str],
        body: bytes,
    ) -> Any: ...


def problem(status: int, title: str, detail: str, instance: str) -> dict[str, Any]:
    """Xero's problem-details shape for gateway errors."""
    return {"Type": None, "Title": title, "Status": status, "Detail": detail,
            "Instance": instance, "Extensions": {}}


class Gateway:
    def __init__(
        self,
        identity: Identity,
        limiter: RateLimiter,
        faults: Faults,
        counters: Counters,
        api: ApiHandler,
    ) -> None:
        self.identity = identity
        self.limiter = limiter
        self.faults = faults
        self.counters = counters
        self.api = api

    def handle(self, request: Request) -> Reply:
        rel = request.path[len(API_ROOT):] or "/"
        endpoint = endpoint_key(request.method, rel)
        correlation = str(uuid.uuid4())
        tenant: str | None = None
        try:
            reply, tenant = self._authorised(request, rel, endpoint, correlation)
        except ConnectionDropped:
            self.counters.record(request.method, endpoint, tenant, "dropped", 0)
            raise
        reply.tenant = tenant
        reply.headers["Xero-Correlation-Id"] = correlation
        reply.headers["Content-Type"] = JSON_TYPE
        self.counters.record(request.method, endpoint, tenant, reply.status, len(reply.body))
        return reply

    def _authorised(
        self, request: Request, rel: str, endpoint: str, correlation: str
    ) -> tuple[Reply, str | None]:
        header_tenant = request.headers.get("xero-tenant-id", "").strip() or None
        try:
            bearer = self.identity.bearer(request.headers.get("authorization"))
        except TokenRefused as refused:
            reply = unauthorised(refused, correlation)
            reply.headers.update(self.limiter.peek(header_tenant))
            return reply, None
        tenant = self._tenant(bearer, header_tenant)
        if tenant is None:
            body = problem(403, "Forbidden", "AuthenticationUnsuccessful", correlation)
            return json_reply(403, body, self.limiter.peek(header_tenant)), None
        return self._limited(request, rel, endpoint, tenant, correlation), tenant

    def _tenant(self, bearer: Bearer, header_tenant: str | None) -> str | None:
        """The organisation a call reaches, or None when the token may not reach it."""
        tenant = header_tenant or bearer.tenant_id
        if tenant is None or not self.identity.may_access(bearer, tenant):
            return None
        return tenant

    def _limited(
        self, request: Request, rel: str, endpoint: str, tenant: str, correlation: str
    ) -> Reply:
        decision = self.limiter.acquire(tenant)
        if decision.problem is not None:
            return rate_limited(decision.problem, decision.retry_after, decision.headers,
                                correlation)
        try:
            reply = self._call(request, rel, endpoint, tenant, correlation)
        finally:
            self.limiter.release(tenant)
        for name, value in self.limiter.peek(tenant).items():
            reply.headers.setdefault(name, value)
        return reply

    def _call(
        self, request: Request, rel: str, endpoint: str, tenant: str, correlation: str
    ) -> Reply:
        call = Call(request.method, endpoint, "api")
        injected = self.faults.before(call)
        if injected is not None and injected.problem is not None:
            return rate_limited(injected.problem, injected.retry_after,
                                self.limiter.peek(tenant), correlation)
        if injected is not None and injected.lose_as is None:
            return failure(injected.status, correlation)
        try:
            answer = self.api.handle(tenant, request.method, rel, request.query,
                                     request.headers, request.body)
        except Exception:
            log.exception("accounting handler failed on %s", endpoint)
            return failure(500, correlation)
        reply = Reply(answer.status, answer.body, dict(answer.headers))
        lost = injected.lose_as if injected is not None else self.faults.lose(call)
        if lost == "drop":
            raise ConnectionDropped(endpoint)
        if lost is not None:
            return failure(int(lost), correlation)
        return reply


def unauthorised(refused: TokenRefused, correlation: str) -> Reply:
    if refused.reason == "expired" and refused.expired_at is not None:
        when = datetime.fromtimestamp(refused.expired_at, UTC).strftime("%m/%d/%Y %H:%M:%S")
        detail = f"TokenExpired: token expired at {when}"
    elif refused.reason == "invalid":
        detail = "TokenInvalid: the access token is not recognised"
    else:
        detail = "AuthenticationUnsuccessful"
    challenge = "Bearer" if refused.reason == "missing" else 'Bearer error="invalid_token"'
    return json_reply(401, problem(401, "Unauthorized", detail, correlation),
                      {"WWW-Authenticate": challenge})


def rate_limited(
    problem_name: str, retry_after: int | None, headers: dict[str, str], correlation: str
) -> Reply:
    body = problem(429, "Too Many Requests",
                   f"Rate limit exceeded: {problem_name} limit", correlation)
    out = dict(headers)
    out["X-Rate-Limit-Problem"] = problem_name
    if retry_after is not None:
        out["Retry-After"] = str(retry_after)
    return json_reply(429, body, out)


def failure(status: int, correlation: str) -> Reply:
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    return json_reply(status, problem(status, title, f"{title} (sandbox fault)", correlation))
