"""What a sync would do, as data: the plan ``diff`` prints and ``pull``/``push``/``sync`` apply.

A :class:`Plan` holds one :class:`Step` per record that needs anything; a step carries the writes
for each side, the base snapshot to store once both sides hold the merged values, and the
:class:`Action` list a person reads (direction, record label, field changes with the rule that
decided each, conflicts with base/ops/Xero values side by side). Planning never writes anything,
so printing a plan and applying it run through the same code.

Values in writes are canonical: reference fields hold the ops id of the referenced record, or
``@xero:<id>`` for a Xero record not yet known on the ops side; apply translates them through the
links, which by then include the records created earlier in the same run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from xsync.errors import ExitCode, most_urgent
from xsync.model.records import Record
from xsync.state.rows import AuditEntry as AuditEntry
from xsync.state.rows import Conflict
from xsync.sync.spool import Spool

if TYPE_CHECKING:
    from xsync.state.ledger import IdMap
    from xsync.sync.planner import Earlier

TO_XERO = "ops->xero"
TO_OPS = "xero->ops"
XERO_REF = "@xero:"

ActionKind = Literal["create", "update", "delete", "void", "link", "conflict"]


@dataclass(slots=True)
class FieldChange:
    """One field (or ``lines.<line>.<field>``) moving from ``old`` to ``new``, and why."""

    field: str
    old: str | None
    new: str | None
    rule: str

    def to_json(self) -> dict[str, Any]:
        # as ``dataclasses.asdict`` gives it, without its deep copy (a plan has one per field)
        return {"field": self.field, "old": self.old, "new": self.new, "rule": self.rule}


@dataclass(slots=True)
class Action:
    """One thing a person reads in ``xsync diff``."""

    kind: ActionKind
    direction: str
    entity: str
    ops_id: str | None
    xero_id: str | None
    label: str
    changes: list[FieldChange] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "direction": self.direction, "entity": self.entity,
            "ops_id": self.ops_id, "xero_id": self.xero_id, "label": self.label,
            "reason": self.reason,
            "changes": [c.to_json() for c in self.changes],
            "conflicts": [c.to_json() for c in self.conflicts],
        }


@dataclass(slots=True)
class Write:
    """A write to one side. ``lines`` is the full wanted line set (``i``: index into the step's
    base lines, ``None`` for a line kept on this side only), or ``None`` when lines stay."""

    side: str
    action: str
    fields: dict[str, str | None] = field(default_factory=dict)
    lines: list[dict[str, Any]] | None = None
    outbox_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"side": self.side, "action": self.action, "fields": dict(self.fields),
                "lines": [dict(line) for line in self.lines] if self.lines is not None else None,
                "outbox_id": self.outbox_id}


@dataclass(slots=True)
class Seen:
    """A record as planning read it: enough to tell next run whether it changed since."""

    hash: str | None = None
    # as the state database stores it (see ``moment_in``)
    updated_at: int | str | None = None


@dataclass(slots=True)
class Step:
    """Everything the plan does to one record pair."""

    entity: str
    ops_id: str | None
    xero_id: str | None
    label: str
    actions: list[Action] = field(default_factory=list)
    to_xero: Write | None = None
    to_ops: Write | None = None
    # the snapshot stored once every write succeeded: {"fields": ..., "lines": [...] | None}
    base: dict[str, Any] | None = None
    link_rule: str | None = None
    # the ops record follows an already linked Xero record (two ops contacts, one in Xero)
    alias: bool = False
    ops_seen: Seen = field(default_factory=Seen)
    xero_seen: Seen = field(default_factory=Seen)
    conflicts: list[Conflict] = field(default_factory=list)
    # ids of resolved conflicts this step carries out
    settles: list[int] = field(default_factory=list)
    # pending outbox rows this step closes (a create found to have reached its side)
    recovers: list[int] = field(default_factory=list)
    # open conflicts of this record that no longer hold (the sides came to agree)
    closes: list[int] = field(default_factory=list)
    # the records as planning read them (the ops one, and Xero's in Xero's own ids)
    ops_record: Record | None = None
    xero_record: Record | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "entity": self.entity, "ops_id": self.ops_id, "xero_id": self.xero_id,
            "label": self.label, "link_rule": self.link_rule,
            "actions": [a.to_json() for a in self.actions],
            "to_xero": self.to_xero.to_json() if self.to_xero else None,
            "to_ops": self.to_ops.to_json() if self.to_ops else None,
            "base": self.base, "settles": self.settles, "recovers": self.recovers,
            "closes": self.closes,
            "conflicts": [c.to_json() for c in self.conflicts],
        }


@dataclass(slots=True)
class Rejection:
    """A record the plan cannot carry, and why, in words a person can act on."""

    entity: str
    ops_id: str | None
    xero_id: str | None
    label: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class ReadError:
    """An entity that could not be read completely on one side: nothing of it is planned.

    ``exit_code`` is the code the failure stands for (6 re-connect, 8 unreachable, 2 the ops
    store breaks its contract, 1 unexpected); ``cause`` names the entity this one waits for
    when it is left out because something it depends on could not be read.
    """

    entity: str
    side: str
    reason: str
    exit_code: int
    cause: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Plan:
    mode: str
    entities: list[str]
    created_at: str
    # the newest run when planning began: apply refuses the plan if another run ended since
    after_run: int | None = None
    steps: list[Step] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    # records a rule keeps from being pushed (drafts, totals below min_total): not errors
    skipped: list[Rejection] = field(default_factory=list)
    # (side, entity, cursor) to store once the entity is applied
    cursors: list[tuple[str, str, str | None]] = field(default_factory=list)
    # (entity, side) pairs where a side listed nothing although records are linked
    empty_sides: list[tuple[str, str]] = field(default_factory=list)
    # entities a side could not read: nothing of them (nor of what depends on them) is planned
    read_errors: list[ReadError] = field(default_factory=list)
    # (entity, ops id, change time) of ops rows found by content to be as their base holds them:
    # their change time is trusted from now on
    confirmed: list[tuple[str, str, str | None]] = field(default_factory=list)
    # (entity, margin µs, bases vouching, links unvouched, digest): what planning proved of an
    # ops table that matched its bases (see ``VouchedTimes.confirm``), stored by a run that
    # plans under the run lock, before it writes anything
    proofs: list[tuple[str, int, int, int, str]] = field(default_factory=list, compare=False)
    # entities whose ops table no longer has the digest proved of it (``VouchedTimes.stale``):
    # a run that plans under the run lock forgets the proof, and proves the table anew once its
    # writes are done
    stale_proofs: list[str] = field(default_factory=list, compare=False)
    # entities to plan again in the same run, once this plan is applied: read in rounds, one
    # round planned here, or waiting on one that is (see ``SupportsRounds``)
    more: list[str] = field(default_factory=list)
    # entity -> Xero ids first paired with an ops record by this plan (their history may
    # predate the cursors of what refers to them)
    paired_now: dict[str, set[str]] = field(default_factory=dict)
    # the links and aliases it was planned from, for the run that applies it under the same
    # hold of the run lock (None for a plan made outside it, such as ``diff``'s)
    ids: IdMap | None = field(default=None, compare=False, repr=False)
    # and what its earlier rounds read and reported, for its later rounds
    earlier: Earlier | None = field(default=None, compare=False, repr=False)

    @property
    def actions(self) -> list[Action]:
        return [a for s in self.steps for a in s.actions]

    @property
    def conflicts(self) -> list[Conflict]:
        return [c for s in self.steps for c in s.conflicts]

    @property
    def deletes(self) -> int:
        """Records this plan deletes or voids (on either side), each counted once."""
        return len({(a.entity, a.ops_id, a.xero_id) for a in self.actions
                    if a.kind in ("delete", "void")})

    def is_empty(self) -> bool:
        return not any(a.kind != "conflict" for a in self.actions)

    @property
    def unread(self) -> set[str]:
        return {e.entity for e in self.read_errors}

    def exit_code(self, guard: int = 0) -> int:
        """The code a run of this plan would exit with (``guard``: a safety guard's code)."""
        return exit_code_of(self.read_errors, bool(self.rejected), bool(self.conflicts), guard)

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for action in self.actions:
            per = out.setdefault(action.entity, {})
            per[action.kind] = per.get(action.kind, 0) + 1
        return out

    def to_json(self) -> dict[str, Any]:
        return settled(self.json_parts())

    def json_parts(self) -> dict[str, Any]:
        """:meth:`to_json` with its long lists as iterators, each element made as it is read:
        ``--json`` writes a plan of many thousand records one element at a time."""
        return {
            "mode": self.mode,
            "entities": list(self.entities),
            "created_at": self.created_at,
            "counts": self.counts(),
            "actions": (a.to_json() for s in self.steps for a in s.actions),
            "conflicts": (c.to_json() for s in self.steps for c in s.conflicts),
            "rejected": [r.to_json() for r in self.rejected],
            "skipped": [r.to_json() for r in self.skipped],
            "read_errors": [e.to_json() for e in self.read_errors],
            "empty_sides": [list(e) for e in self.empty_sides],
            "steps": (s.to_json() for s in self.steps),
        }


@dataclass(slots=True)
class Outcome:
    """What became of one record in a run."""

    entity: str
    ops_id: str | None
    xero_id: str | None
    label: str
    action: str
    direction: str
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        # as ``dataclasses.asdict`` gives it, without its deep copy (one per record a run wrote)
        return {"entity": self.entity, "ops_id": self.ops_id, "xero_id": self.xero_id,
                "label": self.label, "action": self.action, "direction": self.direction,
                "reason": self.reason}


def _outcome_stored(o: Outcome) -> tuple[Any, ...]:
    return (o.entity, o.ops_id, o.xero_id, o.label, o.action, o.direction, o.reason)


def _outcome_restored(values: tuple[Any, ...]) -> Outcome:
    return Outcome(*values)


def outcomes() -> Spool[Outcome]:
    """A run's outcomes, one per record written: held on disk but for the last few (a first
    import writes one per record of the organisation)."""
    return Spool(stored=_outcome_stored, restored=_outcome_restored)


@dataclass
class RunResult:
    run_id: int
    mode: str
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    applied: Spool[Outcome] = field(default_factory=outcomes)
    rejected: list[Outcome] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    # entities not read (or whose writes a side could not take): each with its cause
    read_errors: list[ReadError] = field(default_factory=list)
    # records a rule held back (drafts, below min_total, waiting for a conflict): not errors
    skipped: list[Rejection] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """The most urgent of: a side not read or not reachable (6, 8), a rejected record (4),
        conflicts waiting for review (3); else 0."""
        return exit_code_of(self.read_errors, bool(self.rejected), bool(self.conflicts))

    def entity_outcomes(self, entities: list[str]) -> dict[str, dict[str, Any]]:
        """Each entity's own outcome: unread, rejected, conflicts or ok, with its reason."""
        out: dict[str, dict[str, Any]] = {}
        for entity in entities:
            unread = [e for e in self.read_errors if e.entity == entity]
            rejected = [r for r in self.rejected if r.entity == entity]
            conflicts = [c for c in self.conflicts if c.entity == entity]
            if unread:
                worst = unread[0]
                out[entity] = {"outcome": "unread",
                               "reason": f"{worst.side}: {worst.reason}",
                               "exit_code": most_urgent([e.exit_code for e in unread])}
            elif rejected:
                out[entity] = {"outcome": "rejected",
                               "reason": f"{len(rejected)} rejected", "exit_code": 4}
            elif conflicts:
                out[entity] = {"outcome": "conflicts",
                               "reason": f"{len(conflicts)} open", "exit_code": 3}
            else:
                out[entity] = {"outcome": "ok", "reason": None, "exit_code": 0}
        return out

    def to_json(self) -> dict[str, Any]:
        return settled(self.json_parts())

    def json_parts(self) -> dict[str, Any]:
        """:meth:`to_json`, the outcomes of the records applied as an iterator (see
        :meth:`Plan.json_parts`)."""
        return {
            "run_id": self.run_id, "mode": self.mode, "counts": self.counts,
            "exit_code": self.exit_code,
            "applied": (o.to_json() for o in self.applied),
            "rejected": [o.to_json() for o in self.rejected],
            "conflicts": [c.to_json() for c in self.conflicts],
            "read_errors": [e.to_json() for e in self.read_errors],
            "skipped": [r.to_json() for r in self.skipped],
        }


def exit_code_of(read_errors: list[ReadError], rejected: bool, conflicts: bool,
                 guard: int = 0) -> int:
    """The most urgent of: an entity not read (its own code), a safety guard's code, a
    rejected record (4), conflicts waiting for review (3); else 0."""
    codes = [e.exit_code for e in read_errors] + [guard]
    if rejected:
        codes.append(ExitCode.REJECTED)
    if conflicts:
        codes.append(ExitCode.CONFLICTS)
    return most_urgent(codes)


def settled(parts: dict[str, Any]) -> dict[str, Any]:
    """``json_parts`` with every iterator read into a list."""
    return {k: list(v) if isinstance(v, Iterator) else v for k, v in parts.items()}


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
