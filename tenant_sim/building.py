"""The demo building, as data: a 12-room hostel, its meters, tenants, tariff, plans and logins.

One definition serves the live demo, the simulated month and the tests, so what the ledger is
seeded with always matches what the simulated hardware reports.

Hardware: rooms 101-106 and 201-202 each have a single-channel MQTT smart breaker; rooms
203-206, the corridor and the building incomer are six channels of one Modbus multi-circuit
meter (``generic_multi_circuit``, 6 channels) behind a Modbus TCP gateway. Every let room has
a cold-water pulse counter (1 L a pulse, as an ESPHome pulse counter publishes it over MQTT
discovery); the hot water comes from one shared heater whose heat meter (``generic_heat_meter``)
is a second slave on the same gateway, a common point whose heat is shared by consumption.
"""

from dataclasses import dataclass
from typing import Any, Final

from tenant_sim.load_profiles import LoadProfile, WaterProfile

PREFIX: Final = "tenant_metering"
TIMEZONE: Final = "Europe/Lisbon"
CURRENCY: Final = "EUR"
MODBUS_PROFILE: Final = "generic_multi_circuit"
MODBUS_CHANNELS: Final = 6
MODBUS_SLAVE_ID: Final = 1
MODBUS_GATEWAY_NAME: Final = "Hostel DB1"
MODBUS_GATEWAY_UID: Final = "hostel-db1"
"""The integration's id for the gateway (its name, slugified) in Modbus point ids."""
LOSS_FACTOR: Final = 1.04
"""The incomer sees every channel plus 4 % cable losses and unmetered loads."""
TARIFF_ID: Final = "hostel-tou"
WATER_TARIFF_ID: Final = "hostel-water"
HEAT_TARIFF_ID: Final = "hostel-heat"
HEAT_PROFILE: Final = "generic_heat_meter"
HEAT_SLAVE_ID: Final = 2
HOT_WATER_PERCENT: Final = 60
"""Of each litre a room's cold-water counter counts, this share is drawn again as hot water."""
HEAT_WH_PER_HOT_LITRE: Final = 58
"""Heating a litre of water from 10 °C to 60 °C: 4.186 kJ/(kg K) x 50 K = 209 kJ = 58 Wh."""
HEATER_STANDBY_WH_PER_HOUR: Final = 300
"""The storage tank's and circulation loop's losses, metered as heat all day."""


@dataclass(frozen=True, kw_only=True)
class Circuit:
    """One metered circuit: a room, the corridor, or the incomer (which sums the others)."""

    point_id: str
    name: str
    load: LoadProfile | None
    """None for the incomer: its load is the building's total."""
    space_id: str | None = None
    area_m2: int | None = None
    resolution_wh: int = 1
    """The register's step: breakers count single Wh, the Modbus meter 10 Wh (0.01 kWh)."""

    @property
    def is_incomer(self) -> bool:
        return self.load is None


@dataclass(frozen=True, kw_only=True)
class Breaker:
    """A single-channel MQTT breaker (native protocol) feeding one room."""

    device_id: str
    name: str
    circuit: Circuit

    @property
    def base_topic(self) -> str:
        return f"{PREFIX}/{self.device_id}"


@dataclass(frozen=True, kw_only=True)
class ModbusChannel:
    channel: int
    circuit: Circuit


@dataclass(frozen=True, kw_only=True)
class WaterMeter:
    """A room's cold-water pulse counter: a register in whole litres."""

    point_id: str
    name: str
    space_id: str
    object_id: str
    """Its MQTT discovery object id (``homeassistant/sensor/<object_id>/config``)."""
    profile: WaterProfile
    start_l: int
    """The register when the simulation starts (a used meter)."""


@dataclass(frozen=True, kw_only=True)
class HeatMeter:
    """The shared hot-water heater's heat meter: a register in Wh on the Modbus gateway."""

    point_id: str
    name: str
    start_wh: int


@dataclass(frozen=True, kw_only=True)
class Tenant:
    tenant_id: str
    name: str
    plan_id: str
    space_id: str
    opening_top_up: str
    """Paid in at move-in ("0.00": nothing), chosen so the demo shows every status."""


@dataclass(frozen=True, kw_only=True)
class Login:
    """A Home Assistant user the demo creates; the password is generated per run."""

    username: str
    name: str
    tenant_id: str | None
    """None for the landlord (the owner, an administrator)."""


@dataclass(frozen=True, kw_only=True)
class Building:
    name: str
    breakers: tuple[Breaker, ...]
    modbus_channels: tuple[ModbusChannel, ...]
    tenants: tuple[Tenant, ...]
    tariff: dict[str, Any]
    plans: tuple[dict[str, Any], ...]
    logins: tuple[Login, ...]
    water_meters: tuple[WaterMeter, ...]
    heat_meter: HeatMeter
    water_tariff: dict[str, Any]
    heat_tariff: dict[str, Any]

    @property
    def circuits(self) -> tuple[Circuit, ...]:
        return (
            *(breaker.circuit for breaker in self.breakers),
            *(channel.circuit for channel in self.modbus_channels),
        )

    @property
    def rooms(self) -> tuple[Circuit, ...]:
        return tuple(circuit for circuit in self.circuits if circuit.space_id is not None)

    def tenant(self, tenant_id: str) -> Tenant:
        return next(t for t in self.tenants if t.tenant_id == tenant_id)


def modbus_point(channel: int) -> str:
    """The point id the integration gives a Modbus channel (docs/ledger-contract.md)."""
    return f"modbus:{MODBUS_GATEWAY_UID}:{MODBUS_SLAVE_ID}:{channel}"


def heat_point() -> str:
    """The point id the integration gives the heat meter (the gateway's second slave)."""
    return f"modbus:{MODBUS_GATEWAY_UID}:{HEAT_SLAVE_ID}:1"


def _room(number: int, point_id: str, index: int, area_m2: int, resolution_wh: int) -> Circuit:
    # Hostel rooms all follow the "room" day shape; the peak varies per room.
    peak = (450.0, 700.0, 550.0, 900.0, 400.0, 650.0)[index % 6]
    return Circuit(
        point_id=point_id,
        name=f"Room {number}",
        load=LoadProfile(kind="room", peak_w=peak, seed=number),
        space_id=f"r{number}",
        area_m2=area_m2,
        resolution_wh=resolution_wh,
    )


# Evening peak 18-22 h on weekdays, cheap nights and weekends; prices in EUR incl. nothing,
# VAT on top (Portugal's reduced rate for electricity is 6 %; the demo uses 13 %).
TOU_TARIFF: Final[dict[str, Any]] = {
    "currency": CURRENCY,
    "timezone": TIMEZONE,
    "energy": {
        "type": "tou",
        "bands": {"peak": "0.2850", "day": "0.1950", "night": "0.1120"},
        "default_band": "night",
        "schedule": [
            {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "08:00", "to": "18:00",
             "band": "day"},
            {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "18:00", "to": "22:00",
             "band": "peak"},
            {"days": ["sat", "sun"], "from": "08:00", "to": "22:00", "band": "day"},
        ],
        "holidays": {"country": "PT", "treat_as": "sun"},
    },
    "standing_charge_per_day": "0.25",
    "tax_rate": "0.13",
}  # fmt: skip

# Water per m³ (1000 L) with a meter rental a day; Portugal's reduced VAT on water is 6 %.
WATER_TARIFF: Final[dict[str, Any]] = {
    "currency": CURRENCY,
    "timezone": TIMEZONE,
    "energy": {"type": "flat", "rate": "2.4500"},
    "standing_charge_per_day": "0.05",
    "tax_rate": "0.06",
}
# The heater's heat per kWh (gas-fired: the gas bill over the heat it made), no standing charge.
HEAT_TARIFF: Final[dict[str, Any]] = {
    "currency": CURRENCY,
    "timezone": TIMEZONE,
    "energy": {"type": "flat", "rate": "0.1100"},
    "standing_charge_per_day": "0.00",
    "tax_rate": "0.13",
}
_WATER_SLOT: Final = {"water": {"tariff": WATER_TARIFF_ID}}
"""Every plan bills the room's cold water by its pulse counter."""

PLANS: Final[tuple[dict[str, Any], ...]] = (
    {
        "id": "prepaid",
        "name": "Prepaid",
        "kind": "prepaid",
        "tariff": TARIFF_ID,
        "low_balance_threshold": "5.00",
        "credit_limit": "2.00",
        "reconnect_minimum": "5.00",
        "grace_days": 1,
        "resources": _WATER_SLOT,
    },
    {
        "id": "prepaid-60",
        "name": "Prepaid with 60 kWh a month",
        "kind": "prepaid",
        "tariff": TARIFF_ID,
        "low_balance_threshold": "5.00",
        "quota_kwh": "60",
        "quota_overage_rate": "0.35",
        "resources": _WATER_SLOT,
    },
    {
        "id": "postpaid",
        "name": "Postpaid, billed on the 1st",
        "kind": "postpaid",
        "tariff": TARIFF_ID,
        "billing_day": 1,
        "due_days": 10,
        "grace_days": 3,
        "resources": _WATER_SLOT,
    },
)

_TENANTS: Final = (
    # (room, id, name, plan, opening top-up); room 206 is vacant.
    (101, "t101", "Ana Costa", "prepaid", "50.00"),
    (102, "t102", "Ben Okafor", "prepaid", "30.00"),
    (103, "t103", "Chloé Martin", "prepaid-60", "40.00"),
    (104, "t104", "Dmitri Ivanov", "prepaid", "20.00"),
    (105, "t105", "Eva Lindqvist", "postpaid", "0.00"),
    (106, "t106", "Farid Haddad", "postpaid", "0.00"),
    (201, "t201", "Grace Mensah", "prepaid", "30.00"),
    (202, "t202", "Hiro Tanaka", "prepaid-60", "25.00"),
    (203, "t203", "Inês Duarte", "postpaid", "0.00"),
    (204, "t204", "Jonas Weber", "prepaid", "60.00"),
    (205, "t205", "Kemal Aydin", "prepaid", "20.00"),
)


def hostel() -> Building:
    """The demo's 12-room hostel."""
    breaker_rooms = (101, 102, 103, 104, 105, 106, 201, 202)
    breakers = tuple(
        Breaker(
            device_id=f"d0a1b2c3{number:04d}",
            name=f"Room {number} breaker",
            circuit=_room(number, f"mqtt:d0a1b2c3{number:04d}:1", index, 12 + 2 * (index % 3), 1),
        )
        for index, number in enumerate(breaker_rooms)
    )
    modbus_rooms = (203, 204, 205, 206)
    channels = [
        ModbusChannel(
            channel=index + 1,
            circuit=_room(number, modbus_point(index + 1), index + 2, 16 + 2 * (index % 2), 10),
        )
        for index, number in enumerate(modbus_rooms)
    ]
    channels.append(
        ModbusChannel(
            channel=5,
            circuit=Circuit(
                point_id=modbus_point(5),
                name="Corridor and water pump",
                load=LoadProfile(kind="common", peak_w=650.0, seed=5),
                resolution_wh=10,
            ),
        )
    )
    channels.append(
        ModbusChannel(
            channel=6,
            circuit=Circuit(point_id=modbus_point(6), name="Incomer", load=None, resolution_wh=10),
        )
    )
    let = sorted(room for room, *_ in _TENANTS)
    water_meters = tuple(
        WaterMeter(
            point_id=f"pulse:water-r{room}",
            name=f"Room {room} cold water",
            space_id=f"r{room}",
            object_id=f"room_{room}_water",
            # One or two guests a room: 100 % or 180 % of one person's draw.
            profile=WaterProfile(seed=room, percent=(100, 180)[index % 2]),
            start_l=250_000 + 3_571 * index,
        )
        for index, room in enumerate(let)
    )
    return Building(
        name="Harbour Hostel",
        breakers=breakers,
        modbus_channels=tuple(channels),
        tenants=tuple(
            Tenant(
                tenant_id=tenant_id,
                name=name,
                plan_id=plan,
                space_id=f"r{room}",
                opening_top_up=top_up,
            )
            for room, tenant_id, name, plan, top_up in _TENANTS
        ),
        tariff=TOU_TARIFF,
        plans=PLANS,
        logins=(
            # Only the landlord logs in to Home Assistant: tenants use the ledger's portal.
            Login(username="landlord", name="Landlord", tenant_id=None),
        ),
        water_meters=water_meters,
        heat_meter=HeatMeter(point_id=heat_point(), name="Hot-water heater", start_wh=4_200_000),
        water_tariff=WATER_TARIFF,
        heat_tariff=HEAT_TARIFF,
    )
