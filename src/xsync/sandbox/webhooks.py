"""Webhook deliveries: signed, Xero-shaped events for contact, invoice and credit note changes.

A change is seen from a successful PUT or POST on ``/Contacts``, ``/Invoices`` or
``/CreditNotes``: each returned element without validation errors becomes one event, CREATE for
a PUT or for a POST element sent without its id, UPDATE otherwise. Events are posted from a
background thread, one payload per call, with ``x-xero-signature`` = base64(HMAC-SHA256(key,
raw body)). Delivery is at most once here (failures are logged, not retried); receivers must
still dedupe, as with Xero. Keys are held in memory only and never reported.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import queue
import secrets
import threading
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

from xsync.sandbox.clock import Clock
from xsync.sandbox.wsgi import Reply, Request

log = logging.getLogger("xsync.sandbox")
API_ROOT = "/api.xro/2.0"

# collection -> (event category, id field)
CATEGORIES = {
    "Contacts": ("CONTACT", "ContactID"),
    "Invoices": ("INVOICE", "InvoiceID"),
    "CreditNotes": ("CREDITNOTE", "CreditNoteID"),
}
_BY_LOWER = {name.lower(): name for name in CATEGORIES}


def sign(key: str, body: bytes) -> str:
    """Xero's webhook signature of a raw body."""
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


@dataclass
class _Receiver:
    webhook_id: str
    url: str
    key: str


class Webhooks:
    """Registered receivers and the delivery thread."""

    def __init__(self, clock: Clock, timeout: float = 5.0) -> None:
        self.clock = clock
        self.timeout = timeout
        self._lock = threading.Lock()
        self._receivers: list[_Receiver] = []
        self._sequence = 0
        self._queue: queue.Queue[tuple[_Receiver, bytes] | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def add(self, url: str, key: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("webhook url must be http(s)")
        receiver = _Receiver(str(uuid.uuid4()), url, key)
        with self._lock:
            self._receivers.append(receiver)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._deliver_loop, name="xsync-sandbox-webhooks", daemon=True
                )
                self._thread.start()
        return receiver.webhook_id

    def describe(self) -> list[dict[str, str]]:
        with self._lock:
            return [{"webhook_id": r.webhook_id, "url": r.url} for r in self._receivers]

    def clear(self) -> None:
        with self._lock:
            self._receivers.clear()

    def close(self) -> None:
        """Stop the delivery thread after what is queued."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=self.timeout + 1)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued payload was attempted (True) or ``timeout`` passes."""
        done = threading.Event()

        def wait() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=wait, daemon=True).start()
        return done.wait(timeout)

    # events ----------------------------------------------------------------------------------

    def observe(self, request: Request, reply: Reply) -> None:
        """Queue events for a successful API call, when it changed a watched document."""
        with self._lock:
            receivers = list(self._receivers)
        if not receivers or request.method not in ("PUT", "POST") or reply.tenant is None:
            return
        parts = [p for p in request.path[len(API_ROOT):].split("/") if p]
        collection = _BY_LOWER.get(parts[0].lower()) if parts else None
        if collection is None:
            return
        events = self._events(collection, len(parts) > 1, request, reply)
        if not events:
            return
        with self._lock:
            first = self._sequence + 1
            self._sequence += len(events)
            last = self._sequence
        payload = json.dumps(
            {"events": events, "firstEventSequence": first, "lastEventSequence": last,
             "entropy": secrets.token_hex(10).upper()},
            separators=(",", ":"),
        ).encode()
        for receiver in receivers:
            self._queue.put((receiver, payload))

    def _events(
        self, collection: str, by_id: bool, request: Request, reply: Reply
    ) -> list[dict[str, Any]]:
        category, id_field = CATEGORIES[collection]
        try:
            returned = json.loads(reply.body).get(collection) or []
            sent = json.loads(request.body).get(collection) if request.body.strip() else None
        except (ValueError, AttributeError):
            return []
        sent_list = sent if isinstance(sent, list) else []
        stamp = self.clock.now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        base = f"{request.base_url}{API_ROOT}/{collection}/"
        events = []
        for index, doc in enumerate(returned):
            if not isinstance(doc, dict) or doc.get("HasErrors") or doc.get("ValidationErrors"):
                continue
            doc_id = doc.get(id_field)
            if not doc_id:
                continue
            given = sent_list[index] if index < len(sent_list) else {}
            known = by_id or bool(
                isinstance(given, dict) and given.get(id_field)
            )
            event: dict[str, Any] = {
                "resourceUrl": base + doc_id,
                "resourceId": doc_id,
                "eventDateUtc": stamp,
                "eventType": "UPDATE" if request.method == "POST" and known else "CREATE",
                "eventCategory": category,
                "tenantId": reply.tenant,
                "tenantType": "ORGANISATION",
            }
            if category == "CREDITNOTE":
                event["data"] = {"Type": doc.get("Type"), "Status": doc.get("Status")}
            events.append(event)
        return events

    # delivery --------------------------------------------------------------------------------

    def _deliver_loop(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._deliver(*item)
            finally:
                self._queue.task_done()

    def _deliver(self, receiver: _Receiver, payload: bytes) -> None:
        req = urllib.request.Request(
            receiver.url,
            data=payload,
            method="POST",
            headers={"Content-Type": "application/json",
                     "x-xero-signature": sign(receiver.key, payload)},
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as answer:
                answer.read()
        except (urllib.error.URLError, OSError) as exc:
            log.warning("webhook delivery to %s failed: %s", receiver.webhook_id, exc)
