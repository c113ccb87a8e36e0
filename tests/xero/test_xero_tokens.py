"""Where tokens live and how they are refreshed."""

from __future__ import annotations

import json
import stat

import httpx
import pytest

from xsync.errors import InvalidGrant
from xsync.xero.oauth import Endpoints, OAuthClient, TokenSet, make_pkce
from xsync.xero.tokens import (
    EnvOverrides,
    TokenManager,
    TokenStore,
    fingerprint,
)


def test_keyring_holds_the_set(tmp_path, memory_keyring):
    store = TokenStore(tmp_path, "cid")
    assert store.save(TokenSet("acc", 123.0, "ref", client_secret="sec")) == "keyring"
    [(service, user)] = memory_keyring.items
    assert service == "xsync" and user == f"{tmp_path.resolve()}#cid"
    loaded = store.load()
    got = (loaded.access_token, loaded.refresh_token, loaded.client_secret)
    assert got == ("acc", "ref", "sec")
    assert not (tmp_path / "tokens.json").exists()
    store.forget()
    assert store.load() is None and memory_keyring.items == {}


def test_file_fallback_is_private_and_warns_once(tmp_path, fail_keyring):
    warnings: list[str] = []
    store = TokenStore(tmp_path, "cid", warn=warnings.append)
    assert store.save(TokenSet("acc", 1.0, "ref")) == "file"
    store.save(TokenSet("acc2", 2.0, "ref2"))
    TokenStore(tmp_path, "cid", warn=warnings.append).save(TokenSet("acc3", 3.0, "ref3"))
    path = tmp_path / "tokens.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(warnings) == 1 and "tokens.json" in warnings[0]
    assert store.load().access_token == "acc3"
    assert "acc3" not in warnings[0]


def test_token_set_repr_hides_secrets():
    text = repr(TokenSet("acc-secret", 1.0, "ref-secret", client_secret="sec-secret"))
    assert "secret" not in text.replace("client_secret", "")


def test_env_overrides():
    env = EnvOverrides.read({"XSYNC_CLIENT_ID": "c", "XSYNC_ACCESS_TOKEN": "a",
                             "XSYNC_TENANT_ID": "t", "XSYNC_REFRESH_TOKEN": ""})
    got = (env.client_id, env.access_token, env.tenant_id, env.refresh_token)
    assert got == ("c", "a", "t", None)


def test_pkce_pair():
    import base64
    import hashlib
    import re

    verifier, challenge = make_pkce()
    assert re.fullmatch(r"[A-Za-z0-9\-._~]{43,128}", verifier)
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    assert challenge == digest.decode()


class FakeIdentity:
    """A token endpoint that rotates refresh tokens."""

    def __init__(self) -> None:
        self.valid = {"r0"}
        self.counter = 0
        self.forms: list[dict[str, str]] = []
        self.auth: list[str | None] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        form = dict(httpx.QueryParams(request.content.decode()))
        self.forms.append(form)
        self.auth.append(request.headers.get("authorization"))
        if form["grant_type"] == "refresh_token":
            if form["refresh_token"] not in self.valid:
                return httpx.Response(400, json={"error": "invalid_grant"})
            self.valid.discard(form["refresh_token"])
        self.counter += 1
        new = f"r{self.counter}"
        self.valid.add(new)
        return httpx.Response(200, json={"access_token": f"a{self.counter}", "expires_in": 1800,
                                         "refresh_token": new, "token_type": "Bearer"})


def manager(tmp_path, identity, now, **kw):
    oauth = OAuthClient(Endpoints(token_url="https://id.test/token"), "cid", kw.pop("secret", None),
                        transport=httpx.MockTransport(identity), clock=lambda: now[0])
    return TokenManager(TokenStore(tmp_path, "cid"), oauth, clock=lambda: now[0], **kw)


def test_refresh_ahead_of_expiry_and_persist_first(tmp_path, memory_keyring):
    identity, now = FakeIdentity(), [10_000.0]
    TokenStore(tmp_path, "cid").save(TokenSet("a0", now[0] + 100, "r0"))
    mgr = manager(tmp_path, identity, now)
    assert mgr.access_token() == "a0"
    now[0] += 45  # 55 s left: inside the 60 s margin
    assert mgr.access_token() == "a1"
    stored = TokenStore(tmp_path, "cid").load()
    assert (stored.access_token, stored.refresh_token) == ("a1", "r1")
    assert identity.forms[0] == {"grant_type": "refresh_token", "refresh_token": "r0",
                                 "client_id": "cid"}


def test_second_manager_reuses_a_refresh_done_elsewhere(tmp_path, memory_keyring):
    identity, now = FakeIdentity(), [10_000.0]
    TokenStore(tmp_path, "cid").save(TokenSet("a0", now[0] + 30, "r0"))
    first, second = manager(tmp_path, identity, now), manager(tmp_path, identity, now)
    assert second.current().access_token == "a0"  # loaded before the other refreshed
    assert first.access_token() == "a1"
    assert second.access_token() == "a1"
    assert identity.counter == 1


def test_rejected_token_forces_refresh(tmp_path, memory_keyring):
    identity, now = FakeIdentity(), [10_000.0]
    TokenStore(tmp_path, "cid").save(TokenSet("a0", now[0] + 1000, "r0"))
    mgr = manager(tmp_path, identity, now)
    assert mgr.refresh_after_rejection("a0") == "a1"


def test_invalid_grant(tmp_path, memory_keyring):
    identity, now = FakeIdentity(), [10_000.0]
    TokenStore(tmp_path, "cid").save(TokenSet("a0", 0.0, "stale"))
    with pytest.raises(InvalidGrant) as caught:
        manager(tmp_path, identity, now).access_token()
    assert caught.value.exit_code == 6 and "stale" not in str(caught.value)


def test_env_refresh_token_seeds_and_rotations_continue(tmp_path, memory_keyring):
    identity, now = FakeIdentity(), [10_000.0]
    assert manager(tmp_path, identity, now, env_refresh_token="r0").access_token() == "a1"
    stored = TokenStore(tmp_path, "cid").load()
    assert stored.seed == fingerprint("r0") and stored.refresh_token == "r1"
    now[0] += 3600  # expired: the next run with the same variable continues from the store
    assert manager(tmp_path, identity, now, env_refresh_token="r0").access_token() == "a2"


def test_basic_auth_when_secret_known(tmp_path, memory_keyring):
    identity, now = FakeIdentity(), [10_000.0]
    TokenStore(tmp_path, "cid").save(TokenSet("a0", 0.0, "r0", client_secret="sec"))
    manager(tmp_path, identity, now, secret="sec").access_token()
    assert identity.auth[0].startswith("Basic ") and "client_id" not in identity.forms[0]
    assert TokenStore(tmp_path, "cid").load().client_secret == "sec"


def test_client_credentials_refetch(tmp_path, memory_keyring):
    identity, now = FakeIdentity(), [10_000.0]
    TokenStore(tmp_path, "cid").save(TokenSet("a0", 0.0, None, client_secret="sec"))
    mgr = manager(tmp_path, identity, now, secret="sec", client_credentials=True)
    assert mgr.access_token() == "a1"
    assert identity.forms[0]["grant_type"] == "client_credentials"
    raw = json.loads(TokenStore(tmp_path, "cid")._keyring_get())
    assert raw["client_secret"] == "sec"
