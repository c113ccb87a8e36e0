"""The receiver of Xero's webhooks: ``POST /xero/webhooks`` and ``GET /healthz``.

Meant to sit behind the user's HTTPS reverse proxy or tunnel, on loopback by default.

Invariants:
- the signature is checked on the raw body bytes before anything is parsed:
  ``x-xero-signature`` must be base64(HMAC-SHA256(webhook key, body)), compared in constant time;
  a missing or wrong one (or no key configured) is answered 401 with an empty body;
- a correctly signed payload without events is Xero's intent to receive: 200, empty body;
- a payload with events is answered 200 only once its events are committed to the state
  database (:meth:`Sink.add`); if they cannot be stored the answer is 503 and Xero delivers again;
- the work itself (the sync) never runs here: the loop is only woken;
- one request at a time, each with a short socket timeout, so a stalled client cannot hold the
  receiver for long; nothing a request carries is logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Protocol

log = logging.getLogger("xsync.watch")

PATH = "/xero/webhooks"
HEALTH_PATH = "/healthz"
# Xero's payloads are small (a few KiB); anything far larger is not Xero
MAX_BODY = 1 << 20
SOCKET_TIMEOUT = 10.0


def signature_ok(key: str | None, body: bytes, given: str | None) -> bool:
    """Whether ``given`` is Xero's signature of ``body`` under ``key`` (constant time)."""
    if not key or not given:
        return False
    wanted = base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(wanted, given.strip().encode("ascii", "replace"))


class Sink(Protocol):
    """Where received events go; made (and used) in the receiver's own thread."""

    def add(self, payload: dict[str, Any]) -> int:
        """Store the payload's events durably; returns how many were new."""
        ...

    def health(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


class Receiver:
    """An HTTP server on ``host:port`` from a thread of its own, until :meth:`stop`."""

    def __init__(self, host: str, port: int, key: str | None, sink: Callable[[], Sink],
                 on_events: Callable[[int], None] = lambda _n: None) -> None:
        self.key = key
        self._make_sink = sink
        self._sink: Sink | None = None
        self.on_events = on_events
        self._server = HTTPServer((host, port), _handler(self))
        self._server.timeout = 0.5
        self.host = host
        self.port = int(self._server.server_address[1])
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{PATH}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._serve, name="xsync-watch-receiver",
                                        daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            self._sink = self._make_sink()
            self._server.serve_forever(poll_interval=0.2)
        except BaseException as exc:  # seen by the loop, which stops the watcher
            self.error = exc
            log.exception("the webhook receiver stopped")
        finally:
            if self._sink is not None:
                self._sink.close()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._server.server_close()

    # -- requests (in the receiver's thread) -----------------------------------------------------

    def answer_post(self, path: str, body: bytes, signature: str | None) -> int:
        if path != PATH:
            return 404
        if not signature_ok(self.key, body, signature):
            return 401
        try:
            payload = json.loads(body)
        except ValueError:
            return 400
        if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
            return 400
        if not payload["events"]:
            return 200  # the intent to receive
        assert self._sink is not None
        try:
            new = self._sink.add(payload)
        except Exception:
            log.exception("webhook events could not be stored; Xero will deliver them again")
            return 503
        if new:
            self.on_events(new)
        return 200

    def health(self) -> dict[str, Any]:
        assert self._sink is not None
        return self._sink.health()


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = SOCKET_TIMEOUT
        server_version = "xsync-watch"
        sys_version = ""

        def do_POST(self) -> None:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0 or length > MAX_BODY:
                self._send(413)
                return
            body = self.rfile.read(length)
            path = self.path.split("?", 1)[0]
            self._send(receiver.answer_post(path, body, self.headers.get("x-xero-signature")))

        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] != HEALTH_PATH:
                self._send(404)
                return
            try:
                text = json.dumps(receiver.health(), default=str).encode()
            except Exception:
                log.exception("health check failed")
                self._send(503)
                return
            self._send(200, text, "application/json")

        def _send(self, status: int, body: bytes = b"", kind: str | None = None) -> None:
            self.send_response(status)
            if kind:
                self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if body:
                self.wfile.write(body)
            self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
