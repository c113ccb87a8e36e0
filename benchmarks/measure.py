"""What one benchmark child process spent on its work: CPU seconds, peak memory, disk writes.

Each measured run is a process of its own (started by ``compare.py``), so its peak resident
memory is its own and the sandbox serving it, in the parent, costs it no CPU.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def io_counters() -> dict[str, int]:
    """This process's I/O tallies from /proc (zeros where the kernel does not keep them)."""
    try:
        text = Path("/proc/self/io").read_text()
    except OSError:
        return {}
    return {name: int(value) for name, value in
            (line.split(":", 1) for line in text.splitlines() if ":" in line)}


def _bytes_written(before: dict[str, int], after: dict[str, int]) -> int:
    # pages written and then dropped before write-back (a deleted journal) never reach the disk
    written = after.get("write_bytes", 0) - before.get("write_bytes", 0)
    cancelled = after.get("cancelled_write_bytes", 0) - before.get("cancelled_write_bytes", 0)
    return max(written - cancelled, 0)


@contextmanager
def measured(figures: dict[str, Any]) -> Iterator[None]:
    """Fill ``figures`` with the CPU seconds, disk bytes written and peak RSS of the block."""
    io_before = io_counters()
    cpu_before = time.process_time()
    wall_before = time.perf_counter()
    yield
    figures["cpu_s"] = time.process_time() - cpu_before
    figures["wall_s"] = time.perf_counter() - wall_before
    figures["disk_written"] = _bytes_written(io_before, io_counters())
    figures["peak_rss"] = peak_rss()


def peak_rss() -> int:
    """Bytes: the peak resident memory of this program, interpreter and imports included.

    VmHWM belongs to the program's own address space. ``ru_maxrss`` does not do here: Linux
    carries it across exec, so a child would report at least its parent's size at fork."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def report(figures: dict[str, Any]) -> None:
    """The figures, as the last line of stdout, for the parent to read."""
    sys.stdout.write(json.dumps(figures) + "\n")
    sys.stdout.flush()
