"""Refusals the API turns into 4xx answers: ``{"error": {"code", "message"}}``."""

from typing import Any


class LedgerError(Exception):
    """A request the ledger refuses, with the HTTP status and a stable machine-readable code."""

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        """More machine-readable facts, sent beside code and message."""


def not_found(kind: str, identifier: str) -> LedgerError:
    return LedgerError(404, "not_found", f"{kind} {identifier} does not exist")


def conflict(message: str) -> LedgerError:
    return LedgerError(409, "conflict", message)


def invalid(message: str) -> LedgerError:
    return LedgerError(400, "invalid", message)


def already_posted(ref: str, entry_id: int) -> LedgerError:
    """A money posting retried with its idempotency key: it was posted once, as ``entry_id``."""
    return LedgerError(
        409,
        "already_posted",
        f"a posting with reference {ref!r} already exists (entry {entry_id}); not posted again",
        {"entry_id": entry_id},
    )
