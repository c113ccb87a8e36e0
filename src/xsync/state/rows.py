"""Rows of the state database the engine and the commands read as values: a conflict waiting
for `xsync resolve`, and an entry of the audit log."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(slots=True)
class Conflict:
    """A field both sides changed that no rule could settle (or an ambiguous first match).

    ``id`` is ``None`` for a conflict first found by this plan. ``field`` is ``_match`` for an
    ambiguous match, whose ``xero`` value lists the candidate ids.
    """

    entity: str
    ops_id: str | None
    xero_id: str | None
    field: str
    base: str | None
    ops: str | None
    xero: str | None
    reason: str
    label: str = ""
    id: int | None = None
    created_at: str | None = None
    resolved_at: str | None = None
    resolved_take: str | None = None
    resolution: str | None = None
    applied_at: str | None = None

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    def same_values(self, other: Conflict) -> bool:
        return (self.base, self.ops, self.xero) == (other.base, other.ops, other.xero)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class AuditEntry:
    id: int
    run_id: int | None
    at: str
    entity: str
    ops_id: str | None
    xero_id: str | None
    label: str | None
    direction: str
    action: str
    field: str | None
    old: str | None
    new: str | None
    rule: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
