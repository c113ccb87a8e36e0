"""A Prism mock of Xero's Accounting API, built from Xero's own OpenAPI document.

`XSYNC_XERO_SPEC` names the document (`xero_accounting.yaml`); without it, or without Prism in
`tests/contract/node_modules` (see `.ci/prism.sh`), the contract tests are skipped.

Prism answers every request with the document's example data, so what xsync makes of a reply
does not matter here; what matters is whether Prism accepted the request. Prism cannot compile
some request-body schemas (Invoices, CreditNotes, Payments) and lets those bodies through
unchecked, so every body xsync sends is also checked against the document by `body_check.js`.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

HERE = Path(__file__).parent
PRISM = HERE / "node_modules" / ".bin" / "prism"
BODY_CHECK = HERE / "body_check.js"
# Prism dereferences the whole 900 kB document before it listens: about 30 s on two cores.
START_TIMEOUT = 240.0
NODE_PACKAGES = ("ajv", "ajv-formats", "@stoplight/yaml")


def _spec_path() -> Path:
    named = os.environ.get("XSYNC_XERO_SPEC")
    if not named:
        pytest.skip("XSYNC_XERO_SPEC is not set: point it at Xero's xero_accounting.yaml "
                    "to run xsync against a mock of the real API")
    path = Path(named).expanduser().resolve()
    if not path.is_file():
        pytest.skip(f"XSYNC_XERO_SPEC names no file: {named}")
    if not PRISM.exists() or shutil.which("node") is None:
        pytest.skip("Prism is not installed in tests/contract/node_modules: run .ci/prism.sh")
    missing = [p for p in NODE_PACKAGES if not (HERE / "node_modules" / p).is_dir()]
    if missing:
        pytest.skip(f"tests/contract/node_modules lacks {', '.join(missing)}: run .ci/prism.sh")
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Prism:
    url: str
    spec: Path
    log: list[str]


@contextmanager
def running_prism() -> Iterator[Prism]:
    """Prism serving `XSYNC_XERO_SPEC` on a free loopback port, with request validation on."""
    spec = _spec_path()
    port = _free_port()
    process = subprocess.Popen(
        [str(PRISM), "mock", "--errors", "--host", "127.0.0.1", "--port", str(port), str(spec)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
    )
    log: list[str] = []
    listening = threading.Event()

    def drain() -> None:
        # Prism logs every request; the pipe must keep flowing or it would block.
        assert process.stdout is not None
        for line in process.stdout:
            log.append(line.rstrip())
            if "Prism is listening" in line:
                listening.set()
        listening.set()

    threading.Thread(target=drain, daemon=True).start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not listening.wait(0.5):
            if time.monotonic() > deadline:
                pytest.fail(f"Prism did not start in {START_TIMEOUT:.0f} s:\n" + "\n".join(log))
        if process.poll() is not None:
            pytest.fail("Prism stopped while starting:\n" + "\n".join(log[-40:]))
        yield Prism(url=f"http://127.0.0.1:{port}", spec=spec, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()



@dataclass
class Exchange:
    """One request xsync sent, and what the mock and the body check said of it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    status: int
    problems: list[str] = field(default_factory=list)

    def describe(self) -> str:
        shown = {k: v for k, v in self.headers.items()
                 if k.lower() in ("if-modified-since", "idempotency-key", "content-type")}
        lines = [f"{self.method} {self.path}{'?' + self.query if self.query else ''} "
                 f"-> {self.status} {shown}"]
        if self.body is not None:
            lines.append(f"  body: {json.dumps(self.body)[:600]}")
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


def _prism_problems(response: httpx.Response) -> list[str]:
    problems: list[str] = []
    header = response.headers.get("sl-violations")
    if header:
        try:
            problems += [f"{v.get('severity')}: {v.get('message')} (at {v.get('location')})"
                         for v in json.loads(header)]
        except ValueError:
            problems.append(f"sl-violations: {header}")
    if response.status_code in (400, 401, 403, 404, 405, 406, 415, 422):
        try:
            body = response.json()
        except ValueError:
            body = {}
        details = body.get("validation") if isinstance(body, dict) else None
        if details:
            problems += [f"{d.get('severity')}: {d.get('message')} ({d.get('code')})"
                         for d in details]
        elif not problems:
            title = body.get("title") if isinstance(body, dict) else None
            problems.append(f"the mock refused the request: {response.status_code} {title or ''}")
    return problems


class Recorder(httpx.BaseTransport):
    """A real loopback transport that keeps every exchange for inspection."""

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()
        self.exchanges: list[Exchange] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        response.read()
        content = request.content
        self.exchanges.append(Exchange(
            method=request.method,
            path=request.url.path,
            query=request.url.query.decode(),
            headers=dict(request.headers),
            body=json.loads(content) if content else None,
            status=response.status_code,
            problems=_prism_problems(response),
        ))
        return response

    def close(self) -> None:
        self._inner.close()


def check_bodies(spec: Path, exchanges: list[Exchange]) -> None:
    """Add to each exchange what the document's request schema says of its body."""
    sent = [e for e in exchanges if e.body is not None]
    if not sent:
        return
    payload = [{"method": e.method, "path": e.path, "body": e.body} for e in sent]
    result = subprocess.run(
        ["node", str(BODY_CHECK), str(spec)], input=json.dumps(payload),
        capture_output=True, text=True, timeout=120, check=True,
    )
    for exchange, problems in zip(sent, json.loads(result.stdout), strict=True):
        exchange.problems += [f"body {p['path'] or '/'}: {p['message']}" for p in problems]
