"""Xero's dates and numbers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from xsync.xero import xjson


@pytest.mark.parametrize("text", ["/Date(1539993600000)/", "/Date(1539993600000+0000)/",
                                  "/Date(1539993600000+1300)/", "/Date(1539993600000-0800)/"])
def test_offsets_never_shift_the_instant(text):
    assert xjson.parse_datetime(text) == datetime(2018, 10, 20, tzinfo=UTC)


@pytest.mark.parametrize("text,expected", [
    # 2014-12-30T11:00Z is already the 31st in New Zealand summer time: the author's date
    ("/Date(1419937200000+1300)/", date(2014, 12, 31)),
    ("/Date(1419937200000+0000)/", date(2014, 12, 30)),
    ("/Date(1419937200000)/", date(2014, 12, 30)),
    ("/Date(1539993600000-0800)/", date(2018, 10, 19)),
    ("/Date(1539993600000+0530)/", date(2018, 10, 20)),
    ("/Date(1539975600000+0530)/", date(2018, 10, 20)),  # 19:00Z the day before
])
def test_document_date_is_the_calendar_date_in_the_given_offset(text, expected):
    assert xjson.parse_date(text) == expected


def test_a_malformed_offset_is_not_a_date():
    with pytest.raises(ValueError):
        xjson.parse_date("/Date(1419937200000+1399)/")


def test_document_date_is_the_utc_date_not_local(monkeypatch):
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    assert xjson.parse_date("/Date(1539993600000+0000)/") == date(2018, 10, 20)


def test_timestamps_keep_milliseconds_and_are_aware():
    moment = xjson.parse_datetime("/Date(1439434356790)/")
    assert moment == datetime(2015, 8, 13, 2, 52, 36, 790000, tzinfo=UTC)
    assert moment.tzinfo is not None


@pytest.mark.parametrize("text,expected", [
    ("2024-06-21T01:15:39.902", datetime(2024, 6, 21, 1, 15, 39, 902000, tzinfo=UTC)),
    ("2024-06-21T01:15:39Z", datetime(2024, 6, 21, 1, 15, 39, tzinfo=UTC)),
    ("2024-06-21T11:15:39+10:00", datetime(2024, 6, 21, 1, 15, 39, tzinfo=UTC)),
])
def test_iso_text(text, expected):
    assert xjson.parse_datetime(text) == expected


def test_empty_and_bad_values():
    assert xjson.parse_datetime(None) is None and xjson.parse_date("") is None
    with pytest.raises(ValueError):
        xjson.parse_datetime("/Date(abc)/")


def test_if_modified_since_is_the_spec_date_time_in_utc_seconds():
    aware = datetime(2026, 1, 1, 9, 30, 5, 999999, tzinfo=timezone(timedelta(hours=11)))
    assert xjson.format_ims(aware) == "2025-12-31T22:30:05Z"
    assert xjson.format_ims(datetime(2026, 1, 1, 9, 30, 5)) == "2026-01-01T09:30:05Z"


def test_decimal_round_trip():
    data = xjson.loads('{"a": 0.1, "b": 3, "c": [1.10]}')
    assert data == {"a": Decimal("0.1"), "b": 3, "c": [Decimal("1.10")]}
    assert xjson.dumps(data) == '{"a":0.1,"b":3,"c":[1.10]}'
    assert xjson.dumps({"s": "x\u0000xsync-decimal:1"}) != '{"s":1}'
    with pytest.raises(ValueError):
        xjson.dumps({"a": Decimal("NaN")})
