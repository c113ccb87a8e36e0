"""Webhook deliveries as Xero makes them: per organisation, verified first, retried on failure.

Registration (``add``) names a URL, the webhook key and one organisation. Before anything is
delivered there the sandbox runs Xero's *intent to receive*: it posts an empty payload
(``{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":…}``) several times, once
correctly signed and the others deliberately mis-signed, in a random order; the receiver must
answer 200 (empty body) to the good one and 401 to each bad one, each within the timeout.
Only then is the registration ``OK``; otherwise it stays ``failed`` with the reason, gets no
events, and ``verify`` runs the handshake again. A registration made with ``retry_intent`` runs it
again by itself before each delivery until it passes (for a sandbox started before its receiver).

A change is seen from a successful call of that organisation, each document once a call:

- PUT or POST on ``/Contacts``, ``/Invoices`` or ``/CreditNotes``: each returned element
  without validation errors is one event, CREATE for a PUT or for a POST element sent without
  its id, UPDATE otherwise;
- a RECEIVE-/SPEND-OVERPAYMENT or -PREPAYMENT bank transaction: a CREATE of the overpayment
  or prepayment it made (category OVERPAYMENT or PREPAYMENT, resource ``…/Prepayments/{id}``);
- an allocation made or removed (``PUT`` or ``DELETE`` under ``/CreditNotes``,
  ``/Overpayments`` or ``/Prepayments`` ``/{id}/Allocations``): an UPDATE of the credit, then
  one of each invoice it lands on (their amounts due moved);
- a payment made or deleted (which has no webhook): an UPDATE of what it pays, the invoice, or
  the credit note, overpayment or prepayment it refunds;
- a POST on an overpayment or prepayment itself (a void): its UPDATE.

CREDITNOTE events carry ``data: {Type, Status}``, the note as the call left it. One payload per
call, ``x-xero-signature`` = base64(HMAC-SHA256(key, raw body)), sequence numbers per
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
    "Overpayments": ("OVERPAYMENT", "OverpaymentID"),
    "Prepayments": ("PREPAYMENT", "PrepaymentID"),
}
# a payment has no webhook of its own, but it changes what it pays (an invoice's amounts due, a
# credit's remaining credit); nor has a bank transaction, but one may make an overpayment or a
# prepayment
PAYMENTS = "Payments"
BANK_TRANSACTIONS = "BankTransactions"
_BY_LOWER = {name.lower(): name for name in (*CATEGORIES, PAYMENTS, BANK_TRANSACTIONS)}
# what a payment or an allocation names: its element -> the collection of that document
_LINKS = {"Invoice": "Invoices", "CreditNote": "CreditNotes", "Overpayment": "Overpayments",
          "Prepayment": "Prepayments"}
# where allocations are made and removed: PUT /{collection}/{id}/Allocations, DELETE …/{id}
ALLOCATING = ("CreditNotes", "Overpayments", "Prepayments")

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
        after = _changed_by(request)
        with self._cond:
            receivers = [r for r in self._receivers.values()
                         if r.tenant_id in (None, reply.tenant) and r.status != "disabled"]
        if (not receivers or request.method not in ("PUT", "POST", "DELETE")
                or reply.tenant is None):
            return
        parts = [p for p in request.path[len(API_ROOT):].split("/") if p]
        collection = _BY_LOWER.get(parts[0].lower()) if parts else None
        if collection is None:
            return
        try:
            answer = json.loads(reply.body)
            sent = json.loads(request.body) if request.body.strip() else None
        except ValueError:
            return
        events = _Events(self.clock.now(), f"{request.base_url}{API_ROOT}", reply.tenant, after)
        if len(parts) >= 3 and parts[2].lower() == "allocations" and collection in ALLOCATING:
            events.allocations(collection, parts[1], answer)
        elif request.method == "DELETE":
            return
        elif collection == PAYMENTS:
            events.payments(answer)
        elif collection == BANK_TRANSACTIONS:
            events.bank_transactions(answer)
        else:
            events.documents(collection, len(parts) > 1, request.method, answer, sent)
        if not events.out:
            return
        now = self.clock.now()
        with self._cond:
            for receiver in receivers:
                if receiver.status != "OK" and not receiver.retry_intent:
                    continue
                first = receiver.sequence + 1
                receiver.sequence += len(events.out)
                payload = json.dumps(
                    {"events": events.out, "firstEventSequence": first,
                     "lastEventSequence": receiver.sequence,
                     "entropy": secrets.token_hex(10).upper()},
                    separators=(",", ":"),
                ).encode()
                self._enqueue(receiver, payload, now)
            self._cond.notify_all()

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


# the request whose documents' state after it the events may read (see ``changed``)
_local = threading.local()


def changed(ctx: Any) -> None:
    """Told by the sandbox's document code that this request moved a credit's balance through
    an endpoint other than the credit's own (an allocation): the events it raises then read
    each document's state after it (a credit note's Status) from the request's store."""
    _local.ctx = ctx


def _changed_by(request: Request) -> Any:
    """The context :func:`changed` was told of while this request was handled, if any (one
    left by an earlier request that failed is not this one's: its query mapping differs)."""
    ctx, _local.ctx = getattr(_local, "ctx", None), None
    return ctx if ctx is not None and getattr(ctx, "query", None) is request.query else None


def _failed(element: Any) -> bool:
    return not isinstance(element, dict) or bool(
        element.get("HasErrors") or element.get("HasValidationErrors")
        or element.get("ValidationErrors"))


class _Events:
    """The events one API call raises, each document once, in the order they were found."""

    def __init__(self, now: datetime, root: str, tenant: str, after: Any) -> None:
        self.stamp = now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        self.root = root
        self.tenant = tenant
        # the request's context, when the document code told of one: the state after it
        self.after = after
        self.out: list[dict[str, Any]] = []
        self._seen: set[tuple[str, str]] = set()

    def add(self, collection: str, doc_id: Any, kind: str = "UPDATE",
            doc: dict[str, Any] | None = None) -> None:
        category, _ = CATEGORIES[collection]
        if not doc_id or (category, str(doc_id)) in self._seen:
            return
        self._seen.add((category, str(doc_id)))
        event: dict[str, Any] = {
            "resourceUrl": f"{self.root}/{collection}/{doc_id}",
            "resourceId": str(doc_id),
            "eventDateUtc": self.stamp,
            "eventType": kind,
            "eventCategory": category,
            "tenantId": self.tenant,
            "tenantType": "ORGANISATION",
        }
        if category == "CREDITNOTE":
            event["data"] = self._note_data(str(doc_id), doc or {})
        self.out.append(event)

    def _note_data(self, note_id: str, doc: dict[str, Any]) -> dict[str, Any]:
        """A credit note's Type and Status after the call: from the note the reply holds, else
        from the store of the request (an allocation), else as a refund leaves it."""
        stored = None
        if "Status" not in doc and self.after is not None:
            stored = self.after.store.get("creditnotes", self.after.tenant, note_id.lower())
        source = stored or doc
        return {"Type": source.get("Type"), "Status": source.get("Status") or "AUTHORISED"}

    def documents(self, collection: str, by_id: bool, method: str, answer: Any,
                  sent: Any) -> None:
        """``PUT``/``POST`` of contacts, invoices, credit notes (and of a credit by its id): each
        returned element without validation errors, CREATE for a PUT or for a POST element sent
        without its id, UPDATE otherwise."""
        _, id_field = CATEGORIES[collection]
        returned = answer.get(collection) if isinstance(answer, dict) else None
        given_list = sent.get(collection) if isinstance(sent, dict) else None
        given_list = given_list if isinstance(given_list, list) else []
        for index, doc in enumerate(returned or []):
            if _failed(doc):
                continue
            given = given_list[index] if index < len(given_list) else {}
            known = by_id or bool(isinstance(given, dict) and given.get(id_field))
            kind = "UPDATE" if method == "POST" and known else "CREATE"
            self.add(collection, doc.get(id_field), kind, doc)

    def payments(self, answer: Any) -> None:
        """A payment made or deleted: an UPDATE of what it pays (an invoice, or the credit
        note, overpayment or prepayment it refunds)."""
        for payment in (answer.get(PAYMENTS) if isinstance(answer, dict) else None) or []:
            if _failed(payment):
                continue
            for link, collection in _LINKS.items():
                target = payment.get(link)
                if isinstance(target, dict):
                    self.add(collection, target.get(CATEGORIES[collection][1]), doc=target)

    def bank_transactions(self, answer: Any) -> None:
        """A RECEIVE-/SPEND-OVERPAYMENT or -PREPAYMENT bank transaction saved: the CREATE of the
        overpayment or prepayment it made."""
        for bank in (answer.get(BANK_TRANSACTIONS) if isinstance(answer, dict) else None) or []:
            if _failed(bank):
                continue
            for collection in ("Overpayments", "Prepayments"):
                credit_id = bank.get(CATEGORIES[collection][1])
                if credit_id:
                    self.add(collection, credit_id, "CREATE")

    def allocations(self, collection: str, credit_id: str, answer: Any) -> None:
        """An allocation made (``PUT …/Allocations``) or removed (``DELETE …/{AllocationID}``):
        an UPDATE of the credit note, overpayment or prepayment, then of each invoice (their
        amounts due moved)."""
        if isinstance(answer, dict) and "Allocations" in answer:
            made = [a for a in answer.get("Allocations") or [] if not _failed(a)]
        else:
            made = [answer] if isinstance(answer, dict) and "AllocationID" in answer else []
        if not made:
            return
        link = next(k for k, v in _LINKS.items() if v == collection)
        credit: dict[str, Any] = next(
            (a[link] for a in made if isinstance(a.get(link), dict)), {})
        self.add(collection, credit.get(CATEGORIES[collection][1]) or credit_id.lower(),
                 doc=credit)
        for allocation in made:
            invoice = allocation.get("Invoice")
            if isinstance(invoice, dict):
                self.add("Invoices", invoice.get("InvoiceID"))


def _missign(key: str, body: bytes, copy: int) -> str:
    """A signature that is wrong by a little: odd copies sign the body re-spaced (what a receiver
    hashing parsed JSON would compute), even ones sign it with the key one character short."""
    if copy % 2:
        return sign(key, json.dumps(json.loads(body)).encode())
    return sign(key[:-1], body)
