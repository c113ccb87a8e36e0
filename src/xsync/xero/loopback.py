"""A one-shot HTTP server on localhost that receives the OAuth2 redirect.

Invariants: it listens on the loopback interface only, answers exactly one `/callback` request
(other paths get 404), never logs the query (it holds the authorisation code), and stops after the
callback or on close. An answer pasted by the user (:meth:`LoopbackServer.offer`) counts as the
callback: whichever comes first is the one answer.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from xsync.errors import OAuthError

CALLBACK_PATH = "/callback"
_PAGE = (
    b"<!doctype html><title>xsync</title><p>xsync received Xero's answer. "
    b"You can close this window and return to the terminal.</p>"
)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != CALLBACK_PATH or not self.server.answer(dict(parse_qsl(parts.query))):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(_PAGE)))
        self.end_headers()
        self.wfile.write(_PAGE)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the request line carries the authorisation code."""


class _Server(HTTPServer):
    def __init__(self, port: int) -> None:
        super().__init__(("localhost", port), _Handler)
        self.params: dict[str, str] = {}
        self.received = threading.Event()
        self._first = threading.Lock()

    def answer(self, params: dict[str, str]) -> bool:
        """Take ``params`` as the answer unless one came already; whether it was taken."""
        with self._first:
            if self.received.is_set():
                return False
            self.params = params
            self.received.set()
            return True


class LoopbackServer:
    """Listen on `http://localhost:PORT/callback` (port 0 picks a free one)."""

    def __init__(self, port: int = 0) -> None:
        try:
            self._server = _Server(port)
        except OSError as exc:
            raise OAuthError(f"cannot listen on localhost:{port} for Xero's redirect ({exc})",
                             error="port_in_use", port=port) from exc
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        kwargs={"poll_interval": 0.01})
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def redirect_uri(self) -> str:
        return f"http://localhost:{self.port}{CALLBACK_PATH}"

    def offer(self, params: dict[str, str]) -> bool:
        """An answer that reached xsync another way (pasted); False if one came already."""
        return self._server.answer(params)

    def wait(self, timeout: float | None) -> dict[str, str]:
        """The callback's query parameters; OAuthError if none came within ``timeout``."""
        if not self._server.received.wait(timeout):
            raise OAuthError("no answer from Xero's authorisation page in time", error="timeout")
        return dict(self._server.params)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
