"""Line items and document totals, computed the way Xero does.

Per line: ``LineAmount = round2(Qty × Unit × (100 − DiscountRate)/100)`` (or ``Qty × Unit −
DiscountAmount``); tax is rounded per line, half-up: Exclusive ``round2(LineAmount × r)``,
Inclusive ``round2(LineAmount × r/(1+r))``, NoTax 0. Totals are sums of the rounded line values;
Inclusive subtotals are ``ΣLineAmount − ΣTax``. A ``TaxAmount`` sent by the client overrides the
computed one (Xero allows it). A line's ``Tracking`` is checked against the organisation's
tracking categories (:mod:`xsync.sandbox.tracking`).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from xsync.sandbox import tracking, xjson
from xsync.sandbox.context import Ctx

_LINE_FIELDS = (
    "Description",
    "Quantity",
    "UnitAmount",
    "ItemCode",
    "AccountCode",
    "AccountID",
    "TaxType",
    "TaxAmount",
    "LineAmount",
    "Tracking",
    "DiscountRate",
    "DiscountAmount",
    "Item",
)
_BAD_ACCOUNT_TYPES = ("BANK",)


def merge_lines(
    existing: list[dict[str, Any]], sent: Any, *, errors: list[str]
) -> list[dict[str, Any]]:
    """Xero replaces the line set: lines sent with a known ``LineItemID`` update that line, the
    others are new; lines not sent are removed."""
    if not isinstance(sent, list):
        errors.append("LineItems must be a list")
        return existing
    by_id = {line["LineItemID"]: line for line in existing}
    out = []
    for raw in sent:
        if not isinstance(raw, dict):
            errors.append("Each line item must be an object")
            continue
        line_id = str(raw.get("LineItemID") or "").lower()
        base: dict[str, Any] = (
            dict(by_id.pop(line_id)) if line_id in by_id else {"LineItemID": str(uuid.uuid4())}
        )
        # Amounts that Xero derives are recomputed unless the client sent them.
        for derived in ("LineAmount", "TaxAmount"):
            base.pop(derived, None)
        base["_sent"] = {k for k in _LINE_FIELDS if k in raw}
        for key in _LINE_FIELDS:
            if key in raw:
                base[key] = raw[key]
        out.append(base)
    return out


def _num(value: Any, label: str, errors: list[str]) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return xjson.to_decimal(value)
    except ValueError:
        errors.append(f"{label} must be a number")
        return None


def compute_line(
    ctx: Ctx,
    line: dict[str, Any],
    *,
    amount_types: str,
    sales: bool,
    strict: bool,
    unitdp4: bool,
    errors: list[str],
) -> None:
    """Validate one line and fill its derived fields in place."""
    sent = line.pop("_sent", set())
    qty = _num(line.get("Quantity"), "Quantity", errors)
    unit = _num(line.get("UnitAmount"), "UnitAmount", errors)
    given_amount = (
        _num(line.get("LineAmount"), "LineAmount", errors) if "LineAmount" in sent else None
    )
    rate = _num(line.get("DiscountRate"), "DiscountRate", errors)
    disc_amount = _num(line.get("DiscountAmount"), "DiscountAmount", errors)
    if qty is None:
        qty = Decimal(1)
    if unit is None:
        unit = (given_amount / qty) if (given_amount is not None and qty) else Decimal(0)
    unit = unit.quantize(xjson.FOUR if unitdp4 else xjson.TWO, rounding=xjson.ROUND_HALF_UP)
    if (rate or disc_amount) and not sales:
        errors.append("Discounts can only be applied to sales invoices and credit notes")
    gross = qty * unit
    if rate:
        amount = xjson.money(gross * (Decimal(100) - rate) / Decimal(100))
    elif disc_amount:
        amount = xjson.money(gross - disc_amount)
    else:
        amount = xjson.money(gross)
    _account_and_tax(ctx, line, sales=sales, strict=strict, errors=errors)
    pct = Decimal(0)
    tax_rate = ctx.tax_rates.get(str(line.get("TaxType") or ""))
    if tax_rate is not None and amount_types != "NoTax":
        pct = Decimal(tax_rate["EffectiveRate"]) / Decimal(100)
    if amount_types == "NoTax":
        tax = Decimal("0.00")
    elif "TaxAmount" in sent and _num(line.get("TaxAmount"), "TaxAmount", errors) is not None:
        tax = xjson.money(line["TaxAmount"])
    elif amount_types == "Inclusive":
        tax = xjson.money(amount * pct / (1 + pct))
    else:
        tax = xjson.money(amount * pct)
    line["Quantity"] = xjson.quantity(qty)
    line["UnitAmount"] = (
        unit if unitdp4 and unit != unit.quantize(xjson.TWO) else unit.quantize(xjson.TWO)
    )
    line["LineAmount"] = amount
    line["TaxAmount"] = tax
    if rate:
        line["DiscountRate"] = xjson.money(rate)
    else:
        line.pop("DiscountRate", None)
    if disc_amount and not rate:
        line["DiscountAmount"] = xjson.money(disc_amount)
    else:
        line.pop("DiscountAmount", None)
    line.setdefault("Description", "")
    if "Tracking" in sent:
        line["Tracking"] = tracking.line_tracking(ctx, line.get("Tracking"), errors)
    line.setdefault("Tracking", [])
    line["_gross"] = xjson.money(gross)


def _account_and_tax(
    ctx: Ctx, line: dict[str, Any], *, sales: bool, strict: bool, errors: list[str]
) -> None:
    account = None
    if line.get("AccountID") and not line.get("AccountCode"):
        account = ctx.account_by_id(str(line["AccountID"]))
        if account is None:
            errors.append(
                f"Account with ID '{line['AccountID']}' is not a valid account for this document."
            )
            return
        line["AccountCode"] = account["Code"]
    code = str(line.get("AccountCode") or "")
    if code:
        account = ctx.accounts.get(code)
        if (
            account is None
            or account["Status"] != "ACTIVE"
            or account["Type"] in _BAD_ACCOUNT_TYPES
        ):
            errors.append(f"Account code '{code}' is not a valid code for this document.")
            return
        line["AccountCode"] = code
        line["AccountID"] = account["AccountID"]
    elif strict:
        errors.append("Account code '' is not a valid code for this document.")
    tax_type = line.get("TaxType")
    if not tax_type:
        tax_type = account["TaxType"] if account else ("OUTPUT" if sales else "INPUT")
    rate = ctx.tax_rates.get(str(tax_type))
    if rate is None or rate["Status"] != "ACTIVE":
        errors.append(
            f"The TaxType code '{tax_type}' does not exist or cannot be used for this type of "
            "transaction."
        )
        return
    line["TaxType"] = tax_type


def totals(lines: list[dict[str, Any]], amount_types: str) -> dict[str, Decimal]:
    """SubTotal, TotalTax, Total and TotalDiscount of computed lines; pops the scratch fields."""
    line_sum = sum((line["LineAmount"] for line in lines), Decimal("0.00"))
    tax = sum((line["TaxAmount"] for line in lines), Decimal("0.00"))
    discount = sum((line.pop("_gross") - line["LineAmount"] for line in lines), Decimal("0.00"))
    if amount_types == "Inclusive":
        sub, total = line_sum - tax, line_sum
    else:
        sub, total = line_sum, line_sum + tax
    return {
        "SubTotal": xjson.money(sub),
        "TotalTax": xjson.money(tax),
        "Total": xjson.money(total),
        "TotalDiscount": xjson.money(discount),
    }
