"""``--notify-command``: a shell command run with a JSON summary on its standard input.

It runs on new conflicts, new rejections, failed steps and the watcher's stop. Its failure (a
non-zero exit, a timeout, a missing program) is reported by the watcher and never stops it.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

TIMEOUT = 60.0


def run_notify(command: str, summary: dict[str, Any], timeout: float = TIMEOUT) -> str | None:
    """Run ``command`` with ``summary`` on stdin; None if it succeeded, else why not."""
    text = json.dumps(summary, sort_keys=True, default=str)
    try:
        done = subprocess.run(command, shell=True, input=text, text=True, timeout=timeout,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    except subprocess.TimeoutExpired:
        return f"--notify-command did not finish within {timeout:.0f} s"
    except OSError as exc:
        return f"--notify-command could not be run ({exc})"
    if done.returncode != 0:
        tail = (done.stderr or "").strip().splitlines()[-1:] or [""]
        return f"--notify-command exited {done.returncode} {tail[0]}".rstrip()
    return None
