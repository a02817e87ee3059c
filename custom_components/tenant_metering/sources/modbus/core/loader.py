"""Profile files (YAML or JSON) → validated ``Profile`` objects, with errors naming file and field.

Built-in profiles live next to this module in ``profiles/``; users add files to extra
directories (the integration passes ``<config>/tenant_metering/profiles/``). A later
directory's profile replaces an earlier one with the same ``id``, so a user can correct a
built-in map without code. Reading files blocks: call from an executor.

File layout (see the built-in files for worked examples)::

    schema: 1
    id: vendor_model            # unique, lower-case
    name / manufacturer / model / source (the datasheet cited)
    rated_current_a: 100        # the spike filter's ceiling per channel (per phase)
    resource: heat              # optional: electricity (default) or heat, both in Wh
    max_power_w: 200000         # optional: the ceiling in W instead (a heat meter's power)
    default_slave_id: 1         # optional
    serial: {baudrate: 9600, bytesize: 8, parity: N, stopbits: 1}   # optional
    max_gap: 16                 # optional; 0 if the meter refuses unmapped registers
    defaults: {table: input, type: f32, word_order: high_first}     # optional
    channels:                   # either a list of channels …
      - id: L1
        phases: 1
        values: {energy: {address: 0x015A, unit: kWh}, voltage: {…}, …}
        relay: {table: coil, address: 0, on: 1, off: 0}              # optional
    channel_template:           # … or channel 1's map repeated with a per-table stride
      counts: [4, 6, 8, 12, 18]
      stride: {holding: 8, coil: 1}
      values: {…}
      relay: {…}
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
import json
import logging
from pathlib import Path
from typing import Any

import voluptuous as vol
import yaml

from ....resources import Resource
from .profile import (
    UNIT_FACTORS,
    ChannelSpec,
    ChannelTemplate,
    DataType,
    Profile,
    Quantity,
    RelaySpec,
    SerialDefaults,
    Table,
    ValueSpec,
    WordOrder,
)

_LOGGER = logging.getLogger(__name__)

BUILT_IN_DIR = Path(__file__).parent / "profiles"
PROFILE_SUFFIXES = (".yaml", ".yml", ".json")
SCHEMA_VERSION = 1
DEFAULT_MAX_GAP = 16
_ADDRESS_SPACE = 0x10000


class ProfileError(Exception):
    """A profile file that cannot be used, naming the file and the offending field."""

    def __init__(self, file: Path, field: str, message: str) -> None:
        super().__init__(f"{file}: {field}: {message}")
        self.file = file
        self.field = field
        self.message = message


@dataclass(frozen=True, kw_only=True)
class ProfileCatalog:
    """Every usable profile by id, plus the user files that were refused."""

    profiles: Mapping[str, Profile]
    errors: tuple[ProfileError, ...]


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise vol.Invalid("expected a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation as err:
        raise vol.Invalid("expected a number") from err
    if not number.is_finite() or number == 0:
        raise vol.Invalid("must be a finite, non-zero number")
    return number


_REGISTER = vol.All(int, vol.Range(min=0, max=_ADDRESS_SPACE - 1))
_WORD = vol.All(int, vol.Range(min=0, max=0xFFFF))


def _value_schema(quantity: Quantity) -> vol.Schema:
    return vol.Schema(
        {
            vol.Required("address"): _REGISTER,
            vol.Required("table"): vol.In([Table.HOLDING.value, Table.INPUT.value]),
            vol.Required("type"): vol.In([t.value for t in DataType]),
            vol.Optional("word_order", default=WordOrder.HIGH_FIRST.value): vol.In(
                [o.value for o in WordOrder]
            ),
            vol.Optional("scale", default=1): _decimal,
            vol.Required("unit"): vol.In(list(UNIT_FACTORS[quantity])),
        }
    )


_VALUES = vol.Schema(
    {
        vol.Required(q.value) if q is Quantity.ENERGY else vol.Optional(q.value): _value_schema(q)
        for q in Quantity
    }
)
_RELAY = vol.Schema(
    {
        vol.Required("table"): vol.In([Table.COIL.value, Table.HOLDING.value]),
        vol.Required("address"): _REGISTER,
        vol.Optional("on", default=1): _WORD,
        vol.Optional("off", default=0): _WORD,
    }
)
_PHASES = vol.All(int, vol.Range(min=1, max=3))
_CHANNEL = vol.Schema(
    {
        vol.Required("id"): vol.All(str, vol.Length(min=1, max=32)),
        vol.Optional("phases", default=1): _PHASES,
        vol.Required("values"): _VALUES,
        vol.Optional("relay"): _RELAY,
    }
)
_TEMPLATE = vol.Schema(
    {
        vol.Required("counts"): vol.All(
            [vol.All(int, vol.Range(min=1, max=256))], vol.Length(min=1), vol.Unique()
        ),
        vol.Optional("stride", default={}): {
            vol.In([t.value for t in Table]): vol.All(int, vol.Range(min=0, max=_ADDRESS_SPACE))
        },
        vol.Optional("phases", default=1): _PHASES,
        vol.Required("values"): _VALUES,
        vol.Optional("relay"): _RELAY,
    }
)
_DEFAULTS = vol.Schema(
    {
        vol.Optional("table"): vol.In([Table.HOLDING.value, Table.INPUT.value]),
        vol.Optional("type"): vol.In([t.value for t in DataType]),
        vol.Optional("word_order"): vol.In([o.value for o in WordOrder]),
    }
)
_LAYOUT = "channels/channel_template"
_LAYOUT_MESSAGE = "give either channels or channel_template, not both"
_PROFILE = vol.Schema(
    {
        vol.Required("schema"): SCHEMA_VERSION,
        vol.Required("id"): vol.All(str, vol.Match(r"^[a-z0-9_]+$")),
        vol.Required("name"): vol.All(str, vol.Length(min=1)),
        vol.Required("manufacturer"): vol.All(str, vol.Length(min=1)),
        vol.Required("model"): vol.All(str, vol.Length(min=1)),
        vol.Required("source"): vol.All(str, vol.Length(min=1)),
        vol.Required("rated_current_a"): vol.All(vol.Coerce(float), vol.Range(min=0.1, max=10000)),
        vol.Optional("resource", default=Resource.ELECTRICITY.value): vol.In(
            [Resource.ELECTRICITY.value, Resource.HEAT.value]
        ),
        vol.Optional("max_power_w"): vol.All(int, vol.Range(min=1, max=10**9)),
        vol.Optional("default_slave_id", default=1): vol.All(int, vol.Range(min=1, max=247)),
        vol.Optional("serial", default={}): {
            vol.Optional("baudrate", default=9600): vol.In(
                [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200]
            ),
            vol.Optional("bytesize", default=8): vol.In([7, 8]),
            vol.Optional("parity", default="N"): vol.In(["N", "E", "O"]),
            vol.Optional("stopbits", default=1): vol.In([1, 2]),
        },
        vol.Optional("max_gap", default=DEFAULT_MAX_GAP): vol.All(int, vol.Range(min=0, max=124)),
        vol.Optional("defaults"): _DEFAULTS,
        vol.Exclusive("channels", _LAYOUT, msg=_LAYOUT_MESSAGE): vol.All(
            [_CHANNEL], vol.Length(min=1)
        ),
        vol.Exclusive("channel_template", _LAYOUT, msg=_LAYOUT_MESSAGE): _TEMPLATE,
    }
)


def _apply_defaults(data: Any) -> Any:
    """Copy ``defaults`` into every value map that leaves those keys out."""
    if not isinstance(data, dict) or not isinstance(defaults := data.get("defaults"), dict):
        return data
    layouts = data.get("channels")
    groups = list(layouts) if isinstance(layouts, list) else [data.get("channel_template")]
    for group in groups:
        values = group.get("values") if isinstance(group, dict) else None
        for spec in values.values() if isinstance(values, dict) else ():
            if isinstance(spec, dict):
                for key, default in defaults.items():
                    spec.setdefault(key, default)
    return data


def _field(path: Sequence[Any]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".") or "(top level)"


def _values(raw: Mapping[str, Any]) -> tuple[ValueSpec, ...]:
    return tuple(
        ValueSpec(
            quantity=Quantity(key),
            table=Table(spec["table"]),
            address=spec["address"],
            data_type=DataType(spec["type"]),
            word_order=WordOrder(spec["word_order"]),
            scale=spec["scale"],
            unit=spec["unit"],
        )
        for key, spec in raw.items()
    )


def _relay(raw: Mapping[str, Any] | None) -> RelaySpec | None:
    if raw is None:
        return None
    return RelaySpec(
        table=Table(raw["table"]), address=raw["address"], on_value=raw["on"], off_value=raw["off"]
    )


def _check(profile: Profile) -> None:
    """Rules that span fields; raises vol.Invalid with the field's path."""
    if not profile.channels and profile.template is None:
        raise vol.Invalid("give either channels or channel_template", path=["channels"])
    ids = [channel.channel_id for channel in profile.channels]
    if len(set(ids)) != len(ids):
        raise vol.Invalid("channel ids must be unique", path=["channels"])
    for index, channel in enumerate(profile.expand(max(profile.channel_counts))):
        where = ["channels", index] if profile.channels else ["channel_template"]
        for spec in channel.values:
            if spec.address + spec.count > _ADDRESS_SPACE:
                raise vol.Invalid(
                    "beyond register 65535", path=[*where, "values", spec.quantity.value]
                )
        relay = channel.relay
        if relay and relay.on_value == relay.off_value:
            raise vol.Invalid("on and off must differ", path=[*where, "relay"])
        if relay and relay.table is Table.COIL and max(relay.on_value, relay.off_value) > 1:
            raise vol.Invalid("a coil is 0 or 1", path=[*where, "relay"])


def parse_profile(data: Any, *, file: Path) -> Profile:
    """Validate one profile's parsed data; raises ProfileError naming ``file`` and the field."""
    try:
        valid = _PROFILE(_apply_defaults(data))
        template = valid.get("channel_template")
        profile = Profile(
            profile_id=valid["id"],
            name=valid["name"],
            manufacturer=valid["manufacturer"],
            model=valid["model"],
            source=valid["source"],
            rated_current_a=valid["rated_current_a"],
            resource=Resource(valid["resource"]),
            max_power_w=Decimal(valid["max_power_w"]) if "max_power_w" in valid else None,
            default_slave_id=valid["default_slave_id"],
            serial=SerialDefaults(**valid["serial"]),
            max_gap=valid["max_gap"],
            channels=tuple(
                ChannelSpec(
                    channel_id=raw["id"],
                    phases=raw["phases"],
                    values=_values(raw["values"]),
                    relay=_relay(raw.get("relay")),
                )
                for raw in valid.get("channels", ())
            ),
            template=(
                ChannelTemplate(
                    counts=tuple(sorted(template["counts"])),
                    stride={Table(table): step for table, step in template["stride"].items()},
                    phases=template["phases"],
                    values=_values(template["values"]),
                    relay=_relay(template.get("relay")),
                )
                if template
                else None
            ),
            file=file,
        )
        _check(profile)
    except vol.MultipleInvalid as err:
        first, *_ = err.errors
        raise ProfileError(file, _field(first.path), first.msg) from err
    except vol.Invalid as err:
        raise ProfileError(file, _field(err.path), err.msg) from err
    return profile


def load_profile_file(file: Path) -> Profile:
    """Read and validate one profile file."""
    try:
        text = file.read_text(encoding="utf-8")
        data = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as err:
        raise ProfileError(file, "(file)", str(err)) from err
    return parse_profile(data, file=file)


def load_profiles(extra_dirs: Iterable[Path] = ()) -> ProfileCatalog:
    """The built-in profiles, then each extra directory's (missing directories are skipped).

    A broken built-in profile is a bug and raises; a broken user file is reported in
    ``errors`` so the others still load.
    """
    profiles: dict[str, Profile] = {}
    errors: list[ProfileError] = []
    for directory in (BUILT_IN_DIR, *extra_dirs):
        if not directory.is_dir():
            continue
        seen: dict[str, Path] = {}
        for file in sorted(p for p in directory.iterdir() if p.suffix in PROFILE_SUFFIXES):
            try:
                profile = load_profile_file(file)
                if profile.profile_id in seen:
                    raise ProfileError(
                        file,
                        "id",
                        f"{profile.profile_id!r} is also defined in {seen[profile.profile_id]}",
                    )
            except ProfileError as err:
                if directory == BUILT_IN_DIR:
                    raise
                _LOGGER.error("Ignoring Modbus profile: %s", err)
                errors.append(err)
                continue
            seen[profile.profile_id] = file
            if profile.profile_id in profiles:
                _LOGGER.info("%s replaces profile %s", file, profile.profile_id)
            profiles[profile.profile_id] = profile
    return ProfileCatalog(profiles=profiles, errors=tuple(errors))
