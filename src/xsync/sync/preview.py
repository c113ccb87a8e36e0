"""What ``diff`` and a dry run show: the whole plan a run would apply, held a round at a time.

A run reads a large entity in rounds and lets each round go once it is applied
(:meth:`~xsync.sync.engine.Engine.plan`). A preview plans the same rounds, applying none
(:meth:`~xsync.sync.engine.Engine.rounds`), and keeps of each round only what a person reads
last and what the exit code needs: the counts, the conflicts, the rejected and held-back records,
the read errors. Its steps go, as they are planned, to a :class:`~xsync.sync.spool.Spool` per
entity (a temporary file, deleted when the preview is closed), from which the terminal's tables
and ``--json`` read them back in entity order, one at a time. So a preview's memory is one round,
whatever the size of the organisation, and what it shows is what the run would do.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from xsync.model.entities import ENTITY_ORDER
from xsync.state.rows import Conflict
from xsync.sync.plan import Action, FieldChange, Plan, ReadError, Rejection, exit_code_of
from xsync.sync.spool import Spool

ORDER = {entity: index for index, entity in enumerate(ENTITY_ORDER)}


class Preview:
    """A plan read from its rounds (each let go once it is read); see the module's text.
    Duck-types the parts of :class:`~xsync.sync.plan.Plan` that the guards, the exit code and
    the renderers read."""

    def __init__(self, mode: str, entities: list[str], rounds: Iterable[Plan]) -> None:
        self.mode = mode
        self.entities = list(entities)
        self.created_at = ""
        self.rejected: list[Rejection] = []
        self.skipped: list[Rejection] = []
        self.read_errors: list[ReadError] = []
        self.empty_sides: list[tuple[str, str]] = []
        self.rounds = 0
        self._counts: dict[str, dict[str, int]] = {}
        self._conflicts: list[Conflict] = []
        self._deletes: set[tuple[str, str | None, str | None]] = set()
        self._spools: dict[str, Spool[dict[str, Any]]] = {}
        try:
            for plan in rounds:
                self._take(plan)
                del plan  # the round goes before the next is planned
        except BaseException:
            self.close()
            raise
        self._conflicts.sort(key=lambda c: ORDER.get(c.entity, len(ORDER)))

    def _take(self, plan: Plan) -> None:
        self.rounds += 1
        if not self.created_at:
            self.created_at = plan.created_at
        self.rejected += plan.rejected
        self.skipped += plan.skipped
        self.read_errors += plan.read_errors
        self.empty_sides += [e for e in plan.empty_sides if e not in self.empty_sides]
        for step in plan.steps:
            for action in step.actions:
                per = self._counts.setdefault(action.entity, {})
                per[action.kind] = per.get(action.kind, 0) + 1
                if action.kind in ("delete", "void"):
                    self._deletes.add((action.entity, action.ops_id, action.xero_id))
            self._conflicts += step.conflicts
            spool = self._spools.get(step.entity)
            if spool is None:
                # closed by ``close``, which the caller's ``with`` calls
                spool = self._spools[step.entity] = Spool()
            spool.append(step.to_json())

    def close(self) -> None:
        for spool in self._spools.values():
            spool.close()
        self._spools.clear()

    def __enter__(self) -> Preview:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what Plan answers -----------------------------------------------------------------------

    @property
    def conflicts(self) -> list[Conflict]:
        return self._conflicts

    @property
    def deletes(self) -> int:
        """Records the plan deletes or voids (on either side), each counted once."""
        return len(self._deletes)

    def counts(self) -> dict[str, dict[str, int]]:
        return self._counts

    def exit_code(self, guard: int = 0) -> int:
        """The code a run of this plan would exit with (``guard``: a safety guard's code)."""
        return exit_code_of(self.read_errors, bool(self.rejected), bool(self._conflicts), guard)

    # -- read back -------------------------------------------------------------------------------

    def steps(self) -> Iterator[dict[str, Any]]:
        """Each step as ``--json`` writes it, entity by entity in the order they sync."""
        for entity in sorted(self._spools, key=lambda e: ORDER.get(e, len(ORDER))):
            yield from self._spools[entity]

    @property
    def actions(self) -> Iterator[Action]:
        """Every step's actions, entity by entity, as the terminal's tables read them."""
        for step in self.steps():
            for a in step["actions"]:
                yield Action(a["kind"], a["direction"], a["entity"], a["ops_id"], a["xero_id"],
                             a["label"], [FieldChange(**c) for c in a["changes"]],
                             reason=a["reason"])

    def json_parts(self) -> dict[str, Any]:
        """As :meth:`Plan.json_parts`: the same keys, the long lists read back one at a time."""
        return {
            "mode": self.mode,
            "entities": list(self.entities),
            "created_at": self.created_at,
            "counts": self._counts,
            "actions": (a for s in self.steps() for a in s["actions"]),
            "conflicts": (c.to_json() for c in self._conflicts),
            "rejected": [r.to_json() for r in self.rejected],
            "skipped": [r.to_json() for r in self.skipped],
            "read_errors": [e.to_json() for e in self.read_errors],
            "empty_sides": [list(e) for e in self.empty_sides],
            "steps": self.steps(),
        }
