"""Webhooks: signed, Xero-shaped events for contact, invoice and credit note changes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import pytest

from xsync.sandbox.app import Sandbox

KEY = "webhook-key-for-tests"


class Receiver:
    """A loopback HTTP server that records every POST it gets."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        received = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self) -> list[dict[str, Any]]:
        return [e for _, body in self.posts for e in json.loads(body)["events"]]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_changes_are_posted_signed(api: httpx.Client, sandbox: Sandbox, receiver: Receiver,
                                   tenant: str) -> None:
    made = api.post("/sandbox/webhooks", json={"url": receiver.url, "key": KEY})
    assert made.status_code == 201
    listed = api.get("/sandbox/webhooks").text
    assert receiver.url in listed and KEY not in listed

    contact = api.put("/api.xro/2.0/Contacts", json={"Contacts": [{"Name": "Hooked Pty"}]})
    contact_id = contact.json()["Contacts"][0]["ContactID"]
    api.post(f"/api.xro/2.0/Contacts/{contact_id}",
             json={"Contacts": [{"ContactID": contact_id, "EmailAddress": "a@b.example"}]})
    api.get("/api.xro/2.0/Contacts")  # reads make no events
    assert sandbox.webhooks_out.flush(5)

    assert len(receiver.posts) == 2
    for headers, body in receiver.posts:
        expected = base64.b64encode(hmac.new(KEY.encode(), body, hashlib.sha256).digest())
        assert headers["x-xero-signature"] == expected.decode()
    first, second = receiver.events()
    assert first["eventType"] == "CREATE" and second["eventType"] == "UPDATE"
    assert first["eventCategory"] == "CONTACT" and first["resourceId"] == contact_id
    assert first["tenantId"] == tenant and first["tenantType"] == "ORGANISATION"
    assert first["resourceUrl"].endswith(f"/api.xro/2.0/Contacts/{contact_id}")
    assert first["eventDateUtc"] == "2026-11-24T10:00:00.000"
    payload = json.loads(receiver.posts[1][1])
    assert payload["firstEventSequence"] == payload["lastEventSequence"] == 2


def test_credit_note_events_carry_type_and_status(api: httpx.Client, sandbox: Sandbox,
                                                  receiver: Receiver) -> None:
    sandbox.add_webhook(receiver.url, KEY)
    contact_id = api.get("/api.xro/2.0/Contacts").json()["Contacts"][0]["ContactID"]
    reply = api.put("/api.xro/2.0/CreditNotes", json={"CreditNotes": [{
        "Type": "ACCRECCREDIT", "Contact": {"ContactID": contact_id}, "Date": "2026-11-24",
        "LineItems": [{"Description": "Refund", "Quantity": 1, "UnitAmount": 10,
                       "AccountCode": "200", "TaxType": "OUTPUT"}]}]})
    assert reply.status_code == 200, reply.text
    assert sandbox.webhooks_out.flush(5)
    (event,) = receiver.events()
    assert event["eventCategory"] == "CREDITNOTE"
    assert event["data"] == {"Type": "ACCRECCREDIT", "Status": "DRAFT"}


def test_failed_calls_and_dead_receivers_do_not_disturb_the_api(
    api: httpx.Client, sandbox: Sandbox
) -> None:
    sandbox.add_webhook("http://127.0.0.1:9/nothing-listens", KEY)
    sandbox.set_faults(fail_next=1, match="PUT /Contacts")
    assert api.put("/api.xro/2.0/Contacts",
                   json={"Contacts": [{"Name": "Never Made"}]}).status_code == 503
    ok = api.put("/api.xro/2.0/Contacts", json={"Contacts": [{"Name": "Made Anyway"}]})
    assert ok.status_code == 200
    assert sandbox.webhooks_out.flush(5)
    sandbox.clear_webhooks()
    assert sandbox.webhooks() == []


def test_webhook_registration_is_validated(client: httpx.Client) -> None:
    assert client.post("/sandbox/webhooks", json={"url": "x"}).status_code == 400
    assert client.post("/sandbox/webhooks",
                       json={"url": "ftp://x", "key": "k"}).status_code == 400
