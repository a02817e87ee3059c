"""The ledger's tables as SQLAlchemy Core metadata (the migrations create them).

Instants are integer microseconds since the epoch (``*_us``), reading times integer epoch
seconds as devices send them, money integer minor units, energy integer Wh. Decimal settings
(areas, quota kWh, rates) are decimal strings. Nothing here is a float.
"""

import sqlalchemy as sa

from tenant_ledger.billing.allocation import AllocationMethod, PointKind
from tenant_ledger.billing.plans import PlanKind
from tenant_ledger.billing.resources import RESOURCES, Resource

metadata = sa.MetaData()

POINT_KINDS = tuple(kind.value for kind in PointKind)
ALLOCATION_METHODS = tuple(method.value for method in AllocationMethod)
PLAN_TARIFF_RESOURCES = tuple(r.value for r in Resource if r is not Resource.ELECTRICITY)
"""A plan's electricity tariff is ``plans.tariff_id``; ``plan_tariffs`` holds the others."""


class HexBytes(sa.TypeDecorator[str]):
    """A hexadecimal string in Python, stored as its bytes: half the space."""

    impl = sa.LargeBinary
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: sa.Dialect) -> bytes | None:
        return None if value is None else bytes.fromhex(value)

    def process_result_value(self, value: object, dialect: sa.Dialect) -> str | None:
        # Only bytes come from the ledger; anything else written there is shown as it is (and
        # matches no hash).
        return value.hex() if isinstance(value, bytes) else None if value is None else str(value)


def _resource(name: str) -> sa.Column[str]:
    """Added by revision 0013: what a point, tariff or rating period measures."""
    return sa.Column(
        "resource",
        sa.String(16),
        sa.CheckConstraint(f"resource IN {RESOURCES!r}", name=name),
        nullable=False,
        server_default=Resource.ELECTRICITY.value,
    )


sites = sa.Table(
    "sites",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
)

tariffs = sa.Table(
    "tariffs",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    _resource("tariff_resource"),
    # The target of plan_tariffs' composite key: a slot holds a tariff of its own resource.
    sa.Index("ix_tariffs_id_resource", "id", "resource", unique=True),
)

tariff_versions = sa.Table(
    "tariff_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tariff_id", sa.String(64), sa.ForeignKey("tariffs.id"), nullable=False),
    sa.Column("effective_from_us", sa.BigInteger, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("tariff_id", "effective_from_us"),
)

plans = sa.Table(
    "plans",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("tariff_id", sa.String(64), sa.ForeignKey("tariffs.id"), nullable=False),
    sa.Column("low_balance_threshold_minor", sa.BigInteger, nullable=False),
    sa.Column("credit_limit_minor", sa.BigInteger, nullable=False),
    sa.Column("reconnect_minimum_minor", sa.BigInteger, nullable=False),
    sa.Column("billing_day", sa.Integer, nullable=False),
    sa.Column("due_days", sa.Integer, nullable=False),
    sa.Column("grace_days", sa.Integer, nullable=False),
    sa.Column("quota_kwh", sa.String(32)),
    sa.Column("quota_overage_rate", sa.String(32)),
    sa.CheckConstraint(f"kind IN {tuple(kind.value for kind in PlanKind)!r}", name="plan_kind"),
    sa.CheckConstraint("credit_limit_minor >= 0", name="plan_credit_limit"),
    sa.CheckConstraint("billing_day BETWEEN 1 AND 28", name="plan_billing_day"),
    sa.CheckConstraint("due_days >= 0 AND grace_days >= 0", name="plan_days"),
)

# Added by revision 0013: a plan's tariff (and quota, in the billing unit) per resource other
# than electricity. The composite key refuses a tariff of another resource.
plan_tariffs = sa.Table(
    "plan_tariffs",
    metadata,
    sa.Column("plan_id", sa.String(64), sa.ForeignKey("plans.id"), primary_key=True),
    sa.Column(
        "resource",
        sa.String(16),
        sa.CheckConstraint(
            f"resource IN {PLAN_TARIFF_RESOURCES!r}", name="ck_plan_tariffs_resource"
        ),
        primary_key=True,
    ),
    sa.Column("tariff_id", sa.String(64), nullable=False),
    sa.Column("quota", sa.String(32)),
    sa.Column("quota_overage_rate", sa.String(32)),
    sa.ForeignKeyConstraint(["tariff_id", "resource"], ["tariffs.id", "tariffs.resource"]),
)

tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("site_id", sa.String(64), sa.ForeignKey("sites.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("plan_id", sa.String(64), sa.ForeignKey("plans.id"), nullable=False),
    sa.Column("exempt", sa.Boolean, nullable=False),
    sa.Column("exempt_until_us", sa.BigInteger),
    sa.Column("exempt_reason", sa.Text),
    sa.Column("cutoff_approved", sa.Boolean, nullable=False),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
    # Added by revision 0003: archived tenants keep every row; they are only no longer live.
    sa.Column("archived_at_us", sa.BigInteger),
)

spaces = sa.Table(
    "spaces",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("site_id", sa.String(64), sa.ForeignKey("sites.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("area_m2", sa.String(32)),
)

metering_points = sa.Table(
    "metering_points",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("space_id", sa.String(64), sa.ForeignKey("spaces.id")),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
    # Added by revision 0006: what the point measures and, for common points, how it is shared.
    sa.Column(
        "kind",
        sa.String(16),
        sa.CheckConstraint(f"kind IN {POINT_KINDS!r}", name="point_kind"),
        nullable=False,
        server_default="tenant",
    ),
    # Revision 0015 rebuilt it wider, allowing water_consumption.
    sa.Column(
        "allocation",
        sa.String(32),
        sa.CheckConstraint(f"allocation IN {ALLOCATION_METHODS!r}", name="point_allocation"),
    ),
    sa.Column("tariff_id", sa.String(64)),  # checked by operations: see revision 0006
    # Added by revision 0007: readings implying more average power are quarantined.
    sa.Column(
        "max_power_w",
        sa.BigInteger,
        sa.CheckConstraint("max_power_w > 0", name="point_max_power"),
        nullable=False,
        server_default="100000",
    ),
    _resource("point_resource"),
)

assignments = sa.Table(
    "assignments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("point_id", sa.String(200), sa.ForeignKey("metering_points.id"), nullable=False),
    sa.Column("start_us", sa.BigInteger, nullable=False),
    sa.Column("end_us", sa.BigInteger),
    sa.CheckConstraint("end_us IS NULL OR end_us > start_us", name="assignment_window"),
)

# Added by revision 0017: each point id readings were stored for, once, under a number. A
# reading names its point by that number: the id is text and readings are most of the
# database. Readings are kept for any point id, known or not: they are rated once the point is
# assigned.
reading_points = sa.Table(
    "reading_points",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("point_id", sa.String(200), nullable=False, unique=True),
)

# The register column keeps its historic name `energy_wh` but holds the point's own unit
# (revision 0013): Wh for electricity and heat, whole litres for water and gas. The same holds
# for `energy_wh` in rating_cursors, rating_periods, reading_conflicts and quarantine.
readings = sa.Table(
    "readings",
    metadata,
    # The ledger gives the ids itself (db/sealed.py).
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    # Revision 0017 replaced the point id (text) by its number.
    sa.Column("point", sa.Integer, sa.ForeignKey("reading_points.id"), nullable=False),
    sa.Column("ts", sa.BigInteger, nullable=False),
    sa.Column("energy_wh", sa.BigInteger, nullable=False),
    sa.Column("seq", sa.BigInteger),
    sa.Column("received_at_us", sa.BigInteger, nullable=False),
    # Added by revision 0009: the keyed hash (db/sealed.py) over the row with its point id;
    # NULL only before the key. Its 16 bytes, since revision 0017 (hexadecimal before).
    sa.Column("mac", HexBytes(16)),
    sa.UniqueConstraint("point", "ts", name="reading_point_ts"),
    sa.CheckConstraint("energy_wh >= 0", name="reading_energy"),
)

# The last reading of each point whose energy has been posted; advanced in the same
# transaction as the postings, which is what makes rating exactly-once across crashes.
rating_cursors = sa.Table(
    "rating_cursors",
    metadata,
    sa.Column("point_id", sa.String(200), primary_key=True),
    sa.Column("ts", sa.BigInteger, nullable=False),
    sa.Column("energy_wh", sa.BigInteger, nullable=False),
)

# Running position of a tenant's billing period: energy rated so far, minor units posted and
# the sub-minor-unit remainder carried to the next posting.
rating_periods = sa.Table(
    "rating_periods",
    metadata,
    sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), primary_key=True),
    # Revision 0013 added the resource to the key: one running position per resource.
    sa.Column(
        "resource",
        sa.String(16),
        sa.CheckConstraint(f"resource IN {RESOURCES!r}", name="rating_period_resource"),
        primary_key=True,
        server_default=Resource.ELECTRICITY.value,
    ),
    sa.Column("period_start_us", sa.BigInteger, primary_key=True),
    sa.Column("energy_wh", sa.BigInteger, nullable=False),
    sa.Column("posted_minor", sa.BigInteger, nullable=False),
    sa.Column("carry", sa.String(80), nullable=False),
)

journal = sa.Table(
    "journal",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("ts_us", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("tenant_id", sa.String(64)),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("ref", sa.String(200), unique=True),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False, unique=True),
    sa.CheckConstraint("id > 0", name="journal_id"),
    sa.CheckConstraint("length(hash) = 64 AND length(prev_hash) = 64", name="journal_hash"),
)

journal_legs = sa.Table(
    "journal_legs",
    metadata,
    # Deferred (revision 0009): an entry's legs go in first, then the entry, which the database
    # refuses unless they balance (db/guards.py).
    sa.Column(
        "entry_id",
        sa.BigInteger,
        sa.ForeignKey("journal.id", deferrable=True, initially="DEFERRED"),
        primary_key=True,
    ),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("account", sa.String(200), nullable=False, index=True),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    sa.CheckConstraint("amount_minor <> 0", name="leg_amount_nonzero"),
    sa.CheckConstraint("length(account) > 0", name="leg_account"),
)

tenant_status = sa.Table(
    "tenant_status",
    metadata,
    sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), primary_key=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("since_us", sa.BigInteger, nullable=False),
    sa.Column("arrears_since_us", sa.BigInteger),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("ts_us", sa.BigInteger, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.String(200), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("details", sa.Text, nullable=False),
    # Added by revision 0010: who the ledger authenticated (``token:<name>``,
    # ``ha_user:<id>``, ``ledger``) beside the ``actor`` name the caller gave; NULL before it.
    sa.Column("principal", sa.String(200)),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
    sa.Column("revoked_at_us", sa.BigInteger),
    sa.CheckConstraint("role IN ('admin', 'operator', 'read_only')", name="token_role"),
)

# Added by revision 0002.
statements = sa.Table(
    "statements",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("period_start_us", sa.BigInteger, nullable=False),
    sa.Column("period_end_us", sa.BigInteger, nullable=False),
    sa.Column("issued_at_us", sa.BigInteger, nullable=False),
    sa.Column("due_at_us", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("total_minor", sa.BigInteger, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("journal_entry_id", sa.BigInteger, sa.ForeignKey("journal.id")),
    # Added by revision 0008: the statement's number and its bookkeeping, out of ``body``.
    sa.Column("number", sa.String(32), unique=True),
    sa.Column("opening_minor", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("closing_minor", sa.BigInteger, nullable=False, server_default="0"),
    # Per issued period (start µs, as text): [minor units, Wh] of energy statements showed.
    sa.Column("energy_seen", sa.Text, nullable=False, server_default="{}"),
    # Added by revision 0009: the keyed hash (db/sealed.py); NULL only before the key.
    sa.Column("mac", sa.String(64)),
    sa.UniqueConstraint("tenant_id", "period_start_us", name="statement_period"),
    sa.CheckConstraint("period_end_us > period_start_us", name="statement_window"),
)

# Added by revision 0004 (replacing the web UI's own ``web_ha_user_tenants``).
ha_user_links = sa.Table(
    "ha_user_links",
    metadata,
    sa.Column("user_id", sa.String(64), primary_key=True),
    sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False, index=True),
    sa.Column("label", sa.String(200), nullable=False),
    sa.Column("linked_at_us", sa.BigInteger, nullable=False),
)

# Added by revision 0005: a reading that disagreed with the one already stored for the same
# point and second. The stored one is kept (it may already be rated); this is the landlord's
# record of what was turned away, once per distinct value.
reading_conflicts = sa.Table(
    "reading_conflicts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("point_id", sa.String(200), nullable=False),
    sa.Column("ts", sa.BigInteger, nullable=False),
    sa.Column("energy_wh", sa.BigInteger, nullable=False),
    sa.Column("kept_energy_wh", sa.BigInteger, nullable=False),
    sa.Column("received_at_us", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("point_id", "ts", "energy_wh", name="reading_conflict_value"),
)

# Added by revision 0007: a well-formed reading that cannot be real (stamped in the future or
# before 2000, or a register rising faster than the point's maximum power). It is neither stored
# nor rated; a landlord may release it (then it is ingested like any reading). Once per value.
quarantined_readings = sa.Table(
    "quarantined_readings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("point_id", sa.String(200), nullable=False),
    sa.Column("ts", sa.BigInteger, nullable=False),
    sa.Column("energy_wh", sa.BigInteger, nullable=False),
    sa.Column("seq", sa.BigInteger),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("received_at_us", sa.BigInteger, nullable=False),
    sa.Column("released_at_us", sa.BigInteger),
    sa.Column("released_by", sa.String(200)),
    sa.Column("release_reason", sa.Text),
    # Added by revision 0013: the unit the register came in (a water reading released is litres).
    sa.Column(
        "unit",
        sa.String(2),
        sa.CheckConstraint("unit IN ('Wh', 'L')", name="quarantined_unit"),
        nullable=False,
        server_default="Wh",
    ),
    sa.UniqueConstraint("point_id", "ts", "energy_wh", name="quarantined_reading_value"),
)

# Added by revision 0009: a readings message that carries no storable reading (not JSON, too
# large, the wrong shape, a bad field). It is acknowledged, so the broker never delivers it
# again, and kept here (once per distinct payload, the newest ``MAX_PARKED_MESSAGES``) for the
# landlord to see which sender is broken.
parked_messages = sa.Table(
    "parked_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("excerpt", sa.Text, nullable=False),
    sa.Column("first_received_at_us", sa.BigInteger, nullable=False),
    sa.Column("last_received_at_us", sa.BigInteger, nullable=False),
    sa.Column("times", sa.BigInteger, nullable=False),
)
MAX_PARKED_MESSAGES = 10_000

# Added by revision 0011: the tenant's supply as Home Assistant reported it, newest row last.
supply_reports = sa.Table(
    "supply_reports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("at_us", sa.BigInteger, nullable=False),
    sa.Column("supply", sa.String(3), nullable=False),
    # arrears / landlord / safety when off; NULL when on.
    sa.Column("cause", sa.String(16)),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.CheckConstraint("supply IN ('on', 'off')", name="ck_supply_reports_supply"),
    sa.CheckConstraint(
        "(supply = 'on' AND cause IS NULL) OR "
        "(supply = 'off' AND cause IN ('arrears', 'landlord', 'safety'))",
        name="ck_supply_reports_cause",
    ),
    sa.Index("ix_supply_reports_tenant", "tenant_id", "id"),
)

# Added by revision 0012: the tenant portal's own door (its port, not Home Assistant). A link
# is a random token in a URL plus a short PIN, both made once and shown once: only the token's
# sha256 and the PIN's salted scrypt are kept. A session is a random cookie, kept as its sha256.
portal_links = sa.Table(
    "portal_links",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False, index=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("pin_salt", sa.String(32), nullable=False),
    sa.Column("pin_hash", sa.String(64), nullable=False),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
    sa.Column("revoked_at_us", sa.BigInteger),
    sa.CheckConstraint(
        "length(token_hash) = 64 AND length(pin_salt) = 32 AND length(pin_hash) = 64",
        name="ck_portal_links_hashes",
    ),
    sa.CheckConstraint(
        "revoked_at_us IS NULL OR revoked_at_us >= created_at_us",
        name="ck_portal_links_revoked_after_created",
    ),
)

portal_sessions = sa.Table(
    "portal_sessions",
    metadata,
    sa.Column("session_hash", sa.String(64), primary_key=True),
    sa.Column("link_id", sa.Integer, sa.ForeignKey("portal_links.id"), nullable=False, index=True),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
    sa.Column("last_seen_us", sa.BigInteger, nullable=False),
    sa.Column("expires_at_us", sa.BigInteger, nullable=False),
    sa.Column("ended_at_us", sa.BigInteger),
    sa.CheckConstraint("length(session_hash) = 64", name="ck_portal_sessions_hash"),
    sa.CheckConstraint(
        "created_at_us <= last_seen_us AND last_seen_us <= expires_at_us",
        name="ck_portal_sessions_times",
    ),
    sa.CheckConstraint(
        "ended_at_us IS NULL OR ended_at_us >= created_at_us",
        name="ck_portal_sessions_ended_after_created",
    ),
)

# Added by revision 0014: a point watched for flow that never stops at night (a leak), and
# the alarms it raised: one per point and night, whatever replays or restarts happen.
leak_watches = sa.Table(
    "leak_watches",
    metadata,
    sa.Column("point_id", sa.String(200), sa.ForeignKey("metering_points.id"), primary_key=True),
    sa.Column("window_start_min", sa.Integer, nullable=False),
    sa.Column("window_end_min", sa.Integer, nullable=False),
    sa.Column("minimum_per_hour", sa.BigInteger, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("updated_at_us", sa.BigInteger, nullable=False),
    sa.CheckConstraint(
        "window_start_min >= 0 AND window_start_min < 1440 "
        "AND window_end_min >= 0 AND window_end_min < 1440 "
        "AND window_start_min <> window_end_min",
        name="ck_leak_watches_window",
    ),
    sa.CheckConstraint("minimum_per_hour > 0", name="ck_leak_watches_minimum"),
)

leak_alarms = sa.Table(
    "leak_alarms",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("point_id", sa.String(200), sa.ForeignKey("metering_points.id"), nullable=False),
    sa.Column("night", sa.Date, nullable=False),
    sa.Column("window_start_us", sa.BigInteger, nullable=False),
    sa.Column("window_end_us", sa.BigInteger, nullable=False),
    sa.Column("minimum_per_hour", sa.BigInteger, nullable=False),
    sa.Column("lowest_per_hour", sa.BigInteger, nullable=False),
    sa.Column("volume", sa.BigInteger, nullable=False),
    sa.Column("detected_at_us", sa.BigInteger, nullable=False),
    sa.Column("acknowledged_at_us", sa.BigInteger),
    sa.Column("acknowledged_by", sa.String(200)),
    sa.UniqueConstraint("point_id", "night", name="uq_leak_alarms_point_night"),
    sa.CheckConstraint("window_start_us < window_end_us", name="ck_leak_alarms_window"),
    sa.CheckConstraint(
        "minimum_per_hour > 0 AND lowest_per_hour >= minimum_per_hour AND volume >= 0",
        name="ck_leak_alarms_flow",
    ),
    sa.CheckConstraint(
        "(acknowledged_at_us IS NULL) = (acknowledged_by IS NULL) "
        "AND (acknowledged_at_us IS NULL OR acknowledged_at_us >= detected_at_us)",
        name="ck_leak_alarms_acknowledged",
    ),
)

# Added by revision 0016: the unit of the readings stored for a point not registered yet (a
# reading keeps no unit: its point's resource says it). Refuses the other unit until the point
# is registered, and refuses registering it as a resource of the other unit.
unregistered_point_units = sa.Table(
    "unregistered_point_units",
    metadata,
    sa.Column("point_id", sa.String(200), primary_key=True),
    sa.Column("unit", sa.String(2), nullable=False),
    sa.CheckConstraint("unit IN ('Wh', 'L')", name="ck_unregistered_point_units_unit"),
)

APPEND_ONLY_TABLES = (
    "journal",
    "journal_legs",
    "audit_log",
    "readings",
    "reading_points",
    "statements",
    "supply_reports",
)
"""Tables whose rows the database itself refuses to change or delete (db/guards.py)."""
