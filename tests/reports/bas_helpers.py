"""Documents and pairs for the BAS reconciliation tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from xsync.reports.bas import Doc, Pair, TaxLine
from xsync.reports.period import quarter

D = Decimal
Q3 = quarter("2026-Q3")
RATES = {t: t for t in ("OUTPUT", "INPUT", "EXEMPTOUTPUT", "EXEMPTEXPORT", "EXEMPTEXPENSES",
                        "EXEMPTCAPITAL", "INPUTTAXED", "BASEXCLUDED", "GSTONIMPORTS")}
RATES["CAPEXINPUT"] = "CAPITALEXINPUT"
RATES["TAX001"] = "OUTPUT"  # a custom rate reporting as GST on income


def doc(side: str, entity: str, number: str, day: date, lines: list[TaxLine], *,
        status: str = "approved", flow: str = "sale", credit: bool = False,
        payments: list[tuple[date, Decimal]] | None = None) -> Doc:
    total = sum((ln.net + ln.tax for ln in lines), D("0"))
    return Doc(side, entity, f"{side}-{number}", number, "Acme", day, status, flow,  # type: ignore[arg-type]
               credit, lines, abs(total), payments or [])


def both(entity: str, number: str, day: date, lines: list[TaxLine], **kw: object) -> Pair:
    return Pair(doc("ops", entity, number, day, lines, **kw),  # type: ignore[arg-type]
                doc("xero", entity, number, day, lines, **kw))  # type: ignore[arg-type]
