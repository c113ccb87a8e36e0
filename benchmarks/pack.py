"""Compressing what the state database stores (base snapshots, outbox payloads): zlib against
zstd, each primed with a dictionary. Prints figures.

    python benchmarks/pack.py [--invoices 5000] [--repeat 5]
    python benchmarks/pack.py --train src/xsync/state/records.zdict

Two organisations are pulled in this process, each into a workspace of its own: the sandbox's
demo company (payments, credit notes, allocations, bills) and a generated organisation of
``--invoices`` invoices. Every base the pulls stored is taken back to the text xsync deflates
(compact JSON, keys sorted), and compressed by each way side by side: zlib as xsync stored
records before (level 6 against the hand-written record dictionary, and level 2 for outbox
rows), zstd against that same dictionary, and zstd against the trained dictionary xsync now
ships (``src/xsync/state/records.zdict``), at levels 1 and 3. For each: microseconds a value
(the best of ``--repeat`` turns) and bytes a value, on the organisation's own texts and on the
same texts with every free-text field (names, descriptions, references, numbers) and amount
replaced by random ones of about the same length, as a real organisation's words would be.

``--train PATH`` trains the dictionary from a generated organisation of another seed than the
one measured, and the demo company, and writes it to PATH. The dictionary xsync ships must
never change (stored values depend on it byte for byte); this says how it was made.
"""

from __future__ import annotations

import argparse
import json
import random
import string
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson
import zstandard

from xsync.sandbox.app import Sandbox
from xsync.sandbox.generate import generate_organisation
from xsync.sides.ops_sqlite import SqliteOpsStore
from xsync.sides.xero import XeroSide
from xsync.state import codec
from xsync.state.db import open_state
from xsync.sync import Engine, default_rules
from xsync.xero.client import StaticTokens, XeroClient

# the fields whose words are the organisation's own
FREE_TEXT = frozenset({"abn", "address_line1", "city", "description", "email", "job", "name",
                       "number", "phone", "postal_code", "reference", "site"})
AMOUNTS = frozenset({"amount", "amount_credited", "amount_due", "amount_paid", "line_amount",
                     "remaining", "subtotal", "tax_amount", "total", "total_tax", "unit_price"})
DICTIONARY_BYTES = 8192


def pulled_texts(folder: Path, invoices: int, seed: int) -> list[bytes]:
    """The base texts of a pull of the demo company and of a generated organisation."""
    sandbox = Sandbox(folder / "sandbox", seed="demo", minute_limit=10**7, day_limit=10**8,
                      app_minute_limit=10**8)
    tenants = [sandbox.store.organisations()[0]["tenant_id"]]
    tenants.append(generate_organisation(sandbox.store, "Generated Pty Ltd", invoices=invoices,
                                         seed=seed))
    sandbox.identity.connect(tenants[1])
    texts: list[bytes] = []
    for number, tenant in enumerate(tenants):
        workspace = folder / f"workspace-{number}"
        workspace.mkdir()
        client = XeroClient(api_url="http://sandbox.local/api.xro/2.0", tenant_id=tenant,
                            tokens=StaticTokens(sandbox.client_credentials_token(tenant)),
                            transport=httpx.WSGITransport(app=sandbox.app),
                            sleep=lambda _s: None)
        ops = SqliteOpsStore(workspace / "ops.db")
        state = open_state(workspace / "state.db")
        result = Engine(state, ops, XeroSide(client), default_rules()).run("pull")
        if result.exit_code != 0:
            sys.exit(f"the pull of {tenant} exited {result.exit_code}")
        for (raw,) in state.conn.execute("SELECT snapshot FROM bases"):
            text = codec.unpacked_text(raw)
            texts.append(text if isinstance(text, bytes) else text.encode())
        state.conn.close()
        ops.close()
        client.close()
    sandbox.close()
    return texts


def scrambled(texts: list[bytes], seed: int) -> list[bytes]:
    """The texts with their free text and amounts replaced by random ones."""
    rnd = random.Random(seed)
    letters = string.ascii_letters + string.digits + "    "

    def redo(value: object, key: str | None = None) -> object:
        if isinstance(value, dict):
            return {k: redo(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [redo(v) for v in value]
        if isinstance(value, str) and key in FREE_TEXT:
            size = max(3, len(value) + rnd.randint(-5, 15))
            return "".join(rnd.choice(letters) for _ in range(size))
        if isinstance(value, str) and key in AMOUNTS:
            return f"{rnd.randint(0, 99_999)}.{rnd.randint(0, 99):02d}"
        return value
    return [orjson.dumps(redo(json.loads(t)), option=orjson.OPT_SORT_KEYS) for t in texts]


def zlib_way(level: int) -> Callable[[bytes], bytes]:
    deflater = zlib.compressobj(level, zlib.DEFLATED, -13, 3, zlib.Z_DEFAULT_STRATEGY,
                                codec.RECORD_WORDS)

    def compress(text: bytes) -> bytes:
        copy = deflater.copy()
        return copy.compress(text) + copy.flush()
    return compress


def zstd_way(level: int, dictionary: zstandard.ZstdCompressionDict) -> Callable[[bytes], bytes]:
    return zstandard.ZstdCompressor(level=level, dict_data=dictionary, write_checksum=False,
                                    write_dict_id=False).compress


def measure(ways: dict[str, Callable[[bytes], bytes]], sets: dict[str, list[bytes]],
            repeat: int) -> None:
    print(f"{'way':40}" + "".join(f"{name:>26}" for name in sets))
    print(f"{'':40}" + "".join(f"{'µs a value':>14}{'bytes':>12}" for _ in sets))
    print(f"{'the text itself':40}"
          + "".join(f"{'':14}{sum(map(len, t)) / len(t):12.1f}" for t in sets.values()))
    for label, compress in ways.items():
        cells = []
        for texts in sets.values():
            best = float("inf")
            for _ in range(repeat):
                started = time.perf_counter()
                out = [compress(t) for t in texts]
                best = min(best, time.perf_counter() - started)
            cells.append(f"{1e6 * best / len(texts):14.1f}{sum(map(len, out)) / len(out):12.1f}")
        print(f"{label:40}" + "".join(cells))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--train", type=Path, help="train the dictionary and write it here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="xsync-pack-") as tmp:
        if args.train is not None:
            samples = pulled_texts(Path(tmp), args.invoices, seed=7)
            # zstd picks its own parameters (k and d) over 40 tries
            trained = zstandard.train_dictionary(DICTIONARY_BYTES, samples, level=3, steps=40,
                                                 threads=1)
            args.train.write_bytes(trained.as_bytes())
            print(f"{args.train}: {len(trained.as_bytes()):,} bytes from {len(samples):,} texts")
            return
        texts = pulled_texts(Path(tmp), args.invoices, seed=1)
    sets = {"the organisation's": texts, "its words replaced": scrambled(texts, seed=1)}
    print(f"{len(texts):,} base texts, each way the best of {args.repeat} turns")
    hand = zstandard.ZstdCompressionDict(codec.RECORD_WORDS,
                                         dict_type=zstandard.DICT_TYPE_RAWCONTENT)
    shipped = zstandard.ZstdCompressionDict(codec.records_dictionary())
    ways = {
        "zlib 6, hand-written (bases before)": zlib_way(6),
        "zlib 2, hand-written (outbox before)": zlib_way(2),
        "zstd 3, hand-written": zstd_way(3, hand),
        "zstd 1, trained (outbox now)": zstd_way(1, shipped),
        "zstd 3, trained (bases now)": zstd_way(3, shipped),
        "codec.pack_text (what xsync runs)": codec.pack_text,
    }
    measure(ways, sets, args.repeat)


if __name__ == "__main__":
    main()
