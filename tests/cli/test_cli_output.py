"""What xsync prints is what the data says: brackets stay brackets, and piped output keeps each
token whole on one line."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from cli_helpers import Cli

from xsync.cli.console import XsyncConsole
from xsync.cli.render import plan_tables, result_summary

BRACKETS = "no account for category 'tiles' in [mappings.categories] ([bold] is not a tag)"
LONG = ("first-sync:match-by-abn linked to the Xero contact with ABN 51 824 753 556 although "
        "its name differs: Riverside Plumbing Supplies Proprietary Limited (trading as RPS)")


def _outcomes(reason: str) -> dict[str, dict[str, object]]:
    return {"contacts": {"outcome": "rejected", "reason": reason, "exit_code": 4}}


def test_status_prints_a_reason_with_brackets_as_written(cli: Cli) -> None:
    cli.add_run(["contacts"], "rejected", entity_outcomes=_outcomes(BRACKETS))
    out = cli("status").out
    assert BRACKETS in out


def test_log_prints_labels_values_and_rules_with_brackets_as_written(cli: Cli) -> None:
    cli.execute(
        "INSERT INTO audit (run_id, at, entity, ops_id, label, direction, action, field, old, "
        "new, rule) VALUES (1, '2026-11-24T10:00:00+00:00', 'invoices', 'op-1', "
        "'INV-[bold]7', 'ops->xero', 'update', 'reference', '[red]', '[/]', "
        "'[mappings.categories] tiles')")
    out = cli("log").out
    assert "INV-[bold]7" in out
    assert "[red] → [/]" in out
    assert "[mappings.categories] tiles" in out


def test_an_error_naming_a_config_table_keeps_its_brackets(cli: Cli) -> None:
    config = cli.root / "xsync.toml"
    config.write_text(config.read_text().replace('store = "sqlite"', 'store = "erp"'))
    result = cli("diff")
    assert result.code == 2
    assert "[ops] store = 'erp' is not installed" in result.err
    assert "Traceback" not in result.err


def test_piped_tables_keep_a_long_reason_whole_on_one_line(cli: Cli) -> None:
    cli.add_run(["contacts"], "rejected", entity_outcomes=_outcomes(LONG))
    out = cli("status").out
    lines = [line for line in out.splitlines() if "first-sync" in line]
    assert len(lines) == 1
    assert LONG in lines[0]


def test_columns_still_sets_the_width_when_asked(cli: Cli,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    cli.add_run(["contacts"], "rejected", entity_outcomes=_outcomes(LONG))
    out = cli("status").out
    # (the workspace's path aside, printed whole)
    assert max(len(line) for line in out.splitlines() if not line.startswith("Workspace:")) <= 60
    # too narrow for the table without splitting a word: its rows print as lines of their own
    assert "first-sync:match-by-abn" in out


def _captured() -> tuple[XsyncConsole, io.StringIO]:
    buffer = io.StringIO()
    return XsyncConsole(file=buffer, highlight=False, soft_wrap=True, emoji=False), buffer


def test_plan_and_run_tables_print_records_and_reasons_as_written() -> None:
    change = SimpleNamespace(field="reference", old="[b]old", new=":warning: new", rule="latest")
    update = SimpleNamespace(kind="update", entity="invoices", label="INV-[bold]9", ops_id="o9",
                             xero_id=None, direction="ops->xero", changes=[change],
                             reason="")
    rejected = SimpleNamespace(entity="invoices", label="INV-[i]3", ops_id="o3", xero_id=None,
                               reason=BRACKETS)
    conflict = SimpleNamespace(id=4, entity="contacts", label="[Acme]", ops_id="c1",
                               xero_id="x1", field="email", base="[a]", ops="[b]", xero="[c]",
                               reason="both changed [email]")
    unread = SimpleNamespace(entity="bills", side="xero", reason="503 from [xero.gateway]",
                             exit_code=8, cause=None)
    plan = SimpleNamespace(actions=[update], conflicts=[conflict], rejected=[rejected],
                           read_errors=[unread], counts=lambda: {"invoices": {"update": 1}})
    console, buffer = _captured()
    plan_tables(console, plan)
    out = buffer.getvalue()
    for text in ("INV-[bold]9", "[b]old → :warning: new", "INV-[i]3", BRACKETS, "[Acme]",
                 "both changed [email]", "could not read bills from Xero: 503 from [xero.gateway]"):
        assert text in out, text

    result = SimpleNamespace(run_id=3, mode="sync", counts={"invoices": {"update": 1}},
                             rejected=[rejected], conflicts=[conflict], read_errors=[unread])
    console, buffer = _captured()
    result_summary(console, result)
    out = buffer.getvalue()
    for text in (BRACKETS, "[Acme]", "could not read bills from Xero: 503 from [xero.gateway]"):
        assert text in out, text


def test_a_long_plan_prints_in_tables_of_a_few_hundred_every_record_once() -> None:
    """A plan of many records is printed a part at a time (each table laid out and printed as
    it is read), under one title with the entity's whole count."""
    from xsync.cli.render import TABLE_ACTIONS

    n = TABLE_ACTIONS * 2 + 7
    creates = [SimpleNamespace(kind="create", entity="invoices", label=f"INV-{i:05}",
                               ops_id=None, xero_id=f"x{i}", direction="xero->ops",
                               changes=[], reason="") for i in range(n)]
    plan = SimpleNamespace(actions=iter(creates), conflicts=[], rejected=[], read_errors=[],
                           skipped=[], counts=lambda: {"invoices": {"create": n}})
    console, buffer = _captured()
    plan_tables(console, plan)
    out = buffer.getvalue()
    assert out.count(f"invoices ({n})") == 1
    assert out.count("invoices (") == 1
    assert all(out.count(f"INV-{i:05}") == 1 for i in range(n))
    assert out.count("direction") == 3  # a header per part
