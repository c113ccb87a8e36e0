"""BAS periods: Australian quarters (Jul–Sep, Oct–Dec, Jan–Mar, Apr–Jun), months, date ranges.

``2026-Q3`` is July to September 2026 (quarters are calendar quarters named by their year, which
is how the ATO's quarterly BAS cycle falls). The default period is the last quarter that ended
before ``today``, which is injected so that a report is reproducible.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from xsync.errors import UsageError

_QUARTER = re.compile(r"^(\d{4})-?[Qq]([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    name: str

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    @property
    def key(self) -> str:
        """How a lodged period is recorded: its first and last day."""
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


def _month_end(year: int, month: int) -> date:
    first_next = date(year + month // 12, month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def quarter(text: str) -> Period:
    match = _QUARTER.match(text.strip())
    if not match:
        raise UsageError(f"--quarter {text!r} is not a quarter such as 2026-Q3 (Jul–Sep 2026)")
    year, number = int(match.group(1)), int(match.group(2))
    first = 3 * (number - 1) + 1
    return Period(date(year, first, 1), _month_end(year, first + 2), f"{year}-Q{number}")


def month(text: str) -> Period:
    match = _MONTH.match(text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise UsageError(f"--month {text!r} is not a month such as 2026-08")
    year, number = int(match.group(1)), int(match.group(2))
    return Period(date(year, number, 1), _month_end(year, number), f"{year}-{number:02d}")


def date_range(start: str, end: str) -> Period:
    try:
        first, last = date.fromisoformat(start.strip()), date.fromisoformat(end.strip())
    except ValueError:
        raise UsageError(f"--from {start!r} --to {end!r}: give dates as YYYY-MM-DD") from None
    if last < first:
        raise UsageError(f"--to {end} is before --from {start}")
    return Period(first, last, f"{first.isoformat()} to {last.isoformat()}")


def last_complete_quarter(today: date) -> Period:
    """The latest quarter that ended before ``today``."""
    first_of_this = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    last_day = first_of_this - timedelta(days=1)
    return quarter(f"{last_day.year}-Q{(last_day.month - 1) // 3 + 1}")


def choose(*, quarter_text: str | None, month_text: str | None, start: str | None,
           end: str | None, today: date) -> Period:
    """The period the flags name (at most one way), else the last complete quarter."""
    given = [name for name, value in (("--quarter", quarter_text), ("--month", month_text),
                                      ("--from/--to", start or end)) if value]
    if len(given) > 1:
        raise UsageError(f"give one period only, not {' and '.join(given)}")
    if quarter_text:
        return quarter(quarter_text)
    if month_text:
        return month(month_text)
    if start or end:
        if not (start and end):
            raise UsageError("--from and --to go together")
        return date_range(start, end)
    return last_complete_quarter(today)
