"""Operator actions: each one validated, written and recorded in the audit log with who and why.

Every function runs inside the caller's transaction and raises ``LedgerError`` for anything it
refuses, before it has written anything. One module per aggregate; the SQL is in ``db/``.
"""

from tenant_ledger.db.access_store import hash_token, tenant_of_user, users_of_tenant
from tenant_ledger.db.audit import SYSTEM_PRINCIPAL, Action, audit
from tenant_ledger.operations.access import create_token, link_user, revoke_token, unlink_user
from tenant_ledger.operations.common import ROLES, RefSource, caller_ref
from tenant_ledger.operations.payments import (
    REVERSIBLE,
    adjust,
    credit,
    reversal_ref,
    reverse,
    top_up,
)
from tenant_ledger.operations.premises import (
    PointUse,
    create_point,
    create_space,
    edit_space,
    move_in,
    move_out,
    place_point,
    points_of_space,
    set_point_use,
)
from tenant_ledger.operations.supply import approve_cutoff, report_supply
from tenant_ledger.operations.tariffs import add_tariff_version, create_plan, edit_plan
from tenant_ledger.operations.tenants import (
    archive_tenant,
    change_plan,
    create_tenant,
    rename_tenant,
    set_exemption,
)

__all__ = [
    "REVERSIBLE",
    "ROLES",
    "SYSTEM_PRINCIPAL",
    "Action",
    "PointUse",
    "RefSource",
    "add_tariff_version",
    "adjust",
    "approve_cutoff",
    "archive_tenant",
    "audit",
    "caller_ref",
    "change_plan",
    "create_plan",
    "create_point",
    "create_space",
    "create_tenant",
    "create_token",
    "credit",
    "edit_plan",
    "edit_space",
    "hash_token",
    "link_user",
    "move_in",
    "move_out",
    "place_point",
    "points_of_space",
    "rename_tenant",
    "report_supply",
    "reversal_ref",
    "reverse",
    "revoke_token",
    "set_exemption",
    "set_point_use",
    "tenant_of_user",
    "top_up",
    "unlink_user",
    "users_of_tenant",
]
