"""Geometry of the admin dashboard's SVG charts, computed here and drawn by
``templates/partials/charts.html``: no JavaScript, no chart library."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from fairdeal import i18n

WIDTH = 360  # the viewBox width; the SVG scales to its card
LABEL_WIDTH = 128
ROW_HEIGHT = 26
BAR_HEIGHT = 16


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value_text: str
    x: float
    y: float
    width: float
    height: float
    css: str = ""


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    description: str
    width: int
    height: int
    bars: list[Bar]
    # (x, y, text) of axis labels
    ticks: list[tuple[float, float, str]]
    legend: list[tuple[str, str]]  # (css class, label)


def horizontal(
    title: str,
    description: str,
    rows: list[tuple[str, float, str]],
    *,
    css: str = "",
) -> Chart:
    """One bar per row: (label, value, value as text), scaled to the largest value."""
    top = max((value for _, value, _ in rows), default=0) or 1
    span = WIDTH - LABEL_WIDTH - 84
    bars = []
    for index, (label, value, text) in enumerate(rows):
        y = 4 + index * ROW_HEIGHT
        bars.append(
            Bar(
                label,
                text,
                LABEL_WIDTH,
                y,
                max(span * value / top, 1 if value else 0),
                BAR_HEIGHT,
                css,
            )
        )
    return Chart(title, description, WIDTH, 8 + len(rows) * ROW_HEIGHT, bars, [], [])


def per_day(
    title: str,
    description: str,
    days: list[date],
    series: list[tuple[str, str, list[int]]],
) -> Chart:
    """Grouped columns per day; ``series`` are (css class, legend label, one value per day)."""
    height, bottom, left = 170, 150, 24
    plot = bottom - 12
    top = max((v for _, _, values in series for v in values), default=0) or 1
    slot = (WIDTH - left) / max(len(days), 1)
    bar = max((slot - 4) / max(len(series), 1), 1)
    bars: list[Bar] = []
    for index, day in enumerate(days):
        for number, (css, label, values) in enumerate(series):
            value = values[index]
            h = plot * value / top
            bars.append(
                Bar(
                    f"{day.isoformat()} {label}",
                    str(value),
                    left + index * slot + 2 + number * bar,
                    bottom - h,
                    bar,
                    h,
                    css,
                )
            )
    ticks: list[tuple[float, float, str]] = [
        (left + index * slot + slot / 2, bottom + 14, day.strftime("%d"))
        for index, day in enumerate(days)
        if index % 2 == (len(days) - 1) % 2
    ]
    ticks.append((2, bottom - plot + 4, str(top)))
    ticks.append((2, bottom, "0"))
    return Chart(
        title, description, WIDTH, height, bars, ticks, [(css, label) for css, label, _ in series]
    )


def shares(title: str, description: str, parts: list[tuple[str, str, int]]) -> Chart:
    """One 100% bar split by share; ``parts`` are (css class, label, count)."""
    total = sum(count for _, _, count in parts) or 1
    bars, x = [], 0.0
    for css, label, count in parts:
        w = WIDTH * count / total
        bars.append(Bar(label, f"{round(100 * count / total)}%", x, 4, w, 28, css))
        x += w
    return Chart(
        title,
        description,
        WIDTH,
        36,
        bars,
        [],
        # "Label: count" with the reader's colon (full-width in Chinese).
        [
            (css, i18n._("%(label)s: %(value)s") % {"label": label, "value": count})
            for css, label, count in parts
        ],
    )
