"""Encoding what the state database stores: the standard library's json against orjson and
msgspec. Prints figures.

    python benchmarks/encode.py [--invoices 5000] [--repeat 15]

A generated organisation's invoices are read from the in-process sandbox (pages of 1,000, 3 lines
each) and mapped to records as a pull maps them. Each record is then encoded the two ways a
pull encodes every record it stores: its content as the hash is taken of (fields and lines) and
its base snapshot (fields, and lines with both sides' ids), compact, keys sorted. For each
encoder: the best and the median CPU seconds for all records, microseconds a record, and how
many times faster than ``json`` (the median over the turns). Each encoder's text is checked to
decode to the very value it was given, and each is tried on a text holding half of a
surrogate pair (which ``json`` reads from Xero), which xsync must still store.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from decode import page_bodies

from xsync.cli.runner import lenient_gc
from xsync.sides.xero_map import record_from_xero
from xsync.state.codec import packed_json
from xsync.xero import xjson


def values(invoices: int) -> list[dict[str, Any]]:
    """Two values a record: its content as hashed, and its base snapshot."""
    out: list[dict[str, Any]] = []
    for body in page_bodies(invoices, (invoices + 999) // 1000):
        for element in xjson.loads(body)["Invoices"]:
            record = record_from_xero("invoices", element)
            lines = record.lines or []
            out.append({"fields": record.fields,
                        "lines": [{"id": ln.id, "fields": ln.fields} for ln in lines]})
            out.append({"fields": record.fields,
                        "lines": [{"fields": ln.fields, "ops": f"{record.id}-L{n}",
                                   "xero": ln.id} for n, ln in enumerate(lines)]})
    return out


def encoders() -> dict[str, Callable[[Any], bytes]]:
    out: dict[str, Callable[[Any], bytes]] = {
        "json (sort_keys, compact)": lambda v: json.dumps(
            v, sort_keys=True, separators=(",", ":")).encode(),
        "xsync (packed_json)": packed_json,
    }
    try:
        import orjson
    except ImportError:
        print("orjson is not installed: pip install orjson to measure it")
    else:
        out["orjson (OPT_SORT_KEYS)"] = lambda v: orjson.dumps(v, option=orjson.OPT_SORT_KEYS)
    try:
        import msgspec
    except ImportError:
        print("msgspec is not installed: pip install msgspec to measure it")
    else:
        sorted_encoder = msgspec.json.Encoder(order="sorted")
        out["msgspec (order=sorted)"] = sorted_encoder.encode
    return out


def once(encode: Callable[[Any], bytes], items: list[dict[str, Any]]) -> float:
    started = time.process_time()
    for item in items:
        encode(item)
    return time.process_time() - started


ODD = {"fields": {"name": "Caf\ud83d"}, "lines": None}


def stores_odd(encode: Callable[[Any], bytes]) -> str:
    try:
        text = encode(ODD)
    except (TypeError, ValueError):
        return "refuses"
    return "stores" if json.loads(text) == ODD else "changes it"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args(argv)
    items = values(args.invoices)
    chosen = encoders()
    for name, encode in chosen.items():
        assert all(json.loads(encode(v)) == v for v in items[:500]), name
    turns: dict[str, list[float]] = {name: [] for name in chosen}
    with lenient_gc():
        for _ in range(args.repeat):
            for name, encode in chosen.items():  # in turns, so a busy spell hits them all
                gc.collect()
                turns[name].append(once(encode, items))
    base = statistics.median(turns["json (sort_keys, compact)"])
    print(f"{len(items):,} values ({args.invoices:,} invoices, their content and their base), "
          f"{args.repeat} turns")
    print(f"{'encoder':32} {'best s':>8} {'median s':>9} {'us/value':>9} {'vs json':>8}  odd text")
    for name, times in turns.items():
        median = statistics.median(times)
        print(f"{name:32} {min(times):8.3f} {median:9.3f} {1e6 * min(times) / len(items):9.2f} "
              f"{base / median:7.1f}x  {stores_odd(chosen[name])}")


if __name__ == "__main__":
    main()
