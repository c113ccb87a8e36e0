"""Each cause of a difference, named from the two sides' documents; and the sum property."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

from bas_helpers import Q3, RATES, both, doc
from hypothesis import given, settings
from hypothesis import strategies as st

from xsync.reports.bas import LABELS, Lodged, Pair, TaxLine, reconcile

D = Decimal
DAY = date(2026, 8, 10)
LINE = [TaxLine("OUTPUT", D("100.00"), D("10.00"))]


def causes(pairs: list[Pair], lodged: Lodged | None = None) -> list[tuple[str, str]]:
    report = reconcile(pairs, period=Q3, basis="accrual", report_types=RATES, lodged=lodged)
    return [(d.cause, d.reason) for d in report.differences]


def pair(ops: dict[str, object] | None = None, xero: dict[str, object] | None = None,
         lines_ops: list[TaxLine] | None = None) -> Pair:
    p = both("invoices", "INV-7", DAY, LINE)
    assert p.ops and p.xero
    return Pair(dataclasses.replace(p.ops, lines=lines_ops or LINE, **(ops or {})),
                dataclasses.replace(p.xero, **(xero or {})))


def test_each_cause_is_named() -> None:
    assert causes([Pair(doc("ops", "invoices", "INV-8", DAY, LINE), None,
                        "held back: below min_total 200.00")]) == [
        ("not-in-xero", "held back: below min_total 200.00")]
    assert causes([Pair(None, doc("xero", "bills", "B-8", DAY, LINE, flow="purchase"))])[0][0] \
        == "not-in-ops"
    assert causes([pair(ops={"status": "draft"})])[0][0] == "not-posted"
    assert causes([pair(xero={"status": "void"})])[0][0] == "status"
    assert causes([pair(ops={"date": date(2026, 10, 1)})]) == [
        ("date", "dated 2026-08-10 in Xero, 2026-10-01 in ops")]
    assert causes([pair(lines_ops=[TaxLine("EXEMPTOUTPUT", D("110.00"), D("0"))])])[0][0] \
        == "tax-type"
    assert causes([pair(lines_ops=[TaxLine("OUTPUT", D("100.00"), D("10.01"))])])[0][0] \
        == "rounding"
    assert causes([pair(lines_ops=[TaxLine("OUTPUT", D("90.00"), D("9.00"))],
                        ops={"total": D("99.00")})]) == [
        ("amount", "total 110.00 in Xero, 99.00 in ops")]


def test_a_document_changed_after_lodging() -> None:
    p = pair(xero={"fingerprint": "now"}, lines_ops=[TaxLine("OUTPUT", D("90"), D("9"))])
    lodged = Lodged("2026-10-20T00:00:00+00:00", {},
                    {"invoices:xero-INV-7": ("then", {"G1": D("99.00"), "1A": D("9.00")})})
    report = reconcile([p], period=Q3, basis="accrual", report_types=RATES, lodged=lodged)
    assert [d.cause for d in report.differences] == ["changed-after-lodging"]
    [changed] = report.changed_after_lodging
    assert changed.xero_id == "xero-INV-7" and changed.reason == "edited after lodging"
    assert changed.labels == {"G1": (D("110.00"), D("99.00")), "1A": (D("10.00"), D("9.00"))}
    # a lodged document no longer in the period, and one entered since, are both named
    gone = Lodged("x", {}, {"invoices:old": ("p", {"G1": D("5.00")})})
    rows = reconcile([pair()], period=Q3, basis="accrual", report_types=RATES,
                     lodged=gone).changed_after_lodging
    assert sorted(r.reason for r in rows) == [
        "entered into the period after lodging",
        "voided, deleted or moved out of the period after lodging"]


money = st.decimals(min_value=D("-5000"), max_value=D("5000"), places=2)
tax_types = st.sampled_from(sorted(RATES))
statuses = st.sampled_from(["draft", "approved", "paid", "void", "deleted"])
days = st.dates(min_value=date(2026, 6, 1), max_value=date(2026, 11, 30))


@st.composite
def documents(draw: st.DrawFn, side: str) -> object:
    lines = draw(st.lists(st.builds(TaxLine, tax_types, money, money), max_size=4))
    entity = draw(st.sampled_from(["invoices", "bills", "credit_notes", "bank_transactions"]))
    paid = draw(st.lists(st.tuples(days, money), max_size=2))
    return doc(side, entity, draw(st.text("AB12", min_size=1, max_size=3)), draw(days), lines,
               status=draw(statuses), flow=draw(st.sampled_from(["sale", "purchase"])),
               credit=draw(st.booleans()), payments=paid)


pairs = st.lists(st.builds(Pair, st.none() | documents("ops"), st.none() | documents("xero")),
                 max_size=12)


@settings(max_examples=300, deadline=None)
@given(pairs, st.sampled_from(["accrual", "cash"]))
def test_differences_sum_to_each_labels_difference(found: list[Pair], basis: str) -> None:
    report = reconcile(found, period=Q3, basis=basis, report_types=RATES)  # type: ignore[arg-type]
    for label in LABELS:
        listed = sum((x - o for d in report.differences
                      for name, (x, o) in d.labels.items() if name == label), D("0"))
        assert listed == report.difference(label), label
