"""Refusals the API turns into 4xx answers: ``{"error": {"code", "message"}}``."""


class LedgerError(Exception):
    """A request the ledger refuses, with the HTTP status and a stable machine-readable code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def not_found(kind: str, identifier: str) -> LedgerError:
    return LedgerError(404, "not_found", f"{kind} {identifier} does not exist")


def conflict(message: str) -> LedgerError:
    return LedgerError(409, "conflict", message)


def invalid(message: str) -> LedgerError:
    return LedgerError(400, "invalid", message)
