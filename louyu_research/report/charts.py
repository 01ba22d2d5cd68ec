"""Charts of the report: one Altair theme, built from frames already aggregated in Polars.

Every builder takes a small, sorted Polars frame (the aggregation is done before, in Polars)
and returns an Altair chart; `to_svg` / `to_png` render it through vl-convert with the
project's CJK font, so a chart looks the same in the notebook, the HTML, the PDF and on disk.
The notebook shows SVG, never Altair's default HTML renderer (it loads Vega from a CDN).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import altair as alt
import polars as pl
import vl_convert as vlc

from .fonts import FONT_FAMILY, register_fonts

THEME_NAME = "louyu"
#: A sober palette that stays readable in grey print: blue, orange, green, red, purple, brown…
PALETTE = ["#1f5fa8", "#e07b24", "#3a9a5b", "#c8413b", "#7b5ea7", "#8c6d4f", "#d16ba5", "#7f7f7f"]
TARGET_COLOR = "#c8413b"
WIDTH = 620
HEIGHT = 260
PNG_SCALE = 2.0


def theme_config() -> dict[str, Any]:
    """The Vega-Lite config of the report's single theme (font, sizes, palette)."""
    font = FONT_FAMILY
    return {
        "config": {
            "font": font,
            "background": "white",
            "padding": 8,
            "view": {"continuousWidth": WIDTH, "continuousHeight": HEIGHT, "stroke": None},
            "title": {
                "font": font,
                "fontSize": 14,
                "fontWeight": "bold",
                "anchor": "start",
                "color": "#222",
            },
            "axis": {
                "labelFont": font,
                "titleFont": font,
                "labelFontSize": 11,
                "titleFontSize": 11,
                "titleFontWeight": "normal",
                "gridColor": "#e6e6e6",
                "domainColor": "#888",
                "tickColor": "#888",
            },
            "legend": {
                "labelFont": font,
                "titleFont": font,
                "labelFontSize": 11,
                "titleFontSize": 11,
                "orient": "bottom",
                "direction": "horizontal",
            },
            "header": {"labelFont": font, "titleFont": font},
            "text": {"font": font},
            "range": {"category": PALETTE},
            "line": {"strokeWidth": 2},
            "bar": {"color": PALETTE[0]},
        }
    }


@alt.theme.register(THEME_NAME, enable=False)
def _louyu_theme() -> alt.theme.ThemeConfig:
    return alt.theme.ThemeConfig(**theme_config())  # type: ignore[typeddict-item]


def use_theme() -> None:
    """Enable the report's theme and the SVG renderer (no CDN) and register the CJK font."""
    register_fonts()
    alt.theme.enable(THEME_NAME)
    alt.renderers.enable("svg")


# --- rendering ------------------------------------------------------------------------------


def spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """The chart's Vega-Lite spec with the theme applied (data inlined, deterministic)."""
    with alt.theme.enable(THEME_NAME):
        return chart.to_dict(validate=True)


def spec_to_svg(vl_spec: dict[str, Any]) -> str:
    register_fonts()
    return vlc.vegalite_to_svg(vl_spec)


def spec_to_png(vl_spec: dict[str, Any], scale: float = PNG_SCALE) -> bytes:
    register_fonts()
    return vlc.vegalite_to_png(vl_spec, scale=scale)


def to_svg(chart: alt.TopLevelMixin) -> str:
    """SVG text of the chart, labels in the project's CJK font."""
    return spec_to_svg(spec(chart))


def to_png(chart: alt.TopLevelMixin, scale: float = PNG_SCALE) -> bytes:
    """PNG bytes of the chart (scale 2 by default: sharp in print)."""
    return spec_to_png(spec(chart), scale=scale)


CHART_MIME = "application/vnd.louyu.chart+json"


@dataclass(frozen=True)
class Figure:
    """A named chart of the report: shown as SVG in notebooks/HTML, exported as SVG and PNG.

    The spec travels in the output's metadata so the renderer can write `charts/<name>.svg|png`
    from the executed notebook alone, without running anything again.
    """

    name: str
    chart: alt.TopLevelMixin
    caption: str = ""
    _spec: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def vl_spec(self) -> dict[str, Any]:
        if not self._spec:
            object.__setattr__(self, "_spec", spec(self.chart))
        return self._spec

    def svg(self) -> str:
        return spec_to_svg(self.vl_spec())

    def png(self, scale: float = PNG_SCALE) -> bytes:
        return spec_to_png(self.vl_spec(), scale=scale)

    def is_empty(self) -> bool:
        """No data row at all (e.g. the log's first quarter has no complete market quarter)."""
        datasets = self.vl_spec().get("datasets", {})
        return bool(datasets) and not any(datasets.values())

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict, dict]:
        if self.is_empty():  # an empty chart cannot be drawn: say so instead of failing
            title = self.vl_spec().get("title", self.name)
            title = title.get("text", self.name) if isinstance(title, dict) else title
            return {"text/markdown": f"*{title}：无数据 · no data*"}, {}
        data = {"image/svg+xml": self.svg(), "text/plain": f"<chart {self.name}>"}
        meta = {
            "louyu": {
                "kind": "chart",
                "name": self.name,
                "caption": self.caption,
                "spec": self.vl_spec(),
            }
        }
        return data, meta


# --- builders -------------------------------------------------------------------------------


def _require(frame: pl.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"chart frame lacks column(s) {missing}; has {frame.columns}")


def trend_chart(
    frame: pl.DataFrame,
    *,
    x: str,
    y: str,
    series: str,
    title: str,
    y_title: str,
    targets: pl.DataFrame | None = None,
    percent: bool = True,
) -> alt.LayerChart | alt.Chart:
    """Monthly lines, one per series, with the yearly target as a dashed step line.

    `frame`: one row per (x, series) with y; `targets`: rows (x, target, series) already
    expanded to the months of each target year (Polars did it), drawn as dashed lines.
    """
    _require(frame, [x, y, series])
    fmt = ".0%" if percent else ",.0f"
    data = frame.sort(series, x)
    base = (
        alt.Chart(data, title=title)
        .mark_line(point=alt.OverlayMarkDef(size=18))
        .encode(
            x=alt.X(
                f"{x}:T", title=None, axis=alt.Axis(format="%Y-%m", labelAngle=0, tickCount="year")
            ),
            y=alt.Y(f"{y}:Q", title=y_title, axis=alt.Axis(format=fmt)),
            color=alt.Color(f"{series}:N", title=None, sort=None),
        )
    )
    if targets is None or targets.is_empty():
        return base
    _require(targets, [x, "target", series])
    rule = (
        alt.Chart(targets.sort(series, x))
        .mark_line(strokeDash=[5, 4], interpolate="step-after", strokeWidth=1.5)
        .encode(
            x=f"{x}:T",
            y=alt.Y("target:Q"),
            color=alt.Color(f"{series}:N", title=None, sort=None),
            detail=f"{series}:N",
        )
    )
    return alt.layer(base, rule)


def market_chart(
    frame: pl.DataFrame,
    *,
    period: str,
    measure: str,
    value: str,
    line: str,
    title: str,
    bars_title: str,
    line_title: str,
) -> alt.LayerChart:
    """Bars of area flows (new supply, net absorption) by period, grouped, and a vacancy line.

    `frame` (long): period, measure (series name), value for the bars; the `line` column
    holds the vacancy rate per period (repeated per measure; the line uses the first).
    """
    _require(frame, [period, measure, value, line])
    data = frame.sort(period, measure)
    bar = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(f"{period}:N", title=None, sort=None, axis=alt.Axis(labelAngle=-45)),
            xOffset=alt.XOffset(f"{measure}:N", sort=None),
            y=alt.Y(f"{value}:Q", title=bars_title, axis=alt.Axis(format=",.0f")),
            color=alt.Color(f"{measure}:N", title=None, sort=None),
        )
    )
    vacancy = (
        alt.Chart(data.unique(period, keep="first").sort(period))
        .mark_line(color=PALETTE[3], point=alt.OverlayMarkDef(color=PALETTE[3], size=18))
        .encode(
            x=alt.X(f"{period}:N", sort=None),
            y=alt.Y(
                f"{line}:Q", title=line_title, axis=alt.Axis(format=".0%", titleColor=PALETTE[3])
            ),
        )
    )
    return (
        alt.layer(bar, vacancy, title=title).resolve_scale(y="independent").properties(width=WIDTH)
    )


def bar_chart(
    frame: pl.DataFrame,
    *,
    category: str,
    value: str,
    title: str,
    value_title: str,
    percent: bool = False,
    color: str | None = None,
    height_per_bar: int = 18,
) -> alt.Chart:
    """Horizontal bars in the frame's order (sort the frame first: that order is what shows)."""
    _require(frame, [category, value] + ([color] if color else []))
    fmt = ".0%" if percent else ",.0f"
    enc: dict[str, Any] = {
        "y": alt.Y(f"{category}:N", title=None, sort=None),
        "x": alt.X(f"{value}:Q", title=value_title, axis=alt.Axis(format=fmt)),
    }
    if color:
        enc["color"] = alt.Color(f"{color}:N", title=None, sort=None)
    return (
        alt.Chart(frame, title=title)
        .mark_bar()
        .encode(**enc)
        .properties(height=max(80, height_per_bar * frame.height))
    )


def stacked_bar_chart(
    frame: pl.DataFrame,
    *,
    x: str,
    y: str,
    color: str,
    title: str,
    y_title: str,
    percent: bool = False,
) -> alt.Chart:
    """Stacked vertical bars (e.g. take-up by key industry per quarter); frame in long form."""
    _require(frame, [x, y, color])
    stack: Any = "normalize" if percent else True
    return (
        alt.Chart(frame, title=title)
        .mark_bar()
        .encode(
            x=alt.X(f"{x}:N", title=None, sort=None, axis=alt.Axis(labelAngle=-45)),
            y=alt.Y(
                f"{y}:Q",
                title=y_title,
                stack=stack,
                axis=alt.Axis(format=".0%" if percent else ",.0f"),
            ),
            color=alt.Color(f"{color}:N", title=None, sort=None),
            order=alt.Order(f"{color}:N"),
        )
    )


def dumps_spec(vl_spec: dict[str, Any]) -> str:
    """Canonical JSON of a spec (sorted keys): what a manifest hashes."""
    return json.dumps(vl_spec, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
