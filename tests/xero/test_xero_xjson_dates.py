"""Xero's `/Date(ms±hhmm)/` instants and document dates, checked against whole-number arithmetic
on the epoch milliseconds: the instant is the UTC one whatever the offset, and a document's date
is the calendar date at that offset, across the whole range of years."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xsync.xero import xjson

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# 1970 to 2200: the dates Xero holds
MS_NOW_ISH = st.integers(min_value=0, max_value=7_258_118_400_000)
# the years 1 to 9999, two days inside either end
MS_ANY = st.integers(min_value=-62_135_596_800_000 + 2 * 86_400_000,
                     max_value=253_402_300_799_999 - 2 * 86_400_000)
OFFSET_MINUTES = st.integers(min_value=-(14 * 60 + 59), max_value=14 * 60 + 59)


def _written(ms: int, minutes: int | None) -> str:
    if minutes is None:
        return f"/Date({ms})/"
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"/Date({ms}{sign}{hours:02d}{rest:02d})/"


def _calendar_date(ms: int, minutes: int | None) -> date:
    return (EPOCH + timedelta(milliseconds=ms + (minutes or 0) * 60_000)).date()


@given(MS_NOW_ISH, st.none() | OFFSET_MINUTES)
def test_instant_and_date_of_every_millisecond_and_offset(ms, minutes):
    text = _written(ms, minutes)
    instant = xjson.parse_datetime(text)
    assert instant == EPOCH + timedelta(milliseconds=ms)
    assert instant is not None and instant.tzinfo is UTC
    assert xjson.parse_date(text) == _calendar_date(ms, minutes)
    assert xjson.date_text(text) == _calendar_date(ms, minutes).isoformat()


@given(MS_ANY, st.none() | OFFSET_MINUTES)
def test_document_dates_across_all_years(ms, minutes):
    text = _written(ms, minutes)
    assert xjson.parse_date(text) == _calendar_date(ms, minutes)
    assert xjson.date_text(text) == _calendar_date(ms, minutes).isoformat()


@pytest.mark.parametrize("days", [0, 1, 20_000, 20_454, 92_592, 92_593, 100_000])
@pytest.mark.parametrize("edge_ms", [0, 86_399_999])
def test_midnight_either_side(days, edge_ms):
    ms = days * 86_400_000 + edge_ms
    expected = date(1970, 1, 1) + timedelta(days=days)
    for text in (f"/Date({ms})/", f"/Date({ms}+0000)/", f"/Date({ms}-0000)/"):
        assert xjson.parse_date(text) == expected
        assert xjson.date_text(text) == expected.isoformat()
    # a minute later east of Greenwich is the next day; a minute earlier west, the day before
    assert xjson.date_text(f"/Date({ms}+0001)/") == (
        expected + timedelta(days=1) if edge_ms else expected).isoformat()
    assert xjson.date_text(f"/Date({ms}-0001)/") == (
        expected if edge_ms else expected - timedelta(days=1)).isoformat()


@pytest.mark.parametrize("text", [
    "/Date(1419937200000+1399)/", "/Date(1419937200000+1500)/", "/Date(1419937200000+130)/",
    "/Date(1419937200000-1460)/", "/Date(1419937200000+ab00)/", "/Date(+1300)/", "/Date()/",
    "/Date(14199372.00000)/", "/Date(1419937200000)", "Date(1419937200000)/",
])
def test_what_is_not_a_xero_date_is_refused(text):
    with pytest.raises(ValueError, match="not a Xero date"):
        xjson.parse_date(text)
    with pytest.raises(ValueError, match="not a Xero date"):
        xjson.date_text(text)


def test_two_digit_offsets_are_hours():
    assert xjson.date_text("/Date(1419937200000+13)/") == "2014-12-31"
    assert xjson.date_text("/Date(1419937200000-11)/") == "2014-12-30"


def test_iso_text_gives_its_own_calendar_date():
    assert xjson.date_text("2015-01-30T00:00:00") == "2015-01-30"
    assert xjson.date_text("2018-10-21T23:30:00-05:00") == "2018-10-21"
    assert xjson.date_text("2018-10-21T10:00:00Z") == "2018-10-21"
    assert xjson.date_text("") is None and xjson.date_text(None) is None
