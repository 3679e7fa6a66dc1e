"""Small charts drawn on the server as SVG, so the console needs no chart library and no
script to show them: bars for totals by name, lines for figures by day. Labels and
values are escaped; colours come from console.css (`series-0` ...)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from markupsafe import Markup

WIDTH = 640
HEIGHT = 220
MARGIN_LEFT = 44
MARGIN_BOTTOM = 36
MARGIN_TOP = 12


def _scale(top: float) -> float:
    return top if top > 0 else 1.0


def bar_chart(
    bars: Sequence[tuple[str, float]], *, title: str, width: int = WIDTH, height: int = HEIGHT
) -> Markup:
    """One bar per (label, value), in the order given."""
    plot_w, plot_h = width - MARGIN_LEFT - 8, height - MARGIN_BOTTOM - MARGIN_TOP
    top = _scale(max((value for _, value in bars), default=0))
    slot = plot_w / max(len(bars), 1)
    parts = [_frame(title, width, height, top)]
    for index, (label, value) in enumerate(bars):
        bar_h = plot_h * value / top
        x = MARGIN_LEFT + index * slot + slot * 0.15
        y = MARGIN_TOP + plot_h - bar_h
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{bar_h:.1f}"><title>{escape(label)}: {value:g}</title></rect>'
            f'<text x="{x + slot * 0.35:.1f}" y="{height - MARGIN_BOTTOM + 14}" '
            f'text-anchor="middle">{escape(_short(label))}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every label and title is escaped above)


def line_chart(
    series: Mapping[str, Sequence[float]],
    labels: Sequence[str],
    *,
    title: str,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> Markup:
    """One line per named series over the same x `labels` (days, say), with a legend."""
    plot_w, plot_h = width - MARGIN_LEFT - 8, height - MARGIN_BOTTOM - MARGIN_TOP
    top = _scale(max((max(values, default=0) for values in series.values()), default=0))
    step = plot_w / max(len(labels) - 1, 1)
    parts = [_frame(title, width, height, top)]
    for index, (name, values) in enumerate(series.items()):
        points = " ".join(
            f"{MARGIN_LEFT + i * step:.1f},{MARGIN_TOP + plot_h - plot_h * value / top:.1f}"
            for i, value in enumerate(values)
        )
        parts.append(
            f'<polyline class="line series-{index % 6}" points="{points}">'
            f"<title>{escape(name)}</title></polyline>"
            f'<text class="legend series-{index % 6}" x="{MARGIN_LEFT + 4 + 110 * index}" '
            f'y="{height - 4}">■ {escape(_short(name, 14))}</text>'
        )
    for i, label in enumerate(labels):
        if len(labels) <= 8 or i % max(len(labels) // 6, 1) == 0:
            parts.append(
                f'<text x="{MARGIN_LEFT + i * step:.1f}" y="{height - MARGIN_BOTTOM + 14}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every label and title is escaped above)


def _frame(title: str, width: int, height: int, top: float) -> str:
    base = height - MARGIN_BOTTOM
    return (
        f'<svg class="chart" role="img" aria-label="{escape(title)}" '
        f'viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>"
        f'<line class="axis" x1="{MARGIN_LEFT}" y1="{base}" x2="{width - 8}" y2="{base}"/>'
        f'<line class="axis" x1="{MARGIN_LEFT}" y1="{MARGIN_TOP}" x2="{MARGIN_LEFT}" y2="{base}"/>'
        f'<text x="{MARGIN_LEFT - 6}" y="{MARGIN_TOP + 8}" text-anchor="end">{top:g}</text>'
        f'<text x="{MARGIN_LEFT - 6}" y="{base}" text-anchor="end">0</text>'
    )


def _short(label: str, length: int = 10) -> str:
    return label if len(label) <= length else label[: length - 1] + "…"
