"""Where the state database's bytes go after a first pull: per table and per index.

    python benchmarks/state_size.py [--invoices 10000] [--keep DIR]
    python benchmarks/state_size.py --db path/to/state.db

Without ``--db``: a generated organisation (as ``compare.py`` makes it) is served on loopback
and xsync's first ``pull`` runs into an empty workspace in a process of its own
(``xsync_run.py``); then the sizes of ops.db and state.db, the disk bytes that run wrote, and
for every table and index of state.db (SQLite's ``dbstat``): its pages, the bytes they take,
the bytes of content in them, its rows and the bytes each row costs. ``--keep`` copies the
workspace there for a closer look.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

from compare import MIB, Bench, size_of


def table_sizes(path: Path) -> list[dict[str, Any]]:
    """Per table and index: pages, bytes on disk, content bytes, rows (tables only)."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        kinds = dict(conn.execute("SELECT name, type FROM sqlite_schema"))
        kinds["sqlite_schema"] = "table"
        owners = dict(conn.execute("SELECT name, tbl_name FROM sqlite_schema"))
        out = []
        for name, pages, size, payload in conn.execute(
                "SELECT name, count(*), sum(pgsize), sum(payload) FROM dbstat "
                "GROUP BY name ORDER BY sum(pgsize) DESC"):
            kind = kinds.get(name, "index")
            table = owners.get(name, name)
            rows = None
            if kind == "table":
                rows = int(conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])
            out.append({"name": name, "kind": kind, "table": table, "pages": int(pages),
                        "bytes": int(size), "payload": int(payload or 0), "rows": rows})
        freelist = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
        page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
        if freelist:
            out.append({"name": "(free pages)", "kind": "free", "table": "", "pages": freelist,
                        "bytes": freelist * page_size, "payload": 0, "rows": None})
        return out
    finally:
        conn.close()


def render(sizes: list[dict[str, Any]]) -> str:
    rows_of = {s["name"]: s["rows"] for s in sizes if s["kind"] == "table"}
    total = sum(s["bytes"] for s in sizes)
    lines = [f"{'table or index':<32} {'pages':>7} {'bytes':>12} {'share':>6} {'content':>12} "
             f"{'rows':>8} {'B/row':>7}"]
    for s in sizes:
        rows = rows_of.get(s["table"]) or 0
        per = f"{s['bytes'] / rows:7.0f}" if rows else f"{'-':>7}"
        label = s["name"] if s["kind"] != "index" else f"  {s['name']}"
        lines.append(f"{label:<32} {s['pages']:>7,} {s['bytes']:>12,} "
                     f"{s['bytes'] / max(total, 1):6.1%} {s['payload']:>12,} "
                     f"{s['rows'] if s['rows'] is not None else '':>8} {per}")
    lines.append(f"{'total':<32} {sum(s['pages'] for s in sizes):>7,} {total:>12,}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--db", type=Path, help="only describe this state database")
    parser.add_argument("--keep", type=Path, help="copy the pulled workspace to this folder")
    parser.add_argument("--tmp", type=Path, help="folder for the temporary files")
    args = parser.parse_args(argv)
    if args.db:
        print(render(table_sizes(args.db)))
        return
    with tempfile.TemporaryDirectory(prefix="xsync-state-size-", dir=args.tmp) as tmp:
        bench = Bench(Path(tmp), args.invoices, 1)
        try:
            workspace = Path(tmp) / "workspace"
            workspace.mkdir()
            run = bench.xsync("pull", workspace)
        finally:
            bench.close()
        ops, state = size_of(workspace / "ops.db"), size_of(workspace / "state.db")
        print(f"first pull of {args.invoices:,} invoices: exit {run['exit_code']}, "
              f"CPU {run['cpu_s']:.2f} s, peak RSS {run['peak_rss'] / MIB:,.0f} MiB")
        print(f"ops.db {ops / MIB:,.2f} MiB, state.db {state / MIB:,.2f} MiB "
              f"({state / max(ops, 1):.2f}x ops.db); disk written "
              f"{run['disk_written'] / MIB:,.1f} MiB ({run['disk_written'] / (ops + state):.2f}x "
              "the final sizes)")
        print(render(table_sizes(workspace / "state.db")))
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for name in ("ops.db", "state.db"):
                shutil.copy2(workspace / name, args.keep / name)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
