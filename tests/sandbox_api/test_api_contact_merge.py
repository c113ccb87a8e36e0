"""Merging contacts (Xero does it in its screens; the sandbox at POST /Contacts/{id}/Merge)."""

from __future__ import annotations

from api_helpers import Client

from xsync.sandbox.clock import Clock


def test_merge_archives_the_merged_contact_and_moves_its_invoices(
    client: Client, clock: Clock
) -> None:
    old = client.contact("Acme Old")
    kept = client.contact("Acme")
    invoice = client.invoice(old["ContactID"])
    clock.advance(10)
    res = client.post(f"/Contacts/{old['ContactID']}/Merge",
                      {"MergedToContactID": kept["ContactID"]})
    assert res.status == 200, res.raw
    [merged] = res.json["Contacts"]
    assert merged["ContactStatus"] == "ARCHIVED"
    assert merged["MergedToContactID"] == kept["ContactID"]
    got = client.get(f"/Contacts/{old['ContactID']}").json["Contacts"][0]
    assert got["MergedToContactID"] == kept["ContactID"] and got["ContactStatus"] == "ARCHIVED"
    moved = client.get(f"/Invoices/{invoice['InvoiceID']}").json["Invoices"][0]
    assert moved["Contact"]["ContactID"] == kept["ContactID"]
    assert moved["UpdatedDateUTC"] != invoice["UpdatedDateUTC"]
    listed = client.get("/Contacts").json["Contacts"]
    assert [c["Name"] for c in listed] == ["Acme"]
    assert listed[0]["IsCustomer"] is True


def test_merge_moves_the_merged_contacts_overpayments_and_prepayments(
        client: Client, clock: Clock) -> None:
    old = client.contact("Acme Old")
    kept = client.contact("Acme")
    made = {}
    for typ in ("RECEIVE-OVERPAYMENT", "RECEIVE-PREPAYMENT"):
        res = client.put("/BankTransactions", {"BankTransactions": [{
            "Type": typ, "Contact": {"ContactID": old["ContactID"]},
            "BankAccount": {"Code": "090"}, "Date": "2026-11-24", "LineAmountTypes": "NoTax",
            "LineItems": [{"Description": "Paid ahead", "Quantity": 1, "UnitAmount": 40,
                           "AccountCode": "200"}]}]})
        assert res.status == 200, res.raw
        bank = res.json["BankTransactions"][0]
        made[typ] = bank
    clock.advance(10)
    assert client.post(f"/Contacts/{old['ContactID']}/Merge",
                       {"MergedToContactID": kept["ContactID"]}).status == 200
    for endpoint, field, typ in (("Overpayments", "OverpaymentID", "RECEIVE-OVERPAYMENT"),
                                 ("Prepayments", "PrepaymentID", "RECEIVE-PREPAYMENT")):
        credit_id = made[typ][field]
        [credit] = client.get(f"/{endpoint}/{credit_id}").json[endpoint]
        assert credit["Contact"]["ContactID"] == kept["ContactID"], endpoint
        listed = client.get(f"/{endpoint}", where=f'Contact.ContactID==Guid("{kept["ContactID"]}")')
        assert [c[field] for c in listed.json[endpoint]] == [credit_id], endpoint
        [bank] = client.get(f"/BankTransactions/{made[typ]['BankTransactionID']}").json[
            "BankTransactions"]
        assert bank["Contact"]["ContactID"] == kept["ContactID"]


def test_merge_refuses_itself_unknown_and_archived_contacts(client: Client) -> None:
    one = client.contact("One")
    two = client.contact("Two")
    res = client.post(f"/Contacts/{one['ContactID']}/Merge",
                      {"MergedToContactID": one["ContactID"]})
    assert res.status == 400
    assert res.error_messages() == ["A contact cannot be merged into itself."]
    res = client.post(f"/Contacts/{one['ContactID']}/Merge", {"MergedToContactID": ""})
    assert res.error_messages() == ["MergedToContactID must name the contact to keep."]
    missing = "00000000-0000-0000-0000-000000000009"
    assert client.post(f"/Contacts/{missing}/Merge",
                       {"MergedToContactID": two["ContactID"]}).status == 404
    client.post(f"/Contacts/{two['ContactID']}", {"ContactStatus": "ARCHIVED"})
    res = client.post(f"/Contacts/{one['ContactID']}/Merge",
                      {"MergedToContactID": two["ContactID"]})
    assert res.error_messages() == ["The contact Two is archived and cannot be merged."]
    assert client.get(f"/Contacts/{one['ContactID']}").json["Contacts"][0][
        "ContactStatus"] == "ACTIVE"
    assert client.get(f"/Contacts/{one['ContactID']}/Merge").status == 405
