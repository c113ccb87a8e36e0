"""Carrying out a plan, one entity at a time, in dependency order.

Invariants:
- every write is first an outbox row, committed before the side is called; its idempotency key
  is derived from that row, so a resend after a crash is the same request;
- Xero is written before the ops side, so the ops side can take Xero's computed totals;
- a link is recorded as soon as a create succeeds (a rerun can never create it twice);
- a record's base advances only when all its writes succeeded; hashes are kept only when both
  sides hold exactly the base, otherwise the record is looked at again next run;
- a failed record is reported, queued for retry, and never stops the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from xsync.errors import AuthError, DailyLimitReached, ExitCode, XsyncError
from xsync.model.entities import spec
from xsync.model.records import Fields, Line, Record
from xsync.model.side import Change, ChangeResult, Side, left_out
from xsync.state.codec import moment_in
from xsync.state.ledger import Base, OutboxEntry, record_hash
from xsync.sync import deposits
from xsync.sync.journal import Journal
from xsync.sync.merge import agrees
from xsync.sync.plan import (
    XERO_REF,
    AuditEntry,
    Outcome,
    Plan,
    ReadError,
    RunResult,
    Seen,
    Step,
    Write,
)

FATAL = (AuthError, DailyLimitReached)
# changes per call to a side: Xero takes 50 to a request; the local ops store takes 10,000 in
# one transaction (a first import of random ids touches index pages all over the file, and each
# transaction writes every page it touched again: fewer, larger ones write far less)
BATCH = {"xero": 50, "ops": 10000}


@dataclass(slots=True)
class Job:
    """One step on its way through apply. The step is never changed: what apply learns on the
    way (Xero's computed totals for the ops side, and for the base) goes into the job's own
    ``to_ops`` and ``base``, new values made from the step's, so a plan applied still reads as
    `diff` showed it."""

    step: Step
    ops_id: str | None
    xero_id: str | None
    error: str | None = None
    results: dict[str, ChangeResult] = field(default_factory=dict)
    lines: list[dict[str, Any]] | None = None
    to_ops: Write | None = None
    base: dict[str, Any] | None = None

    @classmethod
    def of(cls, step: Step) -> Job:
        return cls(step, step.ops_id, step.xero_id, to_ops=step.to_ops, base=step.base)


def _waves(entity: str, side: str, jobs: list[Job]) -> list[list[Job]]:
    """``jobs`` in the order their writes to ``side`` can go: each wave after the first holds
    the jobs whose writes name (by a reference of the entity to itself) a record that an
    earlier wave creates on ``side``. Jobs that name one another in a loop go last, together
    (each is then refused as naming a record not there yet)."""
    own = spec(entity).own_refs
    if not own:
        return [jobs]

    def write_of(job: Job) -> Write | None:
        return job.step.to_xero if side == "xero" else job.to_ops

    def known_by(job: Job) -> str:
        """The id the other side knows the job's record by ("" where it has none)."""
        return (job.xero_id if side == "ops" else job.ops_id) or ""

    creating = {known_by(job) for job in jobs
                if (w := write_of(job)) is not None and w.action == "create"} - {""}
    if not creating:
        return [jobs]

    def named(job: Job) -> set[str]:
        """The records of ``creating`` other than its own that the job's write names."""
        write = write_of(job)
        found: set[str] = set()
        for name in own:
            value = str(write.fields.get(name) or "") if write is not None else ""
            if side == "ops" and value.startswith(XERO_REF):
                found.add(value[len(XERO_REF):])
            elif side == "xero" and value and not value.startswith(XERO_REF):
                found.add(value)
        return (found & creating) - {known_by(job)}

    waiting = [(job, named(job)) for job in jobs]
    waves: list[list[Job]] = []
    # the records the waves so far write, by the id the other side knows them by
    earlier: set[str] = set()
    while waiting:
        wave = [job for job, wants in waiting if wants <= earlier] or [j for j, _ in waiting]
        waves.append(wave)
        earlier.update(known_by(job) for job in wave)
        chosen = {id(job) for job in wave}
        waiting = [(job, wants) for job, wants in waiting if id(job) not in chosen]
    return waves


class Applier:
    def __init__(self, journal: Journal, ops: Side, xero: Side,
                 heartbeat: Callable[[], None]) -> None:
        # the one writer of what the run does (see :mod:`xsync.sync.journal`)
        self.journal = journal
        # links and aliases as this run has them, one read per entity (the plan's, when it was
        # made under the same hold of the run lock: one map per run)
        self.ids = journal.ids
        self.sides = {"ops": ops, "xero": xero}
        self.run_id = journal.run_id
        self.heartbeat = heartbeat
        # a chunk's bases and audit entries, stored together when the chunk is finished
        self.bases: list[Base] = []
        self.entries: list[AuditEntry] = []
        # the run's result, which each plan applied adds to (see ``apply``)
        self.result: RunResult | None = None

    def at(self) -> str:
        return self.journal.at()

    def report(self, error: ReadError) -> None:
        """A side that failed the run while a plan was applied: its exit code says so."""
        self._result().read_errors.append(error)

    def _result(self) -> RunResult:
        assert self.result is not None, "only a plan being applied has a result"
        return self.result

    def apply(self, plan: Plan, result: RunResult) -> None:
        failed_reads = plan.unread
        result.read_errors += plan.read_errors
        result.skipped += plan.skipped
        self.result = result
        for entity in plan.entities:
            jobs = [Job.of(s) for s in plan.steps if s.entity == entity]
            if jobs:
                self._entity(entity, jobs, result)
                # deposits applied in Xero just now: their credits' and invoices' balances
                for follow, more in deposits.balances_after(self, entity, jobs):
                    self._entity(follow, more, result)
            if entity not in failed_reads:
                with self.journal.transaction():
                    for side, ent, cursor in plan.cursors:
                        if ent == entity:
                            self.journal.cursor(side, entity, cursor)
            self.heartbeat()
        with self.journal.transaction():
            # rows a write of this run touched got a new base already; the rest are as they were
            written = {(j.entity, j.ops_id) for j in plan.steps}
            self.journal.confirm([c for c in plan.confirmed if (c[0], c[1]) not in written])
            for r in plan.skipped:
                # a Xero record held back now may not be listed by the next incremental scan
                if r.xero_id:
                    self.journal.retry(r.entity, "xero", r.xero_id, r.reason, self.at())
            for r in plan.rejected:
                result.rejected.append(Outcome(r.entity, r.ops_id, r.xero_id, r.label,
                                               "reject", "", r.reason))
                for side, rid in (("ops", r.ops_id), ("xero", r.xero_id)):
                    if rid:
                        self.journal.retry(r.entity, side, rid, r.reason, self.at())

    # -- one entity ------------------------------------------------------------------------------

    def _entity(self, entity: str, jobs: list[Job], result: RunResult) -> None:
        with self.journal.transaction():
            for job in jobs:
                step = job.step
                if step.alias and job.ops_id and job.xero_id:
                    self.journal.alias(entity, job.ops_id, job.xero_id)
                elif step.link_rule and job.ops_id and job.xero_id:
                    self.journal.link(entity, job.ops_id, job.xero_id, step.link_rule)
        self._write(entity, "xero", [j for j in jobs if j.step.to_xero])
        for job in jobs:
            self._take_computed(entity, job)
        self._write(entity, "ops", [j for j in jobs if j.to_ops and not j.error])
        # bases, links, audit: committed in chunks (one commit per record costs more than the
        # sync itself on a first import of many records)
        for start in range(0, len(jobs), FINISH_CHUNK):
            chunk = jobs[start:start + FINISH_CHUNK]
            self.bases, self.entries = [], []
            with self.journal.transaction():
                for job in chunk:
                    self._finish(entity, job, result)
                self.journal.settle(entity, self.bases, self.entries)
            self.bases, self.entries = [], []
            for job in chunk:
                # what the sides answered is stored by now; a large import need not keep it
                job.results = {}

    def _write(self, entity: str, side: str, jobs: list[Job]) -> None:
        """Write the jobs' changes to ``side``, in waves: a change naming a record of its own
        entity that another of these jobs creates there (a contact merged into one new to the
        side too) goes in a later wave, once that record is created and linked."""
        for wave in _waves(entity, side, jobs):
            self._write_wave(entity, side, wave)

    def _write_wave(self, entity: str, side: str, jobs: list[Job]) -> None:
        ready: list[tuple[Job, Change, int]] = []
        with self.journal.transaction():
            fresh: list[tuple[int, Job, Change]] = []
            for job in jobs:
                change, problem = self._change(entity, side, job)
                if problem or change is None:
                    job.error = problem
                    continue
                write = job.step.to_xero if side == "xero" else job.to_ops
                if write is not None and write.outbox_id is not None:
                    ready.append((job, change,
                                  self._outbox(entity, side, job, change, write.outbox_id)))
                else:
                    # a new outbox row: added with the others, in one statement
                    fresh.append((len(ready), job, change))
                    ready.append((job, change, 0))
            added = self.journal.intend(_entry(entity, side, job, change)
                                        for _, job, change in fresh)
            for (place, job, change), (row_id, key) in zip(fresh, added, strict=True):
                change.idempotency_key = key
                ready[place] = (job, change, row_id)
        # the outbox rows are committed: only now may the side be called
        size = BATCH.get(side, BATCH["xero"])
        # taken from the end, so the changes of a batch sent are let go (a large import)
        ready.reverse()
        while ready:
            batch = [ready.pop() for _ in range(min(size, len(ready)))]
            try:
                answers = self.sides[side].write(entity, [c for _, c, _ in batch])
            except FATAL:
                raise
            except Exception as exc:
                reason = self._write_failed(entity, side, exc)
                answers = [ChangeResult(c.key, False, c.id, errors=[reason]) for _, c, _ in batch]
            by_key = {a.key: a for a in answers}
            with self.journal.transaction():
                marks: list[tuple[int, str, Any, str]] = []
                created: list[tuple[str, str]] = []
                pairs = [(job, change, row_id, by_key.get(change.key) or ChangeResult(
                    change.key, False, change.id, errors=[f"{side} gave no result"]))
                    for job, change, row_id in batch]
                unreadable = self._fill_records(entity, side, [a for _, _, _, a in pairs])
                for job, change, row_id, answer in pairs:
                    self._record_answer(entity, side, job, change, answer, row_id, marks,
                                        created)
                    if answer.ok and answer.id in unreadable:
                        # written (and linked), but what the side holds now cannot be read:
                        # no base from it; the record is retried, and named, next run too
                        job.error = (f"written to {'Xero' if side == 'xero' else 'ops'}, but "
                                     f"its copy there cannot be read back: "
                                     f"{unreadable[answer.id]}")
                self.journal.answered(entity, marks, created)

    def _write_failed(self, entity: str, side: str, exc: Exception) -> str:
        """A batch the side could not take at all: its records are retried next run, and the
        run says why in its exit code (a side out of reach is not a rejected record)."""
        where = "Xero" if side == "xero" else "the ops store"
        if isinstance(exc, XsyncError):
            reason = f"{where} could not take the write: {exc}"
            code = exc.exit_code
        else:
            reason = f"{where} failed while writing ({type(exc).__name__}: {exc})"
            code = ExitCode.UNEXPECTED
        if not any(e.entity == entity and e.side == side for e in self._result().read_errors):
            self.report(ReadError(entity, side, reason, code))
        return reason

    def _fill_records(self, entity: str, side: str,
                      answers: list[ChangeResult]) -> dict[str, str]:
        """Read back, in one call, the records a side wrote without returning them; the id and
        reason of each the side read but could not map."""
        missing = [a for a in answers if a.ok and a.record is None and a.id]
        if not missing:
            return {}
        found = self.sides[side].fetch(entity, list(dict.fromkeys(a.id or "" for a in missing)))
        by_id = {r.id: r for r in found}
        for answer in missing:
            answer.record = by_id.get(answer.id or "")
        return dict(left_out(self.sides[side], entity))

    def _record_answer(self, entity: str, side: str, job: Job, change: Change,
                       answer: ChangeResult, row_id: int,
                       marks: list[tuple[int, str, Any, str]],
                       created: list[tuple[str, str]]) -> None:
        state = "done" if answer.ok else "failed"
        marks.append((row_id, state, {"id": answer.id, "errors": answer.errors}, self.at()))
        if not answer.ok:
            job.error = "; ".join(answer.errors) or f"{side} refused the change"
            return
        job.results[side] = answer
        if change.action == "create" and answer.id:
            if side == "xero":
                job.xero_id = answer.id
            else:
                job.ops_id = answer.id
            if job.ops_id and job.xero_id:
                created.append((job.ops_id, job.xero_id))  # linked with the batch's others

    def _outbox(self, entity: str, side: str, job: Job, change: Change, reuse: int) -> int:
        row_id, key = self.journal.intend_again(reuse, _entry(entity, side, job, change))
        change.idempotency_key = key
        return row_id

    # -- translating a planned write into a side's change ----------------------------------------

    def _change(self, entity: str, side: str, job: Job) -> tuple[Change | None, str | None]:
        write = job.step.to_xero if side == "xero" else job.to_ops
        if write is None:
            return None, None
        fields, problem = self.translate(entity, side, write.fields)
        if problem:
            return None, problem
        target_id = job.xero_id if side == "xero" else job.ops_id
        if write.action != "create" and not target_id:
            return None, f"no {side} id to {write.action}"
        lines = None
        if write.lines is not None:
            lines = [Line(entry["id"], dict(entry["fields"])) for entry in write.lines]
        key = f"{entity}:{job.step.ops_id or ''}:{job.step.xero_id or ''}:{side}"
        return Change(key, write.action, target_id, fields, lines), None  # type: ignore[arg-type]

    def translate(self, entity: str, side: str, fields: Fields) -> tuple[Fields, str | None]:
        """Reference fields into ``side``'s ids, through the links as they are now."""
        out = dict(fields)
        for name, target in spec(entity).refs.items():
            value = out.get(name)
            if not value:
                continue
            noun = target.rstrip("s").replace("_", " ")
            if value.startswith(XERO_REF):
                xero_id = value[len(XERO_REF):]
                if side == "xero":
                    out[name] = xero_id
                    continue
                ops_id = self.ids.ops_id_of(target, xero_id)
                if ops_id is None:
                    return out, f"{noun} {xero_id} is not in the ops store yet"
                out[name] = ops_id
            elif side == "xero":
                linked = self.ids.xero_id_of(target, value)
                if linked is None:
                    return out, f"{noun} {value} is not in Xero yet"
                out[name] = linked
        return out, None

    def _take_computed(self, entity: str, job: Job) -> None:
        """Give the ops side what Xero computed for what was just written (totals, balances,
        line and tax amounts, the status Xero settled on), and make it the base, so that one
        run converges: a `diff` right after shows nothing."""
        answer = job.results.get("xero")
        entity_spec = spec(entity)
        computed = set(entity_spec.xero_computed)
        if entity_spec.has_lines:
            computed.add("status")
        if answer is None or answer.record is None or not computed or job.error:
            return
        ops_now = dict(job.step.ops_record.fields) if job.step.ops_record else {}
        write = job.to_ops
        if write is not None:
            ops_now.update(write.fields)
        # Xero's reply names records by Xero ids (a contact's merged_into): ops ids for ops; a
        # reference not linked yet is left for the run that links it
        taken, unlinked = self.translate_in(
            entity, {f: answer.record.fields.get(f) for f in computed})
        if unlinked:
            taken = {f: v for f, v in taken.items() if f not in entity_spec.refs}
        diff = {f: v for f, v in taken.items() if v != ops_now.get(f)}
        if job.base is not None:
            job.base = {**job.base, "fields": {**job.base["fields"], **taken}}
        lines = self._computed_lines(entity, job, answer.record)
        if (not diff and lines is None) or (write is not None
                                            and write.action in ("delete", "void")):
            return
        if write is None:
            if job.step.ops_record is None:
                # nothing on the ops side to give it to: gone there (what Xero settled on is
                # still the base), or not created there
                return
            job.to_ops = Write("ops", "update", diff, lines)
        else:
            job.to_ops = replace(write, fields={**write.fields, **diff},
                                 lines=lines if write.lines is None else write.lines)

    def _computed_lines(self, entity: str, job: Job, reply: Record) -> list[dict[str, Any]] | None:
        """The ops lines with Xero's computed line values, when Xero's reply differs from ops
        (``None`` when nothing differs). Lines are matched to what was sent by position."""
        computed = spec(entity).line_xero_computed
        sent = job.step.to_xero.lines if job.step.to_xero else None
        ops_record = job.step.ops_record
        base = job.base
        if not computed or sent is None or reply.lines is None or ops_record is None \
                or ops_record.lines is None or base is None or len(reply.lines) != len(sent):
            return None
        # the base's lines take Xero's values: copies, kept as the job's base
        pairs = [{**p, "fields": dict(p["fields"])} for p in base.get("lines") or []]
        job.base = {**base, "lines": pairs}
        by_id = {ln.id: ln for ln in ops_record.lines}
        wanted: dict[str, dict[str, str | None]] = {}
        for entry, got in zip(sent, reply.lines, strict=True):
            i = entry["i"]
            if i is None or i >= len(pairs):
                continue
            values = {f: got.fields.get(f) for f in computed}
            pairs[i]["fields"].update(values)
            ops_line = by_id.get(pairs[i].get("ops"))
            if ops_line is not None and any(ops_line.fields.get(f) != v
                                            for f, v in values.items()):
                wanted[str(ops_line.id)] = values
        if not wanted:
            return None
        out: list[dict[str, Any]] = []
        index = {p.get("ops"): n for n, p in enumerate(pairs)}
        for line in ops_record.lines:
            fields = dict(line.fields)
            fields.update(wanted.get(str(line.id), {}))
            out.append({"i": index.get(line.id), "id": line.id, "fields": fields})
        return out

    # -- recording -------------------------------------------------------------------------------

    def _finish(self, entity: str, job: Job, result: RunResult) -> None:
        step = job.step
        at = self.at()
        self.journal.recovered(step.recovers)
        for conflict in step.conflicts:
            self.journal.conflict(conflict, at)
        if job.error is None and job.base is not None and job.ops_id and job.xero_id:
            job.error = self._store_base(entity, job)
        if job.error is not None:
            for a in step.actions:
                if a.kind != "conflict":
                    result.rejected.append(Outcome(entity, job.ops_id, job.xero_id, step.label,
                                                   a.kind, a.direction, job.error))
            for side, rid in (("ops", job.ops_id), ("xero", job.xero_id)):
                if rid:
                    self.journal.retry(entity, side, rid, job.error, at)
            return
        for cid in step.settles:
            self.journal.settled(cid, at)
        for cid in step.closes:
            self.journal.settled(cid, at, take="agreed")
        for a in step.actions:
            if a.kind == "conflict":
                continue
            result.applied.append(Outcome(entity, job.ops_id, job.xero_id, step.label, a.kind,
                                          a.direction, a.reason))
            per = result.counts.setdefault(entity, {})
            per[a.kind] = per.get(a.kind, 0) + 1
            self._audit(entity, job, a.kind, a.direction, a.changes, a.reason, at)

    def _audit(self, entity: str, job: Job, kind: str, direction: str,
               changes: Sequence[Any], reason: str, at: str) -> None:
        label = job.step.label
        if kind in ("link", "create", "delete", "void") or not changes:
            self.entries.append(AuditEntry(0, self.run_id, at, entity, job.ops_id, job.xero_id,
                                             label, direction, kind, None, None, None,
                                             reason or kind))
        if kind == "create":
            return
        for c in changes:
            self.entries.append(AuditEntry(0, self.run_id, at, entity, job.ops_id, job.xero_id,
                                             label, direction, kind, c.field, c.old, c.new,
                                             c.rule))

    def _store_base(self, entity: str, job: Job) -> str | None:
        step, base = job.step, job.base
        assert base is not None and job.ops_id and job.xero_id
        snapshot: dict[str, Any] = {"fields": dict(base["fields"]), "lines": base.get("lines")}
        if base.get("unknown"):
            snapshot["unknown"] = list(base["unknown"])
        ops_final = self._final(job, "ops")
        xero_final = self._final(job, "xero")
        problem = self._fill_lines(snapshot, job)
        if problem:
            return problem
        fields, problem = self.translate(entity, "ops", snapshot["fields"])
        if problem:
            return problem
        snapshot["fields"] = fields
        ops_seen, xero_seen = Seen(), Seen()
        if ops_final is not None and xero_final is not None:
            xero_fields, bad = self.translate_in(entity, xero_final.fields)
            if not bad and agrees(spec(entity), snapshot, ops_final.fields, ops_final.lines,
                                  xero_fields, xero_final.lines):
                ops_seen = self._seen(ops_final, step.ops_record, step.ops_seen)
                xero_seen = self._seen(xero_final, step.xero_record, step.xero_seen)
        at = self.at()
        self.bases.append(Base(job.ops_id, job.xero_id, snapshot, ops_seen.hash, xero_seen.hash,
                               ops_seen.updated_at, xero_seen.updated_at, at))
        if ops_seen.hash is None:
            # not yet in step on both sides (a conflict, a flow this run may not make): look again
            self.journal.retry(entity, "xero", job.xero_id, "not settled", at)
        else:
            self.journal.clear_retry(entity, "xero", job.xero_id)
            self.journal.clear_retry(entity, "ops", job.ops_id)
        return None

    @staticmethod
    def _seen(final: Record, planned: Record | None, planned_seen: Seen) -> Seen:
        """The record's hash and change time; planning already hashed the record it read."""
        if final is planned and planned_seen.hash is not None:
            return planned_seen
        return Seen(record_hash(final), moment_in(final.updated_at))

    def translate_in(self, entity: str, fields: Fields) -> tuple[Fields, bool]:
        out = dict(fields)
        for name, target in spec(entity).refs.items():
            value = out.get(name)
            if value:
                ops_id = self.ids.ops_id_of(target, value)
                if ops_id is None:
                    return out, True
                out[name] = ops_id
        return out, False

    def _final(self, job: Job, side: str) -> Record | None:
        answer = job.results.get(side)
        if answer is not None and answer.record is not None:
            return answer.record
        return job.step.ops_record if side == "ops" else job.step.xero_record

    def _fill_lines(self, snapshot: dict[str, Any], job: Job) -> str | None:
        """Give new base lines the ids each side assigned when it stored them."""
        pairs = snapshot.get("lines")
        if pairs is None:
            return None
        pairs = [dict(p) for p in pairs]
        snapshot["lines"] = pairs
        for side in ("xero", "ops"):
            write = job.step.to_xero if side == "xero" else job.to_ops
            answer = job.results.get(side)
            if write is None or write.lines is None or answer is None:
                continue
            got = (answer.record.lines if answer.record else None) or []
            sent_ids = {e["id"] for e in write.lines if e["id"]}
            fresh = iter([ln.id for ln in got if ln.id not in sent_ids])
            if len(got) != len(write.lines):
                return f"{side} returned {len(got)} lines for {len(write.lines)} sent"
            for entry in write.lines:
                line_id = entry["id"] or next(fresh, None)
                if entry["i"] is not None:
                    pairs[entry["i"]][side] = line_id
        if any(not p.get("ops") or not p.get("xero") for p in pairs):
            return "a line has no id on one side yet"
        return None


# records whose bases, links and audit entries are committed together (as for BATCH)
FINISH_CHUNK = 10000


def _entry(entity: str, side: str, job: Job, change: Change) -> OutboxEntry:
    return OutboxEntry(entity, change.action, side, change.key, job.ops_id, job.xero_id,
                       _payload(change))


def _payload(change: Change) -> dict[str, Any]:
    return {
        "action": change.action, "id": change.id, "fields": dict(change.fields),
        "lines": None if change.lines is None
        else [{"id": ln.id, "fields": dict(ln.fields)} for ln in change.lines],
    }
