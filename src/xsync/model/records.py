"""The canonical record and line that both sides produce and the engine merges."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Fields = dict[str, str | None]


@dataclass(slots=True)
class Line:
    """One line of an invoice, bill or credit note. ``id`` is the side's own line id
    (ops `invoice_lines.id` or Xero `LineItemID`); ``None`` for a line not yet created there."""

    id: str | None
    fields: Fields = field(default_factory=dict)


@dataclass(slots=True)
class Record:
    """One record as one side holds it.

    ``id`` is that side's id (ops id or Xero id). Reference fields (see ``EntitySpec.refs``)
    hold that same side's id of the referenced record; the engine translates them through links.
    ``updated_at`` is the side's own change time, aware UTC, or ``None`` where unknown.
    """

    entity: str
    id: str
    fields: Fields = field(default_factory=dict)
    lines: list[Line] | None = None
    updated_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "fields": dict(self.fields),
            "lines": None
            if self.lines is None
            else [{"id": ln.id, "fields": dict(ln.fields)} for ln in self.lines],
        }
