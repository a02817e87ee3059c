"""The audit log: who did what, when and why, with the journal's head at that moment."""

from dataclasses import dataclass
import json
from typing import Any

import sqlalchemy as sa

from tenant_ledger.db import journal_store
from tenant_ledger.db.schema import audit_log

SYSTEM_PRINCIPAL = "ledger"


@dataclass(frozen=True, kw_only=True, slots=True)
class Action:
    """Who did it, when and why: recorded with every change.

    ``actor`` is the name the caller gives (a person at the desk, an HA user); ``principal`` is
    who the ledger authenticated (``token:<name>``, ``ha_user:<id>``), which no caller chooses.
    """

    actor: str
    reason: str
    now_us: int
    principal: str = SYSTEM_PRINCIPAL


def audit(
    connection: sa.Connection, action: Action, name: str, target: str, details: dict[str, Any]
) -> None:
    connection.execute(
        audit_log.insert().values(
            ts_us=action.now_us,
            actor=action.actor,
            principal=action.principal,
            action=name,
            target=target,
            reason=action.reason,
            details=json.dumps(
                details | {journal_store.HEAD_KEY: journal_store.head(connection)},
                sort_keys=True,
                default=str,
            ),
        )
    )
