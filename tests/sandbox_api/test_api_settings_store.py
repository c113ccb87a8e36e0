"""Organisation, accounts, tax rates, the demo seed, persistence and bulk generation."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

from api_helpers import START, Client

from xsync.sandbox.api import AccountingApi
from xsync.sandbox.clock import Clock
from xsync.sandbox.generate import generate_organisation
from xsync.sandbox.store import Store


def test_organisation_accounts_tax_rates(client: Client) -> None:
    org = client.get("/Organisation").json["Organisations"][0]
    assert (org["Version"], org["BaseCurrency"], org["CountryCode"]) == ("AU", "AUD", "AU")
    assert org["OrganisationID"] != client.tenant and org["PaysTax"] is True
    assert (org["FinancialYearEndDay"], org["FinancialYearEndMonth"]) == (30, 6)
    assert org["SalesTaxBasis"] == "ACCRUALS" and org["Timezone"] == "AUSEASTERNSTANDARDTIME"
    assert "PeriodLockDate" not in org
    accounts = {a["Code"]: a for a in client.get("/Accounts").json["Accounts"]}
    assert accounts["090"]["Type"] == "BANK" and accounts["610"]["SystemAccount"] == "DEBTORS"
    assert (
        accounts["860"]["SystemAccount"] == "ROUNDING" and accounts["820"]["SystemAccount"] == "GST"
    )
    one = client.get(f"/Accounts/{accounts['200']['AccountID']}").json["Accounts"]
    assert one[0]["Name"] == "Sales"
    banks = client.get("/Accounts", where='Type=="BANK"', order="Code DESC").json["Accounts"]
    assert [a["Code"] for a in banks] == ["091", "090"]
    rates = {t["TaxType"]: t for t in client.get("/TaxRates").json["TaxRates"]}
    assert rates["OUTPUT"]["EffectiveRate"] == Decimal("10.0000")
    assert rates["GSTONIMPORTS"]["TaxComponents"][0]["Rate"] == Decimal("0.0000")
    assert "EXEMPTINPUT" not in rates
    assert (
        client.get("/TaxRates", where='TaxType=="INPUT"').json["TaxRates"][0]["Name"]
        == "GST on Expenses"
    )


def test_demo_seed_has_every_status(demo: Client) -> None:
    invoices = demo.get("/Invoices").json["Invoices"]
    assert len(invoices) == 50
    statuses = Counter(i["Status"] for i in invoices)
    assert set(statuses) == {"DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED"}
    part_paid = [i for i in invoices if i["Status"] == "AUTHORISED" and i["AmountPaid"] > 0]
    assert len(part_paid) >= 4
    assert {i["Type"] for i in invoices} == {"ACCREC", "ACCPAY"}
    notes = demo.get("/CreditNotes").json["CreditNotes"]
    assert sorted(bool(n["Allocations"]) for n in notes) == [False, True]
    contacts = demo.get("/Contacts", includeArchived="true").json["Contacts"]
    assert len(contacts) == 20 and sum(c["ContactStatus"] == "ARCHIVED" for c in contacts) == 1
    assert all(len(c["TaxNumber"]) == 11 for c in contacts)
    assert len(demo.get("/Payments").json["Payments"]) == 19


def test_file_store_survives_restart(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "sandbox.db")
    clock = Clock(start=START)
    store = Store(path)
    tenant = store.create_organisation(
        "Persist Co", seed="empty", clock=clock, period_lock_date=date(2025, 6, 30)
    )
    client = Client(AccountingApi(store, clock), tenant)
    inv = client.invoice(client.contact()["ContactID"])
    client.put(
        "/Invoices",
        {
            "Type": "ACCREC",
            "Contact": {"Name": "Acme Pty Ltd"},
            "LineItems": [{"Description": "x", "UnitAmount": 1, "AccountCode": "200"}],
        },
        headers={"Idempotency-Key": "persisted"},
    )
    store.close()
    again = Store(path)
    assert [o["name"] for o in again.organisations()] == ["Persist Co"]
    client = Client(AccountingApi(again, clock), tenant)
    got = client.get(f"/Invoices/{inv['InvoiceID']}").json["Invoices"][0]
    assert got["Total"] == Decimal("110.00")
    assert client.get("/Organisation").json["Organisations"][0]["PeriodLockDate"]
    nxt = client.invoice(got["Contact"]["ContactID"])
    assert nxt["InvoiceNumber"] == "INV-0003"
    replay = client.put(
        "/Invoices",
        {
            "Type": "ACCREC",
            "Contact": {"Name": "Acme Pty Ltd"},
            "LineItems": [{"Description": "x", "UnitAmount": 1, "AccountCode": "200"}],
        },
        headers={"Idempotency-Key": "persisted"},
    )
    assert replay.json["Invoices"][0]["InvoiceNumber"] == "INV-0002"
    again.close()


def test_generate_organisation_is_consistent_with_the_api(store: Store, clock: Clock) -> None:
    tenant = generate_organisation(store, "Big Co", invoices=2000, lines_per_invoice=3, clock=clock)
    client = Client(AccountingApi(store, clock), tenant)
    page = client.get("/Invoices", page=2, pageSize=1000).json
    assert page["pagination"] == {"page": 2, "pageSize": 1000, "pageCount": 2, "itemCount": 2000}
    inv = next(i for i in page["Invoices"] if i["Type"] == "ACCREC" and i["Status"] == "AUTHORISED")
    assert len(inv["LineItems"]) == 3
    assert inv["Total"] == sum(li["LineAmount"] + li["TaxAmount"] for li in inv["LineItems"])
    edited = client.post(f"/Invoices/{inv['InvoiceID']}", {"Reference": "edited"})
    assert edited.status == 200 and edited.json["Invoices"][0]["Total"] == inv["Total"]
    new = client.invoice(inv["Contact"]["ContactID"])
    assert new["InvoiceNumber"] not in {i["InvoiceNumber"] for i in page["Invoices"]}
    assert new["InvoiceNumber"].startswith("INV-")
