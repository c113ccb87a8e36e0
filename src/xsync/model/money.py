"""Money and quantities as exact decimal text. Never binary floats.

Xero rounds half-up, per line, to 2 places for amounts; unit prices and quantities carry up to 4.

Two kinds of input reach here. Xero's replies arrive as ``Decimal`` or ``int`` (the client parses
JSON numbers that way) and are rounded to Xero's own precision, which they already have. Text,
which is what the operations store holds, must be written exactly as a plain decimal number
(``-?[0-9]+(\\.[0-9]+)?``): no thousands separators, underscores, exponents, signs other than a
leading minus, spaces, NaN or Infinity, and no more decimal places than Xero keeps, because
rounding it silently would push a different amount than the one written. Trailing zeros past
that precision are accepted (``"1.2300"`` is exactly ``1.23``).
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
TEN_THOUSANDTH = Decimal("0.0001")
PLAIN_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
MONEY_PLACES = 2
QUANTITY_PLACES = 4


class BadAmount(ValueError):
    """A value that is not a decimal amount (the record naming it is reported and skipped).

    Its text describes the value alone ("'1e3' is not a plain decimal number ..."), so that the
    caller can put the record and the field in front of it."""


def to_decimal(value: object, places: int | None = None, what: str = "amounts") -> Decimal:
    """Parse ints, Decimals and plain decimal text; refuse floats (they lose cents) and junk.

    ``places``: for text, the most decimal places that are kept (more non-zero ones are refused
    rather than rounded); ``what`` names the values in that refusal."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise BadAmount(f"{value!r} is not an amount")
    elif isinstance(value, float):
        raise BadAmount(f"{value!r} is a binary floating-point number, which cannot hold an "
                        "amount exactly; store it as decimal text")
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        if not PLAIN_DECIMAL.fullmatch(value):
            raise BadAmount(f"{value!r} is not a plain decimal number (digits, optionally a "
                            "point and decimals)")
        result = Decimal(value)
        if places is not None:
            _, _, frac = value.partition(".")
            kept = len(frac.rstrip("0"))
            if kept > places:
                raise BadAmount(f"{value!r} has {kept} decimal places, but Xero keeps {places} "
                                f"for {what}: write it with at most {places} rather than have "
                                "it rounded")
    else:
        raise BadAmount(f"{value!r} is not a decimal amount")
    if not result.is_finite():
        raise BadAmount(f"{value!r} is not a finite amount")
    # "-0.00" and "0.00" are one amount: keep one spelling so that they never differ
    return abs(result) if result == 0 else result


def round2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money(value: object) -> str | None:
    """Canonical money text: 2 places, half-up ("1234.5" -> "1234.50"); ``None``/"" -> ``None``.

    Text with more than 2 decimal places is refused (:class:`BadAmount`), not rounded."""
    if value is None or value == "":
        return None
    rounded = round2(to_decimal(value, MONEY_PLACES, "amounts"))
    return format(abs(rounded) if rounded == 0 else rounded, "f")


def quantity(value: object) -> str | None:
    """Canonical quantity or unit price: 2 to 4 places ("2" -> "2.00", "1.23450" -> "1.2345").

    Text with more than 4 decimal places is refused (:class:`BadAmount`), not rounded."""
    if value is None or value == "":
        return None
    parsed = to_decimal(value, QUANTITY_PLACES, "unit prices and quantities")
    exact = parsed.quantize(TEN_THOUSANDTH, rounding=ROUND_HALF_UP)
    if exact == 0:
        exact = abs(exact)
    text = format(exact, "f")
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0")
    return f"{whole}.{frac.ljust(2, '0')}"
