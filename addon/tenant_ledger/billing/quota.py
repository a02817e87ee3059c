"""Energy allowances: kWh included per period, then an overage price or a hard cap."""

from dataclasses import dataclass
from decimal import Decimal

INCLUDED_BAND = "included"
OVERAGE_BAND = "overage"


@dataclass(frozen=True, kw_only=True)
class Quota:
    """``included_wh`` per period at no energy charge; after that ``overage_rate`` per kWh.

    ``overage_rate=None`` is a hard cap: whatever flows beyond it is priced by the tariff's own
    price. For electricity the tenant's status becomes ``quota_exhausted`` (Home Assistant may
    cut the supply); for water, gas or heat the status reason names it and nothing is cut
    (``status.SUPPLY_RESOURCE``).
    """

    included_wh: int
    overage_rate: Decimal | None = None

    def __post_init__(self) -> None:
        if type(self.included_wh) is not int or self.included_wh < 0:
            raise ValueError(f"included_wh must be a non-negative int, got {self.included_wh!r}")
        if self.overage_rate is not None and not (
            isinstance(self.overage_rate, Decimal)
            and self.overage_rate.is_finite()
            and self.overage_rate >= 0
        ):
            raise ValueError(f"overage_rate must be a non-negative Decimal: {self.overage_rate!r}")

    @property
    def hard_cap(self) -> bool:
        return self.overage_rate is None


@dataclass(frozen=True, kw_only=True)
class QuotaState:
    """How much of a period's allowance is used, for the tenant status and HA entities."""

    included_wh: int
    used_wh: int
    hard_cap: bool

    @property
    def remaining_wh(self) -> int:
        return max(0, self.included_wh - self.used_wh)

    @property
    def exhausted(self) -> bool:
        return self.used_wh >= self.included_wh


def quota_state(quota: Quota, used_wh: int) -> QuotaState:
    """The allowance position after ``used_wh`` of the period's energy."""
    return QuotaState(included_wh=quota.included_wh, used_wh=used_wh, hard_cap=quota.hard_cap)
