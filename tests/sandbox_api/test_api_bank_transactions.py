"""Spend and receive money: lines and tax as Xero computes them, lists, edits, lock dates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from api_helpers import Client


def _spend(client: Client, contact_id: str, **fields: Any) -> Any:
    body = {
        "Type": "SPEND",
        "Contact": {"ContactID": contact_id},
        "BankAccount": {"Code": "090"},
        "Date": "2026-03-05",
        "LineItems": [
            {"Description": "Stationery", "Quantity": 3, "UnitAmount": "12.35",
             "AccountCode": "453"},
            {"Description": "Bank fee", "Quantity": 1, "UnitAmount": "5.00",
             "AccountCode": "404"},
        ],
        **fields,
    }
    return client.put("/BankTransactions", {"BankTransactions": [body]})


def test_spend_money_computes_tax_per_line_from_the_account(client: Client) -> None:
    cid = client.contact()["ContactID"]
    res = _spend(client, cid, Reference="Officeworks")
    assert res.status == 200, res.raw
    txn = res.json["BankTransactions"][0]
    assert txn["Type"] == "SPEND" and txn["Status"] == "AUTHORISED"
    assert txn["BankAccount"]["Code"] == "090" and txn["IsReconciled"] is False
    assert txn["Date"] == "/Date(1772668800000+0000)/" and txn["Reference"] == "Officeworks"
    stationery, fee = txn["LineItems"]
    # 3 × 12.35 = 37.05 at INPUT (the account's tax type): 3.705 rounds half-up to 3.71
    assert stationery["TaxType"] == "INPUT" and stationery["LineAmount"] == Decimal("37.05")
    assert stationery["TaxAmount"] == Decimal("3.71")
    assert fee["TaxType"] == "EXEMPTEXPENSES" and fee["TaxAmount"] == Decimal("0.00")
    assert txn["SubTotal"] == Decimal("42.05") and txn["TotalTax"] == Decimal("3.71")
    assert txn["Total"] == Decimal("45.76")
    got = client.get(f"/BankTransactions/{txn['BankTransactionID']}").json["BankTransactions"]
    assert got[0]["Total"] == Decimal("45.76") and len(got[0]["LineItems"]) == 2


def test_receive_money_inclusive(client: Client) -> None:
    cid = client.contact()["ContactID"]
    body = {
        "Type": "RECEIVE", "Contact": {"ContactID": cid}, "BankAccount": {"Code": "090"},
        "LineAmountTypes": "Inclusive", "Date": "2026-03-06",
        "LineItems": [{"Description": "Cash sale", "Quantity": 1, "UnitAmount": "99.00",
                       "AccountCode": "200", "TaxType": "OUTPUT"}],
    }
    txn = client.put("/BankTransactions", body).json["BankTransactions"][0]
    # 99.00 × 1/11 = 9.00
    assert txn["TotalTax"] == Decimal("9.00") and txn["SubTotal"] == Decimal("90.00")
    assert txn["Total"] == Decimal("99.00")


def test_validation(client: Client) -> None:
    cid = client.contact()["ContactID"]
    cases = [
        (_spend(client, cid, Type="RECEIVE-TRANSFER"), "Type must be one of RECEIVE, SPEND"),
        (_spend(client, cid, BankAccount={"Code": "200"}), "must be an active bank account"),
        (_spend(client, cid, Contact=None), "A Contact must be specified"),
        (_spend(client, cid, LineItems=[]), "at least one line item"),
        (_spend(client, cid, LineItems=[{"Description": "x", "UnitAmount": "1.00",
                                         "AccountCode": "090"}]), "not a valid code"),
        (_spend(client, cid, Status="DELETED"), "not of valid status"),
    ]
    for res, message in cases:
        assert res.status == 400, res.raw
        assert any(message in m for m in res.error_messages()), (message, res.raw)


def test_edit_delete_and_reconciled(client: Client, clock) -> None:  # type: ignore[no-untyped-def]
    cid = client.contact()["ContactID"]
    txn = _spend(client, cid).json["BankTransactions"][0]
    tid = txn["BankTransactionID"]
    clock.advance(10)
    line = {"LineItemID": txn["LineItems"][0]["LineItemID"], "UnitAmount": "20.00"}
    res = client.post(f"/BankTransactions/{tid}", {"BankTransactions": [{"LineItems": [line]}]})
    assert res.status == 200, res.raw
    edited = res.json["BankTransactions"][0]
    assert edited["Total"] == Decimal("66.00") and len(edited["LineItems"]) == 1
    assert edited["LineItems"][0]["LineItemID"] == line["LineItemID"]
    assert edited["UpdatedDateUTC"] != txn["UpdatedDateUTC"]
    # PUT creates only; POST with the id updates
    assert client.put("/BankTransactions", {"BankTransactionID": tid, "Reference": "x"}
                      ).status == 400
    res = client.post("/BankTransactions", {"BankTransactionID": tid, "IsReconciled": True})
    assert res.status == 200 and res.json["BankTransactions"][0]["IsReconciled"] is True
    refused = client.post(f"/BankTransactions/{tid}", {"Reference": "late"})
    assert refused.status == 400 and "reconciled" in refused.error_messages()[0]
    other = _spend(client, cid).json["BankTransactions"][0]
    gone = client.post(f"/BankTransactions/{other['BankTransactionID']}", {"Status": "DELETED"})
    assert gone.status == 200 and gone.json["BankTransactions"][0]["Status"] == "DELETED"
    again = client.post(f"/BankTransactions/{other['BankTransactionID']}", {"Reference": "y"})
    assert again.status == 400 and "not of valid status" in again.error_messages()[0]
    assert client.get("/BankTransactions/not-an-id").status == 404
    assert client.call("DELETE", f"/BankTransactions/{tid}").status == 405


def test_list_ims_paging_where_and_unitdp(client: Client, clock) -> None:  # type: ignore[no-untyped-def]
    cid = client.contact()["ContactID"]
    first = _spend(client, cid).json["BankTransactions"][0]
    clock.advance(60)
    body = {
        "Type": "RECEIVE", "Contact": {"ContactID": cid}, "BankAccount": {"Code": "090"},
        "Date": "2026-03-07",
        "LineItems": [{"Description": "Fine", "Quantity": 1, "UnitAmount": "10.1234",
                       "AccountCode": "200"}],
    }
    second = client.put("/BankTransactions", body, unitdp=4).json["BankTransactions"][0]
    assert second["LineItems"][0]["UnitAmount"] == Decimal("10.1234")
    assert second["LineItems"][0]["LineAmount"] == Decimal("10.12")
    everything = client.get("/BankTransactions").json
    assert [t["BankTransactionID"] for t in everything["BankTransactions"]] == [
        first["BankTransactionID"], second["BankTransactionID"]]
    assert "pagination" not in everything and "LineItems" not in everything["BankTransactions"][0]
    paged = client.get("/BankTransactions", page=1, pageSize=1).json
    assert paged["pagination"] == {"page": 1, "pageSize": 1, "pageCount": 2, "itemCount": 2}
    assert len(paged["BankTransactions"]) == 1 and paged["BankTransactions"][0]["LineItems"]
    rounded = client.get("/BankTransactions", page=2, pageSize=1).json["BankTransactions"][0]
    assert rounded["LineItems"][0]["UnitAmount"] == Decimal("10.12")
    exact = client.get("/BankTransactions", page=2, pageSize=1, unitdp=4).json
    assert exact["BankTransactions"][0]["LineItems"][0]["UnitAmount"] == Decimal("10.1234")
    since = client.get("/BankTransactions", {"If-Modified-Since": "2026-03-15T01:00:30"}).json
    assert [t["Type"] for t in since["BankTransactions"]] == ["RECEIVE"]
    where = client.get("/BankTransactions", where='Type=="SPEND"').json["BankTransactions"]
    assert [t["BankTransactionID"] for t in where] == [first["BankTransactionID"]]
    dated = client.get("/BankTransactions", where="Date>=DateTime(2026,03,06)").json
    assert [t["Type"] for t in dated["BankTransactions"]] == ["RECEIVE"]


def test_lock_dates_refuse_writes_on_or_before_them(client: Client, store) -> None:  # type: ignore[no-untyped-def]
    cid = client.contact()["ContactID"]
    early = _spend(client, cid, Date="2026-02-27").json["BankTransactions"][0]
    store.set_period_lock_date(client.tenant, date(2026, 2, 28))
    refused = _spend(client, cid, Date="2026-02-28")
    assert refused.status == 400 and "period lock date (2026-02-28)" in refused.error_messages()[0]
    res = client.post(f"/BankTransactions/{early['BankTransactionID']}", {"Status": "DELETED"})
    assert res.status == 400 and "lock date" in res.error_messages()[0]
    assert _spend(client, cid, Date="2026-03-01").status == 200
    # the end-of-year lock binds too, whichever of the two is later
    store.set_period_lock_date(client.tenant, date(2026, 3, 2), "EndOfYearLockDate")
    org = client.get("/Organisation").json["Organisations"][0]
    assert org["EndOfYearLockDate"] == "/Date(1772409600000+0000)/"
    assert _spend(client, cid, Date="2026-03-01").status == 400
    assert _spend(client, cid, Date="2026-03-03").status == 200


def test_generated_quarter_holds_spend_receive_money_and_journals(store, clock) -> None:  # type: ignore[no-untyped-def]
    from xsync.sandbox.api import AccountingApi
    from xsync.sandbox.generate import generate_organisation

    tenant = generate_organisation(store, "Big Co", invoices=20, bank_transactions=30,
                                   manual_journals=5, clock=clock)
    client = Client(AccountingApi(store, clock), tenant)
    txns = client.get("/BankTransactions", page=1).json["BankTransactions"]
    assert len(txns) == 30 and {t["Type"] for t in txns} == {"SPEND", "RECEIVE"}
    for txn in txns:
        line = txn["LineItems"][0]
        assert txn["Total"] == txn["SubTotal"] + txn["TotalTax"]
        assert line["TaxAmount"] == (line["LineAmount"] / 10).quantize(Decimal("0.01"))
    journals = client.get("/ManualJournals").json["ManualJournals"]
    assert len(journals) == 5
    for journal in journals:
        credit, debit = journal["JournalLines"]
        assert credit["LineAmount"] + credit["TaxAmount"] + debit["LineAmount"] == 0
    # the API keeps working on generated data: a generated transaction can be deleted
    tid = txns[0]["BankTransactionID"]
    assert client.post(f"/BankTransactions/{tid}", {"Status": "DELETED"}).status == 200
