"""Rate limits and gateway refusals: 429s with their headers, 401s and 403s, on the pinned clock."""

from __future__ import annotations

import threading

import httpx
import pytest

from xsync.sandbox.app import Sandbox

ORG = "/api.xro/2.0/Organisation"


def assert_xero_headers(reply: httpx.Response) -> None:
    for name in ("x-minlimit-remaining", "x-daylimit-remaining", "x-appminlimit-remaining",
                 "xero-correlation-id"):
        assert name in reply.headers, (name, reply.status_code)
    assert reply.headers["content-type"] == "application/json; charset=utf-8"


def fresh(api: httpx.Client, sandbox: Sandbox) -> None:
    """A new access token after the clock moved past the old one's life."""
    api.headers["Authorization"] = f"Bearer {sandbox.grant_tokens()['access_token']}"


def test_minute_limit_refuses_the_61st_call_until_the_window_resets(
    api: httpx.Client, sandbox: Sandbox
) -> None:
    first = api.get(ORG)
    assert first.headers["x-minlimit-remaining"] == "59"
    assert first.headers["x-daylimit-remaining"] == "4999"
    assert first.headers["x-appminlimit-remaining"] == "9999"
    sandbox.advance_clock(15)  # the window opened at the first call
    for _ in range(59):
        assert api.get(ORG).status_code == 200
    refused = api.get(ORG)
    assert refused.status_code == 429
    assert refused.headers["x-rate-limit-problem"] == "minute"
    assert refused.headers["retry-after"] == "45"
    assert refused.headers["x-minlimit-remaining"] == "0"
    assert refused.json()["Status"] == 429
    assert_xero_headers(refused)

    sandbox.advance_clock(44)
    assert api.get(ORG).headers["retry-after"] == "1"
    sandbox.advance_clock(1)
    again = api.get(ORG)
    assert again.status_code == 200
    assert again.headers["x-minlimit-remaining"] == "59"
    assert again.headers["x-daylimit-remaining"] == str(5000 - 61)


def test_day_limit_and_its_reset(api: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.set_limits(day_limit=3)
    for remaining in ("2", "1", "0"):
        assert api.get(ORG).headers["x-daylimit-remaining"] == remaining
    sandbox.advance_clock(3600)
    fresh(api, sandbox)
    refused = api.get(ORG)
    assert refused.status_code == 429
    assert refused.headers["x-rate-limit-problem"] == "day"
    assert refused.headers["retry-after"] == str(86400 - 3600)
    sandbox.advance_clock(86400 - 3600)
    fresh(api, sandbox)
    assert api.get(ORG).status_code == 200


def test_refused_calls_spend_nothing(api: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.set_limits(minute_limit=2, day_limit=10)
    api.get(ORG)
    api.get(ORG)
    for _ in range(3):
        assert api.get(ORG).status_code == 429
    sandbox.advance_clock(60)
    assert api.get(ORG).headers["x-daylimit-remaining"] == "7"


def test_limits_are_per_tenant_and_app_minute_is_shared(
    client: httpx.Client, sandbox: Sandbox
) -> None:
    second = sandbox.add_organisation("Second Co", seed="empty")
    sandbox.set_limits(minute_limit=2, app_minute_limit=3)
    token = sandbox.grant_tokens()["access_token"]
    first = sandbox.tenant_ids[0]

    def call(tenant: str) -> httpx.Response:
        return client.get(ORG, headers={"Authorization": f"Bearer {token}",
                                        "xero-tenant-id": tenant})

    assert call(first).status_code == 200
    assert call(first).status_code == 200
    assert call(first).headers["x-rate-limit-problem"] == "minute"
    ok = call(second)
    assert ok.status_code == 200 and ok.headers["x-minlimit-remaining"] == "1"
    assert ok.headers["x-appminlimit-remaining"] == "0"
    refused = call(second)
    assert refused.status_code == 429
    assert refused.headers["x-rate-limit-problem"] == "appminute"
    assert refused.headers["retry-after"] == "60"
    sandbox.advance_clock(60)
    assert call(second).status_code == 200


def test_concurrent_limit_in_process(sandbox: Sandbox, token: str, tenant: str) -> None:
    """Five calls held inside the app; the sixth is refused as concurrent."""
    headers = {"Authorization": f"Bearer {token}", "xero-tenant-id": tenant}
    sandbox.set_faults(hold=True)
    results: list[int] = []

    def worker() -> None:
        with httpx.Client(transport=httpx.WSGITransport(app=sandbox.app),
                          base_url="http://sandbox.test") as http:
            results.append(http.get(ORG, headers=headers).status_code)

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for t in threads:
        t.start()
    try:
        assert sandbox.faults.wait_held(5, timeout=5)
        with httpx.Client(transport=httpx.WSGITransport(app=sandbox.app),
                          base_url="http://sandbox.test") as http:
            refused = http.get(ORG, headers=headers)
        assert refused.status_code == 429
        assert refused.headers["x-rate-limit-problem"] == "concurrent"
        assert_xero_headers(refused)
    finally:
        sandbox.faults.release()
        for t in threads:
            t.join(timeout=5)
    assert results == [200] * 5
    assert sandbox.limiter.in_flight(tenant) == 0


def test_missing_and_invalid_tokens_get_401(client: httpx.Client, tenant: str) -> None:
    missing = client.get(ORG, headers={"xero-tenant-id": tenant})
    assert missing.status_code == 401
    assert missing.json()["Title"] == "Unauthorized"
    assert missing.json()["Detail"] == "AuthenticationUnsuccessful"
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert_xero_headers(missing)
    bogus = client.get(ORG, headers={"Authorization": "Bearer not-a-token",
                                     "xero-tenant-id": tenant})
    assert bogus.status_code == 401
    assert bogus.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_token_expires_after_thirty_minutes(
    api: httpx.Client, sandbox: Sandbox
) -> None:
    sandbox.advance_clock(29 * 60)
    assert api.get(ORG).status_code == 200
    sandbox.advance_clock(60)
    expired = api.get(ORG)
    assert expired.status_code == 401
    body = expired.json()
    assert body["Detail"] == "TokenExpired: token expired at 11/24/2026 10:30:00"
    assert body["Type"] is None and body["Status"] == 401
    assert expired.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_expire_tokens_admin_control(api: httpx.Client, sandbox: Sandbox) -> None:
    assert sandbox.expire_tokens() >= 1
    assert api.get(ORG).status_code == 401


@pytest.mark.parametrize("tenant_header", [None, "", "11111111-2222-3333-4444-555555555555"])
def test_wrong_or_missing_tenant_gets_403(
    client: httpx.Client, token: str, tenant_header: str | None
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    if tenant_header is not None:
        headers["xero-tenant-id"] = tenant_header
    reply = client.get(ORG, headers=headers)
    assert reply.status_code == 403
    assert reply.json()["Title"] == "Forbidden"
    assert reply.json()["Detail"] == "AuthenticationUnsuccessful"
    assert_xero_headers(reply)


def test_every_api_answer_carries_the_headers(api: httpx.Client) -> None:
    for reply in (api.get(ORG), api.get("/api.xro/2.0/NoSuchThing"),
                  api.get("/api.xro/2.0/Invoices/00000000-0000-0000-0000-000000000000")):
        assert_xero_headers(reply)
    assert api.get(ORG).headers["xero-correlation-id"] != api.get(ORG).headers[
        "xero-correlation-id"]
