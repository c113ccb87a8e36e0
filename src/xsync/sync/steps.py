"""Turning one record pair (or one lone record) into a :class:`Step`.

Linked and first-matched pairs go through the three-way merge; Xero's accounting rules then
reshape what would be sent (a locked document's edits become conflicts, a status change becomes
a delete or void where Xero wants one). Lone records become creates on the other side, unless a
rule keeps them back. Nothing here reads or writes a side or the state database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from xsync.model.entities import DROPPED_WHEN_REMOVED, EntitySpec
from xsync.model.records import Fields, Line, Record
from xsync.state.codec import moment_in
from xsync.state.ledger import record_hash
from xsync.sync.accounting import DOCUMENTS, TERMINAL, locked_reason, status_write
from xsync.sync.merge import FieldConflict, Flows, LineSets, Merger, MergeResult
from xsync.sync.plan import (
    TO_OPS,
    TO_XERO,
    Action,
    Conflict,
    FieldChange,
    Seen,
    Step,
    Write,
)
from xsync.sync.rules import Rules

# one of these that a whole read no longer lists is gone for good (Xero keeps no trace of it): once
# ops says so too the pair is settled (its base says deleted on both sides) and is not looked at
# again until a read lists it
GONE_FOR_GOOD = DROPPED_WHEN_REMOVED


def label_of(spec: EntitySpec, fields: Fields, record_id: str | None) -> str:
    text = fields.get(spec.label) or record_id or "?"
    total = fields.get("total") if "total" in spec.fields else None
    return f"{text} (total {total})" if total else text


def seen(record: Record | None) -> Seen:
    if record is None:
        return Seen()
    return Seen(hash=record_hash(record), updated_at=moment_in(record.updated_at))


@dataclass
class Pair:
    """What planning knows of one pair: the records (Xero's fields already in ops ids)."""

    ops_id: str
    xero_id: str
    ops: Record
    xero: Record
    xero_fields: Fields
    base: dict[str, Any] | None
    ops_gone: bool = False
    xero_gone: bool = False
    link_rule: str | None = None
    resolutions: dict[str, tuple[int, str | None]] = field(default_factory=dict)
    open_conflicts: dict[str, int] = field(default_factory=dict)
    held: dict[str, tuple[str | None, str | None, str]] = field(default_factory=dict)


class StepBuilder:
    def __init__(self, spec: EntitySpec, rules: Rules, flows: Flows) -> None:
        self.spec = spec
        self.rules = rules
        self.flows = flows

    # -- pairs -----------------------------------------------------------------------------------

    def pair(self, p: Pair) -> Step:
        label = label_of(self.spec, p.ops.fields, p.ops_id)
        flows = Flows(self.flows.to_ops and not p.ops_gone,
                      self.flows.to_xero and not p.xero_gone, self.flows.authority,
                      self.flows.computed and not p.ops_gone)
        result, extra = self._merge(p, flows, label)
        conflicts = list(result.conflicts) + extra
        xero_action = self._status(p, result, conflicts, label, flows)
        step = Step(self.spec.name, p.ops_id, p.xero_id, label, link_rule=p.link_rule,
                    ops_seen=Seen() if p.ops_gone else seen(p.ops),
                    xero_seen=Seen() if p.xero_gone else seen(p.xero),
                    ops_record=None if p.ops_gone else p.ops,
                    xero_record=p.xero if not p.xero_gone or self.spec.name in GONE_FOR_GOOD
                    else None)
        if p.link_rule:
            step.actions.append(Action("link", "", self.spec.name, p.ops_id, p.xero_id, label,
                                       reason=p.link_rule))
        lines = result.lines
        if xero_action in ("delete", "void"):
            self._ending(p, result)
            lines = result.lines
            step.to_xero = Write("xero", xero_action, {"status": result.xero_writes["status"]})
        elif result.xero_writes or (lines and lines.xero_dirty):
            full = {k: v for k, v in p.xero_fields.items() if k not in self.spec.xero_computed}
            full.update(result.xero_writes)
            step.to_xero = Write("xero", "update", full,
                                 lines.xero if lines and lines.xero_dirty else None)
        if step.to_xero:
            kind = "delete" if p.ops_gone else step.to_xero.action
            step.actions.append(Action(kind, TO_XERO, self.spec.name, p.ops_id, p.xero_id,  # type: ignore[arg-type]
                                       label, list(result.xero_changes)))
        for change in result.ops_changes:
            if change.field == "merged_into" and change.new:
                change.rule = "merged-in-xero"
        if result.ops_writes or (lines and lines.ops_dirty):
            status = result.ops_writes.get("status")
            action = "update"
            if self.spec.name in DOCUMENTS and status in TERMINAL:
                action = "delete" if status == "deleted" else "void"
            step.to_ops = Write("ops", action, dict(result.ops_writes),
                                lines.ops if lines and lines.ops_dirty else None)
            kind = "delete" if p.xero_gone else action
            step.actions.append(Action(kind, TO_OPS, self.spec.name, p.ops_id, p.xero_id,  # type: ignore[arg-type]
                                       label, list(result.ops_changes)))
        step.base = {"fields": result.base_fields,
                     "lines": lines.base if lines is not None else None}
        if result.unknown:
            step.base["unknown"] = sorted(result.unknown)
        step.conflicts = [
            Conflict(self.spec.name, p.ops_id, p.xero_id, c.path, c.base, c.ops, c.xero,
                     c.reason, label, id=p.open_conflicts.get(c.path))
            for c in conflicts
        ]
        if step.conflicts:
            step.actions.append(Action("conflict", "", self.spec.name, p.ops_id, p.xero_id,
                                       label, conflicts=step.conflicts))
        step.settles = [cid for path, (cid, _) in p.resolutions.items() if path in result.settled]
        flagged = {c.path for c in conflicts}
        step.closes = [cid for path, cid in p.open_conflicts.items() if path not in flagged
                       and path != "_match" and self._agreed(path, p)]
        return step

    def _ending(self, p: Pair, result: MergeResult) -> None:
        """A document about to be deleted or voided: only its status still moves. Its base
        becomes what Xero will hold, and nothing else is written to either side."""
        final = result.xero_writes["status"]
        result.xero_writes = {"status": final}
        result.xero_changes[:] = [c for c in result.xero_changes if c.field == "status"]
        result.ops_writes = {k: v for k, v in result.ops_writes.items() if k == "status"}
        result.ops_changes[:] = [c for c in result.ops_changes if c.field == "status"]
        result.base_fields = {**p.xero_fields, "status": final}
        result.unknown = []
        if result.lines is not None:
            kept = [dict(pair) for pair in (p.base or {}).get("lines") or []]
            result.lines = LineSets(base=kept)

    def _agreed(self, path: str, p: Pair) -> bool:
        if "." in path:
            return False
        return p.ops.fields.get(path) == p.xero_fields.get(path)

    def _merge(self, p: Pair, flows: Flows, label: str) -> tuple[MergeResult, list[FieldConflict]]:
        resolutions = {path: value for path, (_, value) in p.resolutions.items()}

        def run(f: Flows) -> MergeResult:
            merger = Merger(self.spec, self.rules, f, resolutions,
                            ops_time=p.ops.updated_at, xero_time=p.xero.updated_at,
                            held=p.held)
            return merger.merge(p.base, p.ops.fields, p.xero_fields, p.ops.lines, p.xero.lines)

        result = run(flows)
        reason = locked_reason(self.spec.name, label, p.xero_fields) if flows.to_xero else None
        lines = result.lines
        if reason is None or not (result.xero_writes or (lines and lines.xero_dirty)):
            return result, []
        # Xero refuses any edit of this document: keep its values, and say why
        held = run(Flows(flows.to_ops, False, flows.authority, flows.computed))
        base_fields = (p.base or {}).get("fields") or {}
        seen_paths = {c.path for c in held.conflicts}
        extra = [FieldConflict(c.field, base_fields.get(c.field), c.new, c.old, reason)
                 for c in result.xero_changes if c.field not in seen_paths]
        return held, extra

    def _status(self, p: Pair, result: MergeResult, conflicts: list[FieldConflict],
                label: str, flows: Flows) -> str:
        wanted = result.xero_writes.get("status")
        if "status" not in result.xero_writes or self.spec.name not in DOCUMENTS:
            return "update"
        action, final, reason = status_write(self.spec.name, label, p.xero_fields, wanted)
        if action == "conflict":
            del result.xero_writes["status"]
            result.xero_changes[:] = [c for c in result.xero_changes if c.field != "status"]
            base_status = ((p.base or {}).get("fields") or {}).get("status")
            result.base_fields["status"] = base_status
            conflicts.append(FieldConflict("status", base_status, p.ops.fields.get("status"),
                                           p.xero_fields.get("status"), reason or ""))
            return "update"
        if action in ("delete", "void") and final != wanted:
            result.xero_writes["status"] = final
            result.base_fields["status"] = final
            if flows.to_ops and p.ops.fields.get("status") != final:
                result.ops_writes["status"] = final
                result.ops_changes.append(FieldChange("status", p.ops.fields.get("status"),
                                                      final, f"accounting:{action}"))
        return action

    # -- lone records ----------------------------------------------------------------------------

    def create_in_xero(self, record: Record) -> Step:
        spec = self.spec
        label = label_of(spec, record.fields, record.id)
        fields = {k: v for k, v in record.fields.items() if k not in spec.xero_computed}
        step = Step(spec.name, record.id, None, label, ops_seen=seen(record), ops_record=record)
        lines = self._create_lines(record.lines, "ops", spec.line_xero_computed)
        step.to_xero = Write("xero", "create", fields, lines[1] if lines else None)
        step.base = {"fields": dict(record.fields), "lines": lines[0] if lines else None}
        changes = [FieldChange(k, None, v, "create") for k, v in fields.items() if v is not None]
        step.actions.append(Action("create", TO_XERO, spec.name, record.id, None, label, changes))
        return step

    def create_in_ops(self, record: Record, fields: Fields) -> Step:
        spec = self.spec
        label = label_of(spec, fields, record.id)
        step = Step(spec.name, None, record.id, label, xero_seen=seen(record),
                    xero_record=record)
        lines = self._create_lines(record.lines, "xero", frozenset())
        step.to_ops = Write("ops", "create", dict(fields), lines[1] if lines else None)
        step.base = {"fields": dict(fields), "lines": lines[0] if lines else None}
        changes = [FieldChange(k, None, v, "create") for k, v in fields.items() if v is not None]
        step.actions.append(Action("create", TO_OPS, spec.name, None, record.id, label, changes))
        return step

    @staticmethod
    def _create_lines(lines: list[Line] | None, side: str, drop: frozenset[str]
                      ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
        if lines is None:
            return None
        other = "xero" if side == "ops" else "ops"
        # the base's lines share the record's field maps, and, with nothing to drop, so do the
        # write's: none of them is changed once planned (apply makes new ones), and a large
        # import holds one copy of each line
        base = [{side: ln.id, other: None, "fields": ln.fields} for ln in lines]
        wanted = [{"i": i, "id": None,
                   "fields": {k: v for k, v in ln.fields.items() if k not in drop}
                   if drop else pair["fields"]}
                  for i, (ln, pair) in enumerate(zip(lines, base, strict=True))]
        return base, wanted
