"""`xsync bas` through the CLI against the sandbox: labels, every cause, lodging, the outputs.

The demo company's documents are dated 5 to 120 days before the sandbox's 2026-11-24, so
2026-Q3 holds most of them. After the first sync the ops store holds every sales invoice (they
flow both ways) and no bill (bills flow from ops to Xero only), so Xero's bills are the
differences a bookkeeper would see first.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import World, run_json

Q3 = ("bas", "--quarter", "2026-Q3")
CONTACT = "ABC Furniture"


def first_sync(world: World) -> None:
    result = world.run("sync")
    assert result.code in (0, 3), result.out + result.err
    world.advance()


def report(world: World, *args: str) -> tuple[int, dict[str, Any]]:
    return run_json(world, *Q3, *args)


def by_cause(data: dict[str, Any], cause: str) -> list[dict[str, Any]]:
    return [d for d in data["differences"] if d["cause"] == cause]


def label_sum(rows: list[dict[str, Any]], label: str) -> Decimal:
    return sum((Decimal(r["labels"][label]["xero"]) - Decimal(r["labels"][label]["ops"])
                for r in rows if label in r["labels"]), Decimal("0"))


def sale(world: World, day: str, amount: str, **fields: Any) -> dict[str, Any]:
    contact = world.xero.contact(CONTACT)
    body = {"Type": "ACCREC", "Contact": {"ContactID": contact["ContactID"]}, "Date": day,
            "DueDate": day, "Status": "AUTHORISED",
            "LineItems": [{"Description": "Work", "Quantity": 1, "UnitAmount": amount,
                           "AccountCode": "200", "TaxType": "OUTPUT"}], **fields}
    return world.xero.call("PUT", "/Invoices", {"Invoices": [body]})["Invoices"][0]


def test_after_a_sync_only_xero_bills_differ_and_every_label_adds_up(world: World) -> None:
    first_sync(world)
    code, data = report(world)
    assert code == 3
    assert data["period"] == {"from": "2026-07-01", "to": "2026-09-30", "name": "2026-Q3"}
    assert data["basis"] == "accrual" and data["abn"] == "53004085616"
    assert set(data["labels"]) == {"G1", "G2", "G3", "G10", "G11", "1A", "1B"}
    for label in ("G1", "G2", "G3", "1A"):
        assert data["labels"][label]["difference"] == "0.00", label
    assert {d["cause"] for d in data["differences"]} == {"not-in-ops"}
    assert {d["entity"] for d in data["differences"]} == {"bills"}
    for label, values in data["labels"].items():
        assert label_sum(data["differences"], label) == Decimal(values["difference"]), label
    one_b = data["labels"]["1B"]
    assert one_b["xero_dollars"] == int(Decimal(one_b["xero"]))
    assert data["reconciled"] is False


def test_terminal_csv_and_html(world: World, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    first_sync(world)
    csv_path, html_path = tmp_path / "q3.csv", tmp_path / "q3.html"
    result = world.run(*Q3, "--csv", str(csv_path), "--html", str(html_path))
    assert result.code == 3, result.out + result.err
    assert "labels" in result.out and "differences by cause" in result.out
    assert "not-in-ops" in result.out and "differences, $0.00 on 1A" not in result.out
    assert result.out.strip().splitlines()[-1].startswith("7 differences")
    rows = csv_path.read_text().splitlines()
    assert rows[0] == "cause,label,entity,number,contact,date,xero,ops,difference,ops_id," \
                      "xero_id,reason"
    assert any(r.startswith("not-in-ops,1B,bills,") for r in rows[1:])
    page = html_path.read_text()
    assert "<script" not in page and "http" not in page.replace("http-equiv", "")
    assert "@media print" in page and "Demo Company (AU)" in page and "53004085616" in page
    # a long list is cut short on the terminal, never in the files
    monkeypatch.setattr("xsync.cli.bas.SHOWN", 3)
    short = world.run(*Q3).out
    assert "… and 4 more (4 not-in-ops): every one is in --csv FILE and --json" in short
    assert "2026-07-01 to 2026-09-30" in page and "accrual" in page
    assert "<td>G1</td>" in page and "not-in-ops" in page and "7 differences" in page


def test_offline_reports_from_the_state_database_and_says_how_old(world: World) -> None:
    first_sync(world)
    assert world.run(*Q3).code == 3
    online = report(world)[1]
    world.sandbox.set_faults(fail_next=50)  # Xero is not asked: a call would fail
    code, offline = report(world, "--offline")
    world.sandbox.clear_faults()
    assert code == 3 and offline["offline"] is True and "old" in offline["state_age"]
    assert offline["labels"] == online["labels"]


def test_offline_before_any_online_run_is_a_usage_error(world: World) -> None:
    result = world.run(*Q3, "--offline")
    assert result.code == 2 and "run `xsync bas` once online" in result.err
    assert world.run("bas", "--quarter", "2026-Q9").code == 2
    assert world.run("bas", "--basis", "weekly").code == 2


def test_reconciled_exits_0(world: World) -> None:
    first_sync(world)
    # a quarter the demo company has nothing in
    code, data = run_json(world, "bas", "--quarter", "2025-Q1")
    assert code == 0 and data["reconciled"] is True and data["differences"] == []
    assert world.run("bas", "--quarter", "2025-Q1").out.strip().endswith("reconciled")


def test_json_is_valid_and_money_is_text(world: World) -> None:
    first_sync(world)
    _, data = report(world, "--simpler")
    assert list(data["labels"]) == ["G1", "1A", "1B"]
    assert all(isinstance(v["xero"], str) for v in data["labels"].values())
    json.dumps(data)


def xero_sale(world: World, number: str, day: str, *lines: tuple[str, str]) -> dict[str, Any]:
    """A sales invoice entered in Xero: lines of (unit amount, tax type), one each."""
    items = [{"Description": "Work", "Quantity": 1, "UnitAmount": unit, "AccountCode": "200",
              "TaxType": tax} for unit, tax in lines]
    return sale(world, day, "0", InvoiceNumber=number, LineItems=items)


def ops_invoice(world: World, number: str) -> dict[str, Any]:
    return world.ops.one("SELECT * FROM invoices WHERE number = ?", [number])


def test_each_cause_through_the_cli(world: World) -> None:
    """2026-Q2 holds nothing of the demo company: each document here makes one cause."""
    world.configure('[sync.invoices]\ndirection = "both"\nmin_total = "50.00"\n')
    for number in ("Q2-AMOUNT", "Q2-TAX", "Q2-DATE", "Q2-DRAFT", "Q2-VOID"):
        xero_sale(world, number, "2026-05-11", ("100.00", "OUTPUT"))
    xero_sale(world, "Q2-ROUND", "2026-05-12", *[("10.05", "OUTPUT")] * 3)
    supplier = world.xero.contact("PC Complete")["ContactID"]
    world.xero.call("PUT", "/BankTransactions", {"BankTransactions": [{
        "Type": "SPEND", "Contact": {"ContactID": supplier}, "BankAccount": {"Code": "090"},
        "Date": "2026-05-05", "Reference": "Fuel",
        "LineItems": [{"Description": "Fuel", "Quantity": 1, "UnitAmount": "55.00",
                       "AccountCode": "449"}]}]})
    world.xero.call("PUT", "/ManualJournals", {"ManualJournals": [{
        "Narration": "Accrued sales", "Date": "2026-06-30", "Status": "POSTED",
        "LineAmountTypes": "Exclusive", "JournalLines": [
            {"LineAmount": "-300.00", "AccountCode": "200", "TaxType": "OUTPUT"},
            {"LineAmount": "330.00", "AccountCode": "610"}]}]})
    first_sync(world)
    # the team edits ops.db after the sync; nothing is pushed before the report
    for number, sql in (
        ("Q2-AMOUNT", "UPDATE invoice_lines SET line_amount = '90.00', tax_amount = '9.00', "
                      "unit_price = '90.00' WHERE invoice_id = ?"),
        ("Q2-TAX", "UPDATE invoice_lines SET tax_type = 'EXEMPTOUTPUT', tax_amount = '0.00', "
                   "line_amount = '110.00' WHERE invoice_id = ?"),
        ("Q2-DATE", "UPDATE invoices SET date = '2026-07-02', due_date = '2026-08-01' "
                     "WHERE id = ?"),
        ("Q2-DRAFT", "UPDATE invoices SET status = 'draft' WHERE id = ?"),
        ("Q2-ROUND", "UPDATE invoice_lines SET tax_amount = NULL WHERE invoice_id = ?"),
    ):
        world.ops.execute(sql, [ops_invoice(world, number)["id"]])
    world.ops.execute("UPDATE invoices SET total = '99.00', total_tax = '9.00' WHERE number = ?",
                      ["Q2-AMOUNT"])
    world.ops.execute("UPDATE invoices SET total_tax = '3.02' WHERE number = 'Q2-ROUND'")
    customer = ops_invoice(world, "Q2-TAX")["contact_id"]
    world.ops.script(f"""
        INSERT INTO invoices (id, number, contact_id, date, status, total, updated_at) VALUES
          ('S-1', 'OPS-SMALL', '{customer}', '2026-05-20', 'approved', '44.00',
           '2026-11-24T10:00:00Z'),
          ('S-2', 'OPS-BIG', '{customer}', '2026-05-21', 'approved', '1100.00',
           '2026-11-24T10:00:00Z');
        INSERT INTO invoice_lines (id, invoice_id, position, description, quantity, unit_price,
                                   account_code, tax_type) VALUES
            ('S-1-1', 'S-1', 1, 'Call-out', '1', '40.00', '200', 'OUTPUT'),
            ('S-2-1', 'S-2', 1, 'Install', '1', '1000.00', '200', 'OUTPUT');
    """)
    world.xero.update_invoice(world.xero.invoice("Q2-VOID"), Status="VOIDED")
    code, data = run_json(world, "bas", "--quarter", "2026-Q2")
    assert code == 3 and data["warnings"] == []
    causes = {d["number"]: (d["cause"], d["reason"]) for d in data["differences"]}
    assert causes["Q2-AMOUNT"][0] == "amount"
    assert causes["Q2-TAX"][0] == "tax-type"
    assert causes["Q2-DATE"] == ("date", "dated 2026-05-11 in Xero, 2026-07-02 in ops")
    assert causes["Q2-DRAFT"][0] == "not-posted"
    assert causes["Q2-VOID"] == ("status", "void in Xero, approved in ops")
    assert causes["Q2-ROUND"][0] == "rounding"
    assert causes["OPS-SMALL"] == ("not-in-xero", "held back: total 44.00 is below min_total "
                                                  "50.00")
    assert causes["OPS-BIG"] == ("not-in-xero", "not pushed yet (run `xsync push`)")
    assert causes["Fuel"] == ("not-in-ops", "a bank transaction only Xero holds")
    assert causes["Accrued sales"][0] == "not-in-ops"
    assert [d["entity"] for d in data["xero_only"]] == ["bank_transactions", "manual_journals"]
    rounding = next(d for d in data["differences"] if d["cause"] == "rounding")
    assert rounding["labels"]["1A"] == {"xero": "3.03", "ops": "3.02"}
    for label, values in data["labels"].items():
        assert label_sum(data["differences"], label) == Decimal(values["difference"]), label
    assert data["labels"]["1B"]["xero"] == "5.50"  # the fuel: 55.00 at INPUT, GST on top
    assert world.run("bas", "--quarter", "2026-Q2").code == 3


def test_a_lodged_quarter_then_a_back_dated_edit_in_xero(world: World) -> None:
    xero_sale(world, "Q2-LODGED", "2026-05-11", ("100.00", "OUTPUT"))
    xero_sale(world, "Q2-TEAM", "2026-05-12", ("200.00", "OUTPUT"))
    first_sync(world)
    code, lodged = run_json(world, "bas", "--quarter", "2026-Q2", "--lodge")
    assert code == 0 and lodged["lodged_now"] is True and lodged["reconciled"] is True
    assert lodged["labels"]["1A"]["xero"] == "30.00"
    # the accountant enters a sale back-dated into the lodged quarter, and edits the lodged one
    world.xero.edit_first_line(world.xero.invoice("Q2-LODGED"), UnitAmount="150.00")
    xero_sale(world, "Q2-LATE", "2026-06-30", ("20.00", "OUTPUT"))
    # and the team changes a lodged invoice in ops, which xsync pushes into Xero
    team = ops_invoice(world, "Q2-TEAM")["id"]
    world.ops.execute("UPDATE invoice_lines SET unit_price = '250.00' WHERE invoice_id = ?",
                      [team])
    world.ops.execute("UPDATE invoices SET updated_at = '2026-11-24T11:00:00Z' WHERE id = ?",
                      [team])
    assert world.run("push").code == 0
    code, data = run_json(world, "bas", "--quarter", "2026-Q2")
    assert code == 3
    changed = {d["number"]: d for d in data["changed_after_lodging"]}
    assert changed["Q2-LODGED"]["reason"] == "edited after lodging"
    assert changed["Q2-LODGED"]["labels"]["1A"] == {"xero": "15.00", "ops": "10.00"}
    assert changed["Q2-LATE"]["reason"] == "entered into the period after lodging"
    assert "xsync wrote it from ops: " in changed["Q2-TEAM"]["reason"]
    assert "unit_price 200.00 → 250.00" in changed["Q2-TEAM"]["reason"]
    assert "xsync wrote" not in changed["Q2-LODGED"]["reason"]
    assert data["lodged"]["labels"]["1A"] == "30.00"
    causes = {d["number"]: d["cause"] for d in data["differences"]}
    assert causes["Q2-LODGED"] == "changed-after-lodging"
    text = world.run("bas", "--quarter", "2026-Q2").out
    assert "changed after lodging" in text and "Q2-LATE" in text


def test_warns_when_a_sync_would_write_into_a_locked_or_lodged_period(world: World) -> None:
    from datetime import date

    xero_sale(world, "Q2-LOCKED", "2026-05-11", ("100.00", "OUTPUT"))
    first_sync(world)
    assert run_json(world, "bas", "--quarter", "2026-Q2", "--lodge")[0] == 0
    world.sandbox.set_period_lock_date(world.sandbox.tenant_ids[0], date(2026, 6, 30))
    world.ops.execute("UPDATE invoices SET status = 'void' WHERE number = 'Q2-LOCKED'")
    code, data = run_json(world, "bas", "--quarter", "2026-Q2")
    assert code == 3 and data["lock_date"] == "2026-06-30"
    assert any("will be refused, Xero is locked up to 2026-06-30" in w and "Q2-LOCKED" in w
               for w in data["notices"])
    assert any("would write it into 2026-Q2, lodged" in w for w in data["notices"])
    assert [d["cause"] for d in data["differences"]] == ["status"] and data["warnings"] == []
    # a locked, lodged period that still agrees is reconciled: the lock is only a note
    world.ops.execute("UPDATE invoices SET status = 'approved' WHERE number = 'Q2-LOCKED'")
    code, data = run_json(world, "bas", "--quarter", "2026-Q2")
    assert code == 0 and data["reconciled"] is True
    assert data["notices"] == ["Xero is locked up to 2026-06-30: nothing dated on or before it "
                               "can be written, so a difference there is settled in ops or by "
                               "the accountant"]
