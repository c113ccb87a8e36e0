"""Tracking categories and options, and tracking on line items, as Xero checks them."""

from __future__ import annotations

from typing import Any

from api_helpers import Client


def _category(client: Client, name: str, *options: str) -> dict[str, Any]:
    made = client.put("/TrackingCategories", {"TrackingCategories": [{"Name": name}]})
    assert made.status == 200, made.raw
    category = made.json["TrackingCategories"][0]
    for option in options:
        res = client.put(f"/TrackingCategories/{category['TrackingCategoryID']}/Options",
                         {"Options": [{"Name": option}]})
        assert res.status == 200, res.raw
    return category


def _line(**tracking: str) -> dict[str, Any]:
    return {"Description": "Deck", "Quantity": 1, "UnitAmount": 100, "AccountCode": "200",
            "TaxType": "OUTPUT",
            "Tracking": [{"Name": k, "Option": v} for k, v in tracking.items()]}


def test_categories_and_options_are_listed_and_at_most_two_are_active(client: Client) -> None:
    job = _category(client, "Job", "J-100", "J-101")
    _category(client, "Site", "Balmain")
    listed = client.get("/TrackingCategories").json["TrackingCategories"]
    assert sorted(c["Name"] for c in listed) == ["Job", "Site"]
    one = client.get(f"/TrackingCategories/{job['TrackingCategoryID']}").json
    assert [o["Name"] for o in one["TrackingCategories"][0]["Options"]] == ["J-100", "J-101"]
    third = client.put("/TrackingCategories", {"TrackingCategories": [{"Name": "Crew"}]})
    assert third.status == 400 and "2 active" in third.error_messages()[0]
    again = client.put(f"/TrackingCategories/{job['TrackingCategoryID']}/Options",
                       {"Options": [{"Name": "j-100"}]})
    assert again.status == 400 and "already in use" in again.error_messages()[0]


def test_a_line_is_tracked_by_names_and_keeps_the_ids(client: Client) -> None:
    _category(client, "Job", "J-100")
    _category(client, "Site", "Balmain")
    inv = client.invoice(client.contact()["ContactID"], lines=[_line(Job="J-100", Site="Balmain")])
    tracked = inv["LineItems"][0]["Tracking"]
    assert [(t["Name"], t["Option"]) for t in tracked] == [("Job", "J-100"), ("Site", "Balmain")]
    assert all(t["TrackingCategoryID"] and t["TrackingOptionID"] for t in tracked)
    # an update that leaves Tracking out keeps it
    res = client.post(f"/Invoices/{inv['InvoiceID']}", {"Invoices": [{
        "LineItems": [{"LineItemID": inv["LineItems"][0]["LineItemID"], "Description": "D"}]}]})
    assert res.status == 200, res.raw
    assert res.json["Invoices"][0]["LineItems"][0]["Tracking"] == tracked


def test_an_unknown_option_or_category_is_refused_naming_it(client: Client) -> None:
    _category(client, "Job", "J-100")
    contact = client.contact()["ContactID"]
    body = {"Type": "ACCREC", "Contact": {"ContactID": contact}, "Status": "AUTHORISED",
            "LineItems": [_line(Job="J-999")]}
    res = client.put("/Invoices", {"Invoices": [body]})
    assert res.status == 400 and "'J-999'" in res.error_messages()[0]
    body["LineItems"] = [_line(Crew="North")]
    res = client.put("/Invoices", {"Invoices": [body]})
    assert res.status == 400 and "'Crew'" in res.error_messages()[0]
