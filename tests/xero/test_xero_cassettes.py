"""The wire format of each kind of call, pinned by cassettes recorded from the sandbox.

Replayed with record_mode="none", so CI never records. To re-record against a fresh in-process
sandbox: `XSYNC_RECORD_CASSETTES=1 pytest tests/xero/test_xero_cassettes.py`. Authorization
headers and every token, code and secret in bodies are replaced by REDACTED before recording.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import pytest
import vcr

from xsync.xero.client import StaticTokens, XeroClient
from xsync.xero.oauth import Endpoints, OAuthClient

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
RECORD = os.environ.get("XSYNC_RECORD_CASSETTES") == "1"
REDACTED = "REDACTED"
SECRET_FIELDS = ("access_token", "refresh_token", "id_token", "code", "code_verifier", "token",
                 "client_secret")
PINNED_HEADERS = ("if-modified-since", "idempotency-key", "content-type", "accept")


def _scrub_form(text: str) -> str:
    pairs = [(k, REDACTED if k in SECRET_FIELDS else v) for k, v in parse_qsl(text)]
    return urlencode(pairs)


def _body_text(body: bytes | str | None) -> str:
    if body is None:
        return ""
    return body.decode() if isinstance(body, bytes) else body


def scrub_request(request):
    text = _body_text(request.body)
    if "grant_type=" in text or text.startswith("token="):
        request.body = _scrub_form(text).encode()
    return request


def scrub_response(response):
    raw = response["body"]["string"]
    try:
        body = json.loads(raw)
    except ValueError:
        return response
    if isinstance(body, dict) and any(k in body for k in SECRET_FIELDS):
        body = {k: (REDACTED if k in SECRET_FIELDS else v) for k, v in body.items()}
        response["body"]["string"] = json.dumps(body).encode()
    return response


def _headers_match(r1, r2):
    for name in PINNED_HEADERS:
        assert r1.headers.get(name) == r2.headers.get(name), name
    assert ("xero-tenant-id" in r1.headers) == ("xero-tenant-id" in r2.headers)


def _body_match(r1, r2):
    a, b = _body_text(r1.body), _body_text(r2.body)
    if a.startswith("{"):
        assert json.loads(a) == json.loads(b)
    else:
        assert sorted(parse_qsl(a)) == sorted(parse_qsl(b))


recorder = vcr.VCR(
    cassette_library_dir=str(CASSETTES),
    record_mode="all" if RECORD else "none",
    # a re-recording replaces each cassette whole, so no stale wire format lingers in it
    drop_unused_requests=RECORD,
    match_on=("method", "path", "query", "xero_headers", "xero_body"),
    filter_headers=[("authorization", REDACTED)],
    before_record_request=scrub_request,
    before_record_response=scrub_response,
    decode_compressed_response=True,
)
recorder.register_matcher("xero_headers", _headers_match)
recorder.register_matcher("xero_body", _body_match)


@pytest.fixture(scope="module")
def target():
    """(base URL, access token, refresh token, tenant id): a live sandbox when recording."""
    if not RECORD:
        yield "http://sandbox.invalid", "replay-access", "replay-refresh", "replay-tenant"
        return
    from xsync.sandbox.app import Sandbox
    from xsync.sandbox.clock import Clock

    sb = Sandbox(clock=Clock(start=datetime(2026, 5, 1, tzinfo=UTC)))
    sb.start()
    tokens = sb.grant_tokens()
    yield sb.base_url, tokens["access_token"], tokens["refresh_token"], sb.tenant_ids[0]
    sb.close()


@pytest.fixture
def client(target):
    base, access, _, tenant = target
    with XeroClient(api_url=base + "/api.xro/2.0", tenant_id=tenant,
                    tokens=StaticTokens(access), sleep=lambda s: None) as c:
        yield c


def test_get_page_with_if_modified_since_then_by_ids(client):
    with recorder.use_cassette("xero_get_page_ims_and_ids.yaml"):
        pages = client.iter_pages("Invoices", page_size=2,
                                  modified_since=datetime(2026, 4, 30, 12, tzinfo=UTC))
        first = next(pages)
        assert len(first) == 2 and all(isinstance(i["Total"], Decimal) for i in first)
        ids = [i["InvoiceID"] for i in first]
        found = client.get_by_ids("Invoices", ids)
    assert sorted(i["InvoiceID"] for i in found) == sorted(ids)


def test_put_batch_with_per_element_results(client):
    line = {"Description": "Site visit", "Quantity": 1, "UnitAmount": Decimal("99.50"),
            "TaxType": "OUTPUT"}
    elements = [
        {"Type": "ACCREC", "Contact": {"Name": "Cassette Pty Ltd"}, "InvoiceNumber": "CAS-1",
         "Date": "2026-05-01", "LineItems": [{**line, "AccountCode": "200"}]},
        {"Type": "ACCREC", "Contact": {"Name": "Cassette Pty Ltd"}, "InvoiceNumber": "CAS-2",
         "Date": "2026-05-01", "LineItems": [{**line, "AccountCode": "999"}]},
    ]
    with recorder.use_cassette("xero_put_batch.yaml"):
        results = client.write_batch("Invoices", "PUT", elements, keys=["ops-1", "ops-2"],
                                     idempotency_key="cassette-batch")
    assert results[0].ok and results[0].xero_id and results[0].element["Total"] == Decimal(
        "109.45")
    assert not results[1].ok and results[1].key == "ops-2" and results[1].messages


def test_post_single(client):
    with recorder.use_cassette("xero_post_single.yaml"):
        envelope = client.post("Contacts", {"Contacts": [
            {"Name": "Wire Format Co", "ContactNumber": "WF-1"}]}, idempotency_key="cassette-post")
    assert envelope["Contacts"][0]["ContactNumber"] == "WF-1"


def test_token_refresh(target):
    base, _, refresh, _ = target
    oauth = OAuthClient(Endpoints.sandbox(base), "xsync-sandbox-client",
                        "xsync-sandbox-secret" if RECORD else REDACTED)
    with recorder.use_cassette("xero_token_refresh.yaml"):
        tokens = oauth.refresh(refresh)
    oauth.close()
    assert tokens.access_token and tokens.refresh_token and tokens.expires_at > 0


def test_connections(target):
    base, access, _, _ = target
    oauth = OAuthClient(Endpoints.sandbox(base), "xsync-sandbox-client")
    with recorder.use_cassette("xero_connections.yaml"):
        rows = oauth.connections(access)
    oauth.close()
    assert rows[0]["tenantName"] == "Demo Company (AU)" and rows[0]["tenantId"]


def test_no_cassette_holds_a_secret():
    files = sorted(CASSETTES.glob("*.yaml"))
    assert len(files) >= 5
    for path in files:
        text = path.read_text()
        assert not re.search(r"Bearer\s+(?!REDACTED)\S", text), path
        assert not re.search(r"Basic\s+\S", text), path
        assert not re.search(r"refresh_token[\"'=:\s]+(?!REDACTED)[A-Za-z0-9_\-]{8,}", text), path
        assert not re.search(r"access_token[\"'=:\s]+(?!REDACTED)[A-Za-z0-9_\-]{8,}", text), path
        assert "xsync-sandbox-secret" not in text, path
