"""The webhook receiver as Xero and an attacker see it: signatures, the intent to receive, events
stored before the 200, duplicates recognised, and the health check."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from xsync.sandbox.clock import Clock
from xsync.sandbox.webhooks import Webhooks
from xsync.state.db import open_state
from xsync.state.watch import WebhookEvents
from xsync.watch.receiver import Receiver, signature_ok
from xsync.watch.sink import StateSink

KEY = "receiver-test-key"


def sign(body: bytes, key: str = KEY) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def event(resource: str = "c-1", category: str = "CONTACT", kind: str = "UPDATE") -> dict[str, Any]:
    return {"resourceUrl": f"https://api.xero.com/api.xro/2.0/Contacts/{resource}",
            "resourceId": resource, "eventDateUtc": "2026-11-24T10:00:00.000",
            "eventType": kind, "eventCategory": category, "tenantId": "t-1",
            "tenantType": "ORGANISATION"}


def payload(*events: dict[str, Any], first: int = 1) -> bytes:
    return json.dumps({"events": list(events), "firstEventSequence": first,
                       "lastEventSequence": first + len(events) - 1,
                       "entropy": "ABCDEF"}).encode()


INTENT = json.dumps({"events": [], "firstEventSequence": 0, "lastEventSequence": 0,
                     "entropy": "S0M3ENTROPY"}).encode()


class FailingSink(StateSink):
    def add(self, payload: dict[str, Any]) -> int:
        raise OSError("disk full")


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


def start(state_path: Path, key: str | None = KEY, sink: type[StateSink] = StateSink
          ) -> tuple[Receiver, list[int]]:
    woken: list[int] = []
    receiver = Receiver("127.0.0.1", 0, key,
                        sink=lambda: sink(open_state(state_path), {"state": "running"}),
                        on_events=woken.append)
    receiver.start()
    return receiver, woken


@pytest.fixture
def receiver(state_path: Path) -> Iterator[tuple[Receiver, list[int]]]:
    made = start(state_path)
    yield made
    made[0].stop()


def post(receiver: Receiver, body: bytes, signature: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["x-xero-signature"] = signature
    return httpx.post(receiver.url, content=body, headers=headers, timeout=10)


def stored(state_path: Path) -> dict[str, int]:
    db = open_state(state_path)
    try:
        return WebhookEvents(db).counts()
    finally:
        db.close()


def test_signature_check_is_on_the_raw_bytes() -> None:
    body = payload(event())
    assert signature_ok(KEY, body, sign(body))
    assert not signature_ok(KEY, body, sign(body, "another-key"))
    assert not signature_ok(KEY, body, sign(json.dumps(json.loads(body), indent=1).encode()))
    assert not signature_ok(KEY, body, None) and not signature_ok(None, body, sign(body))
    assert not signature_ok(KEY, body, "not base64 at all é")


def test_a_good_signature_is_stored_then_answered_200(
    receiver: tuple[Receiver, list[int]], state_path: Path
) -> None:
    hook, woken = receiver
    body = payload(event("c-1"), event("c-2"))
    reply = post(hook, body, sign(body))
    assert reply.status_code == 200 and reply.content == b""
    assert "set-cookie" not in reply.headers
    assert stored(state_path) == {"new": 2}
    assert woken == [2]


@pytest.mark.parametrize("signature", [None, "", "d3Jvbmc=", "signed-with-another-key"])
def test_a_bad_or_missing_signature_is_401_and_stores_nothing(
    receiver: tuple[Receiver, list[int]], state_path: Path, signature: str | None
) -> None:
    hook, woken = receiver
    body = payload(event())
    if signature == "signed-with-another-key":
        signature = sign(body, "another-key")
    reply = post(hook, body, signature)
    assert reply.status_code == 401 and reply.content == b""
    assert stored(state_path) == {} and woken == []


def test_intent_to_receive_both_ways(receiver: tuple[Receiver, list[int]],
                                     state_path: Path) -> None:
    hook, _ = receiver
    good = post(hook, INTENT, sign(INTENT))
    assert good.status_code == 200 and good.content == b""
    bad = post(hook, INTENT, sign(INTENT[:-1] + b" }"))
    assert bad.status_code == 401 and bad.content == b""
    assert stored(state_path) == {}


def test_the_sandboxs_intent_to_receive_passes_only_with_the_right_key(
    receiver: tuple[Receiver, list[int]]
) -> None:
    hook, _ = receiver
    webhooks = Webhooks(Clock())
    try:
        webhooks.add(hook.url, KEY, "t-1")
        webhooks.add(hook.url, "a key the receiver does not know", "t-1")
        statuses = [(w["status"], w["reason"]) for w in webhooks.describe()]
    finally:
        webhooks.close()
    assert statuses[0] == ("OK", None)
    assert statuses[1][0] == "failed" and "answered 401, not 200" in statuses[1][1]


def test_without_a_key_every_delivery_is_refused(state_path: Path) -> None:
    hook, _ = start(state_path, key=None)
    try:
        assert post(hook, INTENT, sign(INTENT)).status_code == 401
    finally:
        hook.stop()


def test_a_second_delivery_of_an_event_adds_nothing(
    receiver: tuple[Receiver, list[int]], state_path: Path
) -> None:
    hook, woken = receiver
    body = payload(event("c-1"), first=7)
    assert post(hook, body, sign(body)).status_code == 200
    assert post(hook, body, sign(body)).status_code == 200
    later = payload(event("c-1"), first=8)  # the same resource changed again: a new event
    assert post(hook, later, sign(later)).status_code == 200
    assert stored(state_path) == {"new": 2}
    assert woken == [1, 1]


def test_events_that_cannot_be_stored_are_not_acknowledged(state_path: Path) -> None:
    hook, _ = start(state_path, sink=FailingSink)
    try:
        body = payload(event())
        assert post(hook, body, sign(body)).status_code == 503
    finally:
        hook.stop()


def test_other_paths_bodies_and_the_health_check(
    receiver: tuple[Receiver, list[int]], state_path: Path
) -> None:
    hook, _ = receiver
    base = hook.url.removesuffix("/xero/webhooks")
    body = payload(event())
    assert httpx.post(base + "/elsewhere", content=body,
                      headers={"x-xero-signature": sign(body)}).status_code == 404
    junk = b"not json"
    assert post(hook, junk, sign(junk)).status_code == 400
    assert httpx.get(base + "/nothing").status_code == 404
    assert post(hook, body, sign(body)).status_code == 200
    health = httpx.get(base + "/healthz").json()
    assert health["state"] == "running" and health["queue_depth"] == 1
    assert health["last_event_at"]
    assert KEY not in json.dumps(health)
