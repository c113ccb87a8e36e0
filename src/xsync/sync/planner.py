"""Planning: read both sides, pair records, merge, and build the plan. No side effects.

Per entity, in dependency order: scan both sides from their cursors; a record is looked at when
it differs from its base (its change time first, its content hash second), when its last apply
failed (the retries table), or when a resolved conflict waits to be carried out. A side that
cannot be read completely (a scan, a fetch or a lookup that failed) leaves its entity out of the
plan, and every entity that refers to it, with the cause and its exit code; their cursors stay
where they were. A record a side lists but cannot read (``ScanResult.rejected``) is unknown, never
gone: it keeps its link and base, and its twin is not touched. Unlinked records are first checked
against creates whose outcome a crash left unknown (the outbox), then matched by business keys,
and only then planned as creates; a new record whose key a linked record already holds (an
invoice number, a contact's ABN, email or name) becomes a conflict, never a write over that
record's twin. Reference fields are compared in ops ids; a Xero
record the ops side does not know yet is written ``@xero:<id>`` until apply creates it.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from datetime import datetime, timedelta
from typing import Any

from xsync.errors import DailyLimitReached, ExitCode, XeroTransientError, XsyncError
from xsync.model.entities import ENTITY_ORDER, EntitySpec, spec
from xsync.model.records import Fields, Line, Record
from xsync.model.side import (
    ScanResult,
    Side,
    SupportsChangedScan,
    SupportsFind,
    SupportsUnchanged,
    left_out,
    microseconds,
)
from xsync.state.ledger import Base, IdMap, Ledger, VouchedTimes, hashes_as
from xsync.sync import deposits
from xsync.sync.accounting import DOCUMENTS, TERMINAL
from xsync.sync.match import key_fields, key_of, lookup_fields, match, normalise
from xsync.sync.merge import Flows
from xsync.sync.merged import RULE as MERGED_RULE
from xsync.sync.merged import carry, known_merges, repointed
from xsync.sync.plan import (
    TO_OPS,
    XERO_REF,
    Action,
    Conflict,
    FieldChange,
    Plan,
    ReadError,
    Rejection,
    Seen,
    Step,
    Write,
    iso,
)
from xsync.sync.rules import Rules
from xsync.sync.steps import GONE_FOR_GOOD, Pair, StepBuilder, label_of

# stops the whole run at once: the day's calls are spent, every later read would fail too
FATAL = (DailyLimitReached,)
# no ids at all (what an entity's first round of a preview leaves alone)
NONE: frozenset[str] = frozenset()
# fields whose value a new record may not share with a linked one (its twin would be taken over)
# (Xero keeps sales invoice numbers unique; a bill's number is its supplier's, so only the same
# supplier, number and date make two bills one)
CLAIMS = {"invoices": ("number",), "bills": ("contact_id", "number", "date")}
# (entity, field) whose value Xero gives to one record only
UNIQUE_IN_XERO = {("invoices", "number")}


class RescanOps(Exception):
    """An entity's plan needs the ops side read in full (raised before anything is planned)."""


class Unread(Exception):
    """An entity's read failed part way: its plan so far is dropped. ``stops_side``: the side
    cannot serve any other read this run either (its grant refused, or it could not be reached
    at all), so later entities are not tried against it."""

    def __init__(self, error: ReadError, stops_side: bool = False) -> None:
        super().__init__(error.reason)
        self.error = error
        self.stops_side = stops_side or error.exit_code == ExitCode.RECONNECT


def unread(entity: str, side: str, exc: BaseException) -> Unread:
    # no HTTP status at all: nothing answered (refused, timed out), not one endpoint failing
    unreachable = isinstance(exc, XeroTransientError) and exc.status is None
    return Unread(read_error(entity, side, exc), stops_side=unreachable)


def read_error(entity: str, side: str, exc: BaseException) -> ReadError:
    """What a failed read means for the run, in words and as an exit code."""
    if isinstance(exc, XsyncError):
        # a read Xero refuses (400) rejects no record the user could fix: it is not exit 4
        code = ExitCode.UNEXPECTED if exc.exit_code == ExitCode.REJECTED else exc.exit_code
        return ReadError(entity, side, str(exc), code)
    where = "Xero" if side == "xero" else "the ops store"
    # a plugin side's own network or file trouble is a side out of reach, not a bug of ours
    code = ExitCode.UNREACHABLE if isinstance(exc, OSError) else ExitCode.UNEXPECTED
    return ReadError(entity, side, f"{where} failed while reading {entity} "
                     f"({type(exc).__name__}: {exc})", code)


MICROSECOND = timedelta(microseconds=1)
# records Xero lists that a quiet check looks up one by one, to tell xsync's own writes read
# back from news (past that, the entity is planned in full)
READ_BACK_LOOKUPS = 500


def vouches_us(stamp: int, synced: int, margin: int) -> bool:
    """Whether a base stored at ``synced`` proves a row still showing change time ``stamp`` as
    it was (all three in microseconds). An edit in the same clock tick would keep the same time,
    so a coarse stamp (whole seconds, or milliseconds) is trusted only once the base was stored
    well after it; a stamp to the microsecond (xsync writes its own so) names one instant, and
    is trusted once the base was stored after it."""
    if stamp % 1000:
        return synced >= stamp
    return synced - stamp > margin


def trust_margin(rules: Rules) -> timedelta:
    """Change times within this of the last sync are not trusted to prove "unchanged"."""
    return timedelta(seconds=max(2, rules.skew_tolerance_seconds))


Waiting = tuple[set[str], list[Conflict], list[Conflict]]


def waiting_on(ledger: Ledger, entity: str) -> Waiting:
    """What waits on the entity's ops records: retries, unapplied and open conflicts."""
    return (ledger.retries(entity, "ops"),
            ledger.conflicts(open_only=False, entity=entity, unapplied=True),
            ledger.conflicts(open_only=True, entity=entity))


def vouched_now(ledger: Ledger, entity: str, margin: timedelta,
                waiting: Waiting) -> VouchedTimes:
    """The ops change times the bases vouch for, but those of records something waits on
    (their rows are listed whatever their times)."""
    retried, unapplied, still_open = waiting
    known = ledger.vouched(entity, margin // MICROSECOND, vouches_us)
    known.leave_out(retried | {c.ops_id for c in unapplied if c.ops_id}
                    | {c.ops_id for c in still_open if c.ops_id})
    return known


def prove_ops(ledger: Ledger, ops: Side, rules: Rules,
              entity: str) -> tuple[str, int, int, int, str] | None:
    """What the ops side of ``entity`` is proved to hold now, as a quiet cycle proves it (see
    ``VouchedTimes.confirm``), for a run to store once its writes are done: then the next
    cycle needs only the table's digest. ``None`` where the side cannot say, the table does
    not match its bases, or something waits on a record."""
    prove = getattr(ops, "prove", None)
    if not callable(prove):
        return None
    known = vouched_now(ledger, entity, trust_margin(rules), waiting_on(ledger, entity))
    if known.proof_wanted() != "confirm" or not known:
        return None
    return known.proved if prove(entity, known) else None


def vouches(stamp: datetime, synced: datetime, margin: timedelta) -> bool:
    """:func:`vouches_us` of aware times."""
    return vouches_us(microseconds(stamp), microseconds(synced), margin // MICROSECOND)


def trusted(record: Record, seen_at: str | None, synced_at: str | None,
            margin: timedelta) -> bool:
    """The cheap check: an unchanged change time that its base vouches for (``vouches``)."""
    stamp = record.updated_at
    return (stamp is not None and seen_at is not None and synced_at is not None
            and iso(stamp) == seen_at
            and vouches(stamp, datetime.fromisoformat(synced_at), margin))


class Grown(Mapping[str, str]):
    """A map shared by the run (the links as planning began, never changed here) and what
    this entity's planning adds to it: the pairs it makes. Planning each round from the run's
    links then copies none of them."""

    __slots__ = ("_added", "_shared")

    def __init__(self, shared: Mapping[str, str]) -> None:
        self._shared = shared
        self._added: dict[str, str] = {}

    def __getitem__(self, key: str) -> str:
        found = self._added.get(key)
        return self._shared[key] if found is None else found

    def __contains__(self, key: object) -> bool:
        return key in self._added or key in self._shared

    def __iter__(self) -> Iterator[str]:
        yield from self._shared
        yield from (k for k in self._added if k not in self._shared)

    def __len__(self) -> int:
        return len(self._shared) + sum(1 for k in self._added if k not in self._shared)

    def __bool__(self) -> bool:
        return bool(self._shared) or bool(self._added)

    def __setitem__(self, key: str, value: str) -> None:
        self._added[key] = value

    def added(self) -> AbstractSet[str]:
        """The keys this entity's planning added."""
        return self._added.keys()

    def load(self, keys: Iterable[str]) -> None:
        """Have the shared map look these keys up at once, where it asks the ledger."""
        ask = getattr(self._shared, "load", None)
        if ask is not None:
            ask(keys)


class WithAliases(Mapping[str, str]):
    """ops id -> Xero id: the record's link, else the Xero twin it is an alias of."""

    __slots__ = ("_aliases", "_links")

    def __init__(self, links: Mapping[str, str], aliases: Mapping[str, str]) -> None:
        self._links, self._aliases = links, aliases

    def __getitem__(self, key: str) -> str:
        found = self._links.get(key)
        return self._aliases[key] if found is None else found

    def __contains__(self, key: object) -> bool:
        return key in self._links or key in self._aliases

    def __iter__(self) -> Iterator[str]:
        yield from self._links
        yield from (k for k in self._aliases if k not in self._links)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class GrownIds:
    """The ops ids known in Xero: the run's links and aliases (never changed here) and those
    this plan adds. Planning each round from the run's maps then copies none of them."""

    __slots__ = ("_added", "_shared")

    def __init__(self, *shared: Mapping[str, str]) -> None:
        self._shared = shared
        self._added: set[str] = set()

    def __contains__(self, ops_id: object) -> bool:
        return ops_id in self._added or any(ops_id in ids for ids in self._shared)

    def add(self, ops_id: str) -> None:
        self._added.add(ops_id)


class LazyBases:
    """The bases of one entity, each read when first wanted (``load``: many at once); which
    records have one is known from the start (``present``), without reading any."""

    def __init__(self, ledger: Ledger, entity: str, present: AbstractSet[str]) -> None:
        self.ledger = ledger
        self.entity = entity
        self.present = present
        self._read: dict[str, Base] = {}

    def load(self, ops_ids: Iterable[str]) -> None:
        ops_ids = list(ops_ids)
        # which have a base, asked at once where the run's view of them asks the ledger
        ask = getattr(self.present, "load", None)
        if ask is not None:
            ask(i for i in ops_ids if i not in self._read)
        wanted = [i for i in ops_ids if i in self.present and i not in self._read]
        if wanted:
            self._read.update(self.ledger.bases_of(self.entity, wanted))

    def get(self, ops_id: str, default: Base | None = None) -> Base | None:
        if ops_id not in self.present:
            return default
        if ops_id not in self._read:
            self.load([ops_id])
        return self._read.get(ops_id, default)

    def __contains__(self, ops_id: object) -> bool:
        return ops_id in self.present


class Earlier:
    """What the earlier rounds of one run, or of one preview, did (``Engine.run``,
    ``Engine.rounds``): a record's retry is read once per run, and a record is reported once,
    however many rounds list it (a round's If-Modified-Since overlap lists the end of the one
    before again).

    A preview (``applied=False``) applies none of its rounds, so a later round also goes on
    from the cursors the earlier ones ended at, and leaves alone every record they planned:
    the run would find those records linked and as their new bases hold them, which means
    nothing more to do."""

    def __init__(self, applied: bool) -> None:
        self.applied = applied
        self.cursors: dict[tuple[str, str], str | None] = {}
        # entity -> ops ids / Xero ids an earlier round of a preview planned a step for
        self.ops: dict[str, set[str]] = {}
        self.xero: dict[str, set[str]] = {}
        # (entity, side) -> the ids of the retries an earlier round read
        self.retried: dict[tuple[str, str], set[str]] = {}
        self._steps: set[tuple[str, str | None, str | None]] = set()
        self._reported: set[tuple[str, str | None, str | None, str]] = set()
        # entity -> ids (either side's) of the records an earlier round rejected
        self._rejected: dict[str, set[str]] = {}

    def cursor(self, ledger: Ledger, side: str, entity: str) -> str | None:
        key = (side, entity)
        if self.applied or key not in self.cursors:
            return ledger.cursor(side, entity)
        return self.cursors[key]

    def retries(self, ledger: Ledger, entity: str, side: str) -> set[str]:
        """The retries of ``entity`` on ``side`` that no earlier round read or rejected."""
        return (ledger.retries(entity, side) - self.retried.get((entity, side), NONE)
                - self._rejected.get(entity, NONE))

    def read(self, entity: str, side: str, retries: AbstractSet[str]) -> None:
        """Note the retries a round planned ``entity`` from (every read of it succeeded)."""
        if retries:
            self.retried.setdefault((entity, side), set()).update(retries)

    def took(self, plan: Plan) -> None:
        """Leave out of a round's ``plan`` the records an earlier round reported already, and,
        for a preview, what an earlier round planned (a pending create, a conflict); note the
        rest for the rounds after it."""
        for reports in (plan.rejected, plan.skipped):
            kept = []
            for r in reports:
                said = (r.entity, r.ops_id, r.xero_id, r.reason)
                if said not in self._reported:
                    self._reported.add(said)
                    kept.append(r)
            reports[:] = kept
        for r in plan.rejected:
            self._rejected.setdefault(r.entity, set()).update(
                i for i in (r.ops_id, r.xero_id) if i is not None)
        if self.applied:
            return
        steps = []
        for step in plan.steps:
            key = (step.entity, step.ops_id, step.xero_id)
            if key in self._steps:
                continue
            self._steps.add(key)
            steps.append(step)
            if step.ops_id is not None:
                self.ops.setdefault(step.entity, set()).add(step.ops_id)
            if step.xero_id is not None:
                self.xero.setdefault(step.entity, set()).add(step.xero_id)
        plan.steps = steps
        for side, entity, cursor in plan.cursors:
            self.cursors[(side, entity)] = cursor


class Planner:
    def __init__(self, ledger: Ledger, ops: Side, xero: Side, rules: Rules,
                 now: Callable[[], Any], ids: IdMap | None = None,
                 earlier: Earlier | None = None) -> None:
        self.ledger = ledger
        self.ops = ops
        self.xero = xero
        self.rules = rules
        self.now = now
        # entity -> Xero id -> its value in ops ids (an ops id, or @xero:<id> until created)
        self.xero_refs: dict[str, Grown] = {}
        # entity -> ops ids that have, or will have after this plan, a Xero counterpart
        self.ops_known: dict[str, GrownIds] = {}
        # entity -> ids (either side's) held back by an ambiguous-match conflict
        self.held: dict[str, set[str]] = {}
        # set once Xero refused the grant or the organisation, or could not be reached at all:
        # no later read can succeed, and trying each entity would only wait out its retries
        self.refused: ReadError | None = None
        self._xero_ids: dict[str, WithAliases] = {}
        # entity -> Xero ids of records first paired this run (a bill matched on first contact)
        self.paired_now: dict[str, set[str]] = {}
        self._merges: dict[str, str] | None = None
        # links and aliases as the plan began, each entity's read once (or, for a later round
        # of a run, the run's own map, which every link it made went through)
        self.ids = ids if ids is not None else IdMap(ledger)
        # a preview's later round: what the earlier rounds planned (see :class:`Earlier`)
        self.earlier = earlier

    def plan(self, mode: str, entities: list[str] | None = None) -> Plan:
        if mode not in ("pull", "push", "sync"):
            raise ValueError(f"mode must be pull, push or sync, not {mode!r}")
        wanted = [e for e in ENTITY_ORDER if entities is None or e in entities]
        plan = Plan(mode, wanted, self.now().isoformat())
        for entity in wanted:
            planner = EntityPlanner(self, plan, entity)
            if not (planner.flows.to_ops or planner.flows.to_xero or planner.flows.computed
                    or planner.creates_up):
                continue
            if any(target in plan.more for target in spec(entity).refs.values()):
                # it refers to records the rest of a read in rounds may hold: the next round
                plan.more.append(entity)
                continue
            blocked = self.blocked(entity, plan)
            if blocked is not None:
                plan.read_errors.append(blocked)
                continue
            try:
                planner = planner.run()
            except Unread as failed:
                plan.read_errors.append(failed.error)
                if failed.error.side == "xero" and failed.stops_side:
                    self.refused = failed.error
            else:
                planner.commit()
                if planner.xero.scan.more:
                    plan.more.append(entity)
        return plan

    def blocked(self, entity: str, plan: Plan) -> ReadError | None:
        """Why ``entity`` is not planned at all this run, if it is not."""
        if self.refused is not None:
            return ReadError(entity, "xero", self.refused.reason, self.refused.exit_code,
                             cause=self.refused.entity)
        unread = {e.entity: e for e in plan.read_errors}
        for target in spec(entity).refs.values():
            if target in unread:
                first = unread[target]
                return ReadError(entity, first.side,
                                 f"not synced: it refers to {target}, which could not be read",
                                 first.exit_code, cause=target)
        return None

    def merges(self, plan: Plan) -> dict[str, str]:
        """Merged ops contact -> the ops contact whose Xero twin its documents go to (see
        :mod:`merged`); aliases count where the workspace merges rather than links."""
        if self._merges is None:
            aliases = self._aliased_contacts() if self.rules.merged_contacts == "merge" else None
            self._merges = known_merges(self.ids.merged_contacts(), plan.steps,
                                        aliases)
        return self._merges

    def _aliased_contacts(self) -> dict[str, str]:
        """Ops contact settled as another's Xero contact -> that other ops contact."""
        owner = self.ids.owners("contacts")
        return {o: owner[x] for o, x in self.ids.aliases("contacts").items()
                if x in owner and owner[x] != o}

    def xero_ids(self, entity: str) -> Mapping[str, str]:
        """ops id -> Xero id of the linked records of ``entity`` (aliases included)."""
        if entity not in self._xero_ids:
            self._xero_ids[entity] = WithAliases(self.links_of(entity), self.ids.aliases(entity))
        return self._xero_ids[entity]

    def links_of(self, entity: str) -> Mapping[str, str]:
        """ops id -> Xero id of ``entity``'s links, read once per plan (not to be changed)."""
        return self.ids.links(entity)

    def cursor(self, side: str, entity: str) -> str | None:
        """Where the scan of ``entity`` on ``side`` begins."""
        if self.earlier is not None:
            return self.earlier.cursor(self.ledger, side, entity)
        return self.ledger.cursor(side, entity)

    def retries(self, entity: str, side: str) -> set[str]:
        """The ids of ``entity``'s records on ``side`` whose last apply failed, but for those
        an earlier round of the same run or preview read."""
        if self.earlier is not None:
            return self.earlier.retries(self.ledger, entity, side)
        return self.ledger.retries(entity, side)

    def refs_for(self, entity: str) -> tuple[Grown, GrownIds]:
        if entity not in self.xero_refs:
            links = self.links_of(entity)
            self.xero_refs[entity] = Grown(self.ids.owners(entity))
            # an alias (an ops record settled as another's Xero twin) is in Xero too
            self.ops_known[entity] = GrownIds(links, self.ids.aliases(entity))
        return self.xero_refs[entity], self.ops_known[entity]


class SideView:
    """One side of an entity's read, as planning sees it. Both sides have the same shape, and
    each reaches the other through ``other``, so what planning does with one side it says once
    for both: what was listed, what could not be read, what waits, and how ids pair up."""

    def __init__(self, name: str, side: Side) -> None:
        self.name = name
        self.side = side
        # held weakly: a pair of views is no cycle, and so goes the moment its planner does
        # (a run's collector passes rarely, and each view holds a round of records)
        self._other: Callable[[], SideView | None] = lambda: None
        # what the read listed (nothing, until read)
        self.scan = ScanResult([], None, False)
        # id -> record, of every record read: listed, retried, looked up, found by id
        self.records: dict[str, Record] = {}
        # ids listed or fetched but unreadable: unknown, so neither planned as gone nor matched
        # nor created
        self.unknown: set[str] = set()
        # ids whose last apply failed, planned from again (see ``EntityPlanner._load_retries``)
        self.retries: set[str] = set()
        # id -> outbox row of a create sent from this side that a crash left unanswered, not
        # found on the other side: sent again under that row (see ``EntityPlanner._recover``)
        self.pending: dict[str, int] = {}
        # this side's id -> its twin's id on the other side; pairs made while planning join it
        self.links: Grown = Grown({})
        # ids an earlier round of a preview planned: left alone (see :class:`Earlier`)
        self.done: AbstractSet[str] = NONE

    @property
    def other(self) -> SideView:
        other = self._other()
        assert other is not None, "a view outlived its pair"
        return other

    def ids(self, mine: str | None, theirs: str | None = None) -> tuple[str | None, str | None]:
        """(ops id, Xero id) of a record of this side and of its twin on the other."""
        return (mine, theirs) if self.name == "ops" else (theirs, mine)

    def listed(self, scan: ScanResult) -> None:
        """What the read listed: its records, and those it could not read (unknown)."""
        self.scan = scan
        self.records = {r.id: r for r in scan.records}
        self.unknown = {rid for rid, _ in scan.rejected}


def views(ops: Side, xero: Side) -> tuple[SideView, SideView]:
    """The two sides' views, each the other's ``other``."""
    o, x = SideView("ops", ops), SideView("xero", xero)
    o._other, x._other = weakref.ref(x), weakref.ref(o)
    return o, x


class EntityPlanner:
    """One entity's plan, from one read of both sides. ``run`` reads and plans, and hands back
    the planner whose plan stands: itself, or one that read the ops side whole, where the
    changes alone did not tell."""

    def __init__(self, planner: Planner, plan: Plan, entity: str, full: bool = False) -> None:
        self.p = planner
        self.whole = plan
        # this entity's part, joined to the whole plan only once every read of it succeeded
        self.plan = Plan(plan.mode, [entity], plan.created_at)
        self.entity = entity
        self.spec: EntitySpec = spec(entity)
        rules = planner.rules
        to_ops, to_xero = rules.flows(entity, plan.mode)
        # credits and allocations reach Xero only as creates of what the ops platform records
        self.creates_up = deposits.creates_up(entity, rules, plan.mode)
        to_xero = to_xero and entity not in deposits.CREATES_ONLY
        direction = rules.entity(entity).direction
        authority = {"pull": "xero", "push": "ops"}.get(direction)
        computed = to_ops or (rules.entity(entity).enabled and plan.mode in ("pull", "sync"))
        self.flows = Flows(to_ops, to_xero, authority, computed)
        self.builder = StepBuilder(self.spec, rules, self.flows)
        self.ledger = planner.ledger
        self.margin = trust_margin(rules)
        # read the ops side whole rather than its changes
        self.full = full
        self.ops, self.xero = views(planner.ops, planner.xero)
        # the ops rows whose base vouches for them (None: the ops side was read otherwise)
        self.known: VouchedTimes | None = None
        # the ops retries, unapplied and open conflicts of the entity (read with ``known``)
        self.waiting: Waiting = (set(), [], [])
        # the links of what Xero listed, looked up once (see ``_all_linked``)
        self._owners: dict[str, str] | None = None
        self._owners_read = False
        # Xero ids of listed records found as their bases have them (see ``_as_based``)
        self.as_based: set[str] = set()
        # Xero ids whose record stands in from its base (not read from Xero this run)
        self.based: set[str] = set()
        # what other entities refer to, shared by the plan: Xero id -> its value in ops ids,
        # and the ops ids that have (or will have) a Xero twin (see ``Planner.refs_for``)
        self.xero_refs: Grown = Grown({})
        self.ops_known: GrownIds = GrownIds()
        # ops ids settled as another ops record's Xero twin -> that Xero id
        self.aliases: Mapping[str, str] = {}
        self.bases = LazyBases(self.ledger, entity, NONE)
        # ops documents whose contact was merged in Xero: ops id -> (old contact, survivor)
        self.moves: dict[str, tuple[str, str]] = {}
        # linked Xero records a lookup found: a new record must not take one of them over
        self.linked_found: list[Record] = []
        # the entity's conflicts: resolved and unapplied (ops id -> field -> (id, value)),
        # open (ops id -> field -> id, and the values held), ambiguous matches, number clashes
        self.resolved: dict[str, dict[str, tuple[int, str | None]]] = {}
        self.open: dict[str, dict[str, int]] = {}
        self.held: dict[str, dict[str, tuple[str | None, str | None, str]]] = {}
        self.matches: list[Conflict] = []
        self.open_match: dict[tuple[str | None, str | None], int] = {}
        self.open_claims: dict[str, int] = {}
        self.claims_seen: set[str] = set()

    # -- reading ---------------------------------------------------------------------------------

    def _scan(self, side: Side, cursor: str | None) -> ScanResult:
        try:
            return side.scan(self.entity, cursor)
        except FATAL:
            raise
        except Exception as exc:
            raise unread(self.entity, side.name, exc) from exc

    def _fetch(self, view: SideView, ids: list[str]) -> list[Record]:
        """The records of ``view``'s side with these ids. One the side read but could not map
        is unknown, as a scan's rejected record is: reported, retried, never planned as gone."""
        if not ids:
            return []
        side = view.side
        try:
            found = side.fetch(self.entity, ids)
        except FATAL:
            raise
        except Exception as exc:
            raise unread(self.entity, side.name, exc) from exc
        self._left_out(view)
        return found

    def _find(self, view: SideView, key: str, values: list[str]) -> tuple[list[Record],
                                                                          dict[str, Fields]]:
        """What ``view``'s side finds of ``key`` in ``values`` (a lookup that fails is a failed
        read), and, by id, what it found but could not map: only the value it was found by,
        the record unknown as a scan's rejected record is, and reported."""
        side = view.side
        assert isinstance(side, SupportsFind)
        try:
            found = side.find(self.entity, key, values)
        except FATAL:
            raise
        except Exception as exc:
            raise unread(self.entity, side.name, exc) from exc
        bad = self._left_out(view)
        return ([r for r in found if r.id not in bad],
                {r.id: r.fields for r in found if r.id in bad})

    def _left_out(self, view: SideView) -> set[str]:
        """The ids of what ``view``'s side read but could not map since last asked: unknown,
        reported, retried, never planned as gone."""
        ids: set[str] = set()
        for record_id, reason in left_out(view.side, self.entity):
            ids.add(record_id)
            if record_id in view.unknown:
                continue
            view.unknown.add(record_id)
            self.plan.rejected.append(Rejection(self.entity, *view.ids(record_id), record_id,
                                                reason))
        return ids

    def _orphaned_lines(self, scan: ScanResult) -> None:
        """A line that moved to a record that does not exist leaves the record it belonged to
        unknown (not one line shorter): nothing of that record is written until it is fixed."""
        if not scan.rejected_lines:
            return
        noun = self.entity.rstrip("s")
        for line_id, owner in sorted(self.ledger.line_owners(self.entity,
                                                             scan.rejected_lines).items()):
            if owner in self.ops.unknown:
                continue
            self.ops.unknown.add(owner)
            self.plan.rejected.append(Rejection(
                self.entity, owner, self.ops.links.get(owner), owner,
                f"{noun} {owner}: its line {line_id} now names a {noun} that does not exist; "
                f"nothing of {noun} {owner} is written until the line is put back or deleted"))

    def commit(self) -> None:
        """Join this entity's plan to the whole plan (every read of it succeeded)."""
        whole, mine = self.whole, self.plan
        whole.steps += mine.steps
        whole.rejected += mine.rejected
        whole.skipped += mine.skipped
        whole.cursors += mine.cursors
        whole.empty_sides += mine.empty_sides
        whole.confirmed += mine.confirmed
        whole.proofs += mine.proofs
        whole.stale_proofs += mine.stale_proofs
        if self.p.earlier is not None:
            self.p.earlier.read(self.entity, "ops", self.ops.retries)
            self.p.earlier.read(self.entity, "xero", self.xero.retries)

    def run(self) -> EntityPlanner:
        """Plan the entity; from a complete ops scan when the changes alone do not tell.
        Returns the planner whose plan stands."""
        try:
            self._run()
        except RescanOps:
            again = EntityPlanner(self.p, self.whole, self.entity, full=True)
            again._run()
            return again
        return self

    def _run(self) -> None:
        # what an earlier round of a preview planned: left alone (see :class:`Earlier`)
        earlier = self.p.earlier
        if earlier is not None and not earlier.applied:
            self.ops.done = earlier.ops.get(self.entity, NONE)
            self.xero.done = earlier.xero.get(self.entity, NONE)
        # Xero first: the ops scan asks whether Xero listed anything new (see ``_scan_ops``)
        xs = self._scan(self.xero.side, self.p.cursor("xero", self.entity))
        # the records a preview's earlier round planned, listed again by this round's overlap:
        # as the run would find them once that round is applied, as its bases hold them
        relisted = bool(self.xero.done) and any(r.id in self.xero.done for r in xs.records)
        if relisted:
            xs.records = [r for r in xs.records if r.id not in self.xero.done]
        self.xero.listed(xs)
        self.ops.listed(self._scan(self.ops.side, None) if self.full else self._scan_ops())
        if self._quiet():
            if isinstance(self.xero.side, SupportsUnchanged) and (xs.records or relisted):
                self.xero.side.unchanged(self.entity)  # its own writes, read back: nothing new
            self._moved_on()
            return
        self.xero_refs, self.ops_known = self.p.refs_for(self.entity)
        # this entity's own copy: pairs made while planning join it
        self.ops.links = Grown(self.p.links_of(self.entity))
        self.xero.links = Grown(self.p.ids.owners(self.entity))
        # the links of what either side listed, looked up at once (the run holds no others)
        self.ops.links.load(self.ops.records)
        self.xero.links.load(self.xero.records)
        self.aliases = self.p.ids.aliases(self.entity)
        self.bases = LazyBases(self.ledger, self.entity, self.p.ids.based(self.entity))
        for view in (self.xero, self.ops):
            scan = view.scan
            for record_id, reason in scan.rejected:
                self.plan.rejected.append(Rejection(self.entity, *view.ids(record_id),
                                                    record_id, reason))
            listed_nothing = (not scan.records if scan.complete
                              else scan.ids is not None and not scan.ids)
            # Xero lists no allocation once the last is taken back: an empty list of them is
            # news, not a failed read (one that lost the organisation empties the rest too)
            normal = view is self.xero and self.entity in GONE_FOR_GOOD
            if self.ops.links and listed_nothing and not scan.rejected and not normal:
                self.plan.empty_sides.append((self.entity, view.name))
        self._orphaned_lines(self.ops.scan)
        self._payments_of_paired()
        self._follow_merges()
        self._load_retries()
        self._load_conflicts()
        self._linked()
        self._unlinked()
        if self.moves:
            labels = {i: label_of(self.spec, self.ops.records[i].fields, i) for i in self.moves}
            carry(self.plan.steps, self.entity, self.moves, self.ops.links, labels)
        self._moved_on()
        if isinstance(self.xero.side, SupportsUnchanged) and (xs.records or relisted) \
                and self._xero_as_last_seen():
            self.xero.side.unchanged(self.entity)

    def _moved_on(self) -> None:
        """The cursors the scans end at, stored once the plan is applied. Xero's moves for
        push-only entities too: their Xero side is read to merge against, and an incremental
        read with the base standing in for what it did not list costs one page, not the whole
        entity."""
        self.plan.cursors.append(("xero", self.entity, self.xero.scan.cursor))
        if self.flows.to_xero and not self.xero.scan.more:
            self.plan.cursors.append(("ops", self.entity, self.ops.scan.cursor))

    def _quiet(self) -> bool:
        """Whether nothing of the entity can need a step, known without reading the links or
        the bases whole: both sides read incrementally and listed no record and no rejection
        (but xsync's own writes to Xero, read back: ``_only_read_back``), no row
        whose base vouches for it is gone, every link has such a base, and nothing waits on
        a record (a retry, a conflict, a contact merged, a bill paired this run). A cycle
        with nothing changed then costs the two listings, whatever the size of the books."""
        xs, os_, known = self.xero.scan, self.ops.scan, self.known
        if (known is None or xs.complete or xs.more or os_.more or os_.records
                or len(xs.records) > READ_BACK_LOOKUPS
                or xs.rejected or os_.rejected or os_.rejected_lines):
            return False
        if os_.complete or (os_.ids is None and not os_.as_known):
            # nothing vouched for: quiet only where the ops side has no row and nothing is linked
            if not os_.complete or self.ledger.has_links(self.entity):
                return False
        elif os_.ids is not None and (
                known.keys() - os_.ids or (not os_.ids and self.ledger.has_links(self.entity))):
            return False  # a row gone, or every row (an empty side is reported, not planned)
        entity = self.entity
        # ``known`` is set: the ops side was listed by ``_scan_ops``, which read what waits
        if any(self.waiting) or self.ledger.retries(entity, "xero"):
            return False
        if entity == "payments" and self.p.paired_now.get("bills"):
            return False
        if (entity in DOCUMENTS and (self.flows.to_ops or self.flows.computed)
                and self.p.merges(self.whole)):
            return False
        unvouched = known.unvouched()
        if unvouched is not None and unvouched != 0:
            return False
        if unvouched is None and self.ledger.unvouched_links(entity, self.margin // MICROSECOND):
            return False
        return not xs.records or self._only_read_back()

    def _all_linked(self) -> dict[str, str] | None:
        """The ops id each record the Xero scan listed is linked to, looked up by key (once),
        where every one is linked and they are few enough to look up; else ``None``."""
        if not self._owners_read:
            self._owners_read = True
            listed = self.xero.scan.records
            if len(listed) <= READ_BACK_LOOKUPS:
                found = {r.id: self.ledger.ops_id_of(self.entity, r.id) for r in listed}
                linked = {x: o for x, o in found.items() if o is not None}
                self._owners = linked if len(linked) == len(found) else None
        return self._owners

    def _only_read_back(self) -> bool:
        """Whether every record the Xero scan listed is linked and hashes as its base has it
        (xsync's own writes, read back by the next incremental scan), each looked up by its
        id: then Xero has nothing new, and neither the links nor the bases are read whole."""
        owners = self._all_linked()
        if owners is None:
            return False
        bases = self.ledger.bases_of(self.entity, list(owners.values()))
        self.as_based = set()
        return all(self._as_based(r, bases.get(owners[r.id])) for r in self.xero.scan.records)

    def _as_based(self, record: Record, base: Base | None) -> bool:
        """Whether a Xero record hashes as its base has it (noted in ``self.as_based``)."""
        if base is None or not hashes_as(record, base.xero_hash):
            return False
        self.as_based.add(record.id)
        return True

    def _xero_as_last_seen(self) -> bool:
        """Whether every record the Xero scan listed is linked and hashes as its base has it
        (xsync's own writes, read back by the next incremental scan): nothing new in Xero."""
        xs = self.xero.scan
        return not xs.rejected and all(r.id in self.as_based for r in xs.records)

    def _scan_ops(self) -> ScanResult:
        """The ops side's changes: every row but those its base vouches for (a change time
        that proves the row unchanged), where the side can list them so; else a full scan.
        What waits on a record (a retry, a conflict) has its row listed whatever its time.
        A new record is checked against the linked ones it might clash with (a number, a
        contact's keys) on the Xero side, which is looked up for it (``_widen_xero``)."""
        side = self.ops.side
        if not isinstance(side, SupportsChangedScan):
            return self._scan(side, self.p.cursor("ops", self.entity))
        # what waits on a record, read once (the quiet check asks the same)
        self.waiting = waiting_on(self.ledger, self.entity)
        known = vouched_now(self.ledger, self.entity, self.margin, self.waiting)
        # Xero listed something new of the entity: what that writes makes a proof stale at once
        # (records already linked are most often xsync's own writes, read back)
        xs = self.xero.scan
        known.proving = not (xs.more or xs.rejected
                             or (xs.records and self._all_linked() is None))
        self.known = known
        if not known:
            return self._scan(side, self.p.cursor("ops", self.entity))
        try:
            scan = side.scan_changed(self.entity, known)
        except FATAL:
            raise
        except Exception as exc:
            raise unread(self.entity, side.name, exc) from exc
        if known.proved is not None:
            self.plan.proofs.append(known.proved)
        if known.stale:
            self.plan.stale_proofs.append(self.entity)
        return scan

    def _payments_of_paired(self) -> None:
        """A bill first matched this run may have been paid in Xero long before: its payments
        are older than the payments cursor, so they are looked up (a failed lookup is a failed
        read of payments)."""
        if self.entity != "payments" or not isinstance(self.xero.side, SupportsFind):
            return
        bills = sorted(self.p.paired_now.get("bills", set()))
        if not bills:
            return
        found, _ = self._find(self.xero, "bill_id", bills)
        for record in found:
            if record.fields.get("bill_id") in bills:
                self.xero.records.setdefault(record.id, record)

    def _follow_merges(self) -> None:
        """Ops documents naming a contact merged in Xero are planned as naming the survivor,
        and, where the workspace merges such contacts, get an ops write saying so
        (``self.moves``); where it links them, they keep naming it in ops."""
        if self.entity not in DOCUMENTS or not (self.flows.to_ops or self.flows.computed):
            return
        merges = self.p.merges(self.whole)
        if not merges:
            return
        side = self.ops.side
        if isinstance(side, SupportsFind):
            found, _ = self._find(self.ops, "contact_id", sorted(merges))
        else:
            found = self._scan(side, None).records
        for record in found:
            old = record.fields.get("contact_id")
            if not old or old not in merges or record.id in self.ops.unknown:
                continue
            if self.p.rules.merged_contacts == "merge":
                self.moves[record.id] = (old, merges[old])
            self.ops.records[record.id] = repointed(record, merges[old])

    def _ops_gone(self, ops_id: str) -> bool:
        """Whether the ops scan shows, positively, that the record is not there."""
        if self.ops.scan.complete:
            return True
        if self.ops.scan.as_known:
            # the side holds exactly the rows vouched for: any other is gone
            return self.known is not None and ops_id not in self.known
        return self.ops.scan.ids is not None and ops_id not in self.ops.scan.ids

    def _load_retries(self) -> None:
        """Each side's records whose last apply failed: planned from again, read where the
        scan did not list them."""
        for view in (self.ops, self.xero):
            # a retry an earlier round of the run read has had its turn in this run
            view.retries = self.p.retries(self.entity, view.name)
            ids = [i for i in view.retries if i not in view.records]
            for record in self._fetch(view, ids):
                view.records[record.id] = record

    def _load_conflicts(self) -> None:
        for c in self.ledger.conflicts(open_only=False, entity=self.entity, unapplied=True):
            if c.field == "_match":
                self.matches.append(c)
            elif c.ops_id:
                self.resolved.setdefault(c.ops_id, {})[c.field] = (int(c.id or 0), c.resolution)
        for c in self.ledger.conflicts(open_only=True, entity=self.entity):
            if c.field == "_match":
                self.open_match[(c.ops_id, c.xero_id)] = int(c.id or 0)
            elif c.ops_id:
                self.open.setdefault(c.ops_id, {})[c.field] = int(c.id or 0)
                self.held.setdefault(c.ops_id, {})[c.field] = (c.ops, c.xero, c.reason)

    # -- linked pairs ----------------------------------------------------------------------------

    def _linked(self) -> None:
        # Xero ids of listed records found as their bases have them
        self.as_based = set()
        # the bases of every pair a record of either side was read for, in a few statements
        self.bases.load([*(o for o in self.ops.records if o in self.ops.links),
                         *(self.xero.links[x] for x in self.xero.records if x in self.xero.links)])
        todo: list[str] = []
        for ops_id in self._linked_to_look_at():
            xero_id = self.ops.links[ops_id]
            o, x = self.ops.records.get(ops_id), self.xero.records.get(xero_id)
            # read already (above) where either side's record was read; not needed otherwise
            base = self.bases.get(ops_id) if o is not None or x is not None else None
            # a Xero record listed again is always hashed: Xero may change a record within
            # the second of its stamp (a payment applied as the invoice was written), and
            # its stamps are on Xero's clock, not on the one that timed the base
            same = x is not None and self._as_based(x, base)
            if ops_id in self.ops.unknown or xero_id in self.xero.unknown:
                continue
            if x is None and self.xero.scan.more:
                # a later round may list its Xero record changed: it is looked at then, with
                # both sides' changes, never with its base standing in for a Xero side unread
                continue
            look = (
                ops_id not in self.bases
                or (o is not None and (base is None or self._ops_changed(o, base)))
                or (x is not None and not same)
                or (o is None and self._ops_gone(ops_id)) or (x is None and self.xero.scan.complete)
                or ops_id in self.resolved or ops_id in self.open
                or ops_id in self.ops.retries or xero_id in self.xero.retries
            )
            if look:
                todo.append(ops_id)
        self.bases.load(todo)
        need_x = []
        for ops_id in todo:
            xero_id = self.ops.links[ops_id]
            if xero_id in self.xero.records:
                continue
            known = self._xero_as_based(ops_id, xero_id)
            if known is not None:
                self.xero.records[xero_id] = known
                self.based.add(xero_id)
            else:
                need_x.append(xero_id)
        for record in self._fetch(self.xero, need_x):
            self.xero.records[record.id] = record
        need_o = [o for o in todo if o not in self.ops.records and not self._ops_gone(o)]
        for record in self._fetch(self.ops, need_o):
            self.ops.records[record.id] = record
        if not self.ops.scan.complete and any(o not in self.ops.records for o in need_o):
            # a row there but unreadable, that its change time kept out of the scan: only a
            # full scan says why (and nothing has been planned yet)
            raise RescanOps
        for ops_id in sorted(todo):
            if ops_id in self.ops.unknown or self.ops.links[ops_id] in self.xero.unknown:
                continue  # read, but not mapped: see ``_fetch``
            self._pair(ops_id, self.ops.links[ops_id], self.bases.get(ops_id))

    def _linked_to_look_at(self) -> list[str]:
        """The linked pairs that may need a step: every one where a scan was complete, else
        those with a record listed on either side, a base missing, a row gone, a conflict
        resolved or open, or a retry waiting (sorted). Any other pair is unchanged on both
        sides, so a cycle with few changes looks at few pairs, not at every link."""
        links, rev = self.ops.links, self.xero.links
        if self.xero.scan.complete or self.ops.scan.complete:
            return sorted(links)
        look = {o for o in self.ops.records if o in links}
        look.update(rev[x] for x in self.xero.records if x in rev)
        look.update(o for o in (*self.resolved, *self.open, *self.ops.retries) if o in links)
        look.update(rev[x] for x in self.xero.retries if x in rev)
        # the links without a base: the run's (kept as it links and stores bases) and any this
        # planning made
        look.update(self.p.ids.unbased(self.entity))
        look.update(o for o in links.added() if o not in self.bases.present)
        # (each link read once, a page at a time: never every link held at once)
        if self.ops.scan.ids is not None:
            listed, gone, known = self.ops.scan.ids, self.ops.scan.gone, self.known
            if gone is not None and known is not None and known.unvouched() == 0:
                # every link has a base that vouches: a link whose row is gone is one of the
                # vouched ids the listing found gone, or of those left out of its comparison
                look.update(o for o in (*gone, *known.left_out())
                            if o in links and o not in listed)
            else:
                look.update(o for o in links if o not in listed)
        elif self.ops.scan.as_known and self.known is not None and self.known.unvouched() != 0:
            # the links without a vouching base (none, when the bases' text counted none)
            known = self.known
            look.update(o for o in links if o not in known)
        return sorted(look)

    def _ops_changed(self, record: Record, base: Base) -> bool:
        """Whether an ops row differs from its base. A row found by its content to be as the
        base has it, with a change time well in the past, is noted (``Plan.confirmed``), so the
        next run trusts that change time and does not hash the row again."""
        if trusted(record, base.ops_updated_at, base.synced_at, self.margin):
            return False
        if not hashes_as(record, base.ops_hash):
            return True
        stamp = record.updated_at
        if stamp is not None and self.p.now() - stamp > self.margin:
            self.plan.confirmed.append((self.entity, record.id, iso(stamp)))
        return False

    def _xero_as_based(self, ops_id: str, xero_id: str) -> Record | None:
        """The Xero record as its base holds it, when that is known to be what Xero holds: an
        incremental scan did not list it (unchanged since the cursor), and its base was stored
        with both sides in agreement and nothing left to retry. Saves fetching, by id, records
        Xero did not change; ``None`` where Xero must be asked."""
        base = self.bases.get(ops_id)
        if (self.xero.scan.complete or base is None or base.xero_hash is None
                or xero_id in self.xero.retries or base.snapshot.get("unknown")):
            return None
        fields = dict(base.snapshot["fields"])
        for name, target in self.spec.refs.items():
            value = fields.get(name)
            if value:
                twin = self.p.xero_ids(target).get(value)
                if twin is None:
                    return None
                fields[name] = twin
        lines = None
        if base.snapshot.get("lines") is not None:
            lines = [Line(pair.get("xero"), dict(pair["fields"]))
                     for pair in base.snapshot["lines"]]
            if any(line.id is None for line in lines):
                return None
        stamp = datetime.fromisoformat(base.xero_updated_at) if base.xero_updated_at else None
        return Record(self.entity, xero_id, fields, lines, stamp)

    def _gone(self, base: Base | None, side: str) -> Record | None:
        """A linked record a complete scan no longer lists: its base, marked deleted."""
        if base is None or "status" not in self.spec.fields:
            return None
        fields = dict(base.snapshot["fields"])
        fields["status"] = "archived" if self.entity == "contacts" else "deleted"
        if side == "xero":
            # the base holds references in ops ids; a Xero record names Xero's
            for name, target in self.spec.refs.items():
                value = fields.get(name)
                if value and value.startswith(XERO_REF):
                    fields[name] = value.removeprefix(XERO_REF)
                elif value:
                    fields[name] = self.p.xero_ids(target).get(value, value)
        lines = None
        if base.snapshot.get("lines") is not None:
            lines = [Line(pair[side], dict(pair["fields"])) for pair in base.snapshot["lines"]]
        return Record(self.entity, base.ops_id if side == "ops" else base.xero_id, fields, lines)

    def _pair(self, ops_id: str, xero_id: str, base: Base | None, rule: str | None = None,
              recovers: list[int] | None = None) -> None:
        o, x = self.ops.records.get(ops_id), self.xero.records.get(xero_id)
        ops_gone = o is None
        xero_gone = x is None
        if o is None and not self._ops_gone(ops_id):
            return self._reject(ops_id, xero_id, ops_id, "could not be read from the ops store")
        if x is None and not self.xero.scan.complete:
            return self._reject(ops_id, xero_id, ops_id, "could not be read from Xero")
        o = o or self._gone(base, "ops")
        x = x or self._gone(base, "xero")
        if o is None or x is None:
            return None
        x_fields, problem = self.xero_fields(x, o.fields)
        if problem:
            return self._reject(ops_id, xero_id, label_of(self.spec, o.fields, ops_id), problem,
                                x)
        snapshot = base.snapshot if base else None
        if self._settled(snapshot, o.fields, x_fields, ops_gone or xero_gone):
            return None
        if self.creates_up and snapshot is not None and not xero_gone:
            edit = (deposits.removed(self.entity, ops_id, xero_id) if ops_gone
                    else deposits.edited(self.spec, snapshot, o.fields, x_fields, ops_id))
            if edit:
                return self._reject(ops_id, xero_id, label_of(self.spec, o.fields, ops_id), edit)
        pair = Pair(ops_id, xero_id, o, x, x_fields, snapshot, ops_gone, xero_gone, rule,
                    self.resolved.get(ops_id, {}), self.open.get(ops_id, {}),
                    self.held.get(ops_id, {}))
        step = self.builder.pair(pair)
        deposits.keep_create_only(self.spec, step, snapshot, o.fields)
        step.recovers = list(recovers or [])
        if xero_id in self.based and base is not None and step.to_xero is None:
            # Xero was not read: what is known of it is still what the base saw
            step.xero_seen = Seen(base.xero_hash, base.xero_updated_at)
        self.plan.steps.append(step)
        return None

    def _settled(self, base: dict[str, Any] | None, ops: Fields, xero: Fields,
                 gone: bool) -> bool:
        """A document deleted or voided on both sides (and in the base) is never touched again;
        a record gone from one side that the other already mirrors needs nothing either."""
        if base is None or "status" not in self.spec.fields:
            return False
        statuses = (base["fields"].get("status"), ops.get("status"), xero.get("status"))
        if self.entity in DOCUMENTS and all(s in TERMINAL for s in statuses):
            return True
        return gone and statuses[0] == statuses[1] == statuses[2]

    # -- references ------------------------------------------------------------------------------

    def xero_fields(self, record: Record,
                    ops: Fields | None = None) -> tuple[Fields, str | None]:
        """Xero's fields with references turned into ops ids (or ``@xero:`` placeholders).

        ``ops``: the fields of the record's ops twin; where it names another ops name of the
        same Xero record (an alias), that name is kept: both say the same."""
        fields = dict(record.fields)
        for name, target in self.spec.refs.items():
            value = fields.get(name)
            if not value:
                continue
            refs, _ = self.p.refs_for(target)
            if value not in refs:
                noun = target.rstrip("s").replace("_", " ")
                return fields, f"{noun} {value} is not in the ops store yet"
            mine = ops.get(name) if ops else None
            if mine and mine != refs[value] and self.p.xero_ids(target).get(mine) == value:
                fields[name] = mine
            else:
                fields[name] = refs[value]
        return fields, None

    def ops_refs_problem(self, record: Record) -> str | None:
        for name, target in self.spec.refs.items():
            value = record.fields.get(name)
            if not value:
                continue
            _, known = self.p.refs_for(target)
            if value not in known:
                noun = target.rstrip("s").replace("_", " ")
                return f"{noun} {value} is not in Xero yet"
        return None

    def _reject(self, ops_id: str | None, xero_id: str | None, label: str, reason: str,
                record: Record | None = None) -> None:
        waits = self._waits_for(record) if record is not None else None
        if waits:
            # not an error of its own: it follows a conflict once that is resolved, and so do
            # the records that refer to it
            self.p.held.setdefault(self.entity, set()).update(i for i in (ops_id, xero_id) if i)
            self.plan.skipped.append(Rejection(self.entity, ops_id, xero_id, label, waits))
            return
        self.plan.rejected.append(Rejection(self.entity, ops_id, xero_id, label, reason))

    def _waits_for(self, record: Record) -> str | None:
        for name, target in self.spec.refs.items():
            value = record.fields.get(name)
            if value and value in self.p.held.get(target, set()):
                noun = target.rstrip("s").replace("_", " ")
                return f"waits for the conflict on {noun} {value} (xsync resolve)"
        return None

    # -- unlinked records ------------------------------------------------------------------------

    def _unlinked(self) -> None:
        lone_ops = {r.id: r for r in self.ops.records.values()
                    if r.id not in self.ops.links and r.id not in self.aliases
                    and r.id not in self.ops.done and not self._deleted(r)}
        lone_xero = {r.id: r for r in self.xero.records.values()
                     if r.id not in self.xero.links and not self._deleted(r)}
        # a round of a read in rounds: the rest of Xero is not listed yet, so an ops record
        # this round's Xero records do not match waits for the last round (its twin may be
        # further on), where it is looked up, matched or created as it would be in one read
        later = self.xero.scan.more
        if lone_ops and self.flows.to_xero and not later:
            for key in lookup_fields(self.spec):
                self._held_by_unreadable(key, self.xero.scan.rejected_keys, lone_ops)
            if not self.xero.scan.complete:
                self._widen_xero(lone_ops, lone_xero)
        self._load_claim_conflicts()
        forced_new = self._forced(lone_ops, lone_xero)
        self._recover(lone_ops, lone_xero)
        if self.flows.to_xero and not later:
            self._claimed(lone_ops)
        candidates_o = [r for r in lone_ops.values() if r.id not in forced_new]
        found = match(self.spec, candidates_o, [self._for_match(r) for r in lone_xero.values()])
        for ops_id, xero_id, rule in found.pairs:
            self._link_pair(lone_ops.pop(ops_id), lone_xero.pop(xero_id), rule)
        for amb in found.ambiguous:
            self.p.held.setdefault(self.entity, set()).update(amb.ops_ids + amb.xero_ids)
            self._ambiguous(amb.ops_ids, amb.xero_ids, amb.key, amb.value)
            for i in amb.ops_ids:
                lone_ops.pop(i, None)
            for i in amb.xero_ids:
                lone_xero.pop(i, None)
        if self.flows.to_xero and not later:
            self._possible_duplicates(lone_ops, forced_new)
            for record in lone_ops.values():
                self._create_in_xero(record)
        elif self.creates_up and not later:
            self._create_recorded(list(lone_ops.values()))
        if self.flows.to_ops:
            for record in _named_first(self.entity, lone_xero):
                self._create_in_ops(record)
        self._close_claims()

    def _for_match(self, record: Record) -> Record:
        """A Xero record as matching compares it: references in ops ids."""
        if not self.spec.refs:
            return record
        return Record(record.entity, record.id, self.xero_fields(record)[0], record.lines,
                      record.updated_at)

    def _deleted(self, record: Record) -> bool:
        """A deleted document is never matched nor created: its number may live on elsewhere."""
        return self.entity in DOCUMENTS and record.fields.get("status") == "deleted"

    def _widen_xero(self, lone_ops: dict[str, Record], lone_xero: dict[str, Record]) -> None:
        """An incremental scan does not list old Xero records: look further before creating.
        A lookup that fails is a failed read: without it a create could duplicate a record. A
        record found that cannot be read holds back, alone, each ops record it may be the twin
        of (see ``_held_by_unreadable``)."""
        found: list[Record] = []
        if isinstance(self.xero.side, SupportsFind):
            for key in lookup_fields(self.spec):
                values = sorted({v for r in lone_ops.values() if (v := r.fields.get(key))})
                if (self.entity, key) in UNIQUE_IN_XERO:
                    # a value this scan listed has its one Xero record here already
                    listed = {r.fields.get(key) for r in lone_xero.values()}
                    values = [v for v in values if v not in listed]
                if not values:
                    continue
                readable, unreadable = self._find(self.xero, key, values)
                found += readable
                self._held_by_unreadable(key, unreadable, lone_ops)
        else:
            found = self._scan(self.xero.side, None).records
        for record in found:
            if record.id in self.xero.links:
                self.linked_found.append(record)
            elif record.id not in self.xero.records:
                self.xero.records[record.id] = record
                lone_xero[record.id] = record

    def _held_by_unreadable(self, key: str, unreadable: Mapping[str, Fields],
                            lone_ops: dict[str, Record]) -> None:
        """Each ops record with the ``key`` of a Xero record xsync cannot read (its keys, by
        id) is held back, named: it may be that record's twin, and neither is matched nor
        created until the Xero one can be read."""
        by_value = {normalise(key, keys.get(key)): xero_id
                    for xero_id, keys in unreadable.items()}
        by_value.pop(None, None)
        if not by_value:
            return
        noun = self.entity.rstrip("s").replace("_", " ")
        for record in list(lone_ops.values()):
            xero_id = by_value.get(normalise(key, record.fields.get(key)))
            if xero_id is None:
                continue
            del lone_ops[record.id]
            label = label_of(self.spec, record.fields, record.id)
            self.plan.rejected.append(Rejection(
                self.entity, record.id, None, label,
                f"not created in Xero: Xero has a {noun} with {key} "
                f"{record.fields.get(key)!r} ({xero_id}) that xsync cannot read (see its own "
                f"line); fix that one in Xero, then sync again"))

    # -- records that would take over a linked one's twin ------------------------------------------

    def _load_claim_conflicts(self) -> None:
        """Open number clashes and possible duplicates of unlinked ops records, by ops id."""
        for c in self.ledger.conflicts(open_only=True, entity=self.entity):
            if c.field == "_number" and c.ops_id:
                self.open_claims[c.ops_id] = int(c.id or 0)

    def _linked_records(self) -> list[tuple[str, Fields, str]]:
        """(ops id, fields in ops ids, who) of every linked record either side showed us."""
        out: list[tuple[str, Fields, str]] = []
        for ops_id, record in self.ops.records.items():
            if ops_id in self.ops.links:
                out.append((ops_id, record.fields, f"ops {ops_id}"))
        xero_linked = [r for r in self.xero.records.values() if r.id in self.xero.links]
        for record in xero_linked + self.linked_found:
            out.append((self.xero.links[record.id], self.xero_fields(record)[0],
                        f"Xero {record.id} (linked to ops {self.xero.links[record.id]})"))
        return out

    def _claimed(self, lone_ops: dict[str, Record]) -> None:
        """A new document whose number a linked one holds, or several new ones sharing a
        number: a conflict naming them all, and nothing written for any of them."""
        fields = CLAIMS.get(self.entity)
        if not fields or not lone_ops:
            return
        noun = self.entity.rstrip("s")
        holders: dict[tuple[str | None, ...], set[str]] = {}
        for _ops_id, values, who in self._linked_records():
            key = key_of(fields, values)
            if key is not None:
                holders.setdefault(key, set()).add(who)
        groups: dict[tuple[str | None, ...], list[Record]] = {}
        for record in lone_ops.values():
            if record.fields.get("status") in TERMINAL:
                continue
            key = key_of(fields, record.fields)
            if key is not None:
                groups.setdefault(key, []).append(record)
        for key, members in groups.items():
            held = holders.get(key, set())
            if not held and len(members) < 2:
                continue
            number = members[0].fields.get("number")
            for record in members:
                others = sorted(held | {f"ops {m.id}" for m in members if m is not record})
                reason = (f"{noun} number {number!r} of new ops {noun} {record.id} is already "
                          f"used by {', '.join(others)}; give one of them another number in "
                          "the ops platform (nothing is written for it until then)")
                self._claim_conflict(record, "_number", number, ", ".join(others), reason)
                lone_ops.pop(record.id, None)

    def _possible_duplicates(self, lone_ops: dict[str, Record], forced_new: set[str]) -> None:
        """A new contact whose ABN, email or name a linked contact has: ask, never create."""
        if self.entity != "contacts" or not lone_ops:
            return
        keys = [k for k in self.spec.match_keys if isinstance(k, str)]
        # key -> normalised value -> Xero ids of the linked contacts holding it
        index: dict[str, dict[str, set[str]]] = {k: {} for k in keys}
        for ops_id, values, _ in self._linked_records():
            for key in keys:
                value = normalise(key, values.get(key))
                if value is not None:
                    index[key].setdefault(value, set()).add(self.ops.links[ops_id])
        for record in list(lone_ops.values()):
            if record.id in forced_new:
                continue
            for key in keys:
                mine = normalise(key, record.fields.get(key))
                hits = sorted(index[key].get(mine, ())) if mine is not None else []
                if not hits:
                    continue
                label = label_of(self.spec, record.fields, record.id)
                owners = sorted({self.xero.links[x] for x in hits})
                reason = (f"possible duplicate: new ops contact {record.id} has the {key} "
                          f"{record.fields.get(key)!r} of ops contact {', '.join(owners)}, "
                          f"linked to Xero {', '.join(hits)}; `xsync resolve` links both to "
                          "that Xero contact (--take xero) or creates a new one (--take ops)")
                conflict = Conflict(self.entity, record.id, None, "_match", None,
                                    record.fields.get(key), ",".join(hits), reason, label,
                                    id=self.open_match.get((record.id, None)))
                step = Step(self.entity, record.id, None, label, conflicts=[conflict])
                step.actions.append(Action("conflict", "", self.entity, record.id, None, label,
                                           conflicts=[conflict], reason=reason))
                self.plan.steps.append(step)
                self.p.held.setdefault(self.entity, set()).add(record.id)
                lone_ops.pop(record.id)
                break

    def _claim_conflict(self, record: Record, field: str, value: str | None, others: str,
                        reason: str) -> None:
        label = label_of(self.spec, record.fields, record.id)
        conflict = Conflict(self.entity, record.id, None, field, None, value, others, reason,
                            label, id=self.open_claims.get(record.id))
        step = Step(self.entity, record.id, None, label, conflicts=[conflict])
        step.actions.append(Action("conflict", "", self.entity, record.id, None, label,
                                   conflicts=[conflict], reason=reason))
        self.plan.steps.append(step)
        self.claims_seen.add(record.id)
        self.p.held.setdefault(self.entity, set()).add(record.id)

    def _close_claims(self) -> None:
        """A clash that no longer holds (a number changed, a row removed) is closed."""
        for ops_id, conflict_id in self.open_claims.items():
            if ops_id not in self.claims_seen:
                self.plan.steps.append(Step(self.entity, ops_id, None, ops_id,
                                            closes=[conflict_id]))

    def _forced(self, lone_ops: dict[str, Record], lone_xero: dict[str, Record]) -> set[str]:
        """Ambiguous matches settled by hand: link to the chosen record, or create anew."""
        forced_new: set[str] = set()
        for c in self.matches:
            if not c.ops_id or c.ops_id not in lone_ops:
                continue
            choice = c.resolution or ""
            if c.resolved_take == "xero" and not choice:
                choice = (c.xero or "").split(",")[0]
            if choice and choice not in lone_xero and choice not in self.xero.links:
                for record in self._fetch(self.xero, [choice]):
                    if record.id not in self.xero.links:
                        lone_xero[record.id] = record
            if choice and choice in lone_xero:
                self._link_pair(lone_ops.pop(c.ops_id), lone_xero.pop(choice),
                                "resolved:match", settles=[int(c.id or 0)])
            elif choice and choice in self.xero.links and self.entity == "contacts":
                # one Xero contact for two ops contacts: the new one follows the linked one
                record = lone_ops.pop(c.ops_id)
                label = label_of(self.spec, record.fields, record.id)
                reason = (f"ops contact {record.id} is the same Xero contact as ops contact "
                          f"{self.xero.links[choice]}")
                step = Step(self.entity, record.id, choice, label, alias=True,
                            settles=[int(c.id or 0)])
                step.actions.append(Action("link", "", self.entity, record.id, choice, label,
                                           reason=reason))
                if self.p.rules.merged_contacts == "merge":
                    self._merge_alias(step, record, self.xero.links[choice])
                self.plan.steps.append(step)
                self.ops_known.add(record.id)
            elif not choice:
                forced_new.add(c.ops_id)
                self.plan.steps.append(Step(self.entity, c.ops_id, None, c.ops_id,
                                            settles=[int(c.id or 0)]))
        return forced_new

    def _merge_alias(self, step: Step, record: Record, survivor: str) -> None:
        """The ops contact settled as another's Xero contact is merged into that one: archived,
        ``merged_into`` naming it (its documents then follow, see :mod:`merged`)."""
        status = record.fields.get("status")
        changes = [FieldChange("merged_into", record.fields.get("merged_into"), survivor,
                               MERGED_RULE)]
        write: dict[str, Any] = {"merged_into": survivor}
        if status != "archived":
            changes.insert(0, FieldChange("status", status, "archived", MERGED_RULE))
            write["status"] = "archived"
        step.to_ops = Write("ops", "update", write)
        step.actions.append(Action("update", TO_OPS, self.entity, record.id, step.xero_id,
                                   step.label, changes,
                                   reason=f"merged into ops contact {survivor}, the same "
                                          "Xero contact"))

    def _recover(self, lone_ops: dict[str, Record], lone_xero: dict[str, Record]) -> None:
        """Creates a crash left unknown: link to what reached the side, never create twice.
        A create not found is sent again through its own outbox row (same idempotency key)."""
        unlinked = {v.name: {i: r for i, r in v.records.items() if i not in v.links}
                    for v in (self.ops, self.xero)}
        for origin in (self.ops, self.xero):
            target = origin.other
            mine, pool = unlinked[origin.name], unlinked[target.name]
            for row in self.ledger.outbox_pending(self.entity, target.name):
                origin_id = row[f"{origin.name}_id"]
                if origin_id not in mine:
                    # linked since, or gone: nothing is left to find out
                    self.plan.steps.append(Step(self.entity, row["ops_id"], row["xero_id"],
                                                origin_id or "", recovers=[row["id"]]))
                    continue
                sent = {k: v for k, v in row["payload"]["fields"].items()
                        if k not in self.spec.create_only}
                hit = next((r for r in pool.values() if _carries(r.fields, sent)), None)
                if hit is None:
                    # edited on its side since: the one record with what it sent of a key
                    hit = _known_by(self.spec, pool.values(), sent)
                if hit is None:
                    origin.pending[origin_id] = row["id"]
                    continue
                sent_from, landed = mine.pop(origin_id), pool.pop(hit.id)
                o, x = (sent_from, landed) if origin is self.ops else (landed, sent_from)
                lone_ops.pop(o.id, None)
                lone_xero.pop(x.id, None)
                # what the lost create wrote is the last synced value of each field: what it
                # sent (the record may have been edited since on the side it reached, and that
                # edit is a change of that side's, never overwritten as if the other's)
                if target is self.xero:
                    written = self.xero_fields(Record(x.entity, x.id, _as_sent(x.fields, sent),
                                                      x.lines, x.updated_at))[0]
                else:
                    written = _as_sent(o.fields, row["payload"]["fields"])
                if target is self.xero and self.entity in deposits.CREATES_ONLY:
                    # what xsync filled in for the create never reached the ops row
                    written = {k: v if o.fields.get(k) is not None else None
                               for k, v in written.items()}
                self._link_pair(o, x, "recovered:outbox", recovers=[row["id"]],
                                base={"fields": written, "lines": None})

    def _link_pair(self, o: Record, x: Record, rule: str, settles: list[int] | None = None,
                   recovers: list[int] | None = None,
                   base: dict[str, Any] | None = None) -> None:
        self.ops.records[o.id] = o
        self.xero.records[x.id] = x
        self.p.paired_now.setdefault(self.entity, set()).add(x.id)
        self.ops.links[o.id] = x.id
        self.xero.links[x.id] = o.id
        self.xero_refs[x.id] = o.id
        self.ops_known.add(o.id)
        before = len(self.plan.steps)
        known = Base(o.id, x.id, base, None, None, None, None) if base else None
        self._pair(o.id, x.id, known, rule, recovers)
        if len(self.plan.steps) > before:
            self.plan.steps[-1].settles += list(settles or [])

    def _ambiguous(self, ops_ids: list[str], xero_ids: list[str], key: str, value: str) -> None:
        for ops_id in ops_ids:
            record = self.ops.records[ops_id]
            label = label_of(self.spec, record.fields, ops_id)
            reason = (f"ambiguous match: {len(xero_ids)} Xero and {len(ops_ids)} ops "
                      f"{self.entity} share {key} {value!r}")
            conflict = Conflict(self.entity, ops_id, None, "_match", None, value,
                                ",".join(sorted(xero_ids)), reason, label,
                                id=self.open_match.get((ops_id, None)))
            step = Step(self.entity, ops_id, None, label, conflicts=[conflict])
            step.actions.append(Action("conflict", "", self.entity, ops_id, None, label,
                                       conflicts=[conflict], reason=reason))
            self.plan.steps.append(step)

    def _create_in_xero(self, record: Record) -> None:
        label = label_of(self.spec, record.fields, record.id)
        status = record.fields.get("status")
        if self.entity in DOCUMENTS and status in TERMINAL:
            return
        rules = self.p.rules.entity(self.entity)
        if self.entity in DOCUMENTS and rules.push_only_when_approved and status == "draft":
            self.plan.skipped.append(Rejection(self.entity, record.id, None, label,
                                               "draft: only approved documents are pushed"))
            return
        total = record.fields.get("total")
        if rules.min_total is not None and total is not None and _below(total, rules.min_total):
            self.plan.skipped.append(Rejection(self.entity, record.id, None, label,
                                               f"total {total} is below min_total "
                                               f"{rules.min_total}"))
            return
        problem = self.ops_refs_problem(record)
        if problem:
            return self._reject(record.id, None, label, problem, record)
        self.ops_known.add(record.id)
        step = self.builder.create_in_xero(record)
        if step.to_xero is not None:
            step.to_xero.outbox_id = self.ops.pending.get(record.id)
        self.plan.steps.append(step)
        return None

    def _create_recorded(self, records: list[Record]) -> None:
        """Deposits and allocations the ops platform recorded: created in Xero, held until
        what they name is there, or rejected alone (see :mod:`xsync.sync.deposits`)."""
        for record, verdict in deposits.judge(self, records):
            label = label_of(self.spec, record.fields, record.id)
            if verdict.kind == "reject":
                self._reject(record.id, None, label, verdict.reason, record)
            elif verdict.kind == "hold":
                self.plan.skipped.append(Rejection(self.entity, record.id, None, label,
                                                   verdict.reason))
            elif verdict.kind == "push" and verdict.record is not None:
                self.ops_known.add(record.id)
                step = self.builder.create_in_xero(verdict.record)
                if step.to_xero is not None:
                    step.to_xero.outbox_id = self.ops.pending.get(record.id)
                if verdict.fill:
                    step.to_ops = Write("ops", "update", dict(verdict.fill))
                    step.actions.append(Action(
                        "update", TO_OPS, self.entity, record.id, None, label,
                        [FieldChange(k, None, v, "deposit:date-xero-needs")
                         for k, v in verdict.fill.items()]))
                self.plan.steps.append(step)

    def _elsewhere(self, record: Record) -> bool:
        """A Xero record on a document the ops side does not hold, and never will from Xero
        (a payment on a bill entered in Xero, where bills are pushed only): not ops' business.
        Should the ops side's bill later be matched to it, its payments are looked up then."""
        for name, target in self.spec.refs.items():
            value = record.fields.get(name)
            if not value or target not in DOCUMENTS:
                continue
            refs, _ = self.p.refs_for(target)
            if value not in refs and not self.p.rules.flows(target, "sync")[0]:
                return True
        return False

    def _create_in_ops(self, record: Record) -> None:
        if self.entity in DOCUMENTS and record.fields.get("status") == "deleted":
            return
        fields, problem = self.xero_fields(record)
        if problem and self._elsewhere(record):
            return None
        if problem:
            label = label_of(self.spec, record.fields, record.id)
            return self._reject(None, record.id, label, problem, record)
        self.xero_refs[record.id] = XERO_REF + record.id
        step = self.builder.create_in_ops(record, fields)
        if step.to_ops is not None:
            step.to_ops.outbox_id = self.xero.pending.get(record.id)
        self.plan.steps.append(step)
        return None


def _named_first(entity: str, records: dict[str, Record]) -> list[Record]:
    """``records`` (by id), each one that names another of them through a reference of the
    entity to itself (a contact merged into one that is new here too) after the one it names,
    so that the one named is planned first and can be referred to; a loop keeps its order."""
    own = spec(entity).own_refs
    if not own:
        return list(records.values())
    out: list[Record] = []
    placed: set[str] = set()
    for first in records.values():
        # depth first without recursion: a record goes out once all it names are out
        stack: list[tuple[Record, bool]] = [(first, False)]
        opened: set[str] = set()
        while stack:
            record, ready = stack.pop()
            if record.id in placed:
                continue
            if ready:
                placed.add(record.id)
                out.append(record)
                continue
            if record.id in opened:
                continue  # a loop: taken where it was met
            opened.add(record.id)
            stack.append((record, True))
            for name in own:
                target = record.fields.get(name)
                if target and target != record.id and target in records:
                    stack.append((records[str(target)], False))
    return out


def _carries(fields: Fields, sent: dict[str, Any]) -> bool:
    """Whether a record holds every value a lost create sent (text compared normalised)."""
    for key, value in sent.items():
        if value is None:
            continue
        if normalise(key, fields.get(key)) != normalise(key, str(value)):
            return False
    return True


def _known_by(spec: EntitySpec, pool: Iterable[Record], sent: dict[str, Any]) -> Record | None:
    """The one record holding what a lost create sent of a business key (a number, an ABN, an
    email), in the order the spec trusts them; none where a key is shared (matching flags it)."""
    records = list(pool)
    for key in spec.match_keys:
        names = key_fields(key)
        wanted = key_of(names, _as_sent({n: None for n in names}, sent))
        if wanted is None:
            continue
        found = [r for r in records if key_of(names, r.fields) == wanted]
        if found:
            return found[0] if len(found) == 1 else None
    return None


def _as_sent(fields: Fields, sent: Mapping[str, Any]) -> dict[str, str | None]:
    """A record's fields with, in place of each one a create sent, the value it sent."""
    return {k: (None if sent[k] is None else str(sent[k])) if k in sent else v
            for k, v in fields.items()}


def _below(total: str, minimum: Any) -> bool:
    from decimal import Decimal, InvalidOperation

    try:
        return Decimal(total) < Decimal(minimum)
    except InvalidOperation:
        return False
