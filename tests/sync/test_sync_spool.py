"""What a run applied is kept on disk but for its last few records, and read back whole.

A first import writes one record per row of the organisation; the run's outcome names each.
Held in memory, those outcomes would grow a run's memory with the organisation, where its
rounds keep the rest of it to one round.
"""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from bookworld import Books

from xsync.sync.plan import Outcome
from xsync.sync.spool import CHUNK, Spool


class Item:
    def __init__(self, n: int) -> None:
        self.n = n


def test_a_spool_holds_only_its_last_chunk_and_reads_back_everything_in_order() -> None:
    spool: Spool[Item] = Spool(stored=lambda i: i.n, restored=Item)
    first = Item(0)
    watched = weakref.ref(first)
    spool.append(first)
    del first
    for n in range(1, 3 * CHUNK + 7):
        spool.append(Item(n))
    gc.collect()
    assert watched() is None  # gone to the file
    assert len(spool) == 3 * CHUNK + 7
    # read as often as asked, and appended to between reads
    assert [i.n for i in spool] == list(range(3 * CHUNK + 7))
    spool.append(Item(-1))
    assert [i.n for i in spool][-3:] == [3 * CHUNK + 5, 3 * CHUNK + 6, -1]
    spool.close()
    assert list(spool) == [] and not spool


def _outcomes_alive() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is Outcome)


def test_a_first_pull_keeps_what_it_applied_on_disk_and_reports_every_record(
        tmp_path: Path) -> None:
    books = Books(tmp_path, invoices=1_500)
    books.engine.round_records = 400
    result = books.engine.run("pull")
    assert result.exit_code == 0, result.to_json()
    invoices = [o.xero_id for o in result.applied if o.entity == "invoices"]
    assert len(invoices) == result.counts["invoices"]["create"] > 2 * CHUNK
    assert len(set(invoices)) == len(invoices)  # each once
    assert _outcomes_alive() < CHUNK
    # --json lists each of them, in the order they were applied
    listed = list(result.json_parts()["applied"])
    assert listed == [o.to_json() for o in result.applied]
    assert len(listed) == len(result.applied)
