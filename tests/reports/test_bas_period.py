"""BAS periods from the flags, and the default: the last quarter that ended."""

from __future__ import annotations

from datetime import date

import pytest

from xsync.errors import UsageError
from xsync.reports.period import choose, last_complete_quarter, month, quarter


def test_quarters_months_and_ranges() -> None:
    q3 = quarter("2026-Q3")
    assert (q3.start, q3.end, q3.name) == (date(2026, 7, 1), date(2026, 9, 30), "2026-Q3")
    assert quarter("2026-Q4").end == date(2026, 12, 31)
    assert quarter("2027q1").start == date(2027, 1, 1)
    feb = month("2028-02")
    assert (feb.start, feb.end) == (date(2028, 2, 1), date(2028, 2, 29))
    span = choose(quarter_text=None, month_text=None, start="2026-07-15", end="2026-08-14",
                  today=date(2026, 11, 1))
    assert (span.start, span.end) == (date(2026, 7, 15), date(2026, 8, 14))


@pytest.mark.parametrize(("today", "expected"), [
    (date(2026, 11, 24), "2026-Q3"), (date(2026, 10, 1), "2026-Q3"),
    (date(2026, 9, 30), "2026-Q2"), (date(2027, 2, 1), "2026-Q4")])
def test_default_is_the_last_complete_quarter(today: date, expected: str) -> None:
    assert last_complete_quarter(today).name == expected
    assert choose(quarter_text=None, month_text=None, start=None, end=None,
                  today=today).name == expected


@pytest.mark.parametrize("kwargs", [
    {"quarter_text": "2026-Q5"}, {"month_text": "2026-13"}, {"start": "2026-07-01"},
    {"start": "2026-09-01", "end": "2026-08-01"},
    {"quarter_text": "2026-Q3", "month_text": "2026-08"},
    {"start": "yesterday", "end": "today"}])
def test_bad_periods_are_usage_errors(kwargs: dict[str, str]) -> None:
    args = {"quarter_text": None, "month_text": None, "start": None, "end": None, **kwargs}
    with pytest.raises(UsageError):
        choose(today=date(2026, 11, 1), **args)  # type: ignore[arg-type]
