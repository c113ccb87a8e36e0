"""What a person sees, reviewed: `xsync diff`, `xsync resolve` and `xsync status` of the demo
(the example workspace against the sandbox's demo company on a pinned clock) at 120 columns,
compared with the files in `snapshots/`.

A layout change shows up as a change to those files in review. After an intended change, write
them again with `XSYNC_UPDATE_SNAPSHOTS=1 pytest tests/cli/test_cli_snapshots.py` and read the
diff. What differs from run to run is masked, keeping its width so the tables stay as printed:
the workspace's path, Xero's generated ids and the wall-clock times of runs."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from demo_world import DemoWorld, demo_world

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
UPDATE = os.environ.get("XSYNC_UPDATE_SNAPSHOTS") == "1"

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
LINE_ID = re.compile(r"…[0-9a-f]{8}\b")
WALL_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(\+00:00|Z)")


def masked(text: str, world: DemoWorld) -> str:
    text = text.replace(str(world.root), "<workspace>")
    text = UUID.sub(lambda m: "x" * len(m.group(0)), text)
    text = LINE_ID.sub(lambda m: "…" + "x" * (len(m.group(0)) - 1), text)
    return WALL_TIME.sub(lambda m: re.sub(r"\d", "0", m.group(0)), text)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
          capsys: pytest.CaptureFixture[str]) -> Iterator[DemoWorld]:
    with demo_world(tmp_path, monkeypatch, capsys) as made:
        made.changes()
        yield made


def check(name: str, text: str) -> None:
    path = SNAPSHOTS / f"{name}.txt"
    if UPDATE or not path.exists():
        if not UPDATE:
            pytest.fail(f"no snapshot {path.name}: write it with XSYNC_UPDATE_SNAPSHOTS=1")
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(text)
        return
    expected = path.read_text()
    assert text == expected, (
        f"`xsync {name}` no longer prints as {path} shows (XSYNC_UPDATE_SNAPSHOTS=1 writes it "
        f"again):\n{text}")


def test_diff_resolve_and_status_of_the_demo_at_120_columns(world: DemoWorld) -> None:
    diff = world.run("--width", "120", "diff")
    assert diff.code == 3, diff.out + diff.err
    check("diff", masked(diff.out, world))

    synced = world.run("sync")
    assert synced.code == 3, synced.out + synced.err
    listing = world.run("--width", "120", "resolve")
    assert listing.code == 0, listing.out + listing.err
    check("resolve", masked(listing.out, world))

    status = world.run("--width", "120", "status")
    assert status.code == 0, status.out + status.err
    check("status", masked(status.out, world))

    for shown in (diff, listing, status):
        assert max(len(line) for line in shown.out.splitlines()
                   if not line.startswith("Workspace:")) <= 120
