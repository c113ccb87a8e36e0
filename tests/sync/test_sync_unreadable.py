"""A record a side reads but cannot map is its own fate wherever it is read: by a scan, by its
retry's fetch, or when a write's reply is read back. Over MemoryStores, the Xero one told which
records it cannot map."""

from __future__ import annotations

from collections.abc import Sequence

from syncworld import World

from xsync.model.records import Record
from xsync.model.side import Change, ChangeResult, ScanResult
from xsync.sides.memory import MemoryStore


class Unmappable(MemoryStore):
    """Writes answer without the record (it is read back), and ``bad`` ids cannot be mapped."""

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.bad: set[str] = set()
        self._left_out: dict[str, list[tuple[str, str]]] = {}

    def write(self, entity: str, changes: Sequence[Change]) -> list[ChangeResult]:
        return [ChangeResult(a.key, a.ok, a.id, errors=a.errors)
                for a in super().write(entity, changes)]

    def scan(self, entity: str, cursor: str | None) -> ScanResult:
        scan = super().scan(entity, cursor)
        bad = [r for r in scan.records if r.id in self.bad]
        scan.records = [r for r in scan.records if r.id not in self.bad]
        scan.rejected += [(r.id, f"Xero contact {r.id}: a value xsync cannot read") for r in bad]
        return scan

    def fetch(self, entity: str, ids: Sequence[str]) -> list[Record]:
        found = super().fetch(entity, ids)
        for record in found:
            if record.id in self.bad:
                self._left_out.setdefault(entity, []).append(
                    (record.id, f"Xero contact {record.id}: a value xsync cannot read"))
        return [r for r in found if r.id not in self.bad]

    def unreadable(self, entity: str) -> list[tuple[str, str]]:
        return self._left_out.pop(entity, [])


def test_a_create_whose_copy_cannot_be_read_back_is_linked_once_and_named() -> None:
    w = World()
    w.xero = Unmappable(name="xero", clock=w.clock)
    w.contact("ops", "Harbourside Builders")
    w.contact("ops", "Coco Cafe")
    # every contact Xero makes from now on reads back unmappable but the first
    real = w.xero.write

    def write(entity: str, changes: Sequence[Change]) -> list[ChangeResult]:
        answers = real(entity, changes)
        w.xero.bad.update(a.id for a in answers[1:] if a.id)
        return answers

    w.xero.write = write  # type: ignore[method-assign]
    result = w.sync("push")
    assert result.exit_code == 4
    [rejected] = result.rejected
    assert "cannot be read back" in rejected.reason and "cannot read" in rejected.reason
    assert [o.action for o in result.applied] == ["create"]
    # linked as soon as it was made: later runs name it again, and never create it twice
    for _ in range(2):
        again = w.sync("push")
        assert again.exit_code == 4 and [r.xero_id for r in again.rejected] == [rejected.xero_id]
        assert again.read_errors == []
    assert len(w.xero.records["contacts"]) == 2
    # readable again, it settles
    w.xero.bad.clear()
    assert w.sync("push").exit_code == 0
    assert list(w.sync("push").applied) == []
