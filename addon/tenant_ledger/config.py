"""The service's settings, from flags and environment or from the Supervisor's options."""

from dataclasses import dataclass
from pathlib import Path

from tenant_ledger.billing.status import QuietHours
from tenant_ledger.mqtt import BrokerSettings


@dataclass(frozen=True, kw_only=True)
class PlanDefaults:
    """Values a new plan gets for what its creator leaves out (add-on options)."""

    low_balance_threshold: str = "5.00"
    reconnect_minimum: str = "0.00"
    grace_days: int = 3


@dataclass(frozen=True, kw_only=True)
class CutoffPolicy:
    """When a due cut-off may happen (add-on options); the ledger alone applies it."""

    quiet_hours: QuietHours | None = None
    """Site-time hours when no cut-off happens (None: none); parsed once, at start."""
    needs_approval: bool = False
    """Every cut-off waits for the landlord's approval."""
    guard_limit: int = 3
    """Arrears cut-offs within an hour after which every further one needs approval."""


@dataclass(frozen=True, kw_only=True)
class LedgerConfig:
    data_dir: Path
    database_url: str
    broker: BrokerSettings | None
    prefix: str = "tenant_metering"
    client_id: str = "tenant-metering-ledger"
    currency: str = "EUR"
    timezone: str = "UTC"
    admin_token: str | None = None
    plan_defaults: PlanDefaults = PlanDefaults()
    cutoff: CutoffPolicy = CutoffPolicy()
    tick_seconds: float = 60.0
    """How often statuses are re-evaluated and due statements run."""
    locale: str = "en"
    """Language and number/date format of statements, the console and the portal (Babel)."""
    landlord_name: str = ""
    landlord_address: str = ""
    """Who issues the statements, printed at their head."""
    tax_name: str = "VAT"
    """What statements call the tariff's tax (``VAT 13 %``)."""
