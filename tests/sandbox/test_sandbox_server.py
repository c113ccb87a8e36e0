"""The real threaded server on 127.0.0.1: a smoke test, concurrency, dropped connections."""

from __future__ import annotations

import threading

import httpx
import pytest
from sandbox_helpers import REDIRECT, Live, authorize, pkce_pair

from xsync.sandbox.app import DEFAULT_CLIENT_ID, Sandbox

ORG = "/api.xro/2.0/Organisation"


def test_smoke_full_flow_over_http(live_sandbox: Live) -> None:
    assert live_sandbox.base_url.startswith("http://127.0.0.1:")
    with httpx.Client(base_url=live_sandbox.base_url, timeout=5) as http:
        info = http.get("/sandbox/info").json()
        assert info["api_url"] == live_sandbox.base_url + "/api.xro/2.0"
        verifier, challenge = pkce_pair()
        code = authorize(http, challenge=challenge)["code"]
        tokens = http.post("/connect/token", data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "code_verifier": verifier, "client_id": DEFAULT_CLIENT_ID}).json()
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        tenant = http.get("/connections", headers=auth).json()[0]["tenantId"]
        reply = http.get(ORG, headers={**auth, "xero-tenant-id": tenant})
        assert reply.status_code == 200
        assert reply.json()["Organisations"][0]["Name"] == "Demo Company (AU)"
        assert reply.headers["x-minlimit-remaining"] == "59"


def test_concurrent_limit_over_real_connections(live_sandbox: Live) -> None:
    sandbox = live_sandbox.sandbox
    tenant = sandbox.tenant_ids[0]
    headers = {"Authorization": f"Bearer {sandbox.client_credentials_token()}"}
    sandbox.set_faults(hold=True)
    results: list[int] = []

    def call() -> None:
        with httpx.Client(base_url=live_sandbox.base_url, timeout=10) as http:
            results.append(http.get(ORG, headers=headers).status_code)

    threads = [threading.Thread(target=call) for _ in range(5)]
    for t in threads:
        t.start()
    try:
        assert sandbox.faults.wait_held(5, timeout=5)
        with httpx.Client(base_url=live_sandbox.base_url, timeout=5) as http:
            refused = http.get(ORG, headers=headers)
        assert refused.status_code == 429
        assert refused.headers["x-rate-limit-problem"] == "concurrent"
        assert refused.headers["retry-after"] == "1"
    finally:
        sandbox.faults.release()
        for t in threads:
            t.join(timeout=5)
    assert results == [200] * 5
    assert sandbox.limiter.in_flight(tenant) == 0


def test_dropped_connection_after_commit(live_sandbox: Live) -> None:
    sandbox = live_sandbox.sandbox
    headers = {"Authorization": f"Bearer {sandbox.client_credentials_token()}"}
    sandbox.set_faults(lose_response_next=1, match="PUT /Contacts", lose_as="drop")
    with httpx.Client(base_url=live_sandbox.base_url, timeout=5, headers=headers) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            http.put("/api.xro/2.0/Contacts", json={"Contacts": [{"Name": "Wire Lost Pty"}]})
        names = {c["Name"] for c in http.get("/api.xro/2.0/Contacts").json()["Contacts"]}
    assert "Wire Lost Pty" in names


def test_stop_releases_the_port_and_restart_is_refused_while_serving() -> None:
    sandbox = Sandbox(seed="empty")
    url = sandbox.start()
    with pytest.raises(RuntimeError):
        sandbox.start()
    sandbox.close()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/sandbox/info", timeout=2)
