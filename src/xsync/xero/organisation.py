"""What xsync reads of the organisation itself."""

from __future__ import annotations

from datetime import date

from xsync.xero.client import XeroClient
from xsync.xero.xjson import parse_date

LOCK_FIELDS = ("PeriodLockDate", "EndOfYearLockDate")


def lock_date(client: XeroClient) -> date | None:
    """The last day Xero refuses to post on: the later of the organisation's period lock and
    end-of-year lock dates (``None`` when neither is set). One ``GET /Organisation``."""
    envelope = client.get("Organisation")
    organisation = (envelope.get("Organisations") or [{}])[0]
    dates = [d for name in LOCK_FIELDS if (d := parse_date(organisation.get(name)))]
    return max(dates) if dates else None
