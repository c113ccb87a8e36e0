"""Xero's JSON dialect: Decimal money, `/Date(ms±hhmm)/` instants, If-Modified-Since text.

Invariants:
- numbers with a fraction are parsed as :class:`~decimal.Decimal`, never float, and Decimals are
  written back as plain JSON numbers with their exact digits;
- every instant is an aware UTC datetime; the epoch milliseconds in `/Date(...)/` are the UTC
  instant, and the optional offset never shifts it;
- a document date (Date, DueDate, FullyPaidOnDate) is the calendar date of that instant in the
  offset Xero gives (`/Date(1419937200000+1300)/` is 2014-12-31), the UTC date with `+0000` or
  none, and never a date of the machine's own time zone;
- If-Modified-Since is sent as the spec's `date-time`: UTC to the second, `YYYY-MM-DDTHH:MM:SSZ`.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{2,4})?\)/$")
_DECIMAL_MARK = "\x00xsync-decimal:"
_DECIMAL_TOKEN = re.compile(r'"\\u0000xsync-decimal:([-+0-9.eE]+)"')


def loads(text: str | bytes) -> Any:
    """Parse a Xero reply with Decimal for every non-integer number."""
    return json.loads(text, parse_float=Decimal)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot send {value} to Xero")
        return f"{_DECIMAL_MARK}{value}"
    if isinstance(value, datetime):
        return to_utc(value).strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: Any) -> str:
    """Serialise a request body; Decimals keep their digits, dates become `YYYY-MM-DD`."""
    text = json.dumps(value, default=_default, separators=(",", ":"))
    return _DECIMAL_TOKEN.sub(lambda m: m.group(1), text)


def to_utc(moment: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_datetime(value: str | None) -> datetime | None:
    """`/Date(ms)/`, `/Date(ms+hhmm)/` or ISO text (naive means UTC) → aware UTC datetime."""
    if value is None or value == "":
        return None
    match = _MS_DATE.match(value)
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC)
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    try:
        return to_utc(datetime.fromisoformat(text))
    except ValueError as exc:
        raise ValueError(f"not a Xero date: {value!r}") from exc


def parse_date(value: str | None) -> date | None:
    """A document date: the calendar date of Xero's instant in the offset it carries (UTC when it
    carries none); ISO text gives its own calendar date. Never converted to local time."""
    if value is None or value == "":
        return None
    match = _MS_DATE.match(value)
    if match is None:
        text = value[:-1] + "+00:00" if value.endswith("Z") else value
        try:
            return datetime.fromisoformat(text).date()
        except ValueError as exc:
            raise ValueError(f"not a Xero date: {value!r}") from exc
    instant = datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC)
    zone = _offset(match.group(2), value) if match.group(2) else UTC
    return instant.astimezone(zone).date()


def _offset(text: str, value: str) -> timezone:
    digits = text[1:]
    if len(digits) == 2:
        hours, minutes = int(digits), 0
    elif len(digits) == 4:
        hours, minutes = int(digits[:2]), int(digits[2:])
    else:
        raise ValueError(f"not a Xero date: {value!r}")
    if minutes >= 60 or hours > 14:
        raise ValueError(f"not a Xero date: {value!r}")
    span = timedelta(hours=hours, minutes=minutes)
    return timezone(-span if text[0] == "-" else span)


def format_ims(moment: datetime) -> str:
    """If-Modified-Since text: UTC to the second, `YYYY-MM-DDTHH:MM:SSZ` (the spec's date-time)."""
    return to_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")
