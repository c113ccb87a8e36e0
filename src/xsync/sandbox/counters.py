"""Call and byte counters of the emulated API, for tests and benchmarks.

Every API request is counted once, whatever its outcome: per endpoint key (``"GET /Invoices"``,
ids collapsed to ``{id}``), per organisation and per status, with the bytes of the response
body sent back. Writes are the PUT and POST calls.
"""

from __future__ import annotations

import re
import threading
from collections import Counter, defaultdict
from typing import Any

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
WRITE_METHODS = frozenset({"PUT", "POST"})


def endpoint_key(method: str, path: str) -> str:
    """``"GET /Invoices/{id}"`` from a path relative to the API root.

    A segment is an id when it is a UUID or, after the collection name, holds a digit
    (invoice numbers such as ``INV-0001``); words such as ``Allocations`` are kept.
    """
    parts = [p for p in path.split("/") if p]
    out = []
    for index, part in enumerate(parts):
        is_id = bool(_UUID.match(part)) or (index > 0 and any(c.isdigit() for c in part))
        out.append("{id}" if is_id else part)
    return f"{method.upper()} /" + "/".join(out)


def _blank() -> dict[str, int]:
    return {"calls": 0, "bytes": 0, "writes": 0}


class Counters:
    """Thread-safe tallies; ``snapshot`` returns plain JSON-ready dicts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._endpoints: dict[str, dict[str, int]] = defaultdict(_blank)
            self._tenants: dict[str, dict[str, int]] = defaultdict(_blank)
            self._statuses: Counter[str] = Counter()
            self._total = _blank()

    def record(
        self, method: str, endpoint: str, tenant_id: str | None, status: int | str, size: int
    ) -> None:
        write = int(method.upper() in WRITE_METHODS)
        with self._lock:
            rows = [self._total, self._endpoints[endpoint]]
            if tenant_id:
                rows.append(self._tenants[tenant_id])
            for row in rows:
                row["calls"] += 1
                row["bytes"] += size
                row["writes"] += write
            self._statuses[str(status)] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": dict(self._total),
                "endpoints": {k: dict(v) for k, v in sorted(self._endpoints.items())},
                "organisations": {k: dict(v) for k, v in sorted(self._tenants.items())},
                "statuses": dict(sorted(self._statuses.items())),
            }
