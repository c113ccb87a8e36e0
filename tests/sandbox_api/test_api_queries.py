"""Lists: If-Modified-Since, paging, filters, where/order."""

from __future__ import annotations

from decimal import Decimal

from api_helpers import Client


def _three(client: Client, clock) -> list[dict]:  # type: ignore[no-untyped-def]
    cid = client.contact()["ContactID"]
    out = []
    for n in range(3):
        clock.advance(1.5)
        out.append(
            client.invoice(cid, status="DRAFT" if n == 1 else "AUTHORISED", Reference=f"r{n}")
        )
    return out


def test_if_modified_since_formats_and_second_truncation(client: Client, clock) -> None:  # type: ignore[no-untyped-def]
    invs = _three(client, clock)  # updated at 01:00:01.500, 01:00:03.000, 01:00:04.500

    def refs(value: str) -> list[str]:
        res = client.get("/Invoices", headers={"If-Modified-Since": value})
        assert res.status == 200
        return [i["Reference"] for i in res.json["Invoices"]]

    assert refs("2026-03-15T01:00:03") == ["r1", "r2"]
    assert refs("2026-03-15T01:00:04.900Z") == ["r2"]  # same second comes back again
    assert refs("2026-03-15T12:00:03+11:00") == ["r1", "r2"]
    assert refs("Sun, 15 Mar 2026 01:00:02 GMT") == ["r1", "r2"]
    assert refs("2026-03-15T01:00:05") == []
    assert refs("not a date") == ["r0", "r1", "r2"]
    assert len(invs) == 3
    tax = client.get("/TaxRates", headers={"If-Modified-Since": "2030-01-01T00:00:00"})
    assert len(tax.json["TaxRates"]) == 11
    accounts = client.get("/Accounts", headers={"If-Modified-Since": "2030-01-01T00:00:00"})
    assert accounts.json["Accounts"] == []


def test_paging_and_line_items(client: Client, clock) -> None:  # type: ignore[no-untyped-def]
    _three(client, clock)
    page = client.get("/Invoices", page=2, pageSize=2).json
    assert page["pagination"] == {"page": 2, "pageSize": 2, "pageCount": 2, "itemCount": 3}
    assert [i["Reference"] for i in page["Invoices"]] == ["r2"]
    assert page["Invoices"][0]["LineItems"]
    unpaged = client.get("/Invoices").json
    assert "pagination" not in unpaged and "LineItems" not in unpaged["Invoices"][0]
    clamped = client.get("/Invoices", page=1, pageSize=5000).json
    assert clamped["pagination"]["pageSize"] == 1000
    summary = client.get("/Invoices", page=1, summaryOnly="true").json["Invoices"][0]
    assert "LineItems" not in summary and "Payments" not in summary and summary["Total"]


def test_filters_where_and_order(client: Client, clock) -> None:  # type: ignore[no-untyped-def]
    invs = _three(client, clock)
    other = client.contact("Other Pty Ltd")["ContactID"]
    clock.advance(1)
    bill = client.invoice(other, typ="ACCPAY", InvoiceNumber="B-1", Reference="bill")

    def refs(**query: object) -> list[str]:
        res = client.get("/Invoices", **query)
        assert res.status == 200, res.raw
        return [i["Reference"] for i in res.json["Invoices"]]

    assert refs(Statuses="DRAFT") == ["r1"]
    assert refs(IDs=f"{invs[0]['InvoiceID']},{invs[2]['InvoiceID'].upper()}") == ["r0", "r2"]
    assert refs(InvoiceNumbers="INV-0002") == ["r1"]
    assert refs(ContactIDs=other) == ["bill"]
    assert refs(searchTerm="BIL") == ["bill"]
    assert refs(where='Type=="ACCPAY"') == ["bill"]
    assert refs(where='Status=="DRAFT" OR Type=="ACCPAY"') == ["r1", "bill"]
    assert refs(where=f'Contact.ContactID==guid("{other.upper()}")') == ["bill"]
    assert refs(where="AmountDue>100 AND Date>=DateTime(2026,03,01)") == ["r0", "r1", "r2", "bill"]
    assert refs(where="AmountDue>200") == []
    assert refs(order="InvoiceNumber DESC", where='Type=="ACCREC"') == ["r2", "r1", "r0"]
    assert refs(order="UpdatedDateUTC DESC") == ["bill", "r2", "r1", "r0"]
    # the order rows are stored in, read page by page without decoding every document
    assert refs(order="UpdatedDateUTC ASC", page=1, pageSize=3) == ["r0", "r1", "r2"]
    assert refs(order="updateddateutc", page=2, pageSize=3) == ["bill"]
    assert refs(createdByMyApp="true") == ["r0", "r1", "r2", "bill"]
    bad = client.get("/Invoices", where="Total ~ 3")
    assert bad.status == 400 and bad.json["Type"] == "QueryParseException" and bad.json["Message"]
    assert client.get("/Invoices", where="Name.Frobnicate()").status == 400
    assert bill["Total"] == Decimal("110.00")


def test_contacts_list_filters(client: Client) -> None:
    a = client.contact("Alpha Traders", EmailAddress="ap@alpha.com.au", ContactNumber="A1")
    client.contact("beta co")
    arch = client.contact("Gamma Archived")
    client.post(f"/Contacts/{arch['ContactID']}", {"ContactStatus": "ARCHIVED"})
    names = lambda **q: [c["Name"] for c in client.get("/Contacts", **q).json["Contacts"]]  # noqa: E731
    assert names() == ["Alpha Traders", "beta co"]
    assert names(includeArchived="true") == ["Alpha Traders", "beta co", "Gamma Archived"]
    assert names(where='ContactStatus=="ACTIVE"', includeArchived="true") == [
        "Alpha Traders",
        "beta co",
    ]
    assert names(where='EmailAddress=="ap@alpha.com.au"') == ["Alpha Traders"]
    assert names(where='Name.ToLower()=="beta co"') == ["beta co"]
    assert names(order="Name DESC") == ["beta co", "Alpha Traders"]
    assert names(searchTerm="ALPHA") == ["Alpha Traders"]
    assert names(IDs=arch["ContactID"]) == ["Gamma Archived"]
    assert client.get("/Contacts/A1").json["Contacts"][0]["ContactID"] == a["ContactID"]
    assert client.get("/Contacts", page=1).json["pagination"]["itemCount"] == 2
