"""The sandbox as one object: a WSGI app for Xero's hosts, plus the controls tests need.

``Sandbox`` owns the store, clock, identity, limits, faults and counters; ``Sandbox.app`` routes
one host the way Xero's several do:

- ``/api.xro/2.0/...``: the Accounting API, behind the gateway (auth, tenant, limits, faults);
- ``/identity/connect/authorize``, ``/connect/token``, ``/connect/revocation``, ``/connections``;
- ``/sandbox/...``: admin endpoints (loopback only), each a method here as well.

With a ``data_dir`` the state lives in ``data_dir/sandbox.db`` and survives restarts (an existing
store is never re-seeded); without one it lives in memory. Limits, faults and counters are
per-process and start afresh.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import date, datetime
from email.utils import formatdate
from pathlib import Path
from types import TracebackType
from typing import Any

from xsync.sandbox.admin import PREFIX as ADMIN_PREFIX
from xsync.sandbox.admin import Admin
from xsync.sandbox.clock import Clock
from xsync.sandbox.counters import Counters
from xsync.sandbox.faults import Faults
from xsync.sandbox.gateway import API_ROOT, ApiHandler, Gateway
from xsync.sandbox.identity import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_SCOPE,
    Client,
    Identity,
)
from xsync.sandbox.limits import RateLimiter
from xsync.sandbox.oauth import OAuthRoutes
from xsync.sandbox.server import SandboxServer
from xsync.sandbox.webhooks import Webhooks
from xsync.sandbox.wsgi import Reply, Request, StartResponse, json_reply, send

__all__ = ["DEFAULT_CLIENT_ID", "DEFAULT_CLIENT_SECRET", "Sandbox"]

DB_NAME = "sandbox.db"
ORG_NAMES = {"demo": "Demo Company (AU)", "empty": "Sandbox Company (AU)"}


class Sandbox:
    """A Xero emulator: state, controls, and (after ``start``) a threaded HTTP server."""

    def __init__(
        self,
        data_dir: str | Path | None = None,
        seed: str = "demo",
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        minute_limit: int = 60,
        day_limit: int = 5000,
        concurrent_limit: int = 5,
        app_minute_limit: int = 10000,
        clock: Clock | None = None,
        *,
        store: Any = None,
        api: ApiHandler | None = None,
        sleep: Callable[[float], None] = time.sleep,
        custom_tenant: str | None = None,
    ) -> None:
        if seed not in ORG_NAMES:
            raise ValueError(f"seed must be one of {', '.join(ORG_NAMES)}")
        self.clock = clock or Clock()
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.store = store if store is not None else open_store(self.data_dir)
        if not self.store.organisations():
            self.store.create_organisation(ORG_NAMES[seed], seed=seed, clock=self.clock)
        self.identity = Identity(self.store, self.clock, client_id, client_secret, custom_tenant)
        self.limiter = RateLimiter(
            self.clock, minute_limit, day_limit, concurrent_limit, app_minute_limit
        )
        self.faults = Faults(sleep)
        self.counters = Counters()
        self.webhooks_out = Webhooks(self.clock)
        if api is None:
            from xsync.sandbox.api import AccountingApi

            api = AccountingApi(self.store, self.clock)
        self.api = api
        self.gateway = Gateway(self.identity, self.limiter, self.faults, self.counters, api)
        self.oauth = OAuthRoutes(self.identity, self.faults)
        self.admin = Admin(self)
        self.base_url: str | None = None
        self._server: SandboxServer | None = None

    # WSGI ------------------------------------------------------------------------------------

    def app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """The WSGI callable serving every route."""
        request = Request.from_environ(environ)
        reply = self.dispatch(request)
        # Xero dates its replies by its own clock: here the sandbox's (admin) clock, so a client
        # comparing clocks sees the skew a test set, not the machine's time
        reply.headers.setdefault("Date", formatdate(self.clock.now().timestamp(), usegmt=True))
        return send(reply, start_response)

    def dispatch(self, request: Request) -> Reply:
        path = request.path
        if path == API_ROOT or path.startswith(API_ROOT + "/"):
            reply = self.gateway.handle(request)
            if 200 <= reply.status < 300:
                self.webhooks_out.observe(request, reply)
            return reply
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            return self.admin.route(request)
        routed = self.oauth.route(request)
        if routed is not None:
            return routed
        if path == "/" and request.method == "GET":
            return json_reply(200, self.info(base_url=request.base_url))
        return json_reply(404, {"Title": "NotFound", "Status": 404,
                                "Detail": "The resource you're looking for cannot be found"})

    # server ----------------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0 = any free port) from a daemon thread; returns the base URL."""
        if self._server is not None:
            raise RuntimeError("the sandbox is already serving")
        self._server = SandboxServer(self.app, host, port)
        self._server.start()
        self.base_url = self._server.base_url
        return self.base_url

    def stop(self) -> None:
        """Stop serving (if serving) and release held calls; the store stays open."""
        self.faults.clear()
        if self._server is not None:
            self._server.stop()
            self._server = None
        self.webhooks_out.close()

    def close(self) -> None:
        """Stop, and close the store."""
        self.stop()
        close = getattr(self.store, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # organisations and tokens ----------------------------------------------------------------

    @property
    def tenant_ids(self) -> list[str]:
        return [org["tenant_id"] for org in self.store.organisations()]

    def organisations(self) -> list[dict[str, Any]]:
        return [
            {"tenant_id": org["tenant_id"], "name": org["name"]}
            for org in self.store.organisations()
        ]

    def add_organisation(self, name: str, *, seed: str = "empty", connect: bool = True) -> str:
        """Create an organisation; ``connect`` also connects it to the user's app."""
        tenant = str(self.store.create_organisation(name, seed=seed, clock=self.clock))
        if connect:
            self.identity.connect(tenant)
        return tenant

    def set_period_lock_date(
        self, tenant_id: str, day: date | None, field: str = "PeriodLockDate"
    ) -> None:
        """``field``: ``PeriodLockDate`` or ``EndOfYearLockDate``."""
        self.store.set_period_lock_date(tenant_id, day, field)

    def client_credentials_token(self, tenant_id: str | None = None) -> str:
        """An access token of a custom connection to ``tenant_id`` (default: the first org)."""
        client = Client(self.identity.client_id, confidential=True)
        return str(self.identity.client_credentials(client, tenant_id)["access_token"])

    def grant_tokens(self, scope: str = DEFAULT_SCOPE) -> dict[str, Any]:
        """A user's token set, as ``/connect/token`` would return it, without the browser."""
        return self.identity.grant(scope)

    def expire_tokens(self) -> int:
        """Make every access token expire now; returns how many were live."""
        return self.identity.expire_access_tokens()

    # counters, faults, clock, limits ---------------------------------------------------------

    def get_counters(self) -> dict[str, Any]:
        return self.counters.snapshot()

    def reset_counters(self) -> None:
        self.counters.reset()

    def set_faults(self, spec: dict[str, Any] | None = None, **fields: Any) -> list[dict[str, Any]]:
        """Add faults (see ``xsync.sandbox.faults``); returns the active ones."""
        return self.faults.configure({**(spec or {}), **fields})

    def clear_faults(self) -> None:
        self.faults.clear()

    def now(self) -> datetime:
        return self.clock.now()

    def clock_state(self) -> dict[str, Any]:
        now = self.clock.now()
        return {"now": now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z", "frozen": self.clock.frozen}

    def advance_clock(self, seconds: float) -> datetime:
        return self.clock.advance(seconds)

    def set_clock(self, instant: datetime) -> datetime:
        return self.clock.set(instant)

    def limits(self) -> dict[str, int]:
        lim = self.limiter
        return {
            "minute_limit": lim.minute_limit,
            "day_limit": lim.day_limit,
            "concurrent_limit": lim.concurrent_limit,
            "app_minute_limit": lim.app_minute_limit,
        }

    def set_limits(self, reset: bool = False, **limits: int) -> dict[str, int]:
        """Change limits (``minute_limit``, ``day_limit``, ...); ``reset`` empties the windows."""
        for name, value in limits.items():
            if name not in self.limits():
                raise ValueError(f"unknown limit {name}")
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer")
            setattr(self.limiter, name, value)
        if reset:
            self.limiter.reset()
        return self.limits()

    # webhooks --------------------------------------------------------------------------------

    def add_webhook(self, url: str, key: str) -> str:
        """Deliver signed events for contact, invoice and credit note changes to ``url``."""
        return self.webhooks_out.add(url, key)

    def webhooks(self) -> list[dict[str, Any]]:
        return self.webhooks_out.describe()

    def clear_webhooks(self) -> None:
        self.webhooks_out.clear()

    # info ------------------------------------------------------------------------------------

    def info(self, base_url: str | None = None) -> dict[str, Any]:
        """Where things are; never a secret (the default client id is public by design)."""
        base = base_url or self.base_url
        urls = {}
        if base:
            urls = {
                "base_url": base,
                "api_url": base + API_ROOT,
                "authorize_url": base + "/identity/connect/authorize",
                "token_url": base + "/connect/token",
                "revocation_url": base + "/connect/revocation",
                "connections_url": base + "/connections",
            }
        return {
            **urls,
            "client_id": self.identity.client_id,
            "organisations": self.organisations(),
            "limits": self.limits(),
            "clock": self.clock_state(),
            "persistent": self.data_dir is not None,
        }


def open_store(data_dir: str | Path | None) -> Any:
    """The store of a sandbox folder (``data_dir/sandbox.db``, mode 0600), or an in-memory one."""
    from xsync.sandbox.store import Store

    if data_dir is None:
        return Store(None)
    folder = Path(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / DB_NAME
    path.touch(mode=0o600, exist_ok=True)
    return Store(str(path))
