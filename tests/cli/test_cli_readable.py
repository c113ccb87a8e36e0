"""Output a person can read: tables fold at spaces only, `--width N`, what the rules held back
named one line per record, a resolve prompt that asks again, and the day limit's hour in the
user's own zone."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import Cli
from demo_world import DemoWorld, demo_world

import xsync.cli.resolve as resolve_cli
from xsync.xero.replies import rate_limit_error

LONG = ("first-sync:match-by-abn linked to the Xero contact with ABN 51 824 753 556 although "
        "its name differs: Riverside Plumbing Supplies Proprietary Limited (trading as RPS)")


def _long_run(cli: Cli) -> None:
    cli.add_run(["contacts"], "rejected", entity_outcomes={
        "contacts": {"outcome": "rejected", "reason": LONG, "exit_code": 4}})


def _words(out: str) -> set[str]:
    return set(re.split(r"[\s│┃]+", out))


@pytest.mark.parametrize("width", [100, 70, 40])
def test_width_folds_tables_at_spaces_never_inside_a_word(cli: Cli, width: int) -> None:
    _long_run(cli)
    out = cli("--width", str(width), "status").out
    lines = [ln for ln in out.splitlines() if not ln.startswith("Workspace:")]
    assert max(len(line) for line in lines) <= width
    assert set(LONG.split()) <= _words(out)  # every word of the reason whole
    assert ("│" in out) == (width == 100)  # too narrow for a table: a row's lines of its own


def test_width_wins_over_columns_and_piped_output_is_full_width(
        cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    _long_run(cli)
    monkeypatch.setenv("COLUMNS", "40")
    assert "│" in cli("--width", "200", "status").out
    monkeypatch.delenv("COLUMNS")
    piped = cli("status").out
    assert any(LONG in line for line in piped.splitlines())
    assert cli("--width", "5", "status").code == 2  # below the least width: a usage error


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
          capsys: pytest.CaptureFixture[str]) -> Iterator[DemoWorld]:
    with demo_world(tmp_path, monkeypatch, capsys) as made:
        yield made


def test_diff_names_each_record_the_rules_held_back_on_a_line(world: DemoWorld) -> None:
    shown = world.run("diff")
    assert shown.code == 0, shown.out + shown.err
    assert "In sync: nothing to do." in shown.out
    lines = shown.out.splitlines()
    assert "invoices JOB-1002 (total 44.00) [ops J-1002]: total 44.00 is below min_total " \
        "50.00" in [ln.strip() for ln in lines]
    assert any("JOB-1003" in ln and "draft: only approved documents are pushed" in ln
               for ln in lines)


def test_resolve_asks_again_on_an_answer_it_does_not_know(
        world: DemoWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    world.changes()
    assert world.run("sync").code == 3
    answers = iter(["q", "yes", "o"])
    asked: list[str] = []

    def prompt(text: str, **_: object) -> str:
        asked.append(text)
        return next(answers)

    monkeypatch.setattr(resolve_cli.sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(resolve_cli.console, "_force_terminal", True)
    monkeypatch.setattr(resolve_cli.typer, "prompt", prompt)
    settled = world.run("resolve")
    assert settled.code == 0, settled.out + settled.err
    assert len(asked) == 3
    said = " ".join(settled.out.split())  # as read, whatever the terminal's width
    assert "'q' is not an answer here: type o, x, v or s." in said
    assert "(the ops value)" in said
    assert world.run("sync").code == 0


@pytest.mark.parametrize(("zone", "shown"), [
    # zones without daylight saving, so the offset is the same in every season
    ("Asia/Tokyo", r"\d{4}-\d\d-\d\d \d\d:\d\d JST \(UTC\+09:00\)"),
    ("Asia/Kolkata", r"\d{4}-\d\d-\d\d \d\d:\d\d IST \(UTC\+05:30\)"),
    ("UTC", r"\d{4}-\d\d-\d\d \d\d:\d\d UTC$"),
])
def test_the_day_limit_says_when_in_the_users_zone(monkeypatch: pytest.MonkeyPatch,
                                                   zone: str, shown: str) -> None:
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        error = rate_limit_error(429, {"retry-after": "5400", "x-rate-limit-problem": "day"},
                                 {}, "GET /Invoices")
    finally:
        monkeypatch.undo()
        time.tzset()
    assert error.exit_code == 7
    assert re.search("resume after " + shown, str(error)), str(error)
