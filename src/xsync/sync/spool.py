"""A long list held mostly on disk: what a run applied, what a preview plans.

A first import applies a record per row of the organisation, and a preview plans one. Holding
what became of each in memory would make a run's memory grow with the organisation, where its
rounds keep the rest of it to one round. A :class:`Spool` keeps the last :data:`CHUNK` items in
memory and the others, pickled a chunk at a time, in a temporary file of its own (deleted when
the spool is closed or let go, or by the system if the process dies). It is read back in the
order the items came, as often as asked.
"""

from __future__ import annotations

import pickle
import tempfile
import weakref
from collections.abc import Callable, Iterator
from typing import IO, Any, Generic, TypeVar

T = TypeVar("T")

# items held in memory before they go to the file, as one pickle
CHUNK = 500


def _same(item: Any) -> Any:
    return item


class Spool(Generic[T]):
    """Items in the order they were added; see the module's text. ``stored`` gives what is
    pickled of an item (plain values pickle fastest), ``restored`` the item back from it."""

    __slots__ = ("__weakref__", "_count", "_end", "_file", "_restored", "_stored", "_tail")

    def __init__(self, *, stored: Callable[[T], Any] = _same,
                 restored: Callable[[Any], T] = _same) -> None:
        self._stored, self._restored = stored, restored
        self._tail: list[T] = []
        self._file: IO[bytes] | None = None
        self._end = 0
        self._count = 0

    def append(self, item: T) -> None:
        self._tail.append(item)
        self._count += 1
        if len(self._tail) >= CHUNK:
            self._spill()

    def _spill(self) -> None:
        spill = self._file
        if spill is None:
            # closed by ``close``, or when the spool is let go
            spill = self._file = tempfile.TemporaryFile(prefix="xsync-")  # noqa: SIM115
            weakref.finalize(self, spill.close)
        spill.seek(self._end)
        stored = self._stored
        pickle.dump([stored(item) for item in self._tail], spill, pickle.HIGHEST_PROTOCOL)
        self._end = spill.tell()
        self._tail = []

    def __iter__(self) -> Iterator[T]:
        at = 0
        while self._file is not None and at < self._end:
            spill = self._file
            spill.seek(at)
            chunk = pickle.load(spill)
            at = spill.tell()
            yield from map(self._restored, chunk)
        yield from list(self._tail)

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def __repr__(self) -> str:
        return f"Spool({self._count} items)"

    def close(self) -> None:
        """Let the file go; the spool reads as empty from here on."""
        if self._file is not None:
            self._file.close()
        self._file, self._tail, self._end, self._count = None, [], 0, 0
