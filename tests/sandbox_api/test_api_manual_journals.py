"""Manual journals: balanced lines with tax, the status machine, lists and lock dates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from api_helpers import Client


def _journal(client: Client, **fields: Any) -> Any:
    body = {
        "Narration": "Reclassify advertising as capital",
        "Date": "2026-03-09",
        "Status": "POSTED",
        "LineAmountTypes": "Exclusive",
        "JournalLines": [
            {"LineAmount": "250.00", "AccountCode": "720", "TaxType": "CAPEXINPUT"},
            {"LineAmount": "-275.00", "AccountCode": "800", "TaxType": "BASEXCLUDED"},
        ],
        **fields,
    }
    return client.put("/ManualJournals", {"ManualJournals": [body]})


def test_posted_journal_carries_tax_per_line(client: Client) -> None:
    res = _journal(client)
    assert res.status == 200, res.raw
    journal = res.json["ManualJournals"][0]
    assert journal["Status"] == "POSTED" and journal["ShowOnCashBasisReports"] is True
    debit, credit = journal["JournalLines"]
    assert debit["TaxAmount"] == Decimal("25.00") and debit["LineAmount"] == Decimal("250.00")
    assert credit["TaxAmount"] == Decimal("0.00") and credit["AccountID"]
    got = client.get(f"/ManualJournals/{journal['ManualJournalID']}").json["ManualJournals"]
    assert got[0]["Narration"] == "Reclassify advertising as capital"


def test_credit_lines_carry_negative_tax_and_inclusive_amounts(client: Client) -> None:
    res = _journal(client, LineAmountTypes="Inclusive", JournalLines=[
        {"LineAmount": "-110.00", "AccountCode": "200", "TaxType": "OUTPUT"},
        {"LineAmount": "110.00", "AccountCode": "610"},
    ])
    assert res.status == 200, res.raw
    credit, debit = res.json["ManualJournals"][0]["JournalLines"]
    assert credit["TaxAmount"] == Decimal("-10.00") and debit["TaxType"] == "BASEXCLUDED"
    default = _journal(client, LineAmountTypes=None)
    assert default.status == 400  # NoTax is the default: 250 does not balance 275
    no_tax = client.put("/ManualJournals", {"Narration": "Accrual", "JournalLines": [
        {"LineAmount": "10.00", "AccountCode": "429"},
        {"LineAmount": "-10.00", "AccountCode": "800"}]}).json["ManualJournals"][0]
    assert no_tax["LineAmountTypes"] == "NoTax" and no_tax["Status"] == "DRAFT"
    assert all(line["TaxAmount"] == Decimal("0.00") for line in no_tax["JournalLines"])


def test_validation(client: Client) -> None:
    cases = [
        (_journal(client, Narration=" "), "Narration cannot be empty"),
        (_journal(client, JournalLines=[{"LineAmount": "1.00", "AccountCode": "200"}]),
         "at least two journal lines"),
        (_journal(client, JournalLines=[
            {"LineAmount": "100.00", "AccountCode": "429", "TaxType": "INPUT"},
            {"LineAmount": "-100.00", "AccountCode": "800"}]),
         "The total debits (110.00) must equal total credits (100.00)"),
        (_journal(client, JournalLines=[
            {"LineAmount": "1.00", "AccountCode": "999"},
            {"LineAmount": "-1.00", "AccountCode": "800"}]), "Account code '999'"),
        (_journal(client, JournalLines=[
            {"LineAmount": "1.00", "AccountCode": "429", "TaxType": "NOPE"},
            {"LineAmount": "-1.00", "AccountCode": "800"}]), "TaxType code 'NOPE'"),
        (_journal(client, Status="VOIDED"), "not of valid status"),
    ]
    for res, message in cases:
        assert res.status == 400, res.raw
        assert any(message in m for m in res.error_messages()), (message, res.raw)


def test_status_machine(client: Client) -> None:
    draft = _journal(client, Status="DRAFT").json["ManualJournals"][0]
    jid = draft["ManualJournalID"]
    posted = client.post(f"/ManualJournals/{jid}", {"Status": "POSTED"})
    assert posted.status == 200 and posted.json["ManualJournals"][0]["Status"] == "POSTED"
    assert posted.json["ManualJournals"][0]["JournalLines"][0]["TaxAmount"] == Decimal("25.00")
    assert client.post(f"/ManualJournals/{jid}", {"Status": "DELETED"}).status == 400
    voided = client.post("/ManualJournals", {"ManualJournalID": jid, "Status": "VOIDED"})
    assert voided.status == 200 and voided.json["ManualJournals"][0]["Status"] == "VOIDED"
    assert client.post(f"/ManualJournals/{jid}", {"Status": "POSTED"}).status == 400
    other = _journal(client, Status="DRAFT").json["ManualJournals"][0]
    gone = client.post(f"/ManualJournals/{other['ManualJournalID']}", {"Status": "DELETED"})
    assert gone.status == 200 and gone.json["ManualJournals"][0]["Status"] == "DELETED"
    assert client.put("/ManualJournals", {"ManualJournalID": jid, "Narration": "x"}).status == 400
    assert client.get("/ManualJournals/0e0e0e0e-0000-4000-8000-000000000000").status == 404


def test_list_ims_paging_and_where(client: Client, clock) -> None:  # type: ignore[no-untyped-def]
    first = _journal(client).json["ManualJournals"][0]
    clock.advance(60)
    second = _journal(client, Date="2026-03-20", Status="DRAFT").json["ManualJournals"][0]
    listed = client.get("/ManualJournals").json["ManualJournals"]
    assert [j["ManualJournalID"] for j in listed] == [first["ManualJournalID"],
                                                     second["ManualJournalID"]]
    assert listed[0]["JournalLines"]
    paged = client.get("/ManualJournals", page=2, pageSize=1).json
    assert paged["pagination"]["itemCount"] == 2
    assert paged["ManualJournals"][0]["ManualJournalID"] == second["ManualJournalID"]
    since = client.get("/ManualJournals", {"If-Modified-Since": "2026-03-15T01:00:30"}).json
    assert [j["Status"] for j in since["ManualJournals"]] == ["DRAFT"]
    posted = client.get("/ManualJournals", where='Status=="POSTED"').json["ManualJournals"]
    assert [j["ManualJournalID"] for j in posted] == [first["ManualJournalID"]]


def test_lock_date(client: Client, store) -> None:  # type: ignore[no-untyped-def]
    early = _journal(client, Date="2026-02-10").json["ManualJournals"][0]
    store.set_period_lock_date(client.tenant, date(2026, 2, 28))
    refused = _journal(client, Date="2026-02-28")
    assert refused.status == 400 and "lock date" in refused.error_messages()[0]
    res = client.post(f"/ManualJournals/{early['ManualJournalID']}", {"Status": "VOIDED"})
    assert res.status == 400 and "lock date" in res.error_messages()[0]
    assert _journal(client, Date="2026-03-01").status == 200


def test_tax_rates_report_the_bas_tax_type(client: Client) -> None:
    rates = {r["TaxType"]: r for r in client.get("/TaxRates").json["TaxRates"]}
    assert rates["CAPEXINPUT"]["ReportTaxType"] == "CAPITALEXINPUT"
    for tax_type in ("OUTPUT", "INPUT", "EXEMPTOUTPUT", "EXEMPTEXPORT", "EXEMPTEXPENSES",
                     "EXEMPTCAPITAL", "INPUTTAXED", "BASEXCLUDED", "GSTONIMPORTS"):
        assert rates[tax_type]["ReportTaxType"] == tax_type
