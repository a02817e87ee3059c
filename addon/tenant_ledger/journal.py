"""The journal's entries, their hash chain and the invariants every entry must satisfy.

Pure: no I/O. Entries are immutable; a correction is a new, reversing entry. Each entry's hash
covers a canonical JSON form that includes the previous entry's hash, so changing, removing or
reordering any stored entry breaks the chain from that entry on. The hash is HMAC-SHA256 under
the ledger's key (``ledger_key``), so an entry cannot be forged or re-chained without it;
entries written before a database was keyed keep their plain SHA-256 (a ``Digest`` decides).

Sign convention: every leg is signed and an entry's legs sum to zero. A tenant's account
(``tenant:{id}``) counts in the tenant's favour: a top-up is positive, a charge negative, so the
balance is simply the sum of its legs.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
import hashlib
import json
from typing import Final

from tenant_ledger.billing.money import CURRENCY_EXPONENTS

GENESIS_HASH = "0" * 64

type Digest = Callable[[int, bytes], str]
"""The hash of entry ``id`` over its canonical bytes (``LedgerKey.journal_digest``)."""


def plain_digest(_entry_id: int, data: bytes) -> str:
    """SHA-256, as every entry of an unkeyed journal (ledger 0.2) has it."""
    return hashlib.sha256(data).hexdigest()


class PostingKind(StrEnum):
    """What an entry records; the journal refuses any other kind (``validate_kinds``)."""

    ENERGY = "energy"
    """Rated energy of a point (rater)."""
    STANDING = "standing"
    """A plan's standing charge for a stretch of days (standing_run)."""
    STATEMENT = "statement"
    """A statement's settlement of what rating and standing charges did not post yet."""
    COMMON_AREA = "common_area"
    """A tenant's share of the common loads (statement_run, shared_costs)."""
    TOP_UP = "top_up"
    """Money paid in."""
    ADJUSTMENT = "adjustment"
    """A correction of either sign."""
    REVERSAL = "reversal"
    """Undoes one top-up or adjustment: its legs negated, on the same accounts (never twice:
    its ref is ``reversal:{entry id}``, and refs are unique)."""


# The chart of accounts: every account a leg may name, besides one account per tenant.
CASH = "funds:cash"
ADJUSTMENTS = "expense:adjustments"
ENERGY_INCOME = "income:energy"
STANDING_INCOME = "income:standing"
BILLING_INCOME = "income:billing"
COMMON_INCOME = "income:common"
ACCOUNTS: Final = {
    CASH: "money paid in by tenants",
    ADJUSTMENTS: "corrections the landlord granted or charged",
    ENERGY_INCOME: "rated energy",
    STANDING_INCOME: "standing charges",
    BILLING_INCOME: "statement settlements (rounding, charges posted at billing)",
    COMMON_INCOME: "the tenants' shares of the common loads",
}
_KINDS: Final = frozenset(PostingKind)
TENANT_PREFIX: Final = "tenant:"
"""A tenant's account (``tenant:{id}``); its sum is the tenant's balance."""


def tenant_account(tenant_id: str) -> str:
    return f"{TENANT_PREFIX}{tenant_id}"


def known_account(account: str) -> bool:
    return account in ACCOUNTS or (account.startswith(TENANT_PREFIX) and account != TENANT_PREFIX)


@dataclass(frozen=True, kw_only=True, slots=True)
class Leg:
    account: str
    amount_minor: int


@dataclass(frozen=True, kw_only=True, slots=True)
class Posting:
    """What a caller asks to post; the store gives it an id, a time and its place in the chain.

    ``ref`` is an optional idempotency key: a second posting with the same ``ref`` is refused by
    the database, so retried requests cannot post twice.
    """

    kind: str
    """A ``PostingKind`` (``db/journal_store.append`` refuses any other); read back, whatever is
    stored, which ``validate_kinds`` judges."""
    currency: str
    actor: str
    reason: str
    legs: tuple[Leg, ...]
    tenant_id: str | None = None
    ref: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Entry:
    id: int
    ts_us: int
    posting: Posting
    prev_hash: str
    hash: str


def canonical(entry_id: int, ts_us: int, posting: Posting, prev_hash: str) -> bytes:
    """The exact bytes an entry's hash covers: sorted keys, no whitespace, UTF-8."""
    document = {
        "id": entry_id,
        "ts_us": ts_us,
        "kind": posting.kind,
        "tenant_id": posting.tenant_id,
        "currency": posting.currency,
        "actor": posting.actor,
        "reason": posting.reason,
        "ref": posting.ref,
        "legs": [[leg.account, leg.amount_minor] for leg in posting.legs],
        "prev_hash": prev_hash,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain(
    entry_id: int, ts_us: int, posting: Posting, prev_hash: str, digest: Digest = plain_digest
) -> Entry:
    """The entry that follows ``prev_hash`` in the chain."""
    value = digest(entry_id, canonical(entry_id, ts_us, posting, prev_hash))
    return Entry(id=entry_id, ts_us=ts_us, posting=posting, prev_hash=prev_hash, hash=value)


@dataclass(frozen=True, kw_only=True, slots=True)
class Error:
    """One broken invariant, naming the entry (or reading, statement…) at fault."""

    entry_id: int
    code: str
    message: str
    subject: str = "entry"

    def __str__(self) -> str:
        where = f"{self.subject} {self.entry_id}" if self.entry_id else self.subject
        return f"{where}: {self.code}: {self.message}"


def validate_chain(entries: Sequence[Entry], digest: Digest = plain_digest) -> list[Error]:
    """Ids count 1, 2, 3…; each entry links to its predecessor and its hash matches its content."""
    errors: list[Error] = []
    previous = GENESIS_HASH
    for expected_id, entry in enumerate(entries, 1):
        if entry.id != expected_id:
            errors.append(
                Error(entry_id=entry.id, code="sequence", message=f"expected id {expected_id}")
            )
        if entry.prev_hash != previous:
            errors.append(
                Error(entry_id=entry.id, code="broken_link", message="previous hash does not match")
            )
        recomputed = chain(entry.id, entry.ts_us, entry.posting, entry.prev_hash, digest).hash
        if recomputed != entry.hash:
            errors.append(
                Error(
                    entry_id=entry.id,
                    code="hash_mismatch",
                    message="content does not match its hash (the entry was changed)",
                )
            )
        previous = entry.hash
    return errors


def validate_balanced(entries: Iterable[Entry]) -> list[Error]:
    """Every entry has at least two legs and they sum to zero."""
    errors: list[Error] = []
    for entry in entries:
        legs = entry.posting.legs
        total = sum(leg.amount_minor for leg in legs)
        if len(legs) < 2 or total != 0:
            errors.append(
                Error(
                    entry_id=entry.id,
                    code="unbalanced",
                    message=f"{len(legs)} legs summing to {total} minor units",
                )
            )
    return errors


def validate_amounts(entries: Iterable[Entry]) -> list[Error]:
    """Amounts are non-zero integers of a known currency, accounts are named."""
    errors: list[Error] = []
    for entry in entries:
        if entry.posting.currency not in CURRENCY_EXPONENTS:
            errors.append(
                Error(
                    entry_id=entry.id,
                    code="currency",
                    message=f"unknown currency {entry.posting.currency!r}",
                )
            )
        errors.extend(
            Error(
                entry_id=entry.id,
                code="leg",
                message=f"invalid leg {leg.account!r} {leg.amount_minor!r}",
            )
            for leg in entry.posting.legs
            if type(leg.amount_minor) is not int or leg.amount_minor == 0 or not leg.account
        )
    return errors


def validate_single_currency(entries: Iterable[Entry]) -> list[Error]:
    """Balances are sums, so every entry must be in the ledger's one currency."""
    errors: list[Error] = []
    currency: str | None = None
    for entry in entries:
        currency = currency or entry.posting.currency
        if entry.posting.currency != currency:
            errors.append(
                Error(
                    entry_id=entry.id,
                    code="currency",
                    message=f"{entry.posting.currency} in a {currency} ledger",
                )
            )
    return errors


def validate_kinds(entries: Iterable[Entry]) -> list[Error]:
    """Each entry is of a known kind and names only accounts of the chart (or a tenant's)."""
    errors: list[Error] = []
    for entry in entries:
        problems = (
            [] if entry.posting.kind in _KINDS else [("kind", "posting kind", entry.posting.kind)]
        )
        problems += [
            ("account", "account", leg.account)
            for leg in entry.posting.legs
            if isinstance(leg.account, str) and leg.account and not known_account(leg.account)
        ]
        errors += [
            Error(entry_id=entry.id, code=code, message=f"unknown {what} {value!r}")
            for code, what, value in problems
        ]
    return errors


VALIDATORS = (validate_balanced, validate_amounts, validate_single_currency, validate_kinds)


def validate(entries: Sequence[Entry], digest: Digest = plain_digest) -> list[Error]:
    """Every invariant over the whole journal, errors in entry order."""
    errors = validate_chain(entries, digest)
    errors += [error for validator in VALIDATORS for error in validator(entries)]
    return sorted(errors, key=lambda error: error.entry_id)
