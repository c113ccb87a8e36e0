"""A quarter worked out by hand: every label, on both bases, equals the figure in the comments."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from bas_helpers import Q3, RATES, both, doc

from xsync.reports.bas import Pair, TaxLine, dollars, reconcile

D = Decimal


def quarter_pairs() -> list[Pair]:
    return [
        # a sale at four tax types, half paid in the quarter: total 1811.00
        both("invoices", "INV-1", date(2026, 7, 10), [
            TaxLine("OUTPUT", D("1000.00"), D("100.00")),
            TaxLine("EXEMPTOUTPUT", D("200.00"), D("0.00")),
            TaxLine("EXEMPTEXPORT", D("500.00"), D("0.00")),
            TaxLine("TAX001", D("10.00"), D("1.00")),
        ], payments=[(date(2026, 9, 1), D("905.50"))]),
        # an inclusive invoice of 330.00 (GST 330/11 = 30.00), paid in full in the quarter
        both("invoices", "INV-2", date(2026, 8, 1),
             [TaxLine("OUTPUT", D("300.00"), D("30.00"))], status="paid",
             payments=[(date(2026, 8, 3), D("330.00"))]),
        # a bill at INPUT, CAPEXINPUT and EXEMPTEXPENSES, unpaid: total 2690.00
        both("bills", "B-1", date(2026, 7, 15), [
            TaxLine("INPUT", D("400.00"), D("40.00")),
            TaxLine("CAPEXINPUT", D("2000.00"), D("200.00")),
            TaxLine("EXEMPTEXPENSES", D("50.00"), D("0.00")),
        ], flow="purchase"),
        # a sales credit note of 110.00, refunded in the quarter
        both("credit_notes", "CN-1", date(2026, 8, 20),
             [TaxLine("OUTPUT", D("100.00"), D("10.00"))], credit=True,
             payments=[(date(2026, 8, 25), D("110.00"))]),
        # drafts and documents dated outside the quarter do not count
        both("invoices", "INV-3", date(2026, 8, 2), [TaxLine("OUTPUT", D("50.00"), D("5.00"))],
             status="draft"),
        both("invoices", "INV-0", date(2026, 6, 30),
             [TaxLine("OUTPUT", D("70.00"), D("7.00"))]),
        # only in Xero: spend money of 88.00 at INPUT, and a journal crediting 200.00 + GST
        # to sales (its debit at BAS excluded)
        Pair(None, doc("xero", "bank_transactions", "Officeworks", date(2026, 9, 5),
                       [TaxLine("INPUT", D("80.00"), D("8.00"))], flow="purchase")),
        Pair(None, doc("xero", "manual_journals", "Accrued sales", date(2026, 9, 30), [
            TaxLine("OUTPUT", D("-200.00"), D("-20.00")),
            TaxLine("BASEXCLUDED", D("220.00"), D("0.00")),
        ], flow="purchase")),
    ]


def test_accrual_labels_equal_the_hand_worked_figures() -> None:
    report = reconcile(quarter_pairs(), period=Q3, basis="accrual", report_types=RATES)
    # G1 = INV-1 (1100 + 200 + 500 + 11) + INV-2 330 - CN-1 110 + journal 220
    assert report.xero == {
        "G1": D("2251.00"), "G2": D("500.00"), "G3": D("200.00"), "G10": D("2200.00"),
        "G11": D("578.00"),  # 440 + 50 + spend money 88
        "1A": D("141.00"),   # 100 + 1 + 30 - 10 + journal 20
        "1B": D("248.00"),   # 40 + 200 + spend money 8
    }
    # ops holds neither the spend money nor the journal
    assert report.ops["G1"] == D("2031.00") and report.ops["1A"] == D("121.00")
    assert report.ops["G11"] == D("490.00") and report.ops["1B"] == D("240.00")
    assert [(d.cause, d.entity) for d in report.differences] == [
        ("not-in-ops", "bank_transactions"), ("not-in-ops", "manual_journals")]
    assert [d.entity for d in report.xero_only] == ["bank_transactions", "manual_journals"]
    assert report.differences[1].labels == {"G1": (D("220.00"), D("0.00")),
                                            "1A": (D("20.00"), D("0.00"))}
    assert not report.reconciled


def test_cash_labels_carry_gst_pro_rata_to_payments_in_the_period() -> None:
    report = reconcile(quarter_pairs(), period=Q3, basis="cash", report_types=RATES)
    assert report.xero == {
        "G1": D("1345.50"),  # half of INV-1's 1811 + INV-2 330 - refund 110 + journal 220
        "G2": D("250.00"), "G3": D("100.00"),
        "G10": D("0.00"),    # the bill is unpaid
        "G11": D("88.00"), "1A": D("90.50"), "1B": D("8.00"),
    }


def test_simpler_bas_reports_g1_1a_1b_only() -> None:
    report = reconcile(quarter_pairs(), period=Q3, basis="accrual", report_types=RATES,
                       simpler=True)
    assert report.labels == ("G1", "1A", "1B")
    assert set(report.xero) == {"G1", "1A", "1B"}
    # the spend money only reaches G11 (not reported) and 1B
    assert report.differences[0].labels == {"1B": (D("8.00"), D("0.00"))}


@pytest.mark.parametrize(("amount", "whole"), [("1234.99", 1234), ("0.99", 0),
                                               ("-10.50", -10), ("7.00", 7)])
def test_whole_dollars_drop_the_cents(amount: str, whole: int) -> None:
    assert dollars(D(amount)) == whole


def test_a_tax_type_without_a_label_is_named_not_dropped() -> None:
    pairs = [both("invoices", "INV-9", date(2026, 7, 1), [TaxLine("ZEROTAX", D("5"), D("0"))])]
    report = reconcile(pairs, period=Q3, basis="accrual", report_types=RATES)
    assert report.warnings and "ZEROTAX" in report.warnings[0] and "INV-9" in report.warnings[0]
    assert not report.reconciled
