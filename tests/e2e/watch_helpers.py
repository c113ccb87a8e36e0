"""`xsync watch` as its own process on the e2e world, and Xero's webhooks sent to it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Callable
from typing import Any

import httpx
from e2e_helpers import World, spawn

KEY = "watch-webhook-key-for-tests"
# how long a test waits for the watcher (a loaded machine is slow; nothing here waits this long
# when all goes well)
PATIENCE = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(ready: Callable[[], Any], what: str, timeout: float = PATIENCE) -> Any:
    """Poll ``ready`` until it gives something true (a process runs in real time)."""
    deadline = time.monotonic() + timeout
    while True:
        value = ready()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def sign(body: bytes, key: str = KEY) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


class Watch:
    """A running `xsync watch` process."""

    def __init__(self, world: World, *args: str, port: int | None = None) -> None:
        self.world = world
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/xero/webhooks"
        self.proc = spawn(world, "watch", "--listen", f"127.0.0.1:{self.port}",
                          "--ops-poll", "0.2", "--settle", "0.2", *args)
        wait_until(self.healthy, "the watcher to answer /healthz")

    def healthy(self) -> dict[str, Any] | None:
        if self.proc.poll() is not None:
            out, err = self.proc.communicate()
            raise AssertionError(f"xsync watch exited {self.proc.returncode}: {out}{err}")
        try:
            reply = httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2)
        except httpx.HTTPError:
            return None
        return dict(reply.json()) if reply.status_code == 200 else None

    def post(self, payload: dict[str, Any] | bytes, signature: str | None = "good") -> int:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        if signature == "good":
            headers["x-xero-signature"] = sign(body)
        elif signature is not None:
            headers["x-xero-signature"] = signature
        return httpx.post(self.url, content=body, headers=headers, timeout=10).status_code

    def register(self) -> dict[str, Any]:
        """Register this watcher with the sandbox for the world's organisation."""
        sandbox = self.world.sandbox
        webhook_id = sandbox.webhooks_out.add(self.url, KEY, sandbox.tenant_ids[0])
        (hook,) = [w for w in sandbox.webhooks() if w["webhook_id"] == webhook_id]
        return hook

    def terminate(self, timeout: float = PATIENCE) -> tuple[int, str, str]:
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, err

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def state_rows(world: World, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(world.root / "state.db", timeout=30)
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()


def event_states(world: World) -> dict[str, int]:
    return {state: n for state, n in state_rows(
        world, "SELECT state, count(*) FROM webhook_events GROUP BY state")}


def subprocess_output(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate()
    return out + err
