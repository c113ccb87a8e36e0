"""`xsync status` tells each entity's own outcome of its last run, and names what was not read."""

from __future__ import annotations

import json

from cli_helpers import Cli

READ_FAILURE = "Xero could not be reached (503 after 4 tries); nothing of invoices was changed"


def test_each_entity_shows_its_own_outcome_not_the_runs(cli: Cli) -> None:
    cli.add_run(["contacts", "invoices", "bills"], "conflicts", entity_outcomes={
        "contacts": {"outcome": "ok", "reason": None, "exit_code": 0},
        "invoices": {"outcome": "conflicts", "reason": "2 conflicts wait for `xsync resolve`",
                     "exit_code": 3},
        "bills": {"outcome": "unread", "reason": READ_FAILURE, "exit_code": 8},
    })
    result = cli("status", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    runs = data["last_runs"]
    assert runs["contacts"]["outcome"] == "ok"
    assert runs["invoices"]["outcome"] == "conflicts"
    assert runs["bills"]["outcome"] == "unread"
    assert runs["bills"]["reason"] == READ_FAILURE
    assert runs["contacts"]["reason"] is None
    assert runs["contacts"]["run_outcome"] == "conflicts"
    assert data["unread"] == [{"entity": "bills", "reason": READ_FAILURE}]

    rows = {line.split()[1]: line for line in cli("status").out.splitlines()
            if line.startswith("│")}
    assert "ok" in rows["contacts"].split("│")[5]
    assert "conflicts" in rows["invoices"].split("│")[5]
    assert "unread" in rows["bills"].split("│")[5]
    assert READ_FAILURE in rows["bills"]


def test_the_newest_run_of_each_entity_counts(cli: Cli) -> None:
    cli.add_run(["contacts", "invoices"], "conflicts", entity_outcomes={
        "contacts": {"outcome": "unread", "reason": "401 after a refresh", "exit_code": 6},
        "invoices": {"outcome": "conflicts", "reason": None, "exit_code": 3},
    })
    cli.add_run(["contacts"], "ok", command="pull", entity_outcomes={
        "contacts": {"outcome": "ok", "reason": None, "exit_code": 0}})
    data = json.loads(cli("status", "--json").out)
    assert data["last_runs"]["contacts"]["outcome"] == "ok"
    assert data["last_runs"]["contacts"]["command"] == "pull"
    assert data["last_runs"]["invoices"]["outcome"] == "conflicts"
    assert data["unread"] == []


def test_runs_recorded_before_entity_outcomes_show_the_runs_outcome(cli: Cli) -> None:
    cli.add_run(["contacts", "invoices"], "rejected")
    data = json.loads(cli("status", "--json").out)
    assert data["last_runs"]["contacts"]["outcome"] == "rejected"
    assert data["last_runs"]["invoices"]["reason"] is None
    assert data["unread"] == []
