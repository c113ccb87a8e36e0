"""A workspace made by `xsync init` and the CLI run in-process, as a script would run it."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from xsync.cli.app import main


@dataclass
class Result:
    code: int
    out: str
    err: str


class Cli:
    def __init__(self, root: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.root = root
        self.capsys = capsys

    def __call__(self, *args: str) -> Result:
        self.capsys.readouterr()
        code = 0
        try:
            main([*args, "--workspace", str(self.root)])
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

    @property
    def state(self) -> Path:
        return self.root / "state.db"

    def execute(self, sql: str, params: Any = ()) -> None:
        conn = sqlite3.connect(self.state)
        with conn:
            conn.execute(sql, params)
        conn.close()

    def add_run(self, entities: list[str], outcome: str, *,
                entity_outcomes: dict[str, dict[str, Any]] | None = None,
                command: str = "sync", ended_at: str = "2026-11-24T10:01:00+00:00") -> None:
        """A finished run as the engine records it, with each entity's own outcome."""
        conn = sqlite3.connect(self.state)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
        if "entity_outcomes" not in columns:
            conn.execute("ALTER TABLE runs ADD COLUMN entity_outcomes TEXT")
        with conn:
            conn.execute(
                "INSERT INTO runs (command, entities, started_at, ended_at, outcome, exit_code, "
                "counts, entity_outcomes) VALUES (?, ?, ?, ?, ?, ?, '{}', ?)",
                [command, json.dumps(entities), "2026-11-24T10:00:00+00:00", ended_at, outcome,
                 max((o.get("exit_code", 0) for o in (entity_outcomes or {}).values()),
                     default=0),
                 None if entity_outcomes is None else json.dumps(entity_outcomes)])
        conn.close()
