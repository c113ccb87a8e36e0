"""`xsync doctor` on a workspace that was never connected: no Xero check passes unseen."""

from __future__ import annotations

import json

from cli_helpers import Cli


def _checks(cli: Cli) -> tuple[int, dict[str, dict[str, object]]]:
    result = cli("doctor", "--json")
    assert "Traceback" not in result.err
    data = json.loads(result.out)
    assert data["healthy"] is (result.code == 0)
    return result.code, {c["name"]: c for c in data["checks"]}


def test_a_workspace_never_connected_fails_with_connect_as_the_fix(cli: Cli) -> None:
    code, checks = _checks(cli)
    assert code == 2
    assert checks["connection"]["level"] == "fail"
    assert "not connected" in str(checks["connection"]["detail"])
    assert "xsync connect" in str(checks["connection"]["fix"])
    for name in ("scopes", "lock_dates", "accounts", "tax_types", "clock"):
        assert checks[name]["level"] == "fail", name
        assert str(checks[name]["detail"]).startswith("not checked"), name
    for name in ("ops_schema", "categories", "state_db", "outbox", "run_lock"):
        assert checks[name]["level"] == "ok", name


def test_the_table_says_what_failed_and_how_many(cli: Cli) -> None:
    result = cli("doctor")
    assert result.code == 2
    assert "FAIL" in result.out and "xsync connect" in result.out
    assert "6 checks failed: fix them before the next sync." in result.out


def test_a_missing_ops_db_fails_naming_it(cli: Cli) -> None:
    (cli.root / "ops.db").unlink()
    code, checks = _checks(cli)
    assert code == 2
    schema = checks["ops_schema"]
    assert schema["level"] == "fail"
    assert str(cli.root / "ops.db") in str(schema["detail"])
    assert "[ops] path" in str(schema["fix"])
    assert not (cli.root / "ops.db").exists()          # the doctor did not create it


def test_a_file_that_is_not_an_sqlite_database_as_ops_db_fails(cli: Cli) -> None:
    (cli.root / "ops.db").write_text("name,total\nA,1\n")
    code, checks = _checks(cli)
    assert code == 2
    assert "not an SQLite database" in str(checks["ops_schema"]["detail"])
    assert str(checks["categories"]["detail"]).startswith("not checked")


def test_a_workspace_without_state_db_fails_with_init(cli: Cli) -> None:
    cli.state.unlink()
    code, checks = _checks(cli)
    assert code == 2
    assert "does not exist" in str(checks["state_db"]["detail"])
    assert "xsync init" in str(checks["state_db"]["fix"])
