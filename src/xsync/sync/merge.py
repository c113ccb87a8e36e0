"""The three-way merge of one record pair against its base: pure, no I/O.

For each field: the same value on both sides is no change; a value changed on one side only
(compared with the base, the last synced value) flows to the other; values changed differently on
both go to the field's policy. Xero-computed fields always take Xero's value and are never sent
to Xero. A flow the run may not make (a pull does not write Xero; a pull-only entity never does)
leaves the field's base where it was, so the change is still seen, and carried, by a later run.
Lines merge by identity (the line pairs kept in the base); on first contact they pair by position.
A line edited on one side and deleted on the other is kept: an edit is never lost to a delete.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from xsync.model.entities import EntitySpec
from xsync.model.records import Fields, Line
from xsync.sync.plan import FieldChange
from xsync.sync.rules import Rules


@dataclass
class Flows:
    to_ops: bool
    to_xero: bool
    # who wins a two-sided change on a one-way entity ("xero" for pull-only, "ops" for push-only)
    authority: str | None = None
    # Xero-computed values (totals, balances, paid) reach the ops side: in every run that may
    # write ops at all, for a push-only entity too, since only Xero knows them
    computed_to_ops: bool | None = None

    @property
    def computed(self) -> bool:
        return self.to_ops if self.computed_to_ops is None else self.computed_to_ops


@dataclass
class FieldConflict:
    path: str
    base: str | None
    ops: str | None
    xero: str | None
    reason: str


@dataclass
class LineSets:
    base: list[dict[str, Any]] = field(default_factory=list)
    ops: list[dict[str, Any]] = field(default_factory=list)
    xero: list[dict[str, Any]] = field(default_factory=list)
    ops_dirty: bool = False
    xero_dirty: bool = False


@dataclass
class MergeResult:
    base_fields: Fields = field(default_factory=dict)
    ops_writes: Fields = field(default_factory=dict)
    xero_writes: Fields = field(default_factory=dict)
    ops_changes: list[FieldChange] = field(default_factory=list)
    xero_changes: list[FieldChange] = field(default_factory=list)
    conflicts: list[FieldConflict] = field(default_factory=list)
    settled: set[str] = field(default_factory=set)
    lines: LineSets | None = None
    # paths with no agreed base yet (a first-contact conflict): kept in the snapshot
    unknown: list[str] = field(default_factory=list)


@dataclass
class Side3:
    """One field's three values and what is known of each side's change time."""

    base: str | None
    ops: str | None
    xero: str | None
    has_base: bool


class Merger:
    """Merges records of one entity under the run's rules and flows."""

    def __init__(self, spec: EntitySpec, rules: Rules, flows: Flows,
                 resolutions: dict[str, str | None] | None = None,
                 ops_time: datetime | None = None, xero_time: datetime | None = None,
                 held: dict[str, tuple[str | None, str | None, str]] | None = None) -> None:
        self.spec = spec
        self.rules = rules
        self.flows = flows
        self.resolutions = resolutions or {}
        # open conflicts: path -> (ops value, Xero value, reason) when they were recorded
        self.held = held or {}
        self.unknown: set[str] = set()
        self.ops_time = ops_time
        self.xero_time = xero_time

    # -- one field -------------------------------------------------------------------------------

    def decide(self, path: str, name: str, v: Side3, computed: bool
               ) -> tuple[str | None, str | None, str | None]:
        """(target value, rule, conflict reason); a conflict keeps the base value."""
        if path in self.resolutions:
            return self.resolutions[path], "resolved", None
        if computed:
            return v.xero, "xero-computed", None
        if name == "status" and self._paid_moved(v):
            return v.xero, "xero-computed:payments", None
        if v.ops == v.xero:
            return v.ops, None, None
        if v.has_base and v.ops == v.base:
            return v.xero, "only-xero-changed", None
        if v.has_base and v.xero == v.base:
            return v.ops, "only-ops-changed", None
        held = self.held.get(path)
        if held is not None and held[:2] == (v.ops, v.xero):
            # an open conflict stays one until resolved or until either value moves
            return v.base, None, held[2]
        if not v.has_base and (v.ops is None or v.xero is None):
            # first contact: filling a blank loses nothing, whichever side is newer
            return (v.ops if v.xero is None else v.xero), "first-sync:fill-blank", None
        prefix = "" if v.has_base else "first-sync:"
        if self.flows.authority == "xero":
            return v.xero, prefix + "direction:pull", None
        if self.flows.authority == "ops":
            return v.ops, prefix + "direction:push", None
        policy = self.rules.policy(self.spec.name, name)
        if policy == "xero":
            return v.xero, prefix + "policy:xero", None
        if policy == "ops":
            return v.ops, prefix + "policy:ops", None
        if policy == "flag":
            return v.base, None, "both sides changed it, and its policy is flag"
        return self._latest(v, prefix)

    def _paid_moved(self, v: Side3) -> bool:
        """Xero moved a document between approved and paid (a payment or credit applied or
        removed there), and ops holds one of the two: Xero alone decides that move."""
        moving = ("approved", "paid")
        return (self.spec.has_lines and v.has_base and v.xero != v.base
                and v.xero in moving and v.ops in moving and v.base in moving)

    def _latest(self, v: Side3, prefix: str) -> tuple[str | None, str | None, str | None]:
        if self.ops_time is None or self.xero_time is None:
            return v.base, None, "both sides changed it, and a change time is unknown"
        gap = (self.xero_time - self.ops_time).total_seconds()
        if abs(gap) <= self.rules.skew_tolerance_seconds:
            return (v.base, None, "both sides changed it within "
                    f"{self.rules.skew_tolerance_seconds} s of each other")
        if gap > 0:
            return v.xero, prefix + "latest:xero-newer", None
        return v.ops, prefix + "latest:ops-newer", None

    def field(self, out: MergeResult, path: str, name: str, v: Side3, computed: bool,
              base_out: Fields, ops_out: Fields, xero_out: Fields) -> tuple[bool, bool]:
        """Merge one field into the three outputs; returns (ops written, Xero written)."""
        target, rule, reason = self.decide(path, name, v, computed)
        computed = computed or (rule or "").startswith("xero-computed")
        if reason is not None:
            out.conflicts.append(FieldConflict(path, v.base, v.ops, v.xero, reason))
            base_out[name] = v.base
            if not v.has_base:
                out.unknown.append(path)
            return False, False
        to_ops = self.flows.computed if computed else self.flows.to_ops
        write_ops = to_ops and v.ops != target
        write_xero = self.flows.to_xero and v.xero != target and not computed
        ops_ok = v.ops == target or to_ops
        xero_ok = v.xero == target or self.flows.to_xero or computed
        base_out[name] = target if ops_ok and xero_ok else v.base
        if ops_ok and xero_ok and path in self.resolutions:
            out.settled.add(path)
        if write_ops:
            ops_out[name] = target
            out.ops_changes.append(FieldChange(path, v.ops, target, rule or "merge"))
        if write_xero:
            xero_out[name] = target
            out.xero_changes.append(FieldChange(path, v.xero, target, rule or "merge"))
        return write_ops, write_xero

    # -- one record ------------------------------------------------------------------------------

    def merge(self, base: dict[str, Any] | None, ops: Fields, xero: Fields,
              ops_lines: list[Line] | None = None, xero_lines: list[Line] | None = None
              ) -> MergeResult:
        out = MergeResult()
        base_fields: Fields = (base or {}).get("fields") or {}
        self.unknown = set((base or {}).get("unknown") or [])
        for name in self.spec.fields:
            v = Side3(base_fields.get(name), ops.get(name), xero.get(name),
                      base is not None and name not in self.unknown)
            self.field(out, name, name, v, name in self.spec.xero_computed,
                       out.base_fields, out.ops_writes, out.xero_writes)
        if self.spec.has_lines:
            # no line pairs known (first contact, a recovered create): pair lines by position
            out.lines = self.lines(out, (base or {}).get("lines"), ops_lines or [],
                                   xero_lines or [])
        return out

    # -- lines -----------------------------------------------------------------------------------

    def lines(self, out: MergeResult, base_lines: list[dict[str, Any]] | None,
              ops_lines: list[Line], xero_lines: list[Line]) -> LineSets:
        sets = LineSets()
        ops_by = {ln.id: ln for ln in ops_lines}
        xero_by = {ln.id: ln for ln in xero_lines}
        if base_lines is None:
            pairs = [{"ops": o.id, "xero": x.id, "fields": None}
                     for o, x in zip(ops_lines, xero_lines, strict=False)]
        else:
            pairs = base_lines
        for pair in pairs:
            o = ops_by.pop(pair.get("ops"), None)
            x = xero_by.pop(pair.get("xero"), None)
            self._pair(out, sets, pair, o, x)
        for o in ops_lines:
            if o.id in ops_by:
                self._one_sided(out, sets, o, "ops")
        for x in xero_lines:
            if x.id in xero_by:
                self._one_sided(out, sets, x, "xero")
        # base entries are addressed by index ("i"), so only the wanted line sets are reordered
        sets.ops.sort(key=_position)
        sets.xero.sort(key=_position)
        return sets

    def _line_path(self, ops_id: str | None, xero_id: str | None) -> str:
        return f"lines.{ops_id}" if ops_id else f"lines.x:{xero_id}"

    def _pair(self, out: MergeResult, sets: LineSets, pair: dict[str, Any],
              o: Line | None, x: Line | None) -> None:
        b: Fields | None = pair.get("fields")
        path = self._line_path(pair.get("ops"), pair.get("xero"))
        if o is not None and x is not None:
            base_f: Fields = {}
            ops_f, xero_f = dict(o.fields), dict(x.fields)
            for name in self.spec.line_fields:
                v = Side3((b or {}).get(name), o.fields.get(name), x.fields.get(name),
                          b is not None and f"{path}.{name}" not in self.unknown)
                wo, wx = self.field(out, f"{path}.{name}", name, v,
                                    name in self.spec.line_xero_computed, base_f, ops_f, xero_f)
                sets.ops_dirty |= wo
                sets.xero_dirty |= wx
            index = len(sets.base)
            sets.base.append({"ops": o.id, "xero": x.id, "fields": base_f})
            sets.ops.append({"i": index, "id": o.id, "fields": ops_f})
            sets.xero.append({"i": index, "id": x.id, "fields": xero_f})
            return
        if o is None and x is None:
            return
        present, side = (x, "xero") if o is None else (o, "ops")
        assert present is not None
        deleter = "ops" if side == "xero" else "xero"
        edited = b is None or _plain(present.fields, self.spec.line_xero_computed) != _plain(
            b, self.spec.line_xero_computed)
        may_delete = self.flows.to_xero if deleter == "ops" else self.flows.to_ops
        may_restore = self.flows.to_ops if deleter == "ops" else self.flows.to_xero
        if not edited and may_delete:
            self._changes(out, side).append(
                FieldChange(path, "present", None, f"line-deleted-in-{deleter}"))
            setattr(sets, f"{side}_dirty", True)
            return
        if edited and may_restore:
            index = len(sets.base)
            sets.base.append({"ops": present.id if side == "ops" else None,
                              "xero": present.id if side == "xero" else None,
                              "fields": dict(present.fields)})
            getattr(sets, side).append({"i": index, "id": present.id,
                                        "fields": dict(present.fields)})
            getattr(sets, deleter).append({"i": index, "id": None,
                                           "fields": dict(present.fields)})
            self._changes(out, deleter).append(
                FieldChange(path, None, "added", "line-edit-beats-delete"))
            setattr(sets, f"{deleter}_dirty", True)
            return
        # the flow is not allowed in this run: keep everything as it is for a later run
        index = len(sets.base)
        sets.base.append(dict(pair))
        getattr(sets, side).append({"i": index, "id": present.id, "fields": dict(present.fields)})

    def _one_sided(self, out: MergeResult, sets: LineSets, line: Line, side: str) -> None:
        other = "xero" if side == "ops" else "ops"
        may = self.flows.to_xero if side == "ops" else self.flows.to_ops
        if not may:
            getattr(sets, side).append({"i": None, "id": line.id, "fields": dict(line.fields)})
            return
        index = len(sets.base)
        fields = dict(line.fields)
        sets.base.append({"ops": line.id if side == "ops" else None,
                          "xero": line.id if side == "xero" else None, "fields": fields})
        getattr(sets, side).append({"i": index, "id": line.id, "fields": dict(fields)})
        getattr(sets, other).append({"i": index, "id": None, "fields": dict(fields)})
        path = self._line_path(line.id if side == "ops" else None,
                               line.id if side == "xero" else None)
        self._changes(out, other).append(FieldChange(path, None, "added", f"line-added-in-{side}"))
        setattr(sets, f"{other}_dirty", True)

    @staticmethod
    def _changes(out: MergeResult, side: str) -> list[FieldChange]:
        return out.ops_changes if side == "ops" else out.xero_changes


def _plain(fields: Fields, computed: frozenset[str]) -> Fields:
    return {k: v for k, v in fields.items() if k not in computed}


def _position(entry: dict[str, Any]) -> tuple[int, float]:
    raw = (entry.get("fields") or {}).get("position")
    try:
        return 0, float(raw) if raw is not None else float("inf")
    except ValueError:
        return 1, 0.0


def agrees(spec: EntitySpec, base: dict[str, Any], ops: Fields, ops_lines: list[Line] | None,
           xero: Fields, xero_lines: list[Line] | None) -> bool:
    """True when both sides hold exactly the base (Xero-computed values: when they match)."""
    for name in spec.fields:
        if name in spec.xero_computed:
            if ops.get(name) != xero.get(name):
                return False
        elif not base["fields"].get(name) == ops.get(name) == xero.get(name):
            return False
    if not spec.has_lines:
        return True
    pairs = base.get("lines") or []
    ops_by = {ln.id: ln for ln in ops_lines or []}
    xero_by = {ln.id: ln for ln in xero_lines or []}
    if len(pairs) != len(ops_by) or len(pairs) != len(xero_by):
        return False
    for pair in pairs:
        o, x = ops_by.get(pair["ops"]), xero_by.get(pair["xero"])
        if o is None or x is None:
            return False
        for name in spec.line_fields:
            if name in spec.line_xero_computed:
                if o.fields.get(name) != x.fields.get(name):
                    return False
            elif not pair["fields"].get(name) == o.fields.get(name) == x.fields.get(name):
                return False
    return True
