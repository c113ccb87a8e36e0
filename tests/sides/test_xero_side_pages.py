"""A read of Xero holds one decoded page at a time: each page is let go before the next is
decoded, so a large read costs a page of Xero's JSON, not two."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import xsync.xero.client as client_module
from xsync.sandbox.app import Sandbox
from xsync.sandbox.generate import generate_organisation
from xsync.sides.xero import XeroSide
from xsync.xero.client import StaticTokens, XeroClient


def _scan_watching(monkeypatch: pytest.MonkeyPatch, look: Callable[[httpx.Response], Any],
                   collect_first: bool = False) -> list[Any]:
    """The invoices of a sandbox organisation of 2,600 (three pages) scanned with the collector
    off (what is let go goes at once, not when it passes), ``look`` called with each reply
    before it is decoded and then with its decoded body; the records scanned."""
    sandbox = Sandbox(seed="empty", minute_limit=10**6, day_limit=10**7)
    tenant = generate_organisation(sandbox.store, "Pages Pty Ltd", invoices=2_600)
    sandbox.identity.connect(tenant)
    client = XeroClient(api_url="http://sandbox.local/api.xro/2.0", tenant_id=tenant,
                        tokens=StaticTokens(sandbox.client_credentials_token(tenant)),
                        transport=httpx.WSGITransport(app=sandbox.app), sleep=lambda _s: None)
    parse = client_module._parse

    def watched(response: httpx.Response) -> Any:
        look(response)
        body = parse(response)
        look(body)
        return body
    monkeypatch.setattr(client_module, "_parse", watched)
    if collect_first:
        gc.collect()
    gc.disable()
    try:
        return XeroSide(client).scan("invoices", None).records
    finally:
        gc.enable()
        client.close()
        sandbox.close()


def test_a_scan_holds_one_decoded_page_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # the invoices of earlier pages still held in decoded form as each reply is decoded
    held: list[int] = []
    earlier: set[str] = set()

    def look(seen: Any) -> None:
        if isinstance(seen, httpx.Response):
            if "/Invoices" in str(seen.request.url):
                held.append(sum(1 for o in gc.get_objects()
                                if type(o) is dict and o.get("InvoiceID") in earlier))
        else:
            earlier.update(i["InvoiceID"] for i in seen[0].get("Invoices") or [])
    records = _scan_watching(monkeypatch, look)
    assert len(records) > 2_000 and len(held) >= 3, (len(records), held)
    # at most the one element the read last looked at (its loop's variable)
    assert max(held) <= 1, f"invoices of an earlier page still held as each page came: {held}"


def test_a_scan_lets_each_reply_go_before_the_next_arrives(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A reply (its body, a page of JSON as bytes) is let go as soon as it is decoded, not left
    for the collector: httpx's reply and its stream refer to each other, and a run makes the
    collector's passes rare, so each page's bytes would otherwise wait (about 9 pages, 14 MiB,
    at a pull's peak of 100,000 invoices)."""
    alive: list[int] = []

    def look(seen: Any) -> None:
        if isinstance(seen, httpx.Response):
            alive.append(sum(1 for o in gc.get_objects() if type(o) is httpx.Response))
    records = _scan_watching(monkeypatch, look, collect_first=True)
    assert len(records) > 2_000 and len(alive) >= 3, (len(records), alive)
    # the reply being decoded, and no other
    assert max(alive) <= 1, f"earlier replies still held as each one came: {alive}"
