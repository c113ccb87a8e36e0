"""Xero wire formats: JSON with exact decimals, `/Date(ms+0000)/` dates, money rounding.

Invariants: money is ``Decimal`` from parse to emit (request bodies are parsed with
``parse_float=Decimal``); emitted money has two decimal places (unit amounts and quantities up to
four); document dates are UTC midnights; timestamps are epoch milliseconds.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any

TWO = Decimal("0.01")
FOUR = Decimal("0.0001")
_MARK = "\x1e"
_MARKED = re.compile(r'"\\u001e(-?[0-9.]+(?:E[+-]?[0-9]+)?)"')
_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{2,4})?\)/$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _default(value: Any) -> str:
    if isinstance(value, Decimal):
        return _MARK + str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any) -> str:
    """JSON text with every ``Decimal`` written as a bare JSON number, exactly as held."""
    text = json.dumps(value, default=_default, ensure_ascii=False, separators=(",", ":"))
    return _MARKED.sub(r"\1", text)


def loads(text: str | bytes) -> Any:
    """Parse JSON keeping every non-integer number as ``Decimal``."""
    return json.loads(text, parse_float=Decimal)


def money(value: Any) -> Decimal:
    """Round half-up to cents."""
    return to_decimal(value).quantize(TWO, rounding=ROUND_HALF_UP)


def quantity(value: Any) -> Decimal:
    """Round half-up to 4 dp, as Xero stores and prints quantities (``1.0000``)."""
    return to_decimal(value).quantize(FOUR, rounding=ROUND_HALF_UP)


def to_decimal(value: Any) -> Decimal:
    """A Decimal from a JSON number or numeric string; ``ValueError`` otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | str):
        try:
            out = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"not a number: {value!r}") from None
        if not out.is_finite():
            raise ValueError(f"not a number: {value!r}")
        return out
    raise ValueError(f"not a number: {value!r}")


def ms(instant: datetime) -> int:
    """Epoch milliseconds of an aware instant."""
    return (instant - _EPOCH) // timedelta(milliseconds=1)


def from_ms(millis: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=millis)


def ms_date(day: date) -> str:
    """A document date as Xero writes it: UTC midnight with a ``+0000`` offset."""
    return f"/Date({ms(datetime(day.year, day.month, day.day, tzinfo=UTC))}+0000)/"


def ms_timestamp(millis: int) -> str:
    return f"/Date({millis}+0000)/"


def iso_date(day: date) -> str:
    """The ``DateString`` form: ``YYYY-MM-DDT00:00:00``."""
    return f"{day.isoformat()}T00:00:00"


def iso_timestamp(millis: int) -> str:
    """The ``UpdatedDateUTCString`` form: ISO seconds with ``Z``."""
    return from_ms(millis).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_ms(text: str) -> datetime | None:
    """The instant of a ``/Date(ms[+hhmm])/`` string (the epoch is UTC), or None."""
    match = _MS_DATE.match(text.strip())
    return from_ms(int(match.group(1))) if match else None


def parse_doc_date(value: Any) -> date:
    """A document date sent by a client: ``YYYY-MM-DD``, ``YYYY-MM-DDT00:00:00`` or ``/Date()/``.

    The calendar date is taken as written (``/Date()/`` by its UTC date), never shifted.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"not a date: {value!r}")
    text = value.strip()
    instant = parse_ms(text)
    if instant is not None:
        return instant.date()
    try:
        return date.fromisoformat(text[:10]) if len(text) >= 10 else date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a date: {value!r}") from None


def stored_date(value: Any) -> date | None:
    """The calendar date of a stored ``/Date()/`` document field, or None when absent."""
    if not isinstance(value, str):
        return None
    instant = parse_ms(value)
    return instant.date() if instant else None


def parse_instant(text: str) -> datetime | None:
    """An If-Modified-Since value: ISO 8601 (naive = UTC, ``Z``, offsets, fractions) or HTTP-date.

    Returns None when the value cannot be read; Xero then ignores the header.
    """
    text = text.strip()
    if not text:
        return None
    iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
