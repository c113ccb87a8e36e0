"""The push preflight: nothing is written into a period Xero has locked.

A planned write to Xero of a document dated on or before the organisation's lock date (its date
before or after the change) would be refused by Xero. Such a step is not sent: it becomes a
conflict, field ``_locked``, naming the date and the lock, and the record waits. The conflict is
settled outside xsync (the accountant moves the lock date, or the platform re-dates the
document) and closes by itself on the first sync that finds the write allowed. Pulling from Xero
into ops is never held back: only writes to Xero are.

The lock date is asked for only when a plan writes documents to Xero, so a cycle that pushes
nothing costs no call for it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from xsync.state.ledger import Ledger
from xsync.sync.accounting import DOCUMENTS
from xsync.sync.plan import Action, Conflict, Plan, Step

LOCKED = "_locked"


def _dates(step: Step) -> list[date]:
    """Every date the write touches: the document's in ops, in Xero, and the one written."""
    found: list[date] = []
    values = [step.to_xero.fields.get("date") if step.to_xero else None]
    values += [r.fields.get("date") for r in (step.ops_record, step.xero_record) if r]
    for value in values:
        if isinstance(value, date):
            found.append(value)
        elif isinstance(value, str) and value:
            try:
                found.append(date.fromisoformat(value[:10]))
            except ValueError:
                continue
    return found


def hold_locked(plan: Plan, ledger: Ledger, lock_date: Callable[[], date | None]) -> None:
    """Turn the plan's writes into Xero's locked period into ``_locked`` conflicts, and close
    the open ones that no longer hold. ``lock_date`` is called at most once."""
    writes = [s for s in plan.steps
              if s.entity in DOCUMENTS and s.to_xero is not None and not s.recovers]
    open_locks = {(c.entity, c.ops_id): c for e in DOCUMENTS if e in plan.entities
                  for c in ledger.conflicts(open_only=True, entity=e) if c.field == LOCKED}
    if not writes and not open_locks:
        return
    try:
        locked_until = lock_date() if writes else None
    except Exception:
        # not known: Xero enforces its lock itself, and a write it refuses is reported
        return
    held: set[tuple[str, str | None]] = set()
    for index, step in enumerate(plan.steps):
        if step not in writes:
            continue
        key = (step.entity, step.ops_id)
        dates = _dates(step)
        if locked_until is not None and any(d <= locked_until for d in dates):
            plan.steps[index] = _held(step, min(dates), locked_until, open_locks.get(key))
            held.add(key)
        elif key in open_locks:
            step.closes.append(int(open_locks[key].id or 0))
            held.add(key)
    planned = {(s.entity, s.ops_id) for s in plan.steps}
    for key, conflict in open_locks.items():
        if key in held or key in planned or conflict.entity in plan.unread:
            continue
        # nothing to write for it any more (the change was taken back): nothing is held
        plan.steps.append(Step(conflict.entity, conflict.ops_id, conflict.xero_id,
                               conflict.label, closes=[int(conflict.id or 0)]))


def _held(step: Step, dated: date, locked_until: date, known: Conflict | None) -> Step:
    noun = step.entity.rstrip("s").replace("_", " ")
    # a document Xero holds in a locked period cannot be edited there at all, re-dated or not
    way_out = ("the accountant moves the lock date" if step.xero_id else
               "the accountant moves the lock date or the document is re-dated in the ops "
               "platform")
    reason = (f"{noun} {step.label} is dated {dated.isoformat()}, in a period Xero has locked "
              f"(up to {locked_until.isoformat()}): nothing is written to Xero for it until "
              f"{way_out}")
    conflict = Conflict(step.entity, step.ops_id, step.xero_id, LOCKED, None, dated.isoformat(),
                        locked_until.isoformat(), reason, step.label,
                        id=known.id if known else None)
    held = Step(step.entity, step.ops_id, step.xero_id, step.label, conflicts=[conflict])
    held.actions.append(Action("conflict", "", step.entity, step.ops_id, step.xero_id,
                               step.label, conflicts=[conflict], reason=reason))
    return held
