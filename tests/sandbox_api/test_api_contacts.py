"""Contacts: uniqueness, upsert by name/number, addresses and phones."""

from __future__ import annotations

from api_helpers import Client


def test_duplicate_active_name_refused(client: Client) -> None:
    client.contact("Acme Pty Ltd")
    res = client.put("/Contacts", {"Contacts": [{"Name": " acme  pty ltd "}]})
    assert res.status == 400 and res.json["Type"] == "ValidationException"
    assert (
        res.error_messages()
        == [
            "The contact name  acme  pty ltd  is already assigned to another contact. "
            "The contact name must be unique across all active contacts."
        ]
        or "already assigned to another contact" in res.error_messages()[0]
    )
    assert res.json["Elements"][0]["HasValidationErrors"] is True


def test_archived_name_can_be_reused_and_number_unique(client: Client) -> None:
    old = client.contact("Acme", ContactNumber="N1")
    client.post(f"/Contacts/{old['ContactID']}", {"ContactStatus": "ARCHIVED"})
    client.contact("Acme")
    res = client.put("/Contacts", {"Name": "Other", "ContactNumber": "N1"})
    assert res.status == 400
    assert res.error_messages() == ["The contact number N1 is already assigned to another contact."]


def test_post_upserts_by_number_then_name(client: Client, clock) -> None:  # type: ignore[no-untyped-def]
    c = client.contact("Acme", ContactNumber="N1", EmailAddress="old@acme.com.au")
    clock.advance(2)
    res = client.post(
        "/Contacts", {"Contacts": [{"Name": "Acme", "EmailAddress": "new@acme.com.au"}]}
    )
    assert res.status == 200 and res.json["Contacts"][0]["ContactID"] == c["ContactID"]
    assert res.json["Contacts"][0]["UpdatedDateUTC"] != c["UpdatedDateUTC"]
    res = client.post("/Contacts", {"ContactNumber": "N1", "Name": "Acme Renamed"})
    assert res.json["Contacts"][0]["ContactID"] == c["ContactID"]
    assert (
        client.get("/Contacts", includeArchived="true").json["Contacts"][0]["Name"]
        == "Acme Renamed"
    )


def test_addresses_phones_and_validation(client: Client) -> None:
    c = client.contact(
        "Acme",
        Addresses=[{"AddressType": "STREET", "AddressLine1": "1 George St", "City": "Sydney"}],
        Phones=[{"PhoneType": "MOBILE", "PhoneNumber": "0400 000 000"}],
        TaxNumber="53004085616",
    )
    assert {a["AddressType"] for a in c["Addresses"]} == {"POBOX", "STREET"}
    assert {p["PhoneType"] for p in c["Phones"]} == {"DEFAULT", "DDI", "MOBILE", "FAX"}
    street = next(a for a in c["Addresses"] if a["AddressType"] == "STREET")
    assert street["City"] == "Sydney" and c["TaxNumber"] == "53004085616"
    assert (
        c["ContactStatus"] == "ACTIVE"
        and c["IsCustomer"] is False
        and c["HasValidationErrors"] is False
    )
    res = client.put("/Contacts", {"Name": "", "EmailAddress": "not-an-email"})
    assert res.status == 400
    assert res.error_messages() == [
        "The contact name must be specified.",
        "Email address must be valid.",
    ]
    res = client.post("/Contacts/00000000-0000-0000-0000-00000000000f", {"Name": "x"})
    assert res.status == 404
