"""The README's first command stays true: the demo runs unattended and ends in sync."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo.py"


def test_the_demo_runs_a_full_bidirectional_sync_and_ends_in_sync(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    env.pop("XSYNC_WORKSPACE", None)
    done = subprocess.run([sys.executable, str(DEMO), "--keep", str(tmp_path / "books")],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "(exit 3" in out                       # the conflict was flagged ...
    assert "In sync: nothing to do." in out       # ... resolved, and everything agrees
    assert "payment of 2695.00 recorded on JOB-1001" in out
