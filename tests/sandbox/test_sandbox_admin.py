"""Admin endpoints over HTTP (in-process), and state that survives a restart with a data dir."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from xsync.sandbox.app import DEFAULT_CLIENT_SECRET, Sandbox
from xsync.sandbox.clock import Clock

ORG = "/api.xro/2.0/Organisation"


def test_info_lists_urls_and_tenants_but_no_secret(client: httpx.Client,
                                                   sandbox: Sandbox) -> None:
    reply = client.get("/sandbox/info")
    info = reply.json()
    assert info["api_url"] == "http://sandbox.test/api.xro/2.0"
    assert info["token_url"] == "http://sandbox.test/connect/token"
    assert info["authorize_url"] == "http://sandbox.test/identity/connect/authorize"
    assert info["client_id"] == "xsync-sandbox-client"
    assert [o["tenant_id"] for o in info["organisations"]] == sandbox.tenant_ids
    assert info["organisations"][0]["name"] == "Demo Company (AU)"
    assert DEFAULT_CLIENT_SECRET not in reply.text
    assert client.get("/").json()["client_id"] == "xsync-sandbox-client"


def test_counters_over_http(api: httpx.Client) -> None:
    api.get(ORG)
    counted = api.get("/sandbox/counters").json()
    assert counted["endpoints"]["GET /Organisation"]["calls"] == 1
    assert api.delete("/sandbox/counters").json()["total"]["calls"] == 0
    assert api.get("/sandbox/counters").json()["endpoints"] == {}


def test_faults_over_http(api: httpx.Client) -> None:
    state = api.post("/sandbox/faults", json={"fail_next": 1, "status": 502}).json()
    assert state["faults"][0]["kind"] == "fail_next"
    assert api.get(ORG).status_code == 502
    api.post("/sandbox/faults", json={"error_rate": 1.0, "status": 500})
    assert api.get(ORG).status_code == 500
    assert api.delete("/sandbox/faults").json()["faults"] == []
    assert api.get(ORG).status_code == 200
    bad = api.post("/sandbox/faults", json={"error_rate": "often"})
    assert bad.status_code == 400 and "error_rate" in bad.json()["error"]


def test_clock_over_http(client: httpx.Client) -> None:
    assert client.get("/sandbox/clock").json() == {"now": "2026-11-24T10:00:00.000Z",
                                                  "frozen": True}
    moved = client.post("/sandbox/clock", json={"advance": 90}).json()
    assert moved["now"] == "2026-11-24T10:01:30.000Z"
    pinned = client.post("/sandbox/clock", json={"set": "2027-01-02T03:04:05Z"}).json()
    assert pinned["now"] == "2027-01-02T03:04:05.000Z"
    assert client.post("/sandbox/clock", json={"set": "soon"}).status_code == 400
    assert client.post("/sandbox/clock", json={}).status_code == 400


def test_clock_moves_document_timestamps(api: httpx.Client) -> None:
    api.post("/sandbox/clock", json={"set": "2027-03-01T00:00:00Z"})
    api.headers["Authorization"] = "Bearer " + api.post(
        "/connect/token", data={"grant_type": "client_credentials",
                                "client_id": "xsync-sandbox-client",
                                "client_secret": DEFAULT_CLIENT_SECRET}).json()["access_token"]
    made = api.put("/api.xro/2.0/Contacts", json={"Contacts": [{"Name": "Timed Pty"}]})
    assert made.status_code == 200, made.text
    assert made.json()["Contacts"][0]["UpdatedDateUTC"] == "/Date(1803859200000+0000)/"


def test_organisations_over_http(api: httpx.Client, sandbox: Sandbox) -> None:
    made = api.post("/sandbox/organisations", json={"name": "Branch Pty", "seed": "empty"})
    assert made.status_code == 201
    tenant = made.json()["tenant_id"]
    listed = api.get("/sandbox/organisations").json()["organisations"]
    assert {"tenant_id": tenant, "name": "Branch Pty"} in listed
    api.headers["xero-tenant-id"] = tenant  # connected to the user at once
    assert api.get(ORG).json()["Organisations"][0]["Name"] == "Branch Pty"
    assert api.post("/sandbox/organisations", json={"seed": "demo"}).status_code == 400
    assert api.post("/sandbox/organisations",
                    json={"name": "X", "seed": "huge"}).status_code == 400


def test_period_lock_date_setting(api: httpx.Client, tenant: str) -> None:
    reply = api.post(f"/sandbox/organisations/{tenant}/settings",
                     json={"PeriodLockDate": "2026-06-30"})
    assert reply.status_code == 200
    org = api.get(ORG).json()["Organisations"][0]
    assert org["PeriodLockDate"] == "/Date(1782777600000+0000)/"
    api.post(f"/sandbox/organisations/{tenant}/settings", json={"PeriodLockDate": None})
    assert "PeriodLockDate" not in api.get(ORG).json()["Organisations"][0]
    unknown = api.post("/sandbox/organisations/nope/settings", json={"PeriodLockDate": None})
    assert unknown.status_code == 404
    bad = api.post(f"/sandbox/organisations/{tenant}/settings", json={"Colour": "red"})
    assert bad.status_code == 400


def test_tokens_expire_and_limits_over_http(api: httpx.Client) -> None:
    limits = api.post("/sandbox/limits", json={"minute_limit": 1, "reset": True}).json()
    assert limits["minute_limit"] == 1
    assert api.get(ORG).status_code == 200
    assert api.get(ORG).headers["x-rate-limit-problem"] == "minute"
    assert api.post("/sandbox/limits", json={"minute_limit": 0}).status_code == 400
    assert api.post("/sandbox/tokens/expire").json()["expired"] >= 1
    assert api.get(ORG).status_code == 401


def test_admin_errors(client: httpx.Client) -> None:
    assert client.get("/sandbox/nothing").status_code == 404
    assert client.put("/sandbox/counters", json={}).status_code == 405
    assert client.post("/sandbox/faults", content=b"[1]").status_code == 400
    assert client.post("/sandbox/faults", content=b"{nope").status_code == 400


def test_admin_answers_loopback_only(sandbox: Sandbox) -> None:
    transport = httpx.WSGITransport(app=sandbox.app, remote_addr="192.0.2.7")
    with httpx.Client(transport=transport, base_url="http://sandbox.test") as far:
        assert far.get("/sandbox/info").status_code == 403


def test_state_survives_a_restart(tmp_path: Path, clock: Clock) -> None:
    with Sandbox(tmp_path, seed="demo", clock=clock) as first:
        tenants = first.tenant_ids
        tokens = first.grant_tokens()
        http = httpx.Client(transport=httpx.WSGITransport(app=first.app),
                            base_url="http://sandbox.test",
                            headers={"Authorization": f"Bearer {tokens['access_token']}",
                                     "xero-tenant-id": tenants[0]})
        assert http.put("/api.xro/2.0/Contacts",
                        json={"Contacts": [{"Name": "Kept Pty"}]}).status_code == 200
        http.close()
    assert (tmp_path / "sandbox.db").stat().st_mode & 0o077 == 0

    with Sandbox(tmp_path, seed="demo", clock=clock) as second:
        assert second.tenant_ids == tenants
        http = httpx.Client(transport=httpx.WSGITransport(app=second.app),
                            base_url="http://sandbox.test",
                            headers={"Authorization": f"Bearer {tokens['access_token']}",
                                     "xero-tenant-id": tenants[0]})
        names = [c["Name"] for c in http.get("/api.xro/2.0/Contacts").json()["Contacts"]]
        assert names.count("Kept Pty") == 1
        refreshed = http.post("/connect/token", data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
            "client_id": "xsync-sandbox-client", "client_secret": DEFAULT_CLIENT_SECRET})
        assert refreshed.status_code == 200
        http.close()


def test_unknown_seed_is_refused() -> None:
    with pytest.raises(ValueError):
        Sandbox(seed="huge")
