"""Batches (summarizeErrors, non-atomic) and Idempotency-Key replays."""

from __future__ import annotations

from api_helpers import Client

GOOD = {
    "Type": "ACCREC",
    "LineItems": [{"Description": "x", "UnitAmount": 1, "AccountCode": "200"}],
}
BAD = {"Type": "ACCREC", "LineItems": [{"Description": "x", "UnitAmount": 1, "AccountCode": "999"}]}


def _batch(cid: str) -> dict[str, object]:
    contact = {"Contact": {"ContactID": cid}}
    return {
        "Invoices": [
            {**GOOD, **contact, "Reference": "one"},
            {**BAD, **contact, "Reference": "two"},
            {**GOOD, **contact, "Reference": "three"},
        ]
    }


def test_summarize_errors_false_reports_each_element(client: Client) -> None:
    cid = client.contact()["ContactID"]
    res = client.put("/Invoices", _batch(cid), summarizeErrors="false")
    assert res.status == 200
    items = res.json["Invoices"]
    assert [i["StatusAttributeString"] for i in items] == ["OK", "ERROR", "OK"]
    assert [i["Reference"] for i in items] == ["one", "two", "three"]
    assert items[1]["HasErrors"] is True
    assert items[1]["ValidationErrors"] == [
        {"Message": "Account code '999' is not a valid code for this document."}
    ]
    stored = client.get("/Invoices").json["Invoices"]
    assert sorted(i["Reference"] for i in stored) == ["one", "three"]


def test_default_is_summarised_but_valid_elements_are_created(client: Client) -> None:
    cid = client.contact()["ContactID"]
    res = client.put("/Invoices", _batch(cid))
    assert res.status == 400
    body = res.json
    assert body == {
        **body,
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
    }
    assert [e["Reference"] for e in body["Elements"]] == ["two"]
    assert len(client.get("/Invoices").json["Invoices"]) == 2


def test_idempotency_key_replays_and_refuses_other_bodies(client: Client, clock) -> None:  # type: ignore[no-untyped-def]
    cid = client.contact()["ContactID"]
    body = {**GOOD, "Contact": {"ContactID": cid}}
    first = client.put("/Invoices", body, headers={"Idempotency-Key": "k-1"})
    again = client.put("/Invoices", body, headers={"Idempotency-Key": "k-1"})
    assert first.status == again.status == 200 and first.raw == again.raw
    assert len(client.get("/Invoices").json["Invoices"]) == 1
    other = client.put(
        "/Invoices", {**body, "Reference": "different"}, headers={"Idempotency-Key": "k-1"}
    )
    assert (
        other.status == 400
        and other.json["Detail"] == "Idempotency Key is used with a different request"
    )
    clock.advance(6 * 60 + 1)
    later = client.put("/Invoices", body, headers={"Idempotency-Key": "k-1"})
    assert later.status == 200 and later.raw != first.raw
    assert len(client.get("/Invoices").json["Invoices"]) == 2


def test_idempotency_caches_errors_and_limits_key_length(client: Client) -> None:
    cid = client.contact()["ContactID"]
    bad = {**BAD, "Contact": {"ContactID": cid}}
    first = client.put("/Invoices", bad, headers={"Idempotency-Key": "e-1"})
    again = client.put("/Invoices", bad, headers={"Idempotency-Key": "e-1"})
    assert first.status == again.status == 400 and first.raw == again.raw
    long = client.put("/Invoices", bad, headers={"Idempotency-Key": "x" * 129})
    assert long.status == 400 and "128" in long.json["Detail"]
    ok = client.put(
        "/Invoices", {**GOOD, "Contact": {"ContactID": cid}}, headers={"Idempotency-Key": "y" * 128}
    )
    assert ok.status == 200
