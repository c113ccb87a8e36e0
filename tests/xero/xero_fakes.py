"""Helpers shared by the Xero client tests (a uniquely named module, not conftest)."""

from __future__ import annotations

import json
from typing import Any

import httpx

API = "https://api.xero.test/api.xro/2.0"


def reply(
    status: int = 200, body: Any = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    content = json.dumps(body if body is not None else {}).encode()
    all_headers = {"content-type": "application/json", **(headers or {})}
    return httpx.Response(status, content=content, headers=all_headers)
