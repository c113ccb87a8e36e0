"""Webhook deliveries as Xero makes them: per organisation, verified first, retried on failure.

Registration (``add``) names a URL, the webhook key and one organisation. Before anything is
delivered there the sandbox runs Xero's *intent to receive*: it posts an empty payload
(``{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":…}``) several times, once
correctly signed and the others deliberately mis-signed, in a random order; the receiver must
answer 200 (empty body) to the good one and 401 to each bad one, each within the timeout.
Only then is the registration ``OK``; otherwise it stays ``failed`` with the reason, gets no
events, and ``verify`` runs the handshake again. A registration made with ``retry_intent`` runs it
again by itself before each delivery until it passes (for a sandbox started before its receiver).

A change is seen from a successful PUT or POST on ``/Contacts``, ``/Invoices`` or
``/CreditNotes`` of that organisation: each returned element without validation errors becomes
one event, CREATE for a PUT or for a POST element sent without its id, UPDATE otherwise (a
payment, which has no webhook, is an UPDATE of the invoice it was made on); one
payload per call, ``x-xero-signature`` = base64(HMAC-SHA256(key, raw body)), sequence numbers per
registration. A delivery that fails (no answer, or not 2xx) is tried again after 10 s, then 20 s,
40 s ... (at most an hour apart), on the sandbox's clock, so a test moves the clock instead of
waiting; after 24 hours of failures the registration is ``disabled`` and its queue dropped.
Delivery is at least once, as with Xero: receivers must dedupe.

Switches for tests (``set_faults``): ``drop: n`` loses the next n deliveries; ``duplicate: n``
sends each of the next n twice; ``delay: s`` holds every delivery s seconds of sandbox time;
``reorder: n`` gathers the next n deliveries and sends them newest first.

Keys are held in memory only and never reported.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import itertools
import json
import logging
import random
import secrets
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
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
# a payment has no webhook of its own, but it changes its invoice (status, amounts due)
PAYMENTS = "Payments"
_BY_LOWER = {name.lower(): name for name in (*CATEGORIES, PAYMENTS)}

# the wait before the first retry of a failed delivery, its growth cap, and when to give up
RETRY_FIRST = 10.0
RETRY_CAP = 3600.0
GIVE_UP_AFTER = timedelta(hours=24)
# mis-signed copies sent beside the good one in an intent to receive
MISSIGNED_COPIES = 2
# how often the delivery thread looks at the sandbox clock while a retry or delay waits
CLOCK_POLL = 0.02
FAULT_NAMES = ("drop", "duplicate", "delay", "reorder")


def sign(key: str, body: bytes) -> str:
    """Xero's webhook signature of a raw body."""
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


@dataclass
class _Receiver:
    webhook_id: str
    url: str
    key: str
    tenant_id: str | None
    retry_intent: bool = False
    status: str = "pending"
    reason: str | None = None
    sequence: int = 0
    delivered: int = 0
    failed: int = 0
    dropped: int = 0
    last_error: str | None = None

    def describe(self) -> dict[str, Any]:
        return {"webhook_id": self.webhook_id, "url": self.url, "tenant_id": self.tenant_id,
                "status": self.status, "reason": self.reason, "delivered": self.delivered,
                "failed": self.failed, "dropped": self.dropped, "last_error": self.last_error}


@dataclass(order=True)
class _Delivery:
    due: datetime
    order: int
    receiver: _Receiver = field(compare=False)
    payload: bytes = field(compare=False)
    first_at: datetime = field(compare=False)
    attempt: int = field(default=0, compare=False)


@dataclass
class _Faults:
    drop: int = 0
    duplicate: int = 0
    delay: float = 0.0
    reorder: int = 0
    held: list[_Delivery] = field(default_factory=list)

    def state(self) -> dict[str, Any]:
        return {"drop": self.drop, "duplicate": self.duplicate, "delay": self.delay,
                "reorder": self.reorder, "held": len(self.held)}


class Webhooks:
    """Registered receivers, their delivery queue and the thread that works it."""

    def __init__(self, clock: Clock, timeout: float = 5.0) -> None:
        self.clock = clock
        self.timeout = timeout
        self._cond = threading.Condition()
        self._receivers: dict[str, _Receiver] = {}
        self._heap: list[_Delivery] = []
        self._order = itertools.count()
        self._in_flight = 0
        self._faults = _Faults()
        self._thread: threading.Thread | None = None
        self._closed = False

    # registrations ---------------------------------------------------------------------------

    def add(self, url: str, key: str, tenant_id: str | None = None, *,
            retry_intent: bool = False) -> str:
        """Register ``url`` for ``tenant_id``'s events (``None``: every organisation's) and run
        the intent to receive."""
        if not url.startswith(("http://", "https://")):
            raise ValueError("webhook url must be http(s)")
        if not key:
            raise ValueError("webhook key is required")
        receiver = _Receiver(str(uuid.uuid4()), url, key, tenant_id, retry_intent=retry_intent)
        with self._cond:
            self._receivers[receiver.webhook_id] = receiver
            self._start()
        self._intent(receiver)
        return receiver.webhook_id

    def verify(self, webhook_id: str) -> dict[str, Any]:
        """Run the intent to receive again (also re-enables a disabled registration)."""
        receiver = self._receiver(webhook_id)
        self._intent(receiver)
        return receiver.describe()

    def remove(self, webhook_id: str) -> None:
        receiver = self._receiver(webhook_id)
        with self._cond:
            del self._receivers[webhook_id]
            self._drop_queue(receiver)

    def describe(self) -> list[dict[str, Any]]:
        with self._cond:
            return [r.describe() for r in self._receivers.values()]

    def clear(self) -> None:
        with self._cond:
            self._receivers.clear()
            self._heap.clear()
            self._faults.held.clear()
            self._cond.notify_all()

    def _receiver(self, webhook_id: str) -> _Receiver:
        with self._cond:
            found = self._receivers.get(webhook_id)
        if found is None:
            raise KeyError(webhook_id)
        return found

    # switches --------------------------------------------------------------------------------

    def set_faults(self, **switches: Any) -> dict[str, Any]:
        unknown = sorted(set(switches) - set(FAULT_NAMES))
        if unknown:
            raise ValueError(f"unknown webhook switch(es): {', '.join(unknown)}; "
                             f"known: {', '.join(FAULT_NAMES)}")
        for name, value in switches.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name} must be a number of at least 0")
            if name != "delay" and not float(value).is_integer():
                raise ValueError(f"{name} must be a whole number of deliveries")
        with self._cond:
            for name, value in switches.items():
                setattr(self._faults, name, float(value) if name == "delay" else int(value))
            if self._faults.reorder < 2:
                self._release_held()
            return self._faults.state()

    def faults(self) -> dict[str, Any]:
        with self._cond:
            return self._faults.state()

    def clear_faults(self) -> dict[str, Any]:
        with self._cond:
            held = self._faults.held
            self._faults = _Faults(held=held)
            self._release_held()
            return self._faults.state()

    # events ----------------------------------------------------------------------------------

    def observe(self, request: Request, reply: Reply) -> None:
        """Queue events for a successful API call, when it changed a watched document."""
        with self._cond:
            receivers = [r for r in self._receivers.values()
                         if r.tenant_id in (None, reply.tenant) and r.status != "disabled"]
        if not receivers or request.method not in ("PUT", "POST") or reply.tenant is None:
            return
        parts = [p for p in request.path[len(API_ROOT):].split("/") if p]
        collection = _BY_LOWER.get(parts[0].lower()) if parts else None
        if collection is None:
            return
        events = self._events(collection, len(parts) > 1, request, reply)
        if not events:
            return
        now = self.clock.now()
        with self._cond:
            for receiver in receivers:
                if receiver.status != "OK" and not receiver.retry_intent:
                    continue
                first = receiver.sequence + 1
                receiver.sequence += len(events)
                payload = json.dumps(
                    {"events": events, "firstEventSequence": first,
                     "lastEventSequence": receiver.sequence,
                     "entropy": secrets.token_hex(10).upper()},
                    separators=(",", ":"),
                ).encode()
                self._enqueue(receiver, payload, now)
            self._cond.notify_all()

    def _events(
        self, collection: str, by_id: bool, request: Request, reply: Reply
    ) -> list[dict[str, Any]]:
        if collection == PAYMENTS:
            return self._payment_events(request, reply)
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

    def _payment_events(self, request: Request, reply: Reply) -> list[dict[str, Any]]:
        """An UPDATE of each invoice a payment was made (or deleted) on."""
        try:
            returned = json.loads(reply.body).get(PAYMENTS) or []
        except (ValueError, AttributeError):
            return []
        stamp = self.clock.now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        events = []
        for payment in returned:
            invoice = payment.get("Invoice") if isinstance(payment, dict) else None
            invoice_id = invoice.get("InvoiceID") if isinstance(invoice, dict) else None
            if not invoice_id or payment.get("HasErrors") or payment.get("ValidationErrors"):
                continue
            events.append({
                "resourceUrl": f"{request.base_url}{API_ROOT}/Invoices/{invoice_id}",
                "resourceId": invoice_id, "eventDateUtc": stamp, "eventType": "UPDATE",
                "eventCategory": "INVOICE", "tenantId": reply.tenant,
                "tenantType": "ORGANISATION",
            })
        return events

    def _enqueue(self, receiver: _Receiver, payload: bytes, now: datetime) -> None:
        """One delivery, through the switches (called holding the lock)."""
        faults = self._faults
        if faults.drop > 0:
            faults.drop -= 1
            receiver.dropped += 1
            return
        copies = 1
        if faults.duplicate > 0:
            faults.duplicate -= 1
            copies = 2
        due = now + timedelta(seconds=faults.delay)
        for _ in range(copies):
            delivery = _Delivery(due, next(self._order), receiver, payload, now)
            if faults.reorder >= 2:
                faults.held.append(delivery)
                if len(faults.held) >= faults.reorder:
                    faults.reorder = 0
                    self._release_held()
            else:
                heapq.heappush(self._heap, delivery)

    def _release_held(self) -> None:
        held, self._faults.held = self._faults.held, []
        for delivery in reversed(held):
            delivery.order = next(self._order)
            heapq.heappush(self._heap, delivery)
        self._cond.notify_all()

    def _drop_queue(self, receiver: _Receiver) -> None:
        self._heap = [d for d in self._heap if d.receiver is not receiver]
        heapq.heapify(self._heap)

    # the intent to receive -------------------------------------------------------------------

    def _intent(self, receiver: _Receiver) -> bool:
        """Post the good and the mis-signed copies; ``OK`` only when each got its answer."""
        copies: list[tuple[bytes, str, int]] = []
        for copy in range(1 + MISSIGNED_COPIES):
            body = json.dumps(
                {"events": [], "firstEventSequence": 0, "lastEventSequence": 0,
                 "entropy": secrets.token_hex(10).upper()},
                separators=(",", ":"),
            ).encode()
            if copy == 0:
                copies.append((body, sign(receiver.key, body), 200))
            else:
                copies.append((body, _missign(receiver.key, body, copy), 401))
        random.SystemRandom().shuffle(copies)
        reason = None
        for body, signature, wanted in copies:
            status, answer, error = self._post(receiver.url, body, signature)
            kind = "correctly signed" if wanted == 200 else "mis-signed"
            if status is None:
                reason = f"the {kind} intent to receive got no answer ({error})"
            elif status != wanted:
                reason = f"the {kind} intent to receive was answered {status}, not {wanted}"
            elif answer:
                reason = f"the {kind} intent to receive was answered with a body (must be empty)"
            if reason:
                break
        with self._cond:
            receiver.status = "OK" if reason is None else "failed"
            receiver.reason = reason
            self._cond.notify_all()
        return reason is None

    # delivery --------------------------------------------------------------------------------

    def _start(self) -> None:
        if self._thread is None:
            self._closed = False
            self._thread = threading.Thread(
                target=self._deliver_loop, name="xsync-sandbox-webhooks", daemon=True
            )
            self._thread.start()

    def close(self) -> None:
        """Stop the delivery thread (what is still queued is not delivered)."""
        with self._cond:
            thread, self._thread = self._thread, None
            self._closed = True
            self._cond.notify_all()
        if thread is not None:
            thread.join(timeout=self.timeout + 1)

    def _due_now(self) -> bool:
        return bool(self._heap) and self._heap[0].due <= self.clock.now()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every delivery due now was attempted (True) or ``timeout`` passes.

        Deliveries waiting for a later sandbox time (a retry, a delay) or held for a reorder are
        not due: move the clock, or clear the switches, to make them so."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._due_now() or self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, CLOCK_POLL))
            return True

    def _deliver_loop(self) -> None:
        while True:
            with self._cond:
                while not self._closed and not self._due_now():
                    self._cond.wait(CLOCK_POLL if self._heap else None)
                if self._closed:
                    return
                delivery = heapq.heappop(self._heap)
                self._in_flight += 1
            try:
                self._attempt(delivery)
            except Exception:  # a bug here must not end deliveries for good
                log.exception("webhook delivery failed unexpectedly")
            finally:
                with self._cond:
                    self._in_flight -= 1
                    self._cond.notify_all()

    def _attempt(self, delivery: _Delivery) -> None:
        receiver = delivery.receiver
        if receiver.status != "OK" and not (receiver.retry_intent and self._intent(receiver)):
            if receiver.status == "disabled":
                return
            error = f"not verified: {receiver.reason}"
        else:
            payload = delivery.payload
            status, _, problem = self._post(receiver.url, payload, sign(receiver.key, payload))
            if status is not None and 200 <= status < 300:
                with self._cond:
                    receiver.delivered += 1
                return
            error = problem if status is None else f"answered {status}"
        now = self.clock.now()
        with self._cond:
            receiver.failed += 1
            receiver.last_error = error
            if now - delivery.first_at >= GIVE_UP_AFTER:
                receiver.status = "disabled"
                receiver.reason = f"deliveries failed for 24 hours ({error})"
                self._drop_queue(receiver)
                return
            wait = min(RETRY_CAP, RETRY_FIRST * 2 ** delivery.attempt)
            delivery.attempt += 1
            delivery.due = now + timedelta(seconds=wait)
            delivery.order = next(self._order)
            heapq.heappush(self._heap, delivery)
        log.warning("webhook delivery to %s failed (%s); next try in %.0f s",
                    receiver.webhook_id, error, wait)

    def _post(self, url: str, body: bytes, signature: str) -> tuple[int | None, bytes, str]:
        """POST one payload: (status or None when nothing answered, reply body, why)."""
        req = urllib.request.Request(
            url, data=body, method="POST",
            headers={"Content-Type": "application/json", "x-xero-signature": signature},
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as answer:
                return answer.status, answer.read(), ""
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, exc.read(), ""
        except (urllib.error.URLError, OSError) as exc:
            return None, b"", str(getattr(exc, "reason", exc))


def _missign(key: str, body: bytes, copy: int) -> str:
    """A signature that is wrong by a little: odd copies sign the body re-spaced (what a receiver
    hashing parsed JSON would compute), even ones sign it with the key one character short."""
    if copy % 2:
        return sign(key, json.dumps(json.loads(body)).encode())
    return sign(key[:-1], body)
