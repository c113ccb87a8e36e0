"""Helpers shared by the sandbox tests: client auth headers, PKCE pairs, the authorise step."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx

from xsync.sandbox.app import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox

REDIRECT = "http://localhost:8123/callback"


@dataclass
class Live:
    """A sandbox served on a real loopback port."""

    base_url: str
    sandbox: Sandbox


def basic(client_id: str = DEFAULT_CLIENT_ID, secret: str = DEFAULT_CLIENT_SECRET) -> str:
    raw = f"{client_id}:{secret}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def authorize(
    http: httpx.Client,
    *,
    challenge: str | None = None,
    scope: str = "openid offline_access accounting.transactions accounting.contacts",
    redirect_uri: str = REDIRECT,
    state: str = "st-1",
    **extra: str,
) -> dict[str, str]:
    """Run the authorise step; returns the redirect's query (code, state or error)."""
    params = {"response_type": "code", "client_id": DEFAULT_CLIENT_ID,
              "redirect_uri": redirect_uri, "scope": scope, "state": state}
    if challenge:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    params |= extra
    reply = http.get("/identity/connect/authorize", params=params)
    assert reply.status_code == 302, reply.text
    location = reply.headers["location"]
    assert location.startswith(redirect_uri)
    return {k: v[-1] for k, v in parse_qs(urlsplit(location).query).items()}
