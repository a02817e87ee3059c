"""Usage charts as inline SVG, drawn on the server: no chart library, no script, no float money.

Heights are integer arithmetic on whole base units (Wh or L); the SVG carries classes the
stylesheet colours, and each bar a <title> so a tap or hover shows the exact amount in the
billing unit (kWh or m³: 1000 base units each).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup, escape

from tenant_ledger.billing import format_kwh

WIDTH, HEIGHT = 720, 240
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 8, 12, 28
_MAX_LABELS = 12


@dataclass(frozen=True, kw_only=True, slots=True)
class Bar:
    label: str
    title: str
    usage: int
    """Whole base units (Wh or L)."""


def tick(usage: int) -> str:
    """Base units in the billing unit without trailing zeros, for axis ticks ('1.5', '20')."""
    return f"{Decimal(format_kwh(usage)).normalize():f}"


def _scale_top(largest: int) -> int:
    """The smallest 1/2/5 x 10^k base units at or above the largest bar (at least 100)."""
    step = 100
    while True:
        for factor in (1, 2, 5):
            if step * factor >= largest:
                return step * factor
        step *= 10


def bar_chart(bars: Sequence[Bar], caption: str, unit: str = "kWh") -> Markup:
    """``bars`` in base units, drawn and labelled in the billing ``unit`` (kWh, m³)."""
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    top = _scale_top(max((bar.usage for bar in bars), default=0))
    slot = plot_w // max(len(bars), 1)
    every = -(-len(bars) // _MAX_LABELS)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(caption)}" preserveAspectRatio="xMidYMid meet">',
        f"<title>{escape(caption)}</title>",
    ]
    for share in (0, 1, 2):
        y = _TOP + plot_h - plot_h * share // 2
        parts.append(
            f'<line class="chart-grid" x1="{_LEFT}" y1="{y}" x2="{WIDTH - _RIGHT}" y2="{y}"/>'
            f'<text class="chart-axis" x="{_LEFT - 6}" y="{y + 4}" text-anchor="end">'
            f"{tick(top * share // 2)}</text>"
        )
    # The unit sits in the labels' row, left of the first bar: beside the top tick it ran
    # into it ("kWh0.1") once a phone scaled the chart down.
    parts.append(
        f'<text class="chart-axis" x="4" y="{HEIGHT - 10}" text-anchor="start">'
        f"{escape(unit)}</text>"
    )
    for index, bar in enumerate(bars):
        height = plot_h * bar.usage // top
        x = _LEFT + index * slot
        parts.append(
            f'<rect class="chart-bar" x="{x + 1}" y="{_TOP + plot_h - height}" '
            f'width="{max(slot - 2, 1)}" height="{height}">'
            f"<title>{escape(bar.title)}: {format_kwh(bar.usage)} {escape(unit)}</title></rect>"
        )
        if index % every == 0:
            parts.append(
                f'<text class="chart-label" x="{x + slot // 2}" y="{HEIGHT - 10}" '
                f'text-anchor="middle">{escape(bar.label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped above
