"""Xero out of reach: one entity waits out the retries, the rest are not tried, exit 8."""

from __future__ import annotations

import socket

import pytest
from e2e_helpers import World, fast_retries, run_json

import xsync.xero.client as client_module


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_xero_out_of_reach_is_tried_once_not_once_per_entity(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    assert world.run("sync").code in (0, 3)
    fast_retries(monkeypatch)
    sent: list[str] = []
    once = client_module.XeroClient._once

    def counting(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def]
        sent.append(f"{method} {url}")
        return once(self, method, url, *args, **kwargs)

    monkeypatch.setattr(client_module.XeroClient, "_once", counting)
    world.configure(f'[xero]\napi_url = "http://127.0.0.1:{_closed_port()}/api.xro/2.0"\n')
    code, report = run_json(world, "sync")
    assert code == report["exit_code"] == 8
    errors = {e["entity"]: e for e in report["read_errors"]}
    assert set(errors) == {"accounts", "tax_rates", "contacts", "invoices", "payments",
                           "credit_notes", "credits", "allocations", "bills"}
    assert errors["accounts"]["cause"] is None
    assert all(e["cause"] == "accounts" for n, e in errors.items() if n != "accounts")
    assert all("reach" in e["reason"] for e in errors.values())
    # one request with its retries, not seven entities' worth
    assert len(set(sent)) == 1 and len(sent) <= 6, sent
