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


def test_terminal_csv_and_html(world: World, tmp_path: Path) -> None:
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
