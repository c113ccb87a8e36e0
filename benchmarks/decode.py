"""Decoding Xero's JSON: the standard library's json against orjson and msgspec. Prints figures.

    python benchmarks/decode.py [--invoices 10000] [--pages 10] [--repeat 15]

A generated organisation's invoices are read from the in-process sandbox as the client reads
them (pages of 1,000, 3 lines each); then the same page bodies are decoded by each decoder in
turns, with the CLI's garbage collector settings. For each: the best and the median CPU seconds
for all pages, MiB a second at the best, and how many times faster than the client's decoding
(the median over the turns). Only a decoder that gives every number with a fraction as an exact
``Decimal`` can serve the client (money is never a float); the float decoders are shown for
what that exactness costs, and msgspec's structs (the fields the mapping reads, money as
Decimal) for what decoding into types would save. Each exact decoder's output is checked equal
to the client's, and each is tried on a text cut inside a surrogate pair, which json reads.
orjson and msgspec are measured when installed.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from xsync.cli.runner import lenient_gc
from xsync.sandbox.app import Sandbox
from xsync.sandbox.generate import generate_organisation
from xsync.xero import xjson

MIB = 2**20

try:
    import msgspec
except ImportError:  # measured only where installed
    msgspec = None

if msgspec is not None:
    # the fields the mapping reads (the others are skipped), money as Decimal

    class XTracking(msgspec.Struct):
        Name: str | None = None
        Option: str | None = None

    class XLine(msgspec.Struct):
        LineItemID: str | None = None
        Description: str | None = None
        Quantity: Decimal | None = None
        UnitAmount: Decimal | None = None
        AccountCode: str | None = None
        TaxType: str | None = None
        TaxAmount: Decimal | None = None
        LineAmount: Decimal | None = None
        DiscountRate: Decimal | None = None
        Tracking: list[XTracking] = []  # noqa: RUF012 (msgspec copies defaults)

    class XContact(msgspec.Struct):
        ContactID: str | None = None

    class XInvoice(msgspec.Struct):
        InvoiceID: str
        InvoiceNumber: str | None = None
        Contact: XContact | None = None
        Date: str | None = None
        DueDate: str | None = None
        Reference: str | None = None
        CurrencyCode: str | None = None
        LineAmountTypes: str | None = None
        Status: str | None = None
        SubTotal: Decimal | None = None
        TotalTax: Decimal | None = None
        Total: Decimal | None = None
        AmountPaid: Decimal | None = None
        AmountCredited: Decimal | None = None
        AmountDue: Decimal | None = None
        FullyPaidOnDate: str | None = None
        UpdatedDateUTC: str | None = None
        LineItems: list[XLine] = []  # noqa: RUF012

    class XEnvelope(msgspec.Struct):
        Invoices: list[XInvoice] = []  # noqa: RUF012


def page_bodies(invoices: int, pages: int) -> list[bytes]:
    """The raw bodies of the first ``pages`` pages of Invoices, as the sandbox serves them."""
    with tempfile.TemporaryDirectory(prefix="xsync-decode-") as tmp:
        sandbox = Sandbox(Path(tmp) / "sandbox", seed="empty")
        tenant = generate_organisation(sandbox.store, "Benchmark Pty Ltd", invoices=invoices)
        sandbox.identity.connect(tenant)
        sandbox.set_limits(minute_limit=1_000_000, day_limit=10_000_000, reset=True)
        token = sandbox.client_credentials_token(tenant)
        with httpx.Client(transport=httpx.WSGITransport(app=sandbox.app),
                          base_url="http://sandbox.local/api.xro/2.0/",
                          headers={"Authorization": f"Bearer {token}",
                                   "xero-tenant-id": tenant,
                                   "Accept": "application/json"}) as http:
            bodies = []
            for page in range(1, pages + 1):
                reply = http.get("Invoices", params={"page": page, "pageSize": 1000})
                reply.raise_for_status()
                bodies.append(reply.content)
        sandbox.close()
    return bodies


CLIENT = "xsync client (xjson.loads)"


def decoders() -> dict[str, tuple[Callable[[bytes], Any], str]]:
    """name -> (decode one body, what its numbers with a fraction become)."""
    out: dict[str, tuple[Callable[[bytes], Any], str]] = {
        CLIENT: (xjson.loads, "Decimal"),
        "json, floats": (json.loads, "floats"),
    }
    try:
        import orjson
    except ImportError:
        print("orjson is not installed: pip install orjson to measure it")
    else:
        # orjson has no hook for numbers: every fraction is a binary float
        out["orjson, floats (no Decimal hook)"] = (orjson.loads, "floats")
    if msgspec is None:
        print("msgspec is not installed: pip install msgspec to measure it")
    else:
        exact = msgspec.json.Decoder(float_hook=Decimal)
        out["msgspec, float_hook=Decimal"] = (exact.decode, "Decimal")
        out["msgspec, floats"] = (msgspec.json.Decoder().decode, "floats")
        out["msgspec, typed structs (fields read)"] = (msgspec.json.Decoder(XEnvelope).decode,
                                                   "Decimal, in structs")
    return out


def once(decode: Callable[[bytes], Any], bodies: list[bytes]) -> float:
    """CPU seconds to decode every body (a shared machine's waits for a core are not counted)."""
    started = time.process_time()
    for body in bodies:
        decode(body)
    return time.process_time() - started


# what json reads and a stricter decoder may refuse: a text cut inside an emoji's surrogate
# pair (the client would then see no elements in that page at all)
ODD_BODY = b'{"Contacts": [{"Name": "Caf\\ud83d"}]}'


def reads_odd(decode: Callable[[bytes], Any]) -> str:
    try:
        decode(ODD_BODY)
    except ValueError:
        return "refuses"
    return "reads"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--pages", type=int, default=10, help="pages of 1,000 to decode")
    parser.add_argument("--repeat", type=int, default=15, help="runs of each decoder")
    args = parser.parse_args(argv)
    bodies = page_bodies(args.invoices, min(args.pages, max(args.invoices // 1000, 1)))
    size = sum(len(b) for b in bodies)
    print(f"{len(bodies)} pages of Invoices, {size / MIB:.1f} MiB of JSON; {args.repeat} runs "
          "each, CPU seconds")
    reference = [xjson.loads(b) for b in bodies]
    candidates = decoders()
    for name, (decode, numbers) in candidates.items():
        if numbers == "Decimal" and [decode(b) for b in bodies] != reference:
            raise SystemExit(f"{name} decodes differently from the client")
    del reference
    # in turns, so that a busy moment of a shared machine falls on every decoder alike; each
    # run is compared with the client's run of the same turn
    runs: dict[str, list[float]] = {name: [] for name in candidates}
    with lenient_gc():  # as the CLI runs
        for _ in range(args.repeat):
            for name, (decode, _) in candidates.items():
                gc.collect()  # none pays for the garbage of the one before
                runs[name].append(once(decode, bodies))
    client = runs[CLIENT]
    print(f"{'decoder':<38} {'best':>6} {'median':>7} {'MiB/s':>6} {'vs client':>9}  "
          f"{'numbers':<20} lone surrogate")
    for name, (decode, numbers) in candidates.items():
        mine = runs[name]
        ratio = statistics.median(c / m for c, m in zip(client, mine, strict=True))
        print(f"{name:<38} {min(mine):6.3f} {statistics.median(mine):7.3f} "
              f"{size / MIB / min(mine):6.1f} {ratio:8.2f}x  {numbers:<20} {reads_odd(decode)}")


if __name__ == "__main__":
    main()
