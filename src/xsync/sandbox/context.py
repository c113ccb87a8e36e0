"""Per-request context: the store, the clock, the tenant, and cached organisation settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from typing import Any

from xsync.sandbox import settings, xjson
from xsync.sandbox.clock import Clock
from xsync.sandbox.store import Store

# The demo organisation's timezone (AUSEASTERNSTANDARDTIME); "today" for defaults is taken there.
ORG_UTC_OFFSET = timedelta(hours=10)


@dataclass
class Ctx:
    store: Store
    clock: Clock
    tenant: str
    query: Mapping[str, list[str]] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)

    def arg(self, name: str) -> str | None:
        """A query parameter, matched case-insensitively (Xero accepts any case)."""
        lowered = name.lower()
        for key, values in self.query.items():
            if key.lower() == lowered and values:
                return values[-1]
        return None

    def flag(self, name: str) -> bool:
        return (self.arg(name) or "").strip().lower() == "true"

    def now_ms(self) -> int:
        return xjson.ms(self.clock.now())

    def today(self) -> date:
        return (self.clock.now() + ORG_UTC_OFFSET).date()

    @cached_property
    def organisation(self) -> dict[str, Any]:
        return self.store.organisation(self.tenant)

    @cached_property
    def accounts(self) -> dict[str, dict[str, Any]]:
        return settings.accounts_by_code(self.store, self.tenant)

    @cached_property
    def tax_rates(self) -> dict[str, dict[str, Any]]:
        return settings.tax_rates(self.store, self.tenant)

    def account_by_id(self, account_id: str) -> dict[str, Any] | None:
        lowered = account_id.lower()
        return next((a for a in self.accounts.values() if a["AccountID"] == lowered), None)

    def period_lock(self) -> date | None:
        """The later of ``PeriodLockDate`` and ``EndOfYearLockDate``: the API writes as a user
        who is bound by both."""
        days = [
            xjson.stored_date(self.organisation.get(name))
            for name in ("PeriodLockDate", "EndOfYearLockDate")
        ]
        return max((d for d in days if d is not None), default=None)
