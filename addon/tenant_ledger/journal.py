"""The journal's entries, their hash chain and the invariants every entry must satisfy.

Pure: no I/O. Entries are immutable; a correction is a new, reversing entry. Each entry's hash
is sha256 over a canonical JSON form that includes the previous entry's hash, so changing,
removing or reordering any stored entry breaks the chain from that entry on.

Sign convention: every leg is signed and an entry's legs sum to zero. A tenant's account
(``tenant:{id}``) counts in the tenant's favour: a top-up is positive, a charge negative, so the
balance is simply the sum of its legs.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
import hashlib
import json

from tenant_ledger.billing.money import CURRENCY_EXPONENTS

GENESIS_HASH = "0" * 64

CASH = "funds:cash"
ADJUSTMENTS = "expense:adjustments"
ENERGY_INCOME = "income:energy"
STANDING_INCOME = "income:standing"


def tenant_account(tenant_id: str) -> str:
    return f"tenant:{tenant_id}"


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


def chain(entry_id: int, ts_us: int, posting: Posting, prev_hash: str) -> Entry:
    """The entry that follows ``prev_hash`` in the chain."""
    digest = hashlib.sha256(canonical(entry_id, ts_us, posting, prev_hash)).hexdigest()
    return Entry(id=entry_id, ts_us=ts_us, posting=posting, prev_hash=prev_hash, hash=digest)


@dataclass(frozen=True, kw_only=True, slots=True)
class Error:
    """One broken invariant, naming the entry at fault."""

    entry_id: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"entry {self.entry_id}: {self.code}: {self.message}"


def validate_chain(entries: Sequence[Entry]) -> list[Error]:
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
        recomputed = chain(entry.id, entry.ts_us, entry.posting, entry.prev_hash).hash
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


VALIDATORS = (validate_chain, validate_balanced, validate_amounts, validate_single_currency)


def validate(entries: Sequence[Entry]) -> list[Error]:
    """Every invariant over the whole journal, errors in entry order."""
    errors = [error for validator in VALIDATORS for error in validator(entries)]
    return sorted(errors, key=lambda error: error.entry_id)
