"""A threaded HTTP server for the sandbox's WSGI app (standard library only).

One thread per connection, so calls really run concurrently (the concurrency limit depends on
it). Request logging is off: request lines may carry codes or states, and nothing the sandbox
logs ever holds a token. A handler raising ``ConnectionDropped`` gets its connection closed
without any reply, as when a response is lost on the wire.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

from xsync.sandbox.wsgi import ConnectionDropped

log = logging.getLogger("xsync.sandbox")
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _Handler(ServerHandler):
    dropped = False

    def log_exception(self, exc_info: Any) -> None:
        if not isinstance(exc_info[1], ConnectionDropped):
            log.error("sandbox request failed", exc_info=exc_info)

    def handle_error(self) -> None:
        if isinstance(sys.exc_info()[1], ConnectionDropped):
            self.dropped = True
            return
        super().handle_error()


class _RequestHandler(WSGIRequestHandler):
    """Quiet, and able to drop a connection without answering."""

    def log_message(self, format: str, *args: Any) -> None:
        return

    def handle(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536:
            self.send_error(414)
            return
        if not self.parse_request():
            return
        stdout: Any = self.wfile
        handler = _Handler(self.rfile, stdout, self.get_stderr(), self.get_environ())
        handler.request_handler = self  # type: ignore[attr-defined]
        handler.run(self.server.get_app())  # type: ignore[attr-defined]
        if handler.dropped:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection error from %s", client_address[0], exc_info=True)


class SandboxServer:
    """Serve ``app`` on ``host:port`` from a daemon thread until ``stop``."""

    def __init__(self, app: WsgiApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self._httpd = _ThreadingWSGIServer((host, port), _RequestHandler)
        self._httpd.set_app(app)
        self.host = host
        self.port = int(self._httpd.server_address[1])
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02},
            name="xsync-sandbox", daemon=True,
        )
        self._thread.start()

    def serve_forever(self) -> None:
        """Serve in the calling thread (the CLI's foreground server)."""
        self._httpd.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        """Stop accepting, wait for the serving loop to end, and close the socket."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()
