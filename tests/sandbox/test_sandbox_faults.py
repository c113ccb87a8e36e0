"""Faults on demand (failures, error rates, lost responses, latency, injected 429s) and counters."""

from __future__ import annotations

import httpx
import pytest
from sandbox_helpers import basic

from xsync.sandbox.app import Sandbox
from xsync.sandbox.clock import Clock
from xsync.sandbox.faults import FaultSpecError
from xsync.sandbox.wsgi import ConnectionDropped

ORG = "/api.xro/2.0/Organisation"
CONTACTS = "/api.xro/2.0/Contacts"


def contact_names(api: httpx.Client) -> set[str]:
    return {c["Name"] for c in api.get(CONTACTS).json()["Contacts"]}


def put_contact(api: httpx.Client, name: str) -> httpx.Response:
    return api.put(CONTACTS, json={"Contacts": [{"Name": name}]})


def test_fail_next_fails_before_any_effect(api: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.set_faults(fail_next=2, status=503)
    assert put_contact(api, "Failed Once Pty").status_code == 503
    second = api.get(ORG)
    assert second.status_code == 503
    assert second.json()["Title"] == "Service Unavailable"
    assert "x-minlimit-remaining" in second.headers
    assert api.get(ORG).status_code == 200
    assert "Failed Once Pty" not in contact_names(api)
    assert sandbox.faults.state() == []


def test_match_limits_a_fault_to_one_endpoint(api: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.set_faults(fail_next=1, status=500, match="PUT /Contacts")
    assert api.get(CONTACTS).status_code == 200
    assert api.get(ORG).status_code == 200
    assert put_contact(api, "Matched Pty").status_code == 500
    assert put_contact(api, "Matched Pty").status_code == 200


def test_error_rate_is_repeatable_with_a_seed(token_for: TokenFor) -> None:
    def run() -> list[int]:
        sandbox, http = token_for()
        sandbox.set_faults(error_rate=0.3, status=500, seed=7)
        return [http.get(ORG).status_code for _ in range(40)]

    first, second = run(), run()
    assert first == second
    assert 0 < first.count(500) < 40
    assert set(first) == {200, 500}


def test_lost_response_is_committed(api: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.set_faults(lose_response_next=1, match="PUT /Contacts")
    lost = put_contact(api, "Lost Reply Pty")
    assert lost.status_code == 504
    assert "Lost Reply Pty" in contact_names(api)


def test_lost_response_as_dropped_connection_in_process(
    api: httpx.Client, sandbox: Sandbox
) -> None:
    sandbox.set_faults(lose_response_next=1, match="PUT /Contacts", lose_as="drop")
    with pytest.raises(ConnectionDropped):
        put_contact(api, "Dropped Reply Pty")
    assert "Dropped Reply Pty" in contact_names(api)
    assert sandbox.get_counters()["statuses"]["dropped"] == 1


def test_injected_rate_limit(api: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.set_faults(rate_limit_next={"problem": "day", "retry_after": 7})
    reply = api.get(ORG)
    assert reply.status_code == 429
    assert reply.headers["retry-after"] == "7"
    assert reply.headers["x-rate-limit-problem"] == "day"
    assert reply.headers["x-daylimit-remaining"] == "4999"  # the real count: nothing refused
    assert api.get(ORG).status_code == 200


def test_latency_uses_the_injected_sleep(
    api: httpx.Client, sandbox: Sandbox, sleeps: list[float]
) -> None:
    sandbox.set_faults(latency_ms=200)
    api.get(ORG)
    api.get(ORG)
    assert sleeps == [0.2, 0.2]
    sandbox.clear_faults()
    api.get(ORG)
    assert len(sleeps) == 2


def test_lost_token_reply_then_grace_retry(client: httpx.Client, sandbox: Sandbox) -> None:
    refresh = sandbox.grant_tokens()["refresh_token"]
    sandbox.set_faults(lose_response_next=1, match="POST /connect/token")
    form = {"grant_type": "refresh_token", "refresh_token": refresh}
    lost = client.post("/connect/token", data=form, headers={"Authorization": basic()})
    assert lost.status_code == 504
    retried = client.post("/connect/token", data=form, headers={"Authorization": basic()})
    assert retried.status_code == 200 and retried.json()["refresh_token"] != refresh


def test_identity_calls_ignore_unmatched_faults(client: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.set_faults(fail_next=1)
    reply = client.post("/connect/token", data={"grant_type": "client_credentials"},
                        headers={"Authorization": basic()})
    assert reply.status_code == 200


@pytest.mark.parametrize("spec", [
    {"fail_next": 0}, {"error_rate": 2}, {"lose_response_next": 1, "lose_as": "teapot"},
    {"rate_limit_next": {"problem": "hourly"}}, {"explode": True}, {},
])
def test_bad_fault_specs_are_refused(sandbox: Sandbox, spec: dict[str, object]) -> None:
    with pytest.raises(FaultSpecError):
        sandbox.set_faults(spec)


def test_counters_per_endpoint_org_and_writes(api: httpx.Client, sandbox: Sandbox,
                                              tenant: str) -> None:
    sandbox.reset_counters()
    one = api.get(ORG)
    put_contact(api, "Counted Pty")
    contact_id = api.get(CONTACTS).json()["Contacts"][0]["ContactID"]
    api.get(f"{CONTACTS}/{contact_id}")
    api.get(f"{CONTACTS}/{contact_id}")
    counters = sandbox.get_counters()
    assert counters["endpoints"]["GET /Organisation"] == {
        "calls": 1, "bytes": len(one.content), "writes": 0}
    assert counters["endpoints"]["PUT /Contacts"]["writes"] == 1
    assert counters["endpoints"]["GET /Contacts/{id}"]["calls"] == 2
    assert counters["organisations"][tenant]["calls"] == 5
    assert counters["organisations"][tenant]["writes"] == 1
    assert counters["total"]["calls"] == 5
    assert counters["statuses"] == {"200": 5}
    sandbox.reset_counters()
    assert sandbox.get_counters()["total"] == {"calls": 0, "bytes": 0, "writes": 0}


def test_counters_include_refusals(client: httpx.Client, sandbox: Sandbox) -> None:
    client.get(ORG)
    assert sandbox.get_counters()["statuses"] == {"401": 1}


class TokenFor:
    def __call__(self) -> tuple[Sandbox, httpx.Client]: ...


@pytest.fixture
def token_for(clock: Clock) -> object:
    """Fresh sandboxes with an authorised client, each closed after the test."""
    made: list[tuple[Sandbox, httpx.Client]] = []

    def make() -> tuple[Sandbox, httpx.Client]:
        sandbox = Sandbox(seed="empty", clock=Clock(clock.now()))
        token = sandbox.client_credentials_token()
        http = httpx.Client(transport=httpx.WSGITransport(app=sandbox.app),
                            base_url="http://sandbox.test",
                            headers={"Authorization": f"Bearer {token}"})
        made.append((sandbox, http))
        return sandbox, http

    yield make
    for sandbox, http in made:
        http.close()
        sandbox.close()
