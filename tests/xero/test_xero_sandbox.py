"""The client against a live sandbox: pacing, Retry-After, day limit, lost replies, batches."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from xsync.errors import DailyLimitReached
from xsync.xero.client import StaticTokens, XeroClient

pytest.importorskip("xsync.sandbox.app")


@pytest.fixture
def sandbox():
    from xsync.sandbox.app import Sandbox
    from xsync.sandbox.clock import Clock

    sb = Sandbox(clock=Clock(start=datetime(2026, 5, 1, tzinfo=UTC)))
    sb.start()
    yield sb
    sb.close()


@pytest.fixture
def client(sandbox):
    """A client whose clock is the sandbox's and whose sleeping moves that clock."""
    token = sandbox.grant_tokens()["access_token"]
    with XeroClient(
        api_url=sandbox.base_url + "/api.xro/2.0", tenant_id=sandbox.tenant_ids[0],
        tokens=StaticTokens(token), sleep=sandbox.advance_clock,
        clock=lambda: sandbox.now().timestamp(), backoff=0.5,
    ) as c:
        yield c


def invoice(number: str, account: str = "200") -> dict:
    return {"Type": "ACCREC", "Contact": {"Name": "Harbour Plumbing"}, "InvoiceNumber": number,
            "Date": "2026-05-01", "DueDate": "2026-05-31",
            "LineItems": [{"Description": "Call-out", "Quantity": 1, "UnitAmount": "120.00",
                           "AccountCode": account, "TaxType": "OUTPUT"}]}


def statuses(sandbox) -> dict:
    return sandbox.get_counters()["statuses"]


def test_300_pages_at_60_a_minute_meet_no_429(sandbox, client):
    sandbox.set_limits(minute_limit=60, reset=True)
    start = sandbox.now()
    for page in range(1, 301):
        client.get("Invoices", params={"page": page, "pageSize": 1})
    assert statuses(sandbox) == {"200": 300}
    elapsed = (sandbox.now() - start).total_seconds()
    assert 240 <= elapsed < 330  # paced, not crawling
    assert client.limits.day_remaining == 4700


def test_injected_429_waits_retry_after(sandbox, client):
    sandbox.set_faults(rate_limit_next={"problem": "minute", "retry_after": 7, "count": 1})
    before = sandbox.now()
    envelope = client.get("Organisation")
    assert envelope["Organisations"][0]["Name"]
    assert (sandbox.now() - before).total_seconds() == pytest.approx(7, abs=0.1)
    assert statuses(sandbox) == {"429": 1, "200": 1}


def test_day_limit_raises(sandbox, client):
    sandbox.set_faults(rate_limit_next={"problem": "day", "retry_after": 3600, "count": 1})
    before = sandbox.now()
    with pytest.raises(DailyLimitReached) as caught:
        client.get("Organisation")
    assert caught.value.retry_after == 3600 and caught.value.exit_code == 7
    assert sandbox.now() == before  # never slept


def test_lost_reply_after_commit_leaves_one_copy(sandbox, client):
    sandbox.set_faults(lose_response_next=1)  # the next API call: our PUT
    elements = [invoice(f"LOST-{i}") for i in range(5)]
    results = client.write_batch("Invoices", "PUT", elements, keys=[f"k{i}" for i in range(5)],
                                 idempotency_key="outbox-41")
    assert all(r.ok for r in results)
    assert statuses(sandbox).get("504") == 1
    found = client.get("Invoices", params={"InvoiceNumbers": ",".join(e["InvoiceNumber"]
                                                                      for e in elements)})
    numbers = sorted(i["InvoiceNumber"] for i in found["Invoices"])
    assert numbers == sorted(e["InvoiceNumber"] for e in elements)
    assert {r.xero_id for r in results} == {i["InvoiceID"] for i in found["Invoices"]}


def test_partly_invalid_batch_of_50(sandbox, client):
    bad = {3, 17, 42}
    elements = [invoice(f"B-{i:02}", "999" if i in bad else "200") for i in range(50)]
    keys = [f"ops-{i}" for i in range(50)]
    results = client.write_batch("Invoices", "PUT", elements, keys=keys, idempotency_key="b-1")
    assert [r.index for r in results if not r.ok] == sorted(bad)
    for r in results:
        if r.index in bad:
            assert r.key == f"ops-{r.index}" and r.xero_id is None
            assert any("999" in m for m in r.messages)
        else:
            assert r.ok and r.xero_id and r.element["InvoiceNumber"] == f"B-{r.index:02}"
    created = [i for i in client.iter_all("Invoices") if i["InvoiceNumber"].startswith("B-")]
    assert len(created) == 47


def test_ids_beyond_50_are_chunked_against_the_sandbox(sandbox, client):
    elements = [invoice(f"C-{i:03}") for i in range(60)]
    results = client.write_batch("Invoices", "PUT", elements, keys=[str(i) for i in range(60)],
                                 idempotency_key="c-1")
    ids = [r.xero_id for r in results]
    sandbox.reset_counters()
    found = client.get_by_ids("Invoices", ids)
    assert sorted(i["InvoiceID"] for i in found) == sorted(ids)
    assert sandbox.get_counters()["total"]["calls"] == 2
