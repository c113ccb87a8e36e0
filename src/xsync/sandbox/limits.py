"""Xero's rate limits, on the sandbox clock.

Per organisation: calls per minute, calls per day and calls in flight; per app: calls per minute.
Windows are fixed: a tenant's minute (or day) window opens at its first call after the previous
one closed, so each tenant resets at its own time. A refused call consumes nothing. Every answer,
granted or refused, reports what remains in each window after it.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field

from xsync.sandbox.clock import Clock

MINUTE = 60.0
DAY = 86400.0


@dataclass
class _Window:
    """A fixed window: ``count`` calls since ``start`` (None until the first call)."""

    length: float
    start: float | None = None
    count: int = 0

    def roll(self, now: float) -> None:
        if self.start is not None and now >= self.start + self.length:
            self.start, self.count = None, 0

    def used(self, now: float) -> int:
        self.roll(now)
        return self.count

    def take(self, now: float) -> None:
        self.roll(now)
        if self.start is None:
            self.start = now
        self.count += 1

    def retry_after(self, now: float) -> int:
        """Whole seconds until this window closes (at least 1)."""
        if self.start is None:
            return 1
        return max(1, math.ceil(self.start + self.length - now))


@dataclass
class _Tenant:
    minute: _Window = field(default_factory=lambda: _Window(MINUTE))
    day: _Window = field(default_factory=lambda: _Window(DAY))
    in_flight: int = 0


@dataclass(frozen=True)
class Decision:
    """The limiter's answer: ``problem`` is None when granted, else the limit that refused."""

    problem: str | None
    retry_after: int | None
    headers: dict[str, str]


class RateLimiter:
    """Counts calls per tenant and per app; ``acquire`` then ``release`` each granted call."""

    def __init__(
        self,
        clock: Clock,
        minute_limit: int = 60,
        day_limit: int = 5000,
        concurrent_limit: int = 5,
        app_minute_limit: int = 10000,
    ) -> None:
        self.clock = clock
        self.minute_limit = minute_limit
        self.day_limit = day_limit
        self.concurrent_limit = concurrent_limit
        self.app_minute_limit = app_minute_limit
        self._lock = threading.Lock()
        self._tenants: dict[str, _Tenant] = {}
        self._app = _Window(MINUTE)

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def _headers(self, tenant: _Tenant | None, now: float) -> dict[str, str]:
        minute = tenant.minute.used(now) if tenant else 0
        day = tenant.day.used(now) if tenant else 0
        return {
            "X-DayLimit-Remaining": str(max(0, self.day_limit - day)),
            "X-MinLimit-Remaining": str(max(0, self.minute_limit - minute)),
            "X-AppMinLimit-Remaining": str(max(0, self.app_minute_limit - self._app.used(now))),
        }

    def peek(self, tenant_id: str | None) -> dict[str, str]:
        """The remaining-calls headers without spending a call (for refused requests)."""
        with self._lock:
            tenant = self._tenants.get(tenant_id) if tenant_id else None
            return self._headers(tenant, self._now())

    def acquire(self, tenant_id: str) -> Decision:
        """Spend one call for ``tenant_id`` or name the limit that refuses it."""
        now = self._now()
        with self._lock:
            tenant = self._tenants.setdefault(tenant_id, _Tenant())
            problem, retry = self._check(tenant, now)
            if problem is None:
                tenant.minute.take(now)
                tenant.day.take(now)
                self._app.take(now)
                tenant.in_flight += 1
            return Decision(problem, retry, self._headers(tenant, now))

    def _check(self, tenant: _Tenant, now: float) -> tuple[str | None, int | None]:
        if tenant.day.used(now) >= self.day_limit:
            return "day", tenant.day.retry_after(now)
        if self._app.used(now) >= self.app_minute_limit:
            return "appminute", self._app.retry_after(now)
        if tenant.minute.used(now) >= self.minute_limit:
            return "minute", tenant.minute.retry_after(now)
        if tenant.in_flight >= self.concurrent_limit:
            return "concurrent", 1
        return None, None

    def release(self, tenant_id: str) -> None:
        """End a granted call (the concurrency slot frees)."""
        with self._lock:
            tenant = self._tenants.get(tenant_id)
            if tenant is not None and tenant.in_flight > 0:
                tenant.in_flight -= 1

    def in_flight(self, tenant_id: str) -> int:
        with self._lock:
            tenant = self._tenants.get(tenant_id)
            return tenant.in_flight if tenant else 0

    def reset(self) -> None:
        """Forget every window (calls in flight stay counted)."""
        with self._lock:
            for tenant in self._tenants.values():
                tenant.minute, tenant.day = _Window(MINUTE), _Window(DAY)
            self._app = _Window(MINUTE)
