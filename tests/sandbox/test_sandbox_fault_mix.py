"""The seeded per-call fault mix: 5xx, minute 429s, replies lost after commit, latency."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

import httpx
import pytest

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


def fate(reply: httpx.Response) -> str:
    if reply.status_code == 429:
        return f"429 {reply.headers['x-rate-limit-problem']} {reply.headers['retry-after']}"
    return str(reply.status_code)


Fresh = Callable[[], tuple[Sandbox, httpx.Client, list[float]]]


@pytest.fixture
def fresh(clock: Clock) -> Iterator[Fresh]:
    """Independent sandboxes (same pinned clock) with an authorised client and their sleeps."""
    made: list[tuple[Sandbox, httpx.Client]] = []

    def make() -> tuple[Sandbox, httpx.Client, list[float]]:
        sleeps: list[float] = []
        sandbox = Sandbox(seed="empty", clock=Clock(clock.now()), sleep=sleeps.append,
                          minute_limit=10_000, day_limit=100_000)
        token = sandbox.client_credentials_token()
        http = httpx.Client(transport=httpx.WSGITransport(app=sandbox.app),
                            base_url="http://sandbox.test",
                            headers={"Authorization": f"Bearer {token}"})
        made.append((sandbox, http))
        return sandbox, http, sleeps

    yield make
    for sandbox, http in made:
        http.close()
        sandbox.close()


MIX = {"server_error_rate": 0.1, "rate_limit_rate": 0.1, "lost_rate": 0.1,
       "latency_ms": [50, 250], "latency_rate": 0.5}


def run_mix(fresh: Fresh, seed: int, calls: int = 300) -> tuple[list[str], list[float]]:
    _, http, sleeps = fresh()
    reply = http.post("/sandbox/faults", json={"mix": {**MIX, "seed": seed}})
    assert reply.status_code == 200, reply.text
    return [fate(http.get(ORG)) for _ in range(calls)], sleeps


def test_same_seed_same_faults_other_seed_other_faults(fresh: Fresh) -> None:
    first, first_sleeps = run_mix(fresh, seed=11)
    again, again_sleeps = run_mix(fresh, seed=11)
    other, _ = run_mix(fresh, seed=12)
    assert first == again and first_sleeps == again_sleeps
    assert first != other
    tally = Counter(first)
    # 300 calls at 10 % each: every kind shows up, none swamps the run.
    for kind in ("503", "429 minute 1", "504"):
        assert 10 <= tally[kind] <= 60, tally
    assert tally["200"] >= 150
    assert set(tally) == {"200", "503", "429 minute 1", "504"}
    assert 100 <= len(first_sleeps) <= 200
    assert all(0.05 <= s <= 0.25 for s in first_sleeps)
    assert len(set(first_sleeps)) > 50  # drawn, not one fixed delay


def test_state_counts_what_the_mix_injected(fresh: Fresh) -> None:
    _, http, _ = fresh()
    http.post("/sandbox/faults", json={"mix": {**MIX, "seed": 3}})
    fates = Counter(fate(http.get(ORG)) for _ in range(100))
    [state] = http.get("/sandbox/faults").json()["faults"]
    assert state["kind"] == "mix" and state["seed"] == 3
    assert state["injected"]["server_error"] == fates["503"]
    assert state["injected"]["rate_limit"] == fates["429 minute 1"]
    assert state["injected"]["lost"] == fates["504"]
    assert http.delete("/sandbox/faults").json()["faults"] == []
    assert {fate(http.get(ORG)) for _ in range(20)} == {"200"}


def test_a_5xx_from_the_mix_happens_before_any_effect(fresh: Fresh) -> None:
    sandbox, http, _ = fresh()
    sandbox.set_faults(mix={"server_error_rate": 1, "status": [500, 502]}, match="PUT /Contacts")
    statuses = {put_contact(http, f"Never Made {i}").status_code for i in range(30)}
    assert statuses == {500, 502}
    assert not any(n.startswith("Never Made") for n in contact_names(http))


def test_a_lost_reply_from_the_mix_was_committed(fresh: Fresh) -> None:
    sandbox, http, _ = fresh()
    sandbox.set_faults(mix={"lost_rate": 1}, match="PUT /Contacts")
    assert put_contact(http, "Committed Then Lost").status_code == 504
    assert "Committed Then Lost" in contact_names(http)
    assert sandbox.get_counters()["endpoints"]["PUT /Contacts"]["writes"] == 1


def test_a_dropped_reply_from_the_mix_was_committed(fresh: Fresh) -> None:
    sandbox, http, _ = fresh()
    sandbox.set_faults(mix={"lost_rate": 1, "lose_as": "drop"}, match="PUT /Contacts")
    with pytest.raises(ConnectionDropped):
        put_contact(http, "Dropped After Commit")
    assert "Dropped After Commit" in contact_names(http)


def test_a_429_from_the_mix_is_a_minute_limit_with_retry_after(fresh: Fresh) -> None:
    sandbox, http, _ = fresh()
    sandbox.set_faults(mix={"rate_limit_rate": 1, "retry_after": 7})
    reply = http.get(ORG)
    assert reply.status_code == 429
    assert reply.headers["x-rate-limit-problem"] == "minute"
    assert reply.headers["retry-after"] == "7"
    assert "x-minlimit-remaining" in reply.headers
    assert put_contact(http, "Refused By Limit").status_code == 429
    sandbox.clear_faults()
    assert "Refused By Limit" not in contact_names(http)


def test_match_narrows_the_mix_to_one_endpoint(fresh: Fresh) -> None:
    sandbox, http, _ = fresh()
    sandbox.set_faults(mix={"server_error_rate": 1}, match="PUT /Contacts")
    assert {http.get(ORG).status_code for _ in range(10)} == {200}
    assert http.get(CONTACTS).status_code == 200
    assert put_contact(http, "Matched Only").status_code == 503


def test_the_sequence_depends_on_the_calls_matched_not_on_other_calls(fresh: Fresh) -> None:
    _, quiet, _ = fresh()
    _, busy, _ = fresh()
    spec = {"mix": {"server_error_rate": 0.5, "seed": 5}, "match": "GET /Organisation"}
    quiet.post("/sandbox/faults", json=spec)
    busy.post("/sandbox/faults", json=spec)
    plain = [quiet.get(ORG).status_code for _ in range(40)]
    interleaved = []
    for _ in range(40):
        busy.get(CONTACTS)  # not matched: draws nothing
        interleaved.append(busy.get(ORG).status_code)
    assert plain == interleaved and 503 in plain and 200 in plain


@pytest.mark.parametrize("mix", [
    {"server_error_rate": 0.6, "rate_limit_rate": 0.3, "lost_rate": 0.2},
    {"server_error_rate": -0.1}, {"lost_rate": "half"}, {"status": 404}, {"status": []},
    {"latency_ms": [300, 100]}, {"latency_ms": -1}, {"lose_as": "teapot"},
    {"retry_after": -1}, {"seed": "x"}, {"surprise": 1}, "0.5",
])
def test_bad_mixes_are_refused(sandbox: Sandbox, mix: object) -> None:
    with pytest.raises(FaultSpecError):
        sandbox.set_faults(mix=mix)


def test_a_bad_mix_over_http_is_a_400_naming_the_field(api: httpx.Client) -> None:
    reply = api.post("/sandbox/faults", json={"mix": {"lost_rate": 2}})
    assert reply.status_code == 400
    assert "lost_rate" in reply.json()["error"]
