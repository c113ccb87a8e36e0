"""Contacts merged in Xero, followed on the ops side: their documents re-point to the survivor.

When the accountant merges contact A into contact B in Xero, A is archived there with
``MergedToContactID`` naming B, and A's documents move to B. The contacts step carries that to
ops (A's twin archived, its ``merged_into`` naming B's twin); this module makes every ops document
that still names A's twin name B's instead: linked or not, settled (voided, deleted) or not, so
that nothing is pushed against the archived contact and nothing is created for it again.

The same follows when a new ops contact is settled as the Xero contact another ops contact is
linked to (a possible duplicate taken as Xero's): it becomes an alias of that Xero contact, is
archived with ``merged_into`` naming the other, and its documents move (``[sync]
merged_contacts = "merge"``, the default). With ``"link"`` documents stay where they are: a
duplicate stays active as another ops name of the Xero contact, and a contact merged in Xero is
archived as Xero says while its documents keep naming it; either way, what is pushed naming it
goes to the surviving Xero contact.

Invariants:
- the merges known are those in the contacts' bases (carried out in earlier runs), the aliases
  (in merge mode) and those the contacts plan of this run carries out; a chain (A into B, B into
  C) ends at its last survivor;
- a document is re-pointed by an ops write of ``contact_id`` alone, audited with the rule
  ``merged:contact``; a document the ops side cannot read is left alone (unknown, not guessed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from xsync.model.records import Record
from xsync.sync.plan import TO_OPS, Action, FieldChange, Step, Write

RULE = "merged:contact"
# a merge chain longer than this is a loop (A into B into A), never followed
LONGEST_CHAIN = 50


def known_merges(based: Mapping[str, str], steps: Iterable[Step],
                 aliases: Mapping[str, str] | None = None) -> dict[str, str]:
    """Merged ops contact id -> the ops id of the contact it ends up merged into.

    ``based``: each ops contact whose base says it was merged, -> the contact it was merged
    into (:meth:`~xsync.state.ledger.Ledger.merged_contacts`). ``aliases``: ops contacts
    settled as another ops contact's Xero contact (a possible duplicate taken as Xero's), each
    -> that other ops contact; merges too, where the workspace merges rather than links such
    contacts."""
    into: dict[str, str] = dict(aliases or {})
    into.update(based)
    for step in steps:
        if step.entity != "contacts" or step.to_ops is None or not step.ops_id:
            continue
        target = step.to_ops.fields.get("merged_into")
        if "merged_into" in step.to_ops.fields:
            if target:
                into[step.ops_id] = str(target)
            else:
                into.pop(step.ops_id, None)
    return {m: _last(into, m) for m in into if _last(into, m) != m}


def _last(into: dict[str, str], start: str) -> str:
    current = start
    for _ in range(LONGEST_CHAIN):
        following = into.get(current)
        if following is None or following == start:
            return current
        current = following
    return start


def repointed(record: Record, survivor: str) -> Record:
    """The record as it reads once it names the survivor."""
    fields = dict(record.fields)
    fields["contact_id"] = survivor
    return Record(record.entity, record.id, fields, record.lines, record.updated_at)


def carry(steps: list[Step], entity: str, moves: dict[str, tuple[str, str]],
          links: Mapping[str, str], labels: dict[str, str]) -> None:
    """Give every re-pointed document its ops write of ``contact_id``: added to the step the
    plan already has for it, or a step of its own. ``moves``: ops id -> (old, survivor)."""
    by_ops = {s.ops_id: s for s in steps if s.entity == entity and s.ops_id in moves}
    for ops_id, (old, survivor) in sorted(moves.items()):
        change = FieldChange("contact_id", old, survivor, RULE)
        step = by_ops.get(ops_id)
        if step is None:
            step = Step(entity, ops_id, links.get(ops_id), labels.get(ops_id, ops_id))
            steps.append(step)
        write = step.to_ops
        if write is not None and write.action not in ("update", "create"):
            # a delete or void writes its status alone: the next run re-points what is left
            continue
        if write is None:
            step.to_ops = Write("ops", "update", {"contact_id": survivor})
        else:
            write.fields["contact_id"] = survivor
        action = next((a for a in step.actions if a.direction == TO_OPS), None)
        if action is None:
            step.actions.append(Action("update", TO_OPS, entity, ops_id, step.xero_id,
                                       step.label, [change],
                                       reason=f"its contact was merged into {survivor}"))
        else:
            action.changes.append(change)
