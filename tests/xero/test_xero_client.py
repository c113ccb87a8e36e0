"""The Xero client against a scripted fake Xero: headers, paging, chunking, batches, retries."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qs

import httpx
import pytest
from xero_fakes import API, reply

from xsync import __version__
from xsync.errors import (
    DailyLimitReached,
    RateLimited,
    XeroForbidden,
    XeroNotFound,
    XeroTransientError,
    XeroUnauthorized,
    XeroUrlTooLong,
    XeroValidationError,
)
from xsync.xero import xjson


def query(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}


def test_headers_and_if_modified_since(make_client):
    client, fake = make_client(lambda r: reply(body={"Invoices": []}))
    since = datetime(2026, 3, 4, 15, 6, 7, 891000, tzinfo=timezone(timedelta(hours=10)))
    client.get("Invoices", modified_since=since)
    sent = fake.requests[0]
    assert str(sent.url).startswith(f"{API}/Invoices")
    assert sent.headers["authorization"] == "Bearer tok-123"
    assert sent.headers["xero-tenant-id"] == "tenant-1"
    assert sent.headers["accept"] == "application/json"
    assert sent.headers["user-agent"] == f"xsync/{__version__}"
    assert sent.headers["if-modified-since"] == "2026-03-04T05:06:07Z"


def test_no_tenant_header_without_tenant(make_client):
    client, fake = make_client(lambda r: reply(body={}), tenant_id=None)
    client.get("Organisation")
    assert "xero-tenant-id" not in fake.requests[0].headers


def test_money_is_decimal(make_client):
    client, _ = make_client(lambda r: httpx.Response(
        200, content=b'{"Invoices":[{"Total":1234.10,"AmountDue":0.1}]}'))
    invoice = client.get("Invoices")["Invoices"][0]
    assert invoice["Total"] == Decimal("1234.10") and isinstance(invoice["AmountDue"], Decimal)


def test_pages_until_a_short_page(make_client):
    def respond(request):
        page = int(query(request)["page"])
        size = 1000 if page < 3 else 7
        return reply(body={"Invoices": [{"InvoiceID": f"{page}-{i}"} for i in range(size)]})

    client, fake = make_client(respond)
    pages = client.iter_pages("Invoices", params={"Statuses": "AUTHORISED"})
    first = next(pages)  # lazy: only one request so far
    assert len(first) == 1000 and len(fake.requests) == 1
    rest = list(pages)
    assert [len(p) for p in rest] == [1000, 7]
    assert [query(r)["page"] for r in fake.requests] == ["1", "2", "3"]
    assert all(query(r)["pageSize"] == "1000" for r in fake.requests)
    assert all(query(r)["Statuses"] == "AUTHORISED" for r in fake.requests)


def test_pages_stop_at_page_count(make_client):
    def respond(request):
        page = int(query(request)["page"])
        return reply(body={"pagination": {"page": page, "pageCount": 2},
                           "Contacts": [{"ContactID": str(page)}] * 10})

    client, fake = make_client(respond)
    assert sum(len(p) for p in client.iter_pages("Contacts", page_size=10)) == 20
    assert len(fake.requests) == 2


def test_unpaged_endpoint_is_one_call(make_client):
    client, fake = make_client(lambda r: reply(body={"TaxRates": [{"TaxType": "OUTPUT"}]}))
    assert list(client.iter_pages("TaxRates")) == [[{"TaxType": "OUTPUT"}]]
    assert "page" not in query(fake.requests[0])


def test_ids_are_chunked_at_50(make_client):
    def respond(request):
        ids = query(request)["IDs"].split(",")
        return reply(body={"Invoices": [{"InvoiceID": i} for i in ids]})

    client, fake = make_client(respond)
    ids = [f"id-{i:03}" for i in range(120)]
    found = client.get_by_ids("Invoices", ids + ids[:5])
    assert [f["InvoiceID"] for f in found] == ids
    assert [len(query(r)["IDs"].split(",")) for r in fake.requests] == [50, 50, 20]


def test_404_on_id_list_is_url_too_long(make_client):
    client, _ = make_client(lambda r: reply(404, {"Title": "NotFound"}))
    with pytest.raises(XeroUrlTooLong):
        client.get_by_ids("Contacts", ["a", "b"], param="ContactIDs")
    with pytest.raises(XeroNotFound) as caught:
        client.get("Invoices/abc")
    assert not isinstance(caught.value, XeroUrlTooLong)


def _echo_batch(request):
    body = xjson.loads(request.content)
    out = []
    for element in body["Invoices"]:
        if element.get("Bad"):
            out.append({**element, "InvoiceID": "00000000-0000-0000-0000-000000000000",
                        "HasErrors": True, "StatusAttributeString": "ERROR",
                        "ValidationErrors": [{"Message": "Account code '999' is not valid"}]})
        else:
            out.append({**element, "InvoiceID": f"xid-{element['InvoiceNumber']}",
                        "StatusAttributeString": "OK"})
    return reply(body={"Invoices": out})


def test_batches_split_at_50_with_one_key_each(make_client):
    client, fake = make_client(_echo_batch)
    elements = [{"InvoiceNumber": f"INV-{i}", "Bad": i == 61} for i in range(120)]
    keys = [f"ops-{i}" for i in range(120)]
    results = client.write_batch("Invoices", "PUT", elements, keys=keys, idempotency_key="out-7")
    assert [len(xjson.loads(r.content)["Invoices"]) for r in fake.requests] == [50, 50, 20]
    keys_sent = [r.headers["idempotency-key"] for r in fake.requests]
    assert keys_sent == ["out-7:0", "out-7:1", "out-7:2"]
    assert all(query(r)["summarizeErrors"] == "false" for r in fake.requests)
    assert all(r.method == "PUT" for r in fake.requests)
    assert len(results) == 120
    assert results[0].ok and results[0].xero_id == "xid-INV-0" and results[0].key == "ops-0"
    bad = results[61]
    assert not bad.ok and bad.key == "ops-61" and bad.xero_id is None and bad.index == 61
    assert bad.messages == ["Account code '999' is not valid"]
    assert bad.error().record_id == "ops-61"


def test_summarised_400_maps_elements_to_our_keys(make_client):
    body = {"ErrorNumber": 10, "Type": "ValidationException",
            "Message": "A validation exception occurred",
            "Elements": [{"InvoiceNumber": "INV-2", "ValidationErrors": [
                {"Message": "Invoice # must be unique."}]}]}
    client, _ = make_client(lambda r: reply(400, body))
    elements = [{"InvoiceNumber": f"INV-{i}"} for i in range(4)]
    with pytest.raises(XeroValidationError) as caught:
        client.write_batch("Invoices", "PUT", elements, keys=list("abcd"), idempotency_key="k")
    [error] = caught.value.elements
    assert (error.index, error.record_id, error.messages) == (2, "c", ["Invoice # must be unique."])
    assert caught.value.exit_code == 4


def test_transient_errors_are_retried_with_the_same_key(make_client, clock):
    answers = iter([reply(503), reply(500), reply(body={"Payments": [{"PaymentID": "p"}]})])
    client, fake = make_client(lambda r: next(answers))
    client.post("Payments/p", {"Status": "DELETED"}, idempotency_key="del-p")
    assert len(fake.requests) == 3
    assert {r.headers["idempotency-key"] for r in fake.requests} == {"del-p"}
    assert clock.sleeps == [1.0, 2.0]


def test_timeouts_are_retried_for_gets(make_client):
    calls = []

    def respond(request):
        calls.append(1)
        if len(calls) == 1:
            raise httpx.ReadTimeout("slow", request=request)
        return reply(body={"Contacts": []})

    client, _ = make_client(respond)
    assert client.get("Contacts") == {"Contacts": []}
    assert len(calls) == 2


def test_write_without_key_is_not_retried(make_client):
    client, fake = make_client(lambda r: reply(503))
    with pytest.raises(XeroTransientError):
        client._request("POST", "Invoices", body={"Invoices": []})
    assert len(fake.requests) == 1


def test_retries_give_up(make_client):
    client, fake = make_client(lambda r: reply(502), max_retries=2)
    with pytest.raises(XeroTransientError):
        client.get("Invoices")
    assert len(fake.requests) == 3


def test_retry_after_is_honoured(make_client, clock):
    answers = iter([reply(429, headers={"Retry-After": "7", "X-Rate-Limit-Problem": "Minute",
                                        "X-MinLimit-Remaining": "0"}),
                    reply(body={"Invoices": []})])
    client, _ = make_client(lambda r: next(answers))
    client.get("Invoices")
    assert clock.sleeps == [7.0]


def test_day_limit_stops_at_once(make_client, clock):
    client, fake = make_client(lambda r: reply(
        429, headers={"Retry-After": "5400", "X-Rate-Limit-Problem": "day"}))
    with pytest.raises(DailyLimitReached) as caught:
        client.get("Invoices")
    assert len(fake.requests) == 1 and clock.sleeps == []
    assert caught.value.retry_after == 5400 and caught.value.exit_code == 7
    assert "resume after" in str(caught.value) and "UTC" in str(caught.value)
    assert caught.value.resume_at > datetime.now(UTC) + timedelta(minutes=89)


def test_429_without_a_problem_is_a_minute_limit_waited_out(make_client, clock):
    answers = iter([reply(429, headers={"Retry-After": "7"}), reply(body={"Invoices": []})])
    client, fake = make_client(lambda r: next(answers))
    assert client.get("Invoices") == {"Invoices": []}
    assert len(fake.requests) == 2 and clock.sleeps == [7.0]


def test_429_without_a_problem_that_persists_is_exit_8_not_7(make_client, clock):
    client, fake = make_client(lambda r: reply(429, headers={"Retry-After": "2"}), max_retries=3)
    with pytest.raises(RateLimited) as caught:
        client.get("Invoices")
    assert not isinstance(caught.value, DailyLimitReached)
    assert caught.value.exit_code == 8 and len(fake.requests) == 4
    assert clock.sleeps == [2.0, 2.0, 2.0]


def test_unknown_rate_limit_problem_is_the_day_limit(make_client):
    client, _ = make_client(lambda r: reply(429, headers={"X-Rate-Limit-Problem": "weekly"}))
    with pytest.raises(DailyLimitReached):
        client.get("Invoices")


def test_pacing_from_minute_remaining(make_client, clock):
    remaining = iter(range(59, -100, -1))
    client, fake = make_client(lambda r: reply(
        body={"Invoices": []}, headers={"X-MinLimit-Remaining": str(max(next(remaining), 0)),
                                        "X-DayLimit-Remaining": "4000"}))
    for _ in range(150):
        client.get("Invoices")
    sent = [t for t in clock.sleeps]
    assert len(fake.requests) == 150 and sum(sent) >= 120
    assert client.limits.day_remaining == 4000


def test_pacing_never_exceeds_60_a_minute(make_client, clock):
    stamps = []

    def respond(request):
        stamps.append(clock.now)
        return reply(body={})

    client, _ = make_client(respond)
    for _ in range(200):
        client.get("Organisation")
    for i in range(len(stamps) - 60):
        assert stamps[i + 60] - stamps[i] >= 60


def test_remaining_reported_by_xero_makes_us_wait(make_client, clock):
    client, _ = make_client(lambda r: reply(body={}, headers={"X-MinLimit-Remaining": "0"}))
    client.get("Organisation")
    client.get("Organisation")
    assert clock.sleeps == [pytest.approx(60.0, abs=0.05)]


def test_at_most_five_in_flight(make_client):
    in_flight, peak, lock = [0], [0], threading.Lock()
    gate = threading.Event()

    def respond(request):
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        gate.wait(0.05)
        time.sleep(0.01)
        with lock:
            in_flight[0] -= 1
        return reply(body={})

    client, fake = make_client(respond)
    threads = [threading.Thread(target=client.get, args=("Organisation",)) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(fake.requests) == 12 and peak[0] == 5


def test_401_refreshes_once():
    class Rotating:
        def __init__(self):
            self.token, self.refreshed = "old", 0

        def access_token(self):
            return self.token

        def refresh_after_rejection(self, rejected):
            self.refreshed += 1
            self.token = "new"
            return self.token

    tokens = Rotating()
    seen = []

    def respond(request):
        seen.append(request.headers["authorization"])
        return reply(401 if request.headers["authorization"] == "Bearer old" else 200, {})

    from xsync.xero.client import XeroClient

    with XeroClient(api_url=API, tenant_id="t", tokens=tokens,
                    transport=httpx.MockTransport(respond), sleep=lambda s: None) as client:
        client.get("Organisation")
    assert seen == ["Bearer old", "Bearer new"] and tokens.refreshed == 1


def test_error_mapping(make_client):
    for status, exc in [(401, XeroUnauthorized), (403, XeroForbidden), (404, XeroNotFound)]:
        client, _ = make_client(lambda r, s=status: reply(s, {"Title": "x", "Detail": "d"}))
        with pytest.raises(exc) as caught:
            client.get("Invoices/abc")
        assert caught.value.status == status and caught.value.request == "GET /Invoices/abc"
        assert "tok-123" not in repr(caught.value.__dict__)


def test_body_keeps_decimal_digits(make_client):
    client, fake = make_client(lambda r: reply(body={"Payments": [{"PaymentID": "p1"}]}))
    client.post("Payments", {"Amount": Decimal("12.30"), "Date": datetime(2026, 1, 2).date()},
                idempotency_key="k1")
    assert fake.requests[0].content == b'{"Amount":12.30,"Date":"2026-01-02"}'
    assert fake.requests[0].headers["content-type"] == "application/json"


@pytest.mark.parametrize("content", [b'{"Invoices":[{"InvoiceID":"a"},{"Invoi', b"",
                                     b"<html>gateway</html>", b'["not", "an", "envelope"]'])
def test_a_success_without_a_json_envelope_is_an_error_never_an_empty_page(make_client, content):
    """A reply cut short (or a proxy's page) must not read as "no records": the scan would
    take it for no change, and the run would exit 0."""
    client, fake = make_client(lambda r: httpx.Response(200, content=content), max_retries=1)
    with pytest.raises(XeroTransientError, match="no JSON envelope"):
        list(client.iter_pages("Invoices"))
    assert len(fake.requests) == 2  # retried once, as any transient failure


def test_a_write_answered_with_no_body_is_not_an_error(make_client):
    client, _ = make_client(lambda r: httpx.Response(204))
    assert client._request("DELETE", "Invoices/x/Allocations/y") == {}
