"""What each entity type holds, how its fields are typed, and which side may write them.

Invariants the engine relies on:
- ``fields`` and ``line_fields`` list every canonical field; values are text or ``None``.
- ``xero_computed`` fields are computed by Xero (totals, balances): they flow Xero -> ops only and
  are never sent to Xero.
- ``refs`` maps a field to the entity it points at; each side stores its own id there.
- ``create_only`` fields are what the ops side gives only to create the record in Xero (what
  Xero needs to make it and never gives back): sent with the create, kept in the base, never
  merged, compared with Xero nor read from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Direction = Literal["both", "pull", "push"]
Kind = Literal["text", "money", "quantity", "date", "status", "ref"]
# a field, or fields that must all agree, identifying one record on both sides
MatchKey = str | tuple[str, ...]


@dataclass(frozen=True)
class EntitySpec:
    name: str
    fields: tuple[str, ...]
    kinds: dict[str, Kind] = field(default_factory=dict)
    line_fields: tuple[str, ...] = ()
    line_kinds: dict[str, Kind] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    xero_computed: frozenset[str] = frozenset()
    line_xero_computed: frozenset[str] = frozenset()
    direction: Direction = "both"
    # the field a person knows the record by (invoice number, contact name)
    label: str = "id"
    # business keys used to match unlinked records on first contact, in order of trust
    match_keys: tuple[MatchKey, ...] = ()
    # ops-only inputs of a create in Xero (see the module's invariants)
    create_only: tuple[str, ...] = ()

    @property
    def has_lines(self) -> bool:
        return bool(self.line_fields)

    @property
    def own_refs(self) -> tuple[str, ...]:
        """The reference fields that point at a record of this same entity (a contact's
        ``merged_into``)."""
        return tuple(name for name, target in self.refs.items() if target == self.name)

    def kind(self, name: str) -> Kind:
        return self.kinds.get(name, "text")


_DOC_FIELDS = (
    "number", "contact_id", "date", "due_date", "reference", "currency", "amounts_are",
    "status", "subtotal", "total_tax", "total", "amount_paid", "amount_credited",
    "amount_due", "paid_on",
)
_DOC_KINDS: dict[str, Kind] = {
    "contact_id": "ref", "date": "date", "due_date": "date", "status": "status",
    "subtotal": "money", "total_tax": "money", "total": "money", "amount_paid": "money",
    "amount_credited": "money", "amount_due": "money", "paid_on": "date",
}
# ``job`` and ``site``: a line's two tracking values (job and site costing), each mapped to one
# of Xero's tracking categories in xsync.toml; a value in a column left unmapped is not synced
TRACKING_FIELDS = ("job", "site")
_LINE_FIELDS = (
    "position", "description", "quantity", "unit_price", "account_code", "tax_type",
    "tax_amount", "line_amount", "discount_rate", *TRACKING_FIELDS,
)
_LINE_KINDS: dict[str, Kind] = {
    "quantity": "quantity", "unit_price": "quantity", "tax_amount": "money",
    "line_amount": "money", "discount_rate": "money",
}
_DOC_COMPUTED = frozenset(
    {"subtotal", "total_tax", "total", "amount_paid", "amount_credited", "amount_due", "paid_on"}
)
_LINE_COMPUTED = frozenset({"tax_amount", "line_amount"})

ACCOUNTS = EntitySpec(
    name="accounts",
    fields=("code", "name", "type", "tax_type", "status"),
    direction="pull",
    label="code",
    match_keys=("code",),
)
TAX_RATES = EntitySpec(
    name="tax_rates",
    fields=("tax_type", "name", "rate", "status"),
    kinds={"rate": "quantity"},
    direction="pull",
    label="tax_type",
    match_keys=("tax_type",),
)
# ``merged_into``: the contact this one was merged into in Xero (it is archived there and its
# documents moved); Xero's to say, never sent to Xero
CONTACTS = EntitySpec(
    name="contacts",
    fields=(
        "name", "email", "phone", "abn", "address_line1", "city", "region", "postal_code",
        "country", "status", "merged_into",
    ),
    kinds={"status": "status", "merged_into": "ref"},
    refs={"merged_into": "contacts"},
    xero_computed=frozenset({"merged_into"}),
    label="name",
    match_keys=("abn", "email", "name"),
)


def _document(name: str, direction: Direction, match_keys: tuple[MatchKey, ...]) -> EntitySpec:
    """Invoices and bills share one shape; only direction and first-contact keys differ."""
    return EntitySpec(
        name=name,
        fields=_DOC_FIELDS,
        kinds=_DOC_KINDS,
        line_fields=_LINE_FIELDS,
        line_kinds=_LINE_KINDS,
        refs={"contact_id": "contacts"},
        xero_computed=_DOC_COMPUTED,
        line_xero_computed=_LINE_COMPUTED,
        direction=direction,
        label="number",
        match_keys=match_keys,
    )


INVOICES = _document("invoices", "both", ("number",))
# Xero does not keep bill numbers unique (they are the supplier's): a bill is the same bill only
# when supplier, number, date and total agree (or supplier, number and date, where ops keeps no
# total); several candidates are an ambiguous match, never a guess
BILLS = _document("bills", "push", (("contact_id", "number", "date", "total"),
                                    ("contact_id", "number", "date")))
# a payment is on an invoice (``invoice_id``), on a bill (``bill_id``), or the cash refund of a
# credit note (``credit_note_id``) or of an overpayment or prepayment (``credit_id``): exactly
# one of them
PAYMENTS = EntitySpec(
    name="payments",
    fields=("invoice_id", "bill_id", "credit_note_id", "credit_id", "date", "amount",
            "reference", "status"),
    kinds={"invoice_id": "ref", "bill_id": "ref", "credit_note_id": "ref", "credit_id": "ref",
           "date": "date", "amount": "money", "status": "status"},
    refs={"invoice_id": "invoices", "bill_id": "bills", "credit_note_id": "credit_notes",
          "credit_id": "credits"},
    direction="pull",
    label="reference",
    # an ops row and a Xero payment never linked (a state.db rebuilt) are one payment when
    # the document, the date and the amount agree; two alike are an ambiguous match
    match_keys=(("invoice_id", "date", "amount"), ("bill_id", "date", "amount"),
                ("credit_note_id", "date", "amount"), ("credit_id", "date", "amount")),
)
CREDIT_NOTES = EntitySpec(
    name="credit_notes",
    fields=("number", "contact_id", "invoice_id", "date", "total", "remaining", "status"),
    kinds={
        "contact_id": "ref", "invoice_id": "ref", "date": "date", "total": "money",
        "remaining": "money", "status": "status",
    },
    refs={"contact_id": "contacts", "invoice_id": "invoices"},
    direction="pull",
    label="number",
    match_keys=("number",),
)
# a customer's overpayment or prepayment (``kind``): money received that no invoice holds yet;
# ``remaining`` is what is left to allocate to invoices or refund (Xero's RemainingCredit), and
# it and ``status`` are Xero's to say. A deposit the ops platform records (a prepayment row with
# no Xero twin) is created in Xero as receive money into ``bank_account``, on one line of
# ``account_code`` taxed as ``tax_type`` (see :mod:`xsync.sync.deposits`)
CREDITS = EntitySpec(
    name="credits",
    fields=("kind", "contact_id", "date", "reference", "total", "remaining", "status"),
    kinds={"contact_id": "ref", "date": "date", "total": "money", "remaining": "money",
           "status": "status"},
    refs={"contact_id": "contacts"},
    xero_computed=frozenset({"remaining", "status"}),
    direction="pull",
    label="reference",
    # an ops row and a Xero credit never linked (a deposit Xero already holds, a state.db
    # rebuilt) are one credit when these agree
    match_keys=(("kind", "contact_id", "date", "total"),),
    create_only=("bank_account", "account_code", "tax_type"),
)
# one allocation of a credit note (``credit_note_id``) or of an overpayment or prepayment
# (``credit_id``) to an invoice: a note allocated across several invoices has one per invoice;
# ``deleted``: the accountant removed it in Xero (the invoice owes that amount again); one the
# ops platform records (of a deposit, to an invoice) is created in Xero (:mod:`xsync.sync.deposits`)
ALLOCATIONS = EntitySpec(
    name="allocations",
    fields=("kind", "credit_note_id", "credit_id", "invoice_id", "amount", "date", "status"),
    kinds={"credit_note_id": "ref", "credit_id": "ref", "invoice_id": "ref", "amount": "money",
           "date": "date", "status": "status"},
    refs={"credit_note_id": "credit_notes", "credit_id": "credits", "invoice_id": "invoices"},
    direction="pull",
    match_keys=(("kind", "credit_id", "invoice_id", "amount", "date"),
                ("kind", "credit_note_id", "invoice_id", "amount", "date")),
)

# Dependency order: what a record references is synced before it.
ENTITY_ORDER: tuple[str, ...] = (
    "accounts", "tax_rates", "contacts", "invoices", "bills", "credit_notes", "credits",
    "payments", "allocations",
)
ENTITIES: dict[str, EntitySpec] = {
    s.name: s
    for s in (ACCOUNTS, TAX_RATES, CONTACTS, INVOICES, BILLS, PAYMENTS, CREDIT_NOTES, CREDITS,
              ALLOCATIONS)
}

# Canonical statuses (the operations vocabulary).
DOC_STATUSES = ("draft", "approved", "paid", "void", "deleted")
CONTACT_STATUSES = ("active", "archived")
# "reversed": deleted in Xero; "deleted" is what earlier versions of xsync wrote for it
PAYMENT_STATUSES = ("authorised", "reversed", "deleted")
CREDIT_KINDS = ("overpayment", "prepayment")
ALLOCATION_KINDS = ("credit_note", *CREDIT_KINDS)
ALLOCATION_STATUSES = ("applied", "deleted")


# entities whose records live inside others' in Xero (an allocation inside its credit note or
# credit), which Xero simply lists no more once removed: only a whole read tells one is gone
DROPPED_WHEN_REMOVED: frozenset[str] = frozenset({"allocations"})


def spec(entity: str) -> EntitySpec:
    try:
        return ENTITIES[entity]
    except KeyError:
        raise KeyError(f"unknown entity {entity!r}; known: {', '.join(ENTITY_ORDER)}") from None
