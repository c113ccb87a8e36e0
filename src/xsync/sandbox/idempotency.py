"""Idempotency-Key on PUT/POST: replay a stored reply for the same request within 6 minutes.

The key is scoped to the organisation. A request's fingerprint covers method, path, query and
body; the same key with a different fingerprint is refused. Error replies are cached too.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass

from xsync.sandbox.problems import ApiError

TTL_MS = 6 * 60 * 1000
MAX_KEY_LENGTH = 128
MISMATCH = "Idempotency Key is used with a different request"


@dataclass
class Cached:
    status: int
    body: bytes
    headers: dict[str, str]


def fingerprint(method: str, path: str, query: Mapping[str, list[str]], body: bytes) -> str:
    digest = hashlib.sha256()
    digest.update(f"{method.upper()} {path.lower()}\n".encode())
    digest.update(json.dumps(sorted((k, list(v)) for k, v in query.items())).encode())
    digest.update(b"\n" + body)
    return digest.hexdigest()


def _problem(detail: str) -> ApiError:
    return ApiError(400, {"Title": "Bad Request", "Status": 400, "Detail": detail})


def check_key(key: str) -> None:
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise _problem(f"The Idempotency-Key header must be 1 to {MAX_KEY_LENGTH} characters long")


def lookup(
    conn: sqlite3.Connection, tenant_id: str, key: str, print_: str, now_ms: int
) -> Cached | None:
    """The cached reply for this key, None when unseen or expired; 400 on a body mismatch."""
    row = conn.execute(
        "SELECT fingerprint, status, body, headers, created_ms FROM idempotency "
        "WHERE tenant_id = ? AND key = ?",
        (tenant_id, key),
    ).fetchone()
    if row is None:
        return None
    stored_print, status, body, headers, created = row
    if now_ms - created >= TTL_MS:
        conn.execute("DELETE FROM idempotency WHERE tenant_id = ? AND key = ?", (tenant_id, key))
        return None
    if stored_print != print_:
        raise _problem(MISMATCH)
    return Cached(status, bytes(body), json.loads(headers))


def remember(
    conn: sqlite3.Connection, tenant_id: str, key: str, print_: str, now_ms: int, reply: Cached
) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO idempotency (tenant_id, key, fingerprint, status, body, headers, "
        "created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (tenant_id, key, print_, reply.status, reply.body, json.dumps(reply.headers), now_ms),
    )
