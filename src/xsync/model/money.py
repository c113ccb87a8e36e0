"""Money and quantities as exact decimal text. Never binary floats.

Xero rounds half-up, per line, to 2 places for amounts; unit prices and quantities carry up to 4.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
TEN_THOUSANDTH = Decimal("0.0001")


class BadAmount(ValueError):
    """A value that is not a decimal amount (the record naming it is reported and skipped)."""


def to_decimal(value: object) -> Decimal:
    """Parse ints, Decimals and decimal text; refuse floats (they lose cents) and junk."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, (bool, float)):
        raise BadAmount(f"{value!r} is not an exact amount; send decimal text")
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip().replace(",", ""))
        except InvalidOperation as exc:
            raise BadAmount(f"{value!r} is not a decimal amount") from exc
    else:
        raise BadAmount(f"{value!r} is not a decimal amount")
    if not result.is_finite():
        raise BadAmount(f"{value!r} is not a finite amount")
    return result


def round2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money(value: object) -> str | None:
    """Canonical money text: 2 places, half-up ("1234.5" -> "1234.50"); ``None``/"" -> ``None``."""
    if value is None or value == "":
        return None
    return format(round2(to_decimal(value)), "f")


def quantity(value: object) -> str | None:
    """Canonical quantity or unit price: 2 to 4 places ("2" -> "2.00", "1.23450" -> "1.2345")."""
    if value is None or value == "":
        return None
    exact = to_decimal(value).quantize(TEN_THOUSANDTH, rounding=ROUND_HALF_UP)
    text = format(exact, "f")
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0")
    return f"{whole}.{frac.ljust(2, '0')}"
