"""`xsync log --since/--entity` take only values they understand, and filter by them."""

from __future__ import annotations

import json

import pytest
from cli_helpers import Cli

from xsync.model.entities import ENTITY_ORDER


def _audit(cli: Cli, at: str, entity: str, label: str) -> None:
    cli.execute(
        "INSERT INTO audit (run_id, at, entity, ops_id, label, direction, action) "
        "VALUES (1, ?, ?, ?, ?, 'ops->xero', 'create')", [at, entity, label, label])


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01", "24/11/2026", "1e3"])
def test_since_that_is_not_a_date_is_a_usage_error_naming_it(cli: Cli, value: str) -> None:
    result = cli("log", "--since", value)
    assert result.code == 2
    assert value in result.err and "--since" in result.err
    assert "Traceback" not in result.err


def test_unknown_entity_is_a_usage_error_listing_the_known_ones(cli: Cli) -> None:
    result = cli("log", "--entity", "quotes")
    assert result.code == 2
    assert "quotes" in result.err
    assert all(name in result.err for name in ENTITY_ORDER)


def test_since_takes_a_date_or_a_time_in_any_offset(cli: Cli) -> None:
    _audit(cli, "2026-11-23T23:59:59.500000+00:00", "invoices", "INV-1")
    _audit(cli, "2026-11-24T09:30:00+00:00", "invoices", "INV-2")
    _audit(cli, "2026-11-24T10:30:00.250000+00:00", "contacts", "Acme")

    def labels(*args: str) -> list[str]:
        result = cli("log", "--json", *args)
        assert result.code == 0, result.err
        return [e["label"] for e in json.loads(result.out)]

    assert labels("--since", "2026-11-24") == ["INV-2", "Acme"]
    assert labels("--since", "2026-11-24T10:00") == ["Acme"]
    assert labels("--since", "2026-11-24T10:00Z") == ["Acme"]
    # 20:00 in Sydney (+11:00) is 09:00 UTC
    assert labels("--since", "2026-11-24T20:00:00+11:00") == ["INV-2", "Acme"]
    assert labels("--entity", "invoices") == ["INV-1", "INV-2"]
