"""OAuth2 against the sandbox: PKCE and confidential codes, refresh rotation, client
credentials, revocation and connections, all on the pinned clock."""

from __future__ import annotations

import httpx
from sandbox_helpers import REDIRECT, authorize, basic, pkce_pair

from xsync.sandbox.app import DEFAULT_CLIENT_ID, Sandbox
from xsync.sandbox.identity import digest


def exchange(http: httpx.Client, code: str, verifier: str | None = None,
             redirect_uri: str = REDIRECT, confidential: bool = False) -> httpx.Response:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    headers = {}
    if confidential:
        headers["Authorization"] = basic()
    else:
        form["client_id"] = DEFAULT_CLIENT_ID
    if verifier is not None:
        form["code_verifier"] = verifier
    return http.post("/connect/token", data=form, headers=headers)


def refresh(http: httpx.Client, token: str) -> httpx.Response:
    return http.post("/connect/token", data={"grant_type": "refresh_token",
                                             "refresh_token": token},
                     headers={"Authorization": basic()})


def org_call(http: httpx.Client, access: str, tenant: str) -> httpx.Response:
    return http.get("/api.xro/2.0/Organisation",
                    headers={"Authorization": f"Bearer {access}", "xero-tenant-id": tenant})


def test_pkce_happy_path_gives_working_tokens(client: httpx.Client, tenant: str) -> None:
    verifier, challenge = pkce_pair()
    redirect = authorize(client, challenge=challenge, state="abc")
    assert redirect["state"] == "abc"
    reply = exchange(client, redirect["code"], verifier)
    assert reply.status_code == 200, reply.text
    tokens = reply.json()
    assert tokens["expires_in"] == 1800 and tokens["token_type"] == "Bearer"
    assert tokens["refresh_token"] and "offline_access" in tokens["scope"]
    assert reply.headers["cache-control"] == "no-store"
    assert org_call(client, tokens["access_token"], tenant).status_code == 200


def test_pkce_wrong_verifier_is_refused(client: httpx.Client) -> None:
    _, challenge = pkce_pair()
    redirect = authorize(client, challenge=challenge)
    reply = exchange(client, redirect["code"], pkce_pair()[0])
    assert reply.status_code == 400
    assert reply.json()["error"] == "invalid_grant"


def test_pkce_requires_s256(client: httpx.Client) -> None:
    verifier, _ = pkce_pair()
    redirect = authorize(client, challenge=None, code_challenge=verifier,
                         code_challenge_method="plain")
    assert redirect["error"] == "invalid_request"
    assert "code" not in redirect


def test_public_client_without_pkce_is_refused(client: httpx.Client) -> None:
    redirect = authorize(client)
    reply = exchange(client, redirect["code"])
    assert reply.status_code == 401
    assert reply.json()["error"] == "invalid_client"


def test_confidential_code_flow_and_wrong_secret(client: httpx.Client) -> None:
    redirect = authorize(client)
    bad = client.post("/connect/token", data={"grant_type": "authorization_code",
                                              "code": redirect["code"],
                                              "redirect_uri": REDIRECT},
                      headers={"Authorization": basic(secret="nope")})
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    good = exchange(client, redirect["code"], confidential=True)
    assert good.status_code == 200, good.text


def test_code_is_single_use(client: httpx.Client) -> None:
    verifier, challenge = pkce_pair()
    code = authorize(client, challenge=challenge)["code"]
    assert exchange(client, code, verifier).status_code == 200
    again = exchange(client, code, verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_code_expires_after_five_minutes(client: httpx.Client, sandbox: Sandbox) -> None:
    verifier, challenge = pkce_pair()
    code = authorize(client, challenge=challenge)["code"]
    sandbox.advance_clock(301)
    reply = exchange(client, code, verifier)
    assert reply.status_code == 400 and reply.json()["error"] == "invalid_grant"


def test_redirect_uri_must_match_and_be_allowed(client: httpx.Client) -> None:
    verifier, challenge = pkce_pair()
    code = authorize(client, challenge=challenge)["code"]
    reply = exchange(client, code, verifier, redirect_uri="http://localhost:9999/other")
    assert reply.status_code == 400 and reply.json()["error"] == "invalid_grant"
    for uri in ("http://example.com/cb", "http://127.0.0.1:8123/cb", "myapp://cb"):
        page = client.get("/identity/connect/authorize", params={
            "response_type": "code", "client_id": DEFAULT_CLIENT_ID, "redirect_uri": uri,
            "scope": "openid", "state": "s"})
        assert page.status_code == 400, uri


def test_unknown_client_gets_an_error_page(client: httpx.Client) -> None:
    page = client.get("/identity/connect/authorize", params={
        "response_type": "code", "client_id": "stranger", "redirect_uri": REDIRECT,
        "scope": "openid", "state": "s"})
    assert page.status_code == 400
    assert page.json()["error"] == "unauthorized_client"


def test_refresh_rotates_with_grace_then_invalid_grant(
    client: httpx.Client, sandbox: Sandbox, tenant: str
) -> None:
    first = sandbox.grant_tokens()["refresh_token"]
    rotated = refresh(client, first)
    assert rotated.status_code == 200
    second = rotated.json()["refresh_token"]
    assert second != first
    assert org_call(client, rotated.json()["access_token"], tenant).status_code == 200

    sandbox.advance_clock(29 * 60)
    retry = refresh(client, first)  # the reply was lost: the old token still works
    assert retry.status_code == 200

    sandbox.advance_clock(61)
    late = refresh(client, first)
    assert late.status_code == 400 and late.json() == {"error": "invalid_grant"}
    assert refresh(client, second).status_code == 200


def test_refresh_token_expires_after_sixty_days_unused(
    client: httpx.Client, sandbox: Sandbox
) -> None:
    token = sandbox.grant_tokens()["refresh_token"]
    sandbox.advance_clock(60 * 86400)
    assert refresh(client, token).json() == {"error": "invalid_grant"}


def test_no_refresh_token_without_offline_access(sandbox: Sandbox) -> None:
    tokens = sandbox.grant_tokens(scope="openid accounting.transactions")
    assert "refresh_token" not in tokens


def test_client_credentials_token_is_bound_to_one_org(
    client: httpx.Client, sandbox: Sandbox
) -> None:
    other = sandbox.add_organisation("Second Co", seed="empty")
    reply = client.post("/connect/token", data={"grant_type": "client_credentials"},
                        headers={"Authorization": basic()})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert "refresh_token" not in body and body["expires_in"] == 1800
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    no_header = client.get("/api.xro/2.0/Organisation", headers=headers)
    assert no_header.status_code == 200
    assert no_header.json()["Organisations"][0]["Name"] == sandbox.organisations()[0]["name"]
    wrong = client.get("/api.xro/2.0/Organisation", headers={**headers, "xero-tenant-id": other})
    assert wrong.status_code == 403


def test_client_credentials_needs_the_secret(client: httpx.Client) -> None:
    reply = client.post("/connect/token", data={"grant_type": "client_credentials",
                                                "client_id": DEFAULT_CLIENT_ID})
    assert reply.status_code == 401 and reply.json()["error"] == "invalid_client"


def test_unsupported_grant_type(client: httpx.Client) -> None:
    reply = client.post("/connect/token", data={"grant_type": "password"},
                        headers={"Authorization": basic()})
    assert reply.status_code == 400 and reply.json()["error"] == "unsupported_grant_type"


def test_connections_list_and_delete(client: httpx.Client, sandbox: Sandbox) -> None:
    second = sandbox.add_organisation("Second Co", seed="empty")
    access = sandbox.grant_tokens()["access_token"]
    auth = {"Authorization": f"Bearer {access}"}
    rows = client.get("/connections", headers=auth).json()
    assert {r["tenantId"] for r in rows} == set(sandbox.tenant_ids)
    row = next(r for r in rows if r["tenantId"] == second)
    assert row["tenantType"] == "ORGANISATION" and row["tenantName"] == "Second Co"
    assert set(row) == {"id", "authEventId", "tenantId", "tenantType", "tenantName",
                        "createdDateUtc", "updatedDateUtc"}
    filtered = client.get("/connections", params={"authEventId": row["authEventId"]},
                          headers=auth).json()
    assert {r["id"] for r in filtered} == {r["id"] for r in rows}  # one approval, one event
    nobody = "00000000-0000-0000-0000-000000000000"
    none = client.get("/connections", params={"authEventId": nobody}, headers=auth).json()
    assert none == []

    assert client.delete(f"/Connections/{row['id']}", headers=auth).status_code == 204
    assert client.delete(f"/connections/{row['id']}", headers=auth).status_code == 404
    left = client.get("/connections", headers=auth).json()
    assert second not in {r["tenantId"] for r in left}
    assert org_call(client, access, second).status_code == 403


def test_revocation_kills_refresh_token_and_connections(
    client: httpx.Client, sandbox: Sandbox, tenant: str
) -> None:
    tokens = sandbox.grant_tokens()
    reply = client.post("/connect/revocation", data={"token": tokens["refresh_token"]},
                        headers={"Authorization": basic()})
    assert reply.status_code == 200
    assert refresh(client, tokens["refresh_token"]).json() == {"error": "invalid_grant"}
    assert org_call(client, tokens["access_token"], tenant).status_code == 401
    fresh = sandbox.grant_tokens()["access_token"]
    assert client.get("/connections", headers={"Authorization": f"Bearer {fresh}"}).json()


def test_only_hashes_are_stored(sandbox: Sandbox) -> None:
    tokens = sandbox.grant_tokens()
    cc = sandbox.client_credentials_token()
    dump = "\n".join(sandbox.store.conn.iterdump())
    for secret in (tokens["access_token"], tokens["refresh_token"], cc):
        assert secret not in dump
    assert digest(tokens["refresh_token"]) in dump
