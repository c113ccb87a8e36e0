"""A token endpoint that loses replies or fails for a while is waited out; only Xero's refusal of
the grant ends the connection (exit 6); one that keeps failing is exit 8, the stored tokens kept."""

from __future__ import annotations

import httpx
import pytest
from xero_fakes import API, reply

from xsync.errors import AuthError, ExitCode, InvalidGrant, XeroTransientError
from xsync.xero.client import XeroClient
from xsync.xero.oauth import Endpoints, OAuthClient, TokenSet
from xsync.xero.tokens import TokenManager, TokenStore

TOKEN_URL = "https://identity.xero.test/connect/token"
NOW = 10_000.0


class Identity:
    """A token endpoint answering from a script: "ok", "lost" (reply never arrives), "timeout",
    an HTTP status, or "invalid_grant". Each form is recorded."""

    def __init__(self, *script: str | int) -> None:
        self.script = list(script)
        self.forms: list[dict[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        form = dict(httpx.QueryParams(request.content.decode()))
        self.forms.append(form)
        step = self.script.pop(0) if self.script else "ok"
        if step == "lost":
            raise httpx.RemoteProtocolError("peer closed the connection", request=request)
        if step == "timeout":
            raise httpx.ReadTimeout("no answer", request=request)
        if step == "invalid_grant":
            return httpx.Response(400, json={"error": "invalid_grant"})
        if isinstance(step, int):
            return httpx.Response(step, text="<html>Service Unavailable</html>")
        n = len(self.forms)
        return httpx.Response(200, json={"access_token": f"fresh-{n}", "expires_in": 1800,
                                         "refresh_token": f"rotated-{n}"})


def manager(tmp_path, identity, sleeps, **kw) -> TokenManager:
    oauth = OAuthClient(Endpoints(token_url=TOKEN_URL), "cid", transport=httpx.MockTransport(
        identity), clock=lambda: NOW, sleep=sleeps.append, **kw)
    store = TokenStore(tmp_path, "cid")
    store.save(TokenSet("expired", NOW - 10, "refresh-0"))
    return TokenManager(store, oauth, clock=lambda: NOW)


@pytest.mark.parametrize("failures", [
    ("lost",), ("timeout",), (503,), (500, 502, "lost"),
])
def test_lost_replies_and_5xx_are_retried_with_the_same_refresh_token(
        tmp_path, memory_keyring, failures):
    identity, sleeps = Identity(*failures), []
    mgr = manager(tmp_path, identity, sleeps)
    token = mgr.access_token()
    assert token == f"fresh-{len(failures) + 1}"
    # the replaced refresh token is resent as it was: Xero keeps it valid for 30 minutes
    assert [f["refresh_token"] for f in identity.forms] == ["refresh-0"] * (len(failures) + 1)
    assert sleeps == [1.0, 2.0, 4.0][: len(failures)]
    stored = TokenStore(tmp_path, "cid").load()
    assert (stored.access_token, stored.refresh_token) == (token, f"rotated-{len(failures) + 1}")


def test_a_token_endpoint_that_keeps_failing_is_exit_8_and_keeps_the_tokens(
        tmp_path, memory_keyring):
    identity, sleeps = Identity(*[503] * 10), []
    mgr = manager(tmp_path, identity, sleeps)
    with pytest.raises(XeroTransientError) as caught:
        mgr.access_token()
    assert not isinstance(caught.value, AuthError)
    assert caught.value.exit_code == ExitCode.UNREACHABLE == 8
    assert len(identity.forms) == 4 and sleeps == [1.0, 2.0, 4.0]
    assert "refresh-0" not in str(caught.value) and "503" in str(caught.value)
    stored = TokenStore(tmp_path, "cid").load()
    assert stored.refresh_token == "refresh-0"  # nothing lost: the next run starts from it


def test_a_token_endpoint_that_never_answers_is_exit_8(tmp_path, memory_keyring):
    identity, sleeps = Identity(*["lost"] * 10), []
    with pytest.raises(XeroTransientError) as caught:
        manager(tmp_path, identity, sleeps).access_token()
    assert caught.value.exit_code == 8 and len(identity.forms) == 4


def test_invalid_grant_is_exit_6_at_once(tmp_path, memory_keyring):
    identity, sleeps = Identity("invalid_grant"), []
    with pytest.raises(InvalidGrant) as caught:
        manager(tmp_path, identity, sleeps).access_token()
    assert caught.value.exit_code == 6 and len(identity.forms) == 1 and sleeps == []


def test_a_429_from_the_token_endpoint_waits_its_retry_after(tmp_path, memory_keyring):
    sleeps: list[float] = []
    answers = iter([httpx.Response(429, headers={"Retry-After": "3"}), None])

    def respond(request):
        answer = next(answers)
        return answer or httpx.Response(200, json={"access_token": "a", "refresh_token": "r"})

    assert manager(tmp_path, respond, sleeps).access_token() == "a"
    assert sleeps == [3.0]


def test_an_api_call_does_not_multiply_the_token_retries(tmp_path, memory_keyring):
    """The client's own retries of transient failures leave a spent token endpoint alone."""
    identity, sleeps = Identity(*[502] * 50), []
    mgr = manager(tmp_path, identity, sleeps)
    api_calls = []

    def api(request):
        api_calls.append(request)
        return reply(body={})

    with XeroClient(api_url=API, tenant_id="t", tokens=mgr, transport=httpx.MockTransport(api),
                    sleep=sleeps.append) as client, pytest.raises(XeroTransientError) as caught:
        client.get("Organisation")
    assert caught.value.exit_code == 8
    assert len(identity.forms) == 4 and api_calls == []


def test_unreachable_connections_list_is_exit_8_not_6():
    def down(request):
        raise httpx.ConnectError("refused", request=request)

    sleeps: list[float] = []
    oauth = OAuthClient(Endpoints(), "cid", transport=httpx.MockTransport(down),
                        sleep=sleeps.append)
    with pytest.raises(XeroTransientError) as caught:
        oauth.connections("access")
    assert caught.value.exit_code == 8 and len(sleeps) == 3


pytest.importorskip("xsync.sandbox.app")


@pytest.fixture
def sandbox():
    from xsync.sandbox.app import Sandbox

    sb = Sandbox()
    sb.start()
    yield sb
    sb.close()


@pytest.mark.parametrize("lose_as", ["drop", "504"])
def test_a_refresh_whose_reply_was_lost_goes_on_with_the_sandbox(
        sandbox, tmp_path, memory_keyring, lose_as):
    """The sandbox rotates the token and loses the reply; the resent old token is still inside
    Xero's grace, so the run goes on and the newest rotation is the one stored."""
    granted = sandbox.grant_tokens()
    store = TokenStore(tmp_path, "xsync-sandbox-client")
    store.save(TokenSet("", 0.0, granted["refresh_token"]))
    sleeps: list[float] = []
    oauth = OAuthClient(Endpoints.sandbox(sandbox.base_url), "xsync-sandbox-client",
                        "xsync-sandbox-secret", sleep=sleeps.append)
    mgr = TokenManager(store, oauth)
    sandbox.set_faults({"lose_response_next": 1, "lose_as": lose_as,
                        "match": "POST /connect/token"})
    with XeroClient(api_url=sandbox.base_url + "/api.xro/2.0", tenant_id=sandbox.tenant_ids[0],
                    tokens=mgr, sleep=sleeps.append) as client:
        assert client.get("Organisation")["Organisations"][0]["Name"] == "Demo Company (AU)"
    oauth.close()
    assert sleeps == [1.0] and oauth.calls == 2
    stored = TokenStore(tmp_path, "xsync-sandbox-client").load()
    assert stored.refresh_token != granted["refresh_token"]
