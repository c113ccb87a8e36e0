"""Money and quantity text arrives as written: plain decimals only, never rounded when it comes
as text; Xero's Decimal and int replies keep working."""

from __future__ import annotations

from decimal import Decimal

import pytest

from xsync.model.money import BadAmount, money, quantity


@pytest.mark.parametrize("text", ["1,2,3.4", "1_000", "1e3", "1E3", "1e30", "NaN", "nan",
                                  "Infinity", "-Infinity", "inf", " 1.00", "1.00 ", "+1.00",
                                  "1.2.3", ".5", "5.", "-", "", "0x10", "\u0967", "1 000",
                                  "$1.00", "1.00\n"])
def test_text_that_is_not_a_plain_decimal_is_refused(text):
    if text == "":
        assert money(text) is None and quantity(text) is None
        return
    with pytest.raises(BadAmount, match="is not a plain decimal number"):
        money(text)
    with pytest.raises(BadAmount, match="is not a plain decimal number"):
        quantity(text)


def test_text_beyond_xeros_precision_is_refused_not_rounded():
    with pytest.raises(BadAmount, match=r"'1\.005' has 3 decimal places, but Xero keeps 2"):
        money("1.005")
    with pytest.raises(BadAmount, match="has 5 decimal places, but Xero keeps 4 for unit "
                                        "prices and quantities"):
        quantity("1.23456")
    # trailing zeros change nothing, so they are not a loss
    assert money("1.2300") == "1.23"
    assert quantity("1.234500") == "1.2345"


def test_plain_text_reads_exactly():
    assert money("1234.5") == "1234.50"
    assert money("-12") == "-12.00"
    assert money("007.10") == "7.10"
    assert money("-0") == "0.00" and money("-0.00") == "0.00"
    assert quantity("2") == "2.00"
    assert quantity("12.3456") == "12.3456"
    assert quantity("-0.0000") == "0.00"


def test_xero_decimals_and_ints_keep_rounding_to_xeros_precision():
    assert money(Decimal("1.005")) == "1.01"
    assert money(Decimal("-0.001")) == "0.00"
    assert money(10) == "10.00"
    assert quantity(Decimal("1.23455")) == "1.2346"
    assert quantity(3) == "3.00"
    with pytest.raises(BadAmount, match="not a finite amount"):
        money(Decimal("NaN"))


def test_floats_and_bools_are_refused():
    with pytest.raises(BadAmount, match="binary floating-point"):
        money(0.1)
    with pytest.raises(BadAmount, match="is not an amount"):
        quantity(True)
