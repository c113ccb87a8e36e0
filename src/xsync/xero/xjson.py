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

Reading is on the sync's hot path (a few dates per element, thousands of elements a page): the
`/Date(ms)/` and `/Date(ms±hhmm)/` forms Xero sends are read without a regular expression or a
time zone object, and a document date's text is kept per day; anything else goes through the
general parser below, which decides (and words the error) as it always has.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from functools import lru_cache
from typing import Any

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{2,4})?\)/$")
_DECIMAL_MARK = "\x00xsync-decimal:"
_DECIMAL_TOKEN = re.compile(r'"\\u0000xsync-decimal:([-+0-9.eE]+)"')
_DAY_MS = 86_400_000
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
# the quick way takes 1970 to 2223: there ms / 1000 as a float is within half a microsecond of
# the instant (below 2**33 s), so the datetimes and days below are the general parser's to the
# microsecond; earlier and later instants are left to it
_QUICK_MS_LIMIT = 8_000_000_000_000


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


def _quick_ms(value: object) -> tuple[int, int] | None:
    """Epoch milliseconds and offset minutes of `/Date(ms)/` or `/Date(ms±hhmm)/` written in
    ASCII digits, 0 <= ms < 8e12 and the offset one the general parser takes; ``None`` for
    anything else, which the general parser then reads (or refuses)."""
    if type(value) is not str or value[:6] != "/Date(" or value[-2:] != ")/":
        return None
    digits = value[6:-2]
    minutes = 0
    if len(digits) > 5 and digits[-5] in "+-":
        zone = digits[-4:]
        if not (zone.isascii() and zone.isdigit()):
            return None
        hours, minutes = int(zone[:2]), int(zone[2:])
        if minutes >= 60 or hours > 14:
            return None
        minutes += hours * 60
        if digits[-5] == "-":
            minutes = -minutes
        digits = digits[:-5]
    if not (digits.isascii() and digits.isdigit()):
        return None
    ms = int(digits)
    return (ms, minutes) if ms < _QUICK_MS_LIMIT else None


def parse_datetime(value: str | None) -> datetime | None:
    """`/Date(ms)/`, `/Date(ms+hhmm)/` or ISO text (naive means UTC) → aware UTC datetime."""
    if value is None or value == "":
        return None
    quick = _quick_ms(value)
    if quick is not None:
        return datetime.fromtimestamp(quick[0] / 1000, tz=UTC)
    return _parse_datetime(value)


def _parse_datetime(value: str) -> datetime:
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
    quick = _quick_ms(value)
    if quick is not None:
        ms, minutes = quick
        return date.fromordinal(_EPOCH_ORDINAL + (ms + minutes * 60_000) // _DAY_MS)
    return _parse_date(value)


def date_text(value: str | None) -> str | None:
    """:func:`parse_date` as `YYYY-MM-DD` text (``None`` for none)."""
    if value is None or value == "":
        return None
    quick = _quick_ms(value)
    if quick is not None:
        ms, minutes = quick
        return _day_text((ms + minutes * 60_000) // _DAY_MS)
    return _parse_date(value).isoformat()


@lru_cache(maxsize=8192)
def _day_text(day: int) -> str:
    """The text of the ``day``-th day after 1970-01-01 (documents share a few hundred dates)."""
    return date.fromordinal(_EPOCH_ORDINAL + day).isoformat()


def _parse_date(value: str) -> date:
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
