"""The links of one run, as planning and applying look them up: one id at a time, or a round's
ids at once, from the ledger, never the whole organisation held in memory.

A run of a large organisation asks of its links a round (a page or two of records) at a time.
Each view keeps the answers it was asked for while it holds fewer than :data:`CACHED_IDS`, then
lets them all go at once, so that what a run holds is bounded by what a few rounds ask, not by
how many records are linked. A listing of every link (``iter``, ``len``, ``keys() - ...``) asks
the ledger a page at a time.
"""

from __future__ import annotations

from collections.abc import Callable, ItemsView, Iterable, Iterator, Mapping, Sequence, Set
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xsync.state.ledger import Ledger, TouchMark

__all__ = ["CACHED_IDS", "BasedView", "IdMap", "LinkView"]

# answers one view keeps before it lets them all go (about 200 bytes each): more than the ids a
# round asks about, so that a round's lookups after its first cost no statement
CACHED_IDS = 20_000

_UNASKED = object()


class _Held:
    """The answers both directions of one entity's links hold: always as the ledger has them,
    and a link held one way is held the other way too (so that a link replaced is told to
    both without asking the ledger). Let go of both at once once they hold
    :data:`CACHED_IDS` between them."""

    __slots__ = ("to_ops", "to_xero")

    def __init__(self) -> None:
        self.to_xero: dict[str, str | None] = {}
        self.to_ops: dict[str, str | None] = {}

    def room(self, more: int) -> None:
        if len(self.to_xero) + len(self.to_ops) + more > CACHED_IDS:
            self.forget()

    def forget(self) -> None:
        self.to_xero.clear()
        self.to_ops.clear()

    def linked(self, ops_id: str, xero_id: str) -> None:
        """The ledger now links these two, and neither to anything else."""
        self.room(2)
        old_xero = self.to_xero.get(ops_id)
        if old_xero is not None:
            self.to_ops[old_xero] = None
        old_ops = self.to_ops.get(xero_id)
        if old_ops is not None:
            self.to_xero[old_ops] = None
        self.to_xero[ops_id], self.to_ops[xero_id] = xero_id, ops_id


class LinkView(Mapping[str, str]):
    """One direction of the links of one entity as the ledger holds them: ops id -> Xero id,
    or (``by_xero``) Xero id -> ops id. Each id is looked up when first asked (``load``: many
    at once, in a few statements), and the answer (linked to what, or not linked) kept while
    the two directions hold fewer than :data:`CACHED_IDS` (see :class:`_Held`). The run's own
    links reach it through :meth:`IdMap.link_many`."""

    __slots__ = ("_by_xero", "_entity", "_held", "_ledger", "_mine")

    def __init__(self, ledger: Ledger, entity: str, held: _Held, by_xero: bool) -> None:
        self._ledger, self._entity, self._by_xero = ledger, entity, by_xero
        self._held = held
        self._mine = held.to_ops if by_xero else held.to_xero

    def load(self, keys: Iterable[Any]) -> None:
        """Look these ids up at once (those not asked already)."""
        mine = self._mine
        wanted = list({k for k in keys if type(k) is str and k not in mine})
        if not wanted:
            return
        found = self._ledger.links_by(self._entity, wanted, self._by_xero)
        self._held.room(len(wanted) + len(found))
        theirs = self._held.to_xero if self._by_xero else self._held.to_ops
        for key in wanted:
            other = mine[key] = found.get(key)
            if other is not None:
                theirs[other] = key

    def get(self, key: Any, default: Any = None) -> Any:
        value = self._mine.get(key, _UNASKED) if type(key) is str else None
        if value is _UNASKED:
            self.load((key,))
            value = self._mine.get(key)
        return default if value is None else value

    def __getitem__(self, key: str) -> str:
        value = self._mine.get(key, _UNASKED)  # an answer held: no call further down
        if value is _UNASKED:
            value = self.get(key)
        if value is None:
            raise KeyError(key)
        return str(value)

    def __contains__(self, key: object) -> bool:
        value = self._mine.get(key, _UNASKED)  # type: ignore[call-overload]
        return (value if value is not _UNASKED else self.get(key)) is not None

    def __iter__(self) -> Iterator[str]:
        for page in self._ledger.link_pages(self._entity, self._by_xero):
            yield from (key for key, _ in page)

    def __len__(self) -> int:
        return self._ledger.link_count(self._entity)

    def __bool__(self) -> bool:
        return self._ledger.has_links(self._entity)

    def items(self) -> ItemsView[str, str]:
        return _Pairs(self)

    def pages(self) -> Iterator[list[tuple[str, str]]]:
        return self._ledger.link_pages(self._entity, self._by_xero)


class _Pairs(ItemsView[str, str]):
    """The pairs of a :class:`LinkView`, read a page at a time rather than key by key."""

    _mapping: LinkView

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for page in self._mapping.pages():
            yield from page


class BasedView(Set[str]):
    """The ops ids of one entity that have a base, as the ledger holds them: each asked when
    first wanted (``load``: many at once) and kept while the view holds fewer than
    :data:`CACHED_IDS`; what the ledger wrote since is let go by :class:`IdMap` (``forget``)."""

    __slots__ = ("_entity", "_held", "_ledger")

    def __init__(self, ledger: Ledger, entity: str) -> None:
        self._ledger, self._entity = ledger, entity
        self._held: dict[str, bool] = {}

    def load(self, ops_ids: Iterable[Any]) -> None:
        held = self._held
        wanted = list({i for i in ops_ids if type(i) is str and i not in held})
        if not wanted:
            return
        if len(held) + len(wanted) > CACHED_IDS:
            held.clear()
        found = self._ledger.based(self._entity, wanted)
        for ops_id in wanted:
            held[ops_id] = ops_id in found

    def forget(self, ops_ids: Iterable[str] | None = None) -> None:
        """Let go of what is held of these ids (of every id, ``None``)."""
        if ops_ids is None:
            self._held.clear()
            return
        for ops_id in ops_ids:
            self._held.pop(ops_id, None)

    def __contains__(self, ops_id: object) -> bool:
        if type(ops_id) is not str:
            return False
        found = self._held.get(ops_id)
        if found is None:
            self.load((ops_id,))
            found = self._held.get(ops_id, False)
        return found

    def __iter__(self) -> Iterator[str]:
        for page in self._ledger.based_pages(self._entity):
            yield from page

    def __len__(self) -> int:
        return self._ledger.base_count(self._entity)


class IdMap:
    """The links and aliases of one run (views of the ledger's, see :class:`LinkView`), kept
    as the run links records (through :meth:`link_many` and :meth:`alias`, which write through
    to the ledger): a lookup the run asked before costs no statement, and the map holds what
    the run's recent rounds asked, however many records are linked."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._to_xero: dict[str, LinkView] = {}
        self._to_ops: dict[str, LinkView] = {}
        self._held: dict[str, _Held] = {}
        self._aliases: dict[str, dict[str, str]] = {}
        self._based: dict[str, BasedView] = {}
        # entity -> where the ledger's log stood when the entity's views last heard of it
        self._marks: dict[str, TouchMark] = {}
        # entity -> the linked ops ids without a base (worked out once, then kept from the log)
        self._unbased: dict[str, set[str]] = {}
        self._merged: dict[str, tuple[TouchMark, dict[str, str]]] = {}

    def _read(self, entity: str) -> None:
        if entity not in self._to_xero:
            self._marks[entity] = self.ledger.touch_mark()
            held = self._held[entity] = _Held()
            self._to_xero[entity] = LinkView(self.ledger, entity, held, by_xero=False)
            self._to_ops[entity] = LinkView(self.ledger, entity, held, by_xero=True)
            self._based[entity] = BasedView(self.ledger, entity)
            self._aliases[entity] = self.ledger.aliases(entity)

    def links(self, entity: str) -> LinkView:
        """ops id -> Xero id of ``entity``'s links (the view itself: not to be changed)."""
        self._read(entity)
        return self._to_xero[entity]

    def owners(self, entity: str) -> LinkView:
        """Xero id -> ops id of ``entity``'s links (the view itself: not to be changed)."""
        self._read(entity)
        return self._to_ops[entity]

    def aliases(self, entity: str) -> dict[str, str]:
        """ops id -> Xero id of ``entity``'s aliases (the map itself: not to be changed)."""
        self._read(entity)
        return self._aliases[entity]

    def xero_id_of(self, entity: str, ops_id: str) -> str | None:
        """As :meth:`Ledger.xero_id_of`: its link, else the linked record it is an alias of."""
        self._read(entity)
        found = self._to_xero[entity].get(ops_id)
        return found if found is not None else self._aliases[entity].get(ops_id)

    def ops_id_of(self, entity: str, xero_id: str) -> str | None:
        self._read(entity)
        found: str | None = self._to_ops[entity].get(xero_id)
        return found

    def link(self, entity: str, ops_id: str, xero_id: str, rule: str | None, at: str) -> None:
        self.link_many(entity, [(ops_id, xero_id)], rule, at)

    def link_many(self, entity: str, pairs: Sequence[tuple[str, str]], rule: str | None,
                  at: str) -> None:
        """:meth:`Ledger.link_many`, the views told each link as the ledger makes it (one
        holding either id is replaced), in order."""
        if not pairs:
            return
        self.ledger.link_many(entity, pairs, rule, at)
        held = self._held.get(entity)
        if held is not None:
            for ops_id, xero_id in pairs:
                held.linked(ops_id, xero_id)

    def alias(self, entity: str, ops_id: str, xero_id: str, rule: str | None, at: str) -> None:
        self.ledger.alias(entity, ops_id, xero_id, rule, at)
        if entity in self._aliases:
            self._aliases[entity][ops_id] = xero_id

    def _caught_up(self, entity: str) -> None:
        """Bring the entity's views up to what the ledger's log says was written since they
        last looked: the bases written let go, the links without a base kept. Where the log
        cannot tell (another connection wrote, or the log was let go), every answer goes."""
        self._read(entity)
        mark, now = self._marks[entity], self.ledger.touch_mark()
        touched = self.ledger.touched_since(entity, mark)
        self._marks[entity] = now
        unbased = self._unbased.get(entity)
        if touched is None:
            self._based[entity].forget()
            self._held[entity].forget()
            self._unbased.pop(entity, None)
            return
        if not touched:
            return
        self._based[entity].forget(touched)
        if unbased is not None:
            wanted = sorted(touched)
            unbased.difference_update(touched)
            unbased.update(self.ledger.unbased_links(entity, wanted))

    def based(self, entity: str) -> BasedView:
        """The ops ids of ``entity`` that have a base (the view itself: not to be changed),
        up to date with what the ledger wrote."""
        self._caught_up(entity)
        return self._based[entity]

    def unbased(self, entity: str) -> set[str]:
        """The ops ids of ``entity``'s links that have no base: asked of the ledger once a
        run, then only for the ids linked, or whose bases the ledger wrote, since (so that a
        round costs what changed, not a pass over every link). The set itself: not to be
        changed."""
        self._caught_up(entity)
        held = self._unbased.get(entity)
        if held is None:
            held = self._unbased[entity] = self.ledger.unbased_links(entity)
        return held

    def merged_contacts(self) -> dict[str, str]:
        """:meth:`Ledger.merged_contacts`: read whole once a run, then only for the contacts
        whose bases the ledger wrote since (the map itself)."""
        def merge(ids: set[str], found: dict[str, str], held: dict[str, str]) -> None:
            for ops_id in ids:
                held.pop(ops_id, None)
            held.update(found)
        return self._kept(self._merged, "contacts", self.ledger.merged_contacts, merge)

    def _kept(self, kept: dict[str, Any], entity: str, read: Callable[[Any], Any],
              merge: Callable[[set[str], Any, Any], Any]) -> Any:
        held = kept.get(entity)
        if held is not None:
            mark, value = held
            now = self.ledger.touch_mark()
            touched = self.ledger.touched_since(entity, mark)
            if touched is not None:
                if touched:
                    merge(touched, read(touched), value)
                kept[entity] = (now, value)
                return value
        mark = self.ledger.touch_mark()
        value = read(None)
        kept[entity] = (mark, value)
        return value
