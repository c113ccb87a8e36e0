"""Webhooks as Xero delivers them: per organisation, verified by an intent to receive, signed,
retried with backoff on the sandbox clock, and droppable, duplicable, delayable, reorderable."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from xsync.cli.app import main
from xsync.sandbox.app import Sandbox
from xsync.sandbox.server import SandboxServer
from xsync.sandbox.webhooks import Webhooks

KEY = "webhook-key-for-tests"


def good_signature(body: bytes, key: str = KEY) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


class Receiver:
    """A loopback receiver that checks signatures as Xero asks (401 when wrong), records every
    POST, and can be told to fail (``fail_next``) or to answer everything alike (``always``)."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes, int]] = []
        self.fail_next = 0
        self.always: int | None = None
        this = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = this.answer(headers, body)
                this.posts.append((headers, body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        if self.always is not None:
            return self.always
        if not hmac.compare_digest(headers.get("x-xero-signature", ""), good_signature(body)):
            return 401
        if json.loads(body)["events"] and self.fail_next > 0:
            self.fail_next -= 1
            return 500
        return 200

    def intents(self) -> list[tuple[dict[str, str], bytes, int]]:
        return [p for p in self.posts if not json.loads(p[1])["events"]]

    def payloads(self, answered: int | None = 200) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body, status in self.posts
                if json.loads(body)["events"] and (answered is None or status == answered)]

    def events(self) -> list[dict[str, Any]]:
        return [e for p in self.payloads() for e in p["events"]]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def new_contact(api: httpx.Client, name: str) -> str:
    reply = api.put("/api.xro/2.0/Contacts", json={"Contacts": [{"Name": name}]})
    assert reply.status_code == 200, reply.text
    return str(reply.json()["Contacts"][0]["ContactID"])


def test_changes_are_posted_signed(api: httpx.Client, sandbox: Sandbox, receiver: Receiver,
                                   tenant: str) -> None:
    made = api.post("/sandbox/webhooks", json={"url": receiver.url, "key": KEY})
    assert made.status_code == 201
    assert made.json()["status"] == "OK" and made.json()["tenant_id"] == tenant
    listed = api.get("/sandbox/webhooks").text
    assert receiver.url in listed and KEY not in listed

    contact_id = new_contact(api, "Hooked Pty")
    api.post(f"/api.xro/2.0/Contacts/{contact_id}",
             json={"Contacts": [{"ContactID": contact_id, "EmailAddress": "a@b.example"}]})
    api.get("/api.xro/2.0/Contacts")  # reads make no events
    assert sandbox.webhooks_out.flush(5)

    delivered = [(h, b) for h, b, _ in receiver.posts if json.loads(b)["events"]]
    assert len(delivered) == 2
    for headers, body in delivered:
        assert headers["x-xero-signature"] == good_signature(body)
    first, second = receiver.events()
    assert first["eventType"] == "CREATE" and second["eventType"] == "UPDATE"
    assert first["eventCategory"] == "CONTACT" and first["resourceId"] == contact_id
    assert first["tenantId"] == tenant and first["tenantType"] == "ORGANISATION"
    assert first["resourceUrl"].endswith(f"/api.xro/2.0/Contacts/{contact_id}")
    assert first["eventDateUtc"] == "2026-11-24T10:00:00.000"
    payload = receiver.payloads()[1]
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


def test_a_payment_is_an_update_of_its_invoice(api: httpx.Client, sandbox: Sandbox,
                                               receiver: Receiver) -> None:
    invoices = api.get("/api.xro/2.0/Invoices", params={"Statuses": "AUTHORISED"}).json()
    invoice = next(i for i in invoices["Invoices"] if i["Type"] == "ACCREC")
    sandbox.add_webhook(receiver.url, KEY)
    reply = api.put("/api.xro/2.0/Payments", json={"Payments": [{
        "Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Account": {"Code": "090"},
        "Date": "2026-11-24", "Amount": 1}]})
    assert reply.status_code == 200, reply.text
    assert sandbox.webhooks_out.flush(5)
    (event,) = receiver.events()
    assert event["eventCategory"] == "INVOICE" and event["eventType"] == "UPDATE"
    assert event["resourceId"] == invoice["InvoiceID"]


def test_failed_calls_and_dead_receivers_do_not_disturb_the_api(
    api: httpx.Client, sandbox: Sandbox
) -> None:
    sandbox.add_webhook("http://127.0.0.1:9/nothing-listens", KEY)
    (hook,) = sandbox.webhooks()
    assert hook["status"] == "failed" and "no answer" in hook["reason"]
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
    unknown_org = client.post("/sandbox/webhooks",
                              json={"url": "http://127.0.0.1:9/", "key": "k", "tenant_id": "x"})
    assert unknown_org.status_code == 404
    assert client.get("/sandbox/webhooks/nope").status_code == 404
    assert client.post("/sandbox/webhooks/nope/verify").status_code == 404
    assert client.get("/sandbox/webhooks/a/b/c").status_code == 404
    assert client.post("/sandbox/webhooks/faults", json={"explode": 1}).status_code == 400
    assert client.post("/sandbox/webhooks/faults", json={"drop": -1}).status_code == 400


# -- intent to receive ---------------------------------------------------------------------------


def test_intent_to_receive_sends_one_good_and_mis_signed_copies(
    client: httpx.Client, receiver: Receiver
) -> None:
    made = client.post("/sandbox/webhooks", json={"url": receiver.url, "key": KEY}).json()
    assert made["status"] == "OK" and made["reason"] is None
    intents = receiver.intents()
    assert len(intents) == 3
    good = [p for p in intents if p[0]["x-xero-signature"] == good_signature(p[1])]
    assert len(good) == 1 and good[0][2] == 200
    assert sorted(status for _, _, status in intents) == [200, 401, 401]
    for _, body, _ in intents:
        payload = json.loads(body)
        assert payload["firstEventSequence"] == payload["lastEventSequence"] == 0
        assert payload["entropy"]


@pytest.mark.parametrize(("always", "says"), [(200, "mis-signed"), (401, "correctly signed")])
def test_a_receiver_answering_every_copy_alike_is_not_verified(
    api: httpx.Client, sandbox: Sandbox, receiver: Receiver, always: int, says: str
) -> None:
    receiver.always = always
    made = api.post("/sandbox/webhooks", json={"url": receiver.url, "key": KEY}).json()
    assert made["status"] == "failed" and says in made["reason"]
    new_contact(api, "Not Told")
    assert sandbox.webhooks_out.flush(5)
    assert receiver.payloads(answered=None) == []

    receiver.always = None
    verified = api.post(f"/sandbox/webhooks/{made['webhook_id']}/verify").json()
    assert verified["status"] == "OK"
    new_contact(api, "Told")
    assert sandbox.webhooks_out.flush(5)
    assert [e["eventType"] for e in receiver.events()] == ["CREATE"]


def test_retry_intent_verifies_before_the_first_delivery(
    api: httpx.Client, sandbox: Sandbox, receiver: Receiver
) -> None:
    receiver.always = 503  # not up yet
    made = api.post("/sandbox/webhooks",
                    json={"url": receiver.url, "key": KEY, "retry_intent": True}).json()
    assert made["status"] == "failed"
    receiver.always = None
    new_contact(api, "Late Receiver")
    assert sandbox.webhooks_out.flush(5)
    assert len(receiver.events()) == 1
    assert sandbox.webhooks()[0]["status"] == "OK"


def test_events_are_per_organisation(api: httpx.Client, sandbox: Sandbox,
                                     receiver: Receiver) -> None:
    other = sandbox.add_organisation("Other Company (AU)", seed="empty")
    made = api.post("/sandbox/webhooks",
                    json={"url": receiver.url, "key": KEY, "tenant_id": other}).json()
    assert made["tenant_id"] == other
    new_contact(api, "Of The First Org")
    api.headers["xero-tenant-id"] = other
    new_contact(api, "Of The Other Org")
    assert sandbox.webhooks_out.flush(5)
    assert [e["tenantId"] for e in receiver.events()] == [other]


# -- retries and switches ------------------------------------------------------------------------


def test_a_failed_delivery_is_retried_with_backoff_on_the_sandbox_clock(
    api: httpx.Client, sandbox: Sandbox, receiver: Receiver
) -> None:
    sandbox.add_webhook(receiver.url, KEY)
    receiver.fail_next = 2
    new_contact(api, "Retried Pty")
    assert sandbox.webhooks_out.flush(5)
    assert receiver.events() == [] and len(receiver.payloads(answered=500)) == 1
    sandbox.advance_clock(9)
    assert sandbox.webhooks_out.flush(5)
    assert len(receiver.payloads(answered=500)) == 1  # the first retry waits 10 s
    sandbox.advance_clock(1)
    assert sandbox.webhooks_out.flush(5)
    assert len(receiver.payloads(answered=500)) == 2
    sandbox.advance_clock(19)
    assert sandbox.webhooks_out.flush(5)
    assert receiver.events() == []  # the second waits 20 s
    sandbox.advance_clock(1)
    assert sandbox.webhooks_out.flush(5)
    (event,) = receiver.events()
    assert event["eventType"] == "CREATE"
    bodies = {body for _, body, _ in receiver.posts if json.loads(body)["events"]}
    assert len(bodies) == 1  # the same payload each time
    (hook,) = sandbox.webhooks()
    assert hook["delivered"] == 1 and hook["failed"] == 2 and hook["last_error"] == "answered 500"


def test_deliveries_failing_for_a_day_disable_the_webhook(
    api: httpx.Client, sandbox: Sandbox, receiver: Receiver
) -> None:
    sandbox.add_webhook(receiver.url, KEY)
    receiver.fail_next = 10_000
    new_contact(api, "Never Delivered")
    for _ in range(40):
        assert sandbox.webhooks_out.flush(5)
        sandbox.advance_clock(3600)
    (hook,) = sandbox.webhooks()
    assert hook["status"] == "disabled" and "24 hours" in hook["reason"]
    tries = len(receiver.payloads(answered=500))
    api.headers["Authorization"] = f"Bearer {sandbox.grant_tokens()['access_token']}"
    new_contact(api, "After Disabled")
    assert sandbox.webhooks_out.flush(5)
    assert len(receiver.payloads(answered=500)) == tries


def test_switches_drop_duplicate_delay_and_reorder(
    api: httpx.Client, sandbox: Sandbox, receiver: Receiver
) -> None:
    sandbox.add_webhook(receiver.url, KEY)
    webhooks = sandbox.webhooks_out

    api.post("/sandbox/webhooks/faults", json={"drop": 1})
    new_contact(api, "Dropped")
    new_contact(api, "Kept")
    assert webhooks.flush(5)
    assert [p["firstEventSequence"] for p in receiver.payloads()] == [2]
    assert sandbox.webhooks()[0]["dropped"] == 1

    api.post("/sandbox/webhooks/faults", json={"duplicate": 1})
    new_contact(api, "Twice")
    assert webhooks.flush(5)
    assert [p["firstEventSequence"] for p in receiver.payloads()] == [2, 3, 3]

    api.post("/sandbox/webhooks/faults", json={"delay": 30})
    new_contact(api, "Late")
    assert webhooks.flush(5)
    assert len(receiver.payloads()) == 3
    sandbox.advance_clock(30)
    assert webhooks.flush(5)
    assert len(receiver.payloads()) == 4
    api.delete("/sandbox/webhooks/faults")

    state = api.post("/sandbox/webhooks/faults", json={"reorder": 3}).json()
    assert state["reorder"] == 3
    for name in ("One", "Two"):
        new_contact(api, name)
    assert webhooks.flush(5)
    assert api.get("/sandbox/webhooks/faults").json()["held"] == 2
    new_contact(api, "Three")
    assert webhooks.flush(5)
    assert [p["firstEventSequence"] for p in receiver.payloads()][-3:] == [7, 6, 5]


def test_one_webhook_over_http(client: httpx.Client, receiver: Receiver) -> None:
    made = client.post("/sandbox/webhooks", json={"url": receiver.url, "key": KEY}).json()
    one = client.get(f"/sandbox/webhooks/{made['webhook_id']}").json()
    assert one["url"] == receiver.url and KEY not in json.dumps(one)
    assert client.delete(f"/sandbox/webhooks/{made['webhook_id']}").json() == {"webhooks": []}


# -- `xsync sandbox serve --webhook-url` ---------------------------------------------------------


def test_serve_registers_the_webhook_url_at_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    receiver: Receiver,
) -> None:
    monkeypatch.setenv("XSYNC_WEBHOOK_KEY", KEY)
    seen: list[list[dict[str, Any]]] = []
    original = Webhooks.close

    def record_then_close(self: Webhooks) -> None:
        seen.append(self.describe())
        original(self)

    monkeypatch.setattr(Webhooks, "close", record_then_close)
    monkeypatch.setattr(SandboxServer, "serve_forever", _interrupted)
    code = _run_cli(["sandbox", "serve", "--port", "0", "--data", str(tmp_path),
                     "--webhook-url", receiver.url])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"webhook        {receiver.url}  OK" in out
    assert KEY not in out
    assert seen[0][0]["url"] == receiver.url and seen[0][0]["status"] == "OK"
    assert len(receiver.intents()) == 3


def test_serve_makes_and_prints_a_key_when_none_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("XSYNC_WEBHOOK_KEY", raising=False)
    monkeypatch.setattr(SandboxServer, "serve_forever", _interrupted)
    code = _run_cli(["sandbox", "serve", "--port", "0", "--seed", "empty",
                     "--webhook-url", "http://127.0.0.1:9/xero/webhooks"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "failed" in out and "tried again before each delivery" in out
    assert "webhook key" in out and "XSYNC_WEBHOOK_KEY" in out


def _interrupted(self: SandboxServer) -> None:
    raise KeyboardInterrupt


def _run_cli(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0
