"""Charts as values: each function takes data and returns a ``Chart`` (a Plotly figure plus the
data behind it and what a deck needs). Nothing here renders or writes; the page shows the
figure, the exporter exports the very same object, tests inspect it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import plotly.graph_objects as go
import polars as pl
from plotly.basedatatypes import BaseTraceType

from insights.cube import Caveat
from insights.disclosure import withheld_column
from insights.filters import Filters, normalise_filters
from insights.formatting import change_text, value_text, withheld_in, withheld_note
from insights.labels import dimension_label, label, plain
from insights.metrics import Format, as_metric, measures
from insights.model import DIMENSION_LABELS, harm_area_colours

if TYPE_CHECKING:
    from insights.periods import Period
    from insights.trends import Trend

ChartKind = Literal["line", "bar", "other"]

FONT = "Source Sans Pro, Arial, sans-serif"
INK = "#1F2933"
MUTED = "#616E7C"
GRID = "#E4E7EB"
ACCENT = "#1F4E79"
#: Colours for series that are not harm areas (Okabe–Ito, colour-blind safe).
SERIES_COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]


@dataclass
class Chart:
    """A chart as a value.

    ``data`` is the tidy frame plotted; ``x`` / ``series`` / ``y`` name its columns so the deck
    can rebuild line and bar charts as native, editable PowerPoint charts. ``notes`` carries
    the narrative and definitions into speaker notes.

    ``kind`` says how a deck carries the chart: ``"line"`` and ``"bar"`` are rebuilt as native
    charts (with what the figure draws: series and per-bar colours, value labels, axis titles);
    ``"other"`` is every chart a native chart cannot draw faithfully (bands, anomaly markers,
    maps, waterfalls, grouped bars with labels, small multiples) and goes in as an image.

    ``subtitle`` is the line under the title that says what the chart shows: the slice (filters in
    words), the periods compared when it compares periods, and the data's as-of date (see
    ``subtitle_text``). Exported images and slides print it; the page sets it.
    """

    key: str
    title: str
    figure: go.Figure
    data: pl.DataFrame
    kind: ChartKind = "other"
    x: str | None = None
    series: str | None = None
    y: list[str] = field(default_factory=list)
    metric: str | None = None
    notes: str = ""
    subtitle: str = ""


def subtitle_text(
    filters: Filters | None = None,
    *,
    current: Period | None = None,
    baseline: Period | None = None,
    as_of: dt.date | None = None,
) -> str:
    """A chart's subtitle: the slice in words, the periods compared and the data's as-of date.

    ``subtitle_text({"harm_area": ["self_harm"], "country": ["ID"]}, current=..., baseline=...,
    as_of=...)`` → 'Mental health / self-harm · Country: Indonesia · 2026-03-02 – 2026-04-26
    against 2026-01-05 – 2026-03-01 · data as of 2026-11-22'. Harm areas are named without their
    dimension, other filters with it; no filter reads 'All harm areas'.
    """
    normal = normalise_filters(filters)
    areas = ", ".join(label("harm_area", v) for v in normal.pop("harm_area", [])) or "All harm areas"
    parts = [
        areas,
        *(f"{dimension_label(d)}: {', '.join(label(d, v) for v in values)}" for d, values in normal.items()),
    ]
    if current is not None:
        parts.append(current.label() + (f" against {baseline.label()}" if baseline is not None else ""))
    if as_of is not None:
        parts.append(f"data as of {as_of:%Y-%m-%d}")
    return " · ".join(parts)


def series_colour(dimension: str | None, value: str, index: int) -> str:
    """Harm areas keep their own colour everywhere; other series take the palette in order."""
    if dimension == "harm_area":
        return harm_area_colours().get(value, SERIES_COLOURS[index % len(SERIES_COLOURS)])
    return SERIES_COLOURS[index % len(SERIES_COLOURS)]


#: Plotly tick and hover number formats per registry format.
TICK_FORMATS: dict[Format, str] = {"percent": ".0%", "count": ",.0f", "decimal": ",.1f"}
HOVER_FORMATS: dict[Format, str] = {"percent": ":.1%", "count": ":,.0f", "decimal": ":,.2f"}


def axis_format(metric: str) -> dict:
    """Plotly axis settings that show a metric the way the registry formats it."""
    return {"tickformat": TICK_FORMATS[as_metric(metric).format]}


def change_axis_format(metric: str) -> dict:
    """Axis settings for a change in a metric: rates to a tenth of a point, others as Plotly picks."""
    return {"tickformat": ".1%"} if as_metric(metric).format == "percent" else {}


def hover_format(metric: str) -> str:
    """A Plotly hover number format for a metric."""
    return HOVER_FORMATS[as_metric(metric).format]


#: Font sizes (px) of the title, the subtitle and the rest of the text, and the room around them.
TITLE_SIZE, SUBTITLE_SIZE, TEXT_SIZE = 20, 15, 15
TITLE_LINE, SUBTITLE_LINE, LEGEND_ROW, EDGE = 28, 21, 26, 14
#: The width a figure is laid out for when the width it will be drawn at is not known (a page column).
LAYOUT_WIDTH = 900


def text_width(text: str, size: float = TEXT_SIZE) -> float:
    """A generous estimate of the width in px of one line of ``text`` in the house font at ``size`` px
    (Arial-like proportions), so margins leave room for a label without measuring it in a browser."""
    narrow, wide = set("iljtfrI.,:;'|!() "), set("mwMW@%")
    em = sum(0.3 if c in narrow else 0.9 if c in wide else 0.7 if c.isupper() else 0.58 for c in text)
    return em * size


def wrap(text: str, width: float, size: float) -> list[str]:
    """``text`` broken into lines (at its own line breaks, then between words) that fit ``width`` px."""
    lines: list[str] = []
    for paragraph in text.splitlines():
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if line and text_width(candidate, size) > width:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return [line for line in lines if line.strip()]


def balanced(text: str, width: float, size: float) -> list[str]:
    """``text`` in as few lines as ``wrap`` needs to fit ``width`` px, the words shared out so the
    lines are of like length ("Share of actions / (posting time known)", not "Share of actions
    (posting / time known)")."""
    lines = wrap(text, width, size)
    if len(lines) != 2:
        return lines
    words = text.split(" ")
    splits = [(" ".join(words[:i]), " ".join(words[i:])) for i in range(1, len(words))]
    first, second = min(splits, key=lambda pair: max(text_width(pair[0], size), text_width(pair[1], size)))
    return [first, second]


#: Width (px) and size of an axis title's lines: centred under the plot, they fit a chart on a phone.
AXIS_TITLE_WIDTH, AXIS_TITLE_SIZE = 220, 18


def fitted_axis_title(title: str) -> str:
    """An axis title broken into lines (at its own ``<br>``, then balanced) that fit a phone's chart."""
    parts = title.split("<br>")
    return "<br>".join(line for part in parts for line in balanced(part, AXIS_TITLE_WIDTH, AXIS_TITLE_SIZE))


#: The colour of the countries a map withholds (small-cell suppression).
WITHHELD_GREY = "#CBD2D9"
#: Width (px) and size of the lines of a note under a chart: they fit a chart on a phone.
NOTE_WIDTH, NOTE_SIZE = 200, 14


def note_lines(note: str | None) -> str | None:
    """A note under a chart (e.g. what suppression withheld) broken into lines that fit a phone's
    chart (an axis title's notes are fitted with the title, ``fitted_axis_title``)."""
    return "<br>".join(wrap(note, NOTE_WIDTH, NOTE_SIZE)) if note else None


def legend_names(figure: go.Figure) -> list[str]:
    """The names the figure's legend shows (Plotly shows a legend for two traces or more)."""
    shown = [t.name for t in figure.data if t.showlegend is not False and t.name]
    return shown if len(shown) > 1 or figure.layout.showlegend else []


def legend_rows(figure: go.Figure, width: float) -> int:
    """How many rows a horizontal legend of the figure takes in ``width`` px (0 without a legend)."""
    rows, used = 0, width
    for name in legend_names(figure):
        item = 46 + text_width(name)
        if used + item > width:
            rows, used = rows + 1, 0.0
        used += item
    return rows


def heading(figure: go.Figure, title: str, subtitle: str = "", width: float = LAYOUT_WIDTH) -> go.Figure:
    """Put ``title`` and ``subtitle`` on top of ``figure`` (changed in place and returned), each
    wrapped to ``width`` px, with the legend in a row of its own under them, left-aligned with the
    plot, so that none of the three overlaps another or is cut at the edge.

    An empty title and subtitle leave only the legend (a picture under a slide's own title).
    """
    room = width - 2 * EDGE
    title_lines = wrap(title, room, TITLE_SIZE)
    subtitle_lines = wrap(subtitle, room, SUBTITLE_SIZE)
    legend = figure.layout.legend
    on_top = legend.yref != "container" and (legend.y or 0) >= 1 and legend.yanchor == "bottom"
    rows = legend_rows(figure, width - (figure.layout.margin.l or 0) - (figure.layout.margin.r or 0)) if on_top else 0
    rows += _notes_above(figure)
    top = EDGE + TITLE_LINE * len(title_lines) + SUBTITLE_LINE * len(subtitle_lines) + LEGEND_ROW * rows
    figure.update_layout(
        title={
            "text": "<br>".join(title_lines),
            "font": {"size": TITLE_SIZE, "color": INK},
            "subtitle": {"text": "<br>".join(subtitle_lines), "font": {"size": SUBTITLE_SIZE, "color": MUTED}},
            "x": 0,
            "xref": "container",
            "xanchor": "left",
            "pad": {"l": EDGE},
            "y": 1,
            "yref": "container",
            "yanchor": "top",
        },
        title_pad_t=EDGE,
        margin_t=top + (EDGE if title_lines or subtitle_lines or rows else 0),
    )
    return figure


def _notes_above(figure: go.Figure) -> int:
    """1 when text sits just above the plot (subplot titles, a marker line's label), else 0."""
    return int(
        any(
            (a.yref or "").endswith(("paper", "domain")) and (a.y or 0) >= 1 and a.yanchor == "bottom"
            for a in figure.layout.annotations
        )
    )


def _label_room(figure: go.Figure) -> float:
    """The width in px the longest category label of the figure's horizontal bars needs."""
    labels = [str(v) for t in figure.data if t.type in ("bar", "waterfall") and t.orientation == "h" for v in t.y or ()]
    return max((text_width(v) for v in labels), default=0.0)


def style(figure: go.Figure, title: str, height: int = 420) -> go.Figure:
    """The house style: readable on a projector, quiet grid, words not column names.

    Axes make room for their labels whatever Plotly template is in force (the app's may not), the
    left margin fits the longest label of horizontal bars, and the title sits above the legend.
    """
    figure.update_layout(
        font={"family": FONT, "size": TEXT_SIZE, "color": INK},
        paper_bgcolor="white",
        plot_bgcolor="white",
        height=height,
        margin={"l": max(60, round(_label_room(figure)) + 24), "r": 30, "t": 60, "b": 50},
        hoverlabel={"font": {"family": FONT, "size": 14}},
    )
    if figure.layout.legend.y is None:  # not placed by the chart: a row above the plot, under the title
        figure.update_layout(
            legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0, "title": None},
            legend_traceorder="normal",
        )
    figure.update_xaxes(gridcolor=GRID, linecolor=GRID, zeroline=False, automargin=True)
    for axis in figure.select_xaxes(selector=lambda axis: bool(axis.title.text)):
        axis.title.text = fitted_axis_title(axis.title.text)
    figure.update_yaxes(gridcolor=GRID, linecolor=GRID, zeroline=False, rangemode="tozero", automargin=True)
    return heading(figure, title)


#: Colours of the house style on a dark background (text ≥ 4.5:1 against it, as on light).
DARK = {"background": "#0E1117", "ink": "#E6E9EF", "muted": "#A3ACB9", "grid": "#2B313B", "accent": "#7FB3E6"}
Theme = Literal["light", "dark"]


def draws_map(chart: Chart) -> bool:
    """True when the chart draws a map (its page must hand Plotly.js the map shapes)."""
    return any(trace.type in ("choropleth", "scattergeo") for trace in chart.figure.data)


@contextlib.contextmanager
def on_screen(chart: Chart, theme: str) -> Iterator[go.Figure]:
    """The chart's figure as a page shows it, for the duration of the ``with`` block: without its
    title (the page writes title and subtitle as text above it, which wraps on a narrow screen,
    where a figure's title would be cut off), restyled for a dark page when ``theme`` is "dark".
    Exports use the chart's own figure, with its title, in the light style; series colours stay
    either way, so a harm area keeps its colour.

    On a light page the chart's own figure is lent and put back as it was on leaving (copying a
    figure costs more than serialising it); a dark page gets a restyled copy."""
    layout = chart.figure.layout
    saved = {"title": layout.title.to_plotly_json(), "margin_t": layout.margin.t, "meta": layout.meta}
    screen = {
        "title": None,
        "margin_t": min(layout.margin.t or 60, 40),
        "meta": {"title": chart.title, "subtitle": chart.subtitle},
    }
    chart.figure.update_layout(**screen)
    try:
        yield _dark(go.Figure(chart.figure)) if theme == "dark" else chart.figure
    finally:
        chart.figure.update_layout(**saved)


def _dark(figure: go.Figure) -> go.Figure:
    """A figure restyled for a dark page (changed in place and returned)."""
    ink, muted, grid, background = DARK["ink"], DARK["muted"], DARK["grid"], DARK["background"]
    figure.update_layout(
        paper_bgcolor=background, plot_bgcolor=background, font_color=ink, title_font_color=ink,
        legend_font_color=ink, geo_bgcolor=background, geo_countrycolor=grid, geo_landcolor="#1A1F29",
    )  # fmt: skip
    figure.update_xaxes(gridcolor=grid, linecolor=grid, zerolinecolor=muted, tickfont_color=ink, title_font_color=ink)
    figure.update_yaxes(gridcolor=grid, linecolor=grid, zerolinecolor=muted, tickfont_color=ink, title_font_color=ink)
    figure.update_annotations(font_color=muted)
    figure.for_each_trace(_lighter_accent)
    return figure


def _lighter_accent(trace: BaseTraceType) -> None:
    """On a dark page the house accent (a dark blue) becomes a light blue, so a line stays visible."""
    for part in ("line", "marker"):
        style = getattr(trace, part, None)
        if style is not None and getattr(style, "color", None) == ACCENT:
            style.color = DARK["accent"]


def _label_values(frame: pl.DataFrame, dimension: str) -> pl.DataFrame:
    """Add a display-label column for a dimension's codes."""
    labels = {v: label(dimension, v) for v in frame[dimension].unique().to_list()}
    return frame.with_columns(
        pl.col(dimension).replace_strict(labels, default=None, return_dtype=pl.String).alias(f"{dimension}_label")
    )


def trend(
    frame: pl.DataFrame,
    metric: str,
    by: str | None = None,
    title: str | None = None,
    events: pl.DataFrame | None = None,
    caveats: list[Caveat] | None = None,
    key: str = "trend",
) -> Chart:
    """A line per value of ``by`` over ``period``; annotated events and caveats as dated markers.

    ``frame`` is ``Cube.query`` output (``period``, optional ``by`` column, the metric).
    ``events`` has ``date`` and ``title`` columns. Each period is a small point on its line, so a
    line can be clicked (its code is the point's ``customdata``).
    """
    definition = as_metric(metric)
    figure = go.Figure()
    groups = [(None, frame)] if by is None else list(_label_values(frame, by).group_by(by, maintain_order=True))
    for index, (value, part) in enumerate(sorted(groups, key=lambda g: str(g[0]))):
        code = value[0] if isinstance(value, tuple) else value
        name = label(by, code) if by is not None and code is not None else definition.label
        figure.add_trace(
            go.Scatter(
                x=part["period"].to_list(),
                y=part[metric].to_list(),
                mode="lines+markers",
                name=name,
                line={"width": 2.5, "color": series_colour(by, code, index) if code else ACCENT},
                marker={"size": 6, "color": series_colour(by, code, index) if code else ACCENT},
                customdata=[code] * len(part) if code else None,
                hovertemplate=f"{name}<br>%{{x|%d %b %Y}}: %{{y{hover_format(metric)}}}<extra></extra>",
            )
        )
    add_markers(figure, events, caveats)
    figure.update_yaxes(**axis_format(metric), title=definition.label)
    figure.update_xaxes(title=withheld_note(withheld_in(frame, metric)))
    style(figure, title or f"{definition.label} over time")
    return Chart(
        key,
        title or f"{definition.label} over time",
        figure,
        frame,
        "line",
        "period",
        by,
        [metric],
        metric,
        definition.definition,
    )


def add_markers(
    figure: go.Figure,
    events: pl.DataFrame | None,
    caveats: list[Caveat] | None,
    panels: list[tuple[int, int, pl.DataFrame | None]] | None = None,
) -> None:
    """Dated events (dotted grey) and methodology caveats (dashed amber) as vertical markers with hover text.

    Without ``panels`` they go on the figure's only axes; ``panels`` lists ``(row, col, events)``
    of a subplot grid, each panel with its own events (caveats go in every panel). Lines and
    markers are added in one batch each: Plotly re-checks every shape of a figure each time one
    is added, which on a grid of panels cost more than the rest of a page.
    """
    shapes: list[dict] = []
    traces: list[go.Scatter] = []
    for row, col, own in panels if panels is not None else [(None, None, events)]:
        x, y = _axis_refs(figure, row, col)
        marks = []
        if own is not None and len(own):
            marks += [(event["date"], plain(event["title"]), "#7B8794", "dot") for event in own.iter_rows(named=True)]
        marks += [(c.date, plain(c.text), "#B7791F", "dash") for c in caveats or [] if c.date is not None]
        for when, text, colour, dash in marks:
            day = when if isinstance(when, dt.date) else dt.date.fromisoformat(str(when))
            shapes.append(
                {"type": "line", "xref": x, "x0": day, "x1": day, "yref": f"{y} domain", "y0": 0, "y1": 1,
                 "line": {"color": colour, "dash": dash, "width": 1.5}}
            )  # fmt: skip
            traces.append(
                go.Scatter(
                    x=[day], y=[0], xaxis=x, yaxis=y, mode="markers",
                    marker={"symbol": "triangle-up", "size": 11, "color": colour}, name=text, showlegend=False,
                    hovertemplate=f"{day:%d %b %Y}: {text}<extra></extra>",
                )
            )  # fmt: skip
    if shapes:
        figure.update_layout(shapes=[*figure.layout.shapes, *shapes])
        figure.add_traces(traces)


def _axis_refs(figure: go.Figure, row: int | None, col: int | None) -> tuple[str, str]:
    """The x and y axis references ('x', 'y2'…) of a subplot, or of the figure's only axes."""
    if row is None or col is None:
        return "x", "y"
    panel = figure.get_subplot(row, col)
    return panel.xaxis.plotly_name.replace("axis", ""), panel.yaxis.plotly_name.replace("axis", "")


def breakdown(
    frame: pl.DataFrame, dimension: str, metric: str, title: str | None = None, top: int = 15, key: str = "breakdown"
) -> Chart:
    """Horizontal bars of a metric by the values of one dimension, largest first."""
    definition = as_metric(metric)
    withheld = withheld_column(metric)
    kept = pl.col(metric).is_not_null() | (pl.col(withheld).is_not_null() if withheld in frame.columns else False)
    ranked = frame.filter(kept).sort(metric, descending=True, nulls_last=True).head(top)
    shown = _label_values(ranked, dimension)
    colours = [
        series_colour(dimension, v, 0) if dimension == "harm_area" else ACCENT for v in shown[dimension].to_list()
    ]
    hidden = withheld_in(shown, metric)
    figure = go.Figure(
        go.Bar(
            x=shown[metric].to_list(),
            y=shown[f"{dimension}_label"].to_list(),
            orientation="h",
            marker={"color": colours},
            customdata=shown[dimension].to_list(),
            hovertemplate=f"%{{y}}: %{{x{hover_format(metric)}}}<extra></extra>",
        )
    )
    if any(hidden):  # withheld rows keep their place with no bar, labelled '<10' (Plotly labels no empty bar)
        texts = [value_text(metric, v, w) for v, w in zip(shown[metric].to_list(), hidden, strict=True)]
        figure.update_traces(
            text=texts, textposition="outside", cliponaxis=False, hovertemplate="%{y}: %{text}<extra></extra>"
        )
        for name, text, why in zip(shown[f"{dimension}_label"].to_list(), texts, hidden, strict=True):
            if why is not None:
                figure.add_annotation(x=0, y=name, text=text, xanchor="left", showarrow=False, font={"color": MUTED})
    figure.update_yaxes(autorange="reversed", title=None)
    figure.update_xaxes(**axis_format(metric), title=definition.label)
    name = title or f"{definition.label} by {DIMENSION_LABELS.get(dimension, dimension).lower()}"
    style(figure, name, height=max(320, 34 * len(shown) + 120))
    return Chart(
        key,
        name,
        figure,
        shown.drop(f"{dimension}_label"),
        "bar",
        dimension,
        None,
        [metric],
        metric,
        definition.definition,
    )


def choropleth(frame: pl.DataFrame, metric: str, title: str | None = None, key: str = "map") -> Chart:
    """A world map of a metric by country; ``frame`` is ``insights.regional.choropleth_frame``
    output (``country`` ISO2, ``iso3``, ``name``, ``value``, ``text``). Countries small-cell
    suppression withheld are grey, their hover says '<10', and a note under the map says why."""
    definition = as_metric(metric)
    scale = "Reds" if definition.higher_is_better is False else "Blues"
    withheld = pl.Series([w is not None for w in withheld_in(frame, "value")], dtype=pl.Boolean)
    shown, hidden = frame.filter(~withheld), frame.filter(withheld)
    figure = go.Figure(
        go.Choropleth(
            locations=shown["iso3"].to_list(),
            z=shown["value"].to_list(),
            text=[plain(name) for name in shown["name"].to_list()],
            customdata=shown["country"].to_list(),
            colorscale=scale,
            marker={"line": {"color": "white", "width": 0.5}},
            # the colour bar's title in lines of a few words: one long line (a per-exposure rate's
            # label) widens the bar until a phone's map is a thumbnail
            colorbar={
                "title": {"text": "<br>".join(wrap(definition.label, 90, 14))},
                "tickformat": axis_format(metric)["tickformat"],
            },
            hovertemplate=f"%{{text}}: %{{z{hover_format(metric)}}}<extra></extra>",
        )
    )
    if len(hidden):
        figure.add_trace(
            go.Choropleth(
                locations=hidden["iso3"].to_list(),
                z=[0] * len(hidden),
                text=[f"{plain(name)}: {text}" for name, text in zip(hidden["name"], hidden["text"], strict=True)],
                customdata=hidden["country"].to_list(),
                colorscale=[[0, WITHHELD_GREY], [1, WITHHELD_GREY]],
                showscale=False,
                marker={"line": {"color": "white", "width": 0.5}},
                hovertemplate="%{text}<extra></extra>",
            )
        )
    figure.update_geos(
        showframe=False,
        showcoastlines=False,
        projection_type="natural earth",
        projection_rotation_lon=0,
        lonaxis_range=[-180, 180],
        lataxis_range=[-58, 85],
        bgcolor="white",
        showcountries=True,
        countrycolor="#D9DEE3",
    )
    name = title or f"{definition.label} by country"
    style(figure, name, height=460)
    figure.update_layout(margin={"l": 0, "r": 0, "b": 0})
    note = note_lines(withheld_note(withheld_in(hidden, "value"), lead="Grey"))
    if note:
        figure.add_annotation(
            text=note, xref="paper", yref="paper", x=0, y=0, xanchor="left",
            yanchor="top", showarrow=False, align="left", font={"color": MUTED},
        )  # fmt: skip
        figure.update_layout(margin={"b": 20 + 18 * (note.count("<br>") + 1)})
    return Chart(key, name, figure, frame, "other", "country", None, ["value"], metric, definition.definition)


def small_multiples(
    frame: pl.DataFrame,
    metric: str,
    facet: str,
    title: str | None = None,
    key: str = "multiples",
    events: pl.DataFrame | None = None,
    caveats: list[Caveat] | None = None,
) -> Chart:
    """One small line chart per value of ``facet`` (e.g. per region), sharing the y axis.

    ``events`` (``date``, ``title``, optional ``region``) and ``caveats`` are drawn as dated
    markers in every panel, except that with ``facet="region"`` an event of one region is
    drawn only in that region's panel.
    """
    from plotly.subplots import make_subplots

    definition = as_metric(metric)
    values = sorted(frame[facet].drop_nulls().unique().to_list())
    columns = min(3, max(1, len(values)))
    rows = max(1, -(-len(values) // columns))  # one empty panel when there is nothing to draw
    figure = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=[label(facet, v) for v in values],
        shared_yaxes=True,
        vertical_spacing=0.12,
    )
    panels = []
    for index, value in enumerate(values):
        part = frame.filter(pl.col(facet) == value).sort("period")
        row, col = index // columns + 1, index % columns + 1
        panels.append((row, col, _panel_events(events, facet, value)))
        figure.add_trace(
            go.Scatter(
                x=part["period"].to_list(),
                y=part[metric].to_list(),
                mode="lines",
                line={"color": ACCENT, "width": 2},
                name=label(facet, value),
                showlegend=False,
                hovertemplate=f"{label(facet, value)}<br>%{{x|%d %b %Y}}: %{{y{hover_format(metric)}}}<extra></extra>",
            ),
            row=row,
            col=col,
        )
    add_markers(figure, events, caveats, panels=panels)
    name = title or f"{definition.label} by {DIMENSION_LABELS.get(facet, facet).lower()}"
    style(figure, name, height=260 * rows + 80)
    figure.update_yaxes(**axis_format(metric))
    note = note_lines(withheld_note(withheld_in(frame, metric)))
    if note:  # under the panels, from the left edge (a panel's own axis title is as narrow as the panel)
        figure.add_annotation(
            text=note, xref="paper", yref="paper", x=0, y=0, xanchor="left", yanchor="top", yshift=-80,
            showarrow=False, align="left", font={"color": MUTED},
        )  # fmt: skip
        figure.update_layout(margin={"b": 100 + 18 * note.count("<br>")}, height=260 * rows + 140)
    return Chart(key, name, figure, frame, "other", "period", facet, [metric], metric, definition.definition)


def _panel_events(events: pl.DataFrame | None, facet: str, value: str) -> pl.DataFrame | None:
    """The events of one small-multiples panel: with regions as panels, a regional event only in its own."""
    if events is None or facet != "region" or "region" not in events.columns:
        return events
    return events.filter(pl.col("region").is_null() | (pl.col("region") == value))


def expected_band(
    trend: Trend,
    title: str | None = None,
    events: pl.DataFrame | None = None,
    caveats: list[Caveat] | None = None,
    colour: str = ACCENT,
    key: str = "band",
) -> Chart:
    """A slice's series with its expected band, anomalies (red: above, blue: below) and change
    points (diamonds), plus events and caveats as dated markers (``insights.trends.trend`` output)."""
    definition = as_metric(trend.metric)
    frame = trend.series
    fmt = hover_format(trend.metric)
    figure = go.Figure()
    banded = frame.drop_nulls("expected")
    figure.add_trace(
        go.Scatter(
            x=banded["period"].to_list(),
            y=banded["upper"].to_list(),
            mode="lines",
            line={"width": 0},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    figure.add_trace(
        go.Scatter(
            x=banded["period"].to_list(),
            y=banded["lower"].to_list(),
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor="rgba(97,110,124,0.18)",
            name=f"Expected ({trend.level:.0%} band)",
            hovertemplate=f"expected range %{{y{fmt}}}<extra></extra>",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=frame["period"].to_list(),
            y=frame[trend.metric].to_list(),
            mode="lines",
            name=definition.label,
            line={"width": 2.5, "color": colour},
            customdata=frame["expected"].to_list(),
            hovertemplate=f"%{{x|%d %b %Y}}: %{{y{fmt}}} (expected %{{customdata{fmt}}})<extra></extra>",
        )
    )
    anomalies = frame.filter(pl.col("anomaly"))
    if len(anomalies):
        figure.add_trace(
            go.Scatter(
                x=anomalies["period"].to_list(),
                y=anomalies[trend.metric].to_list(),
                mode="markers",
                name="Anomaly",
                marker={
                    "size": 11,
                    "color": ["#C53030" if s > 0 else "#2B6CB0" for s in anomalies["score"].to_list()],
                    "line": {"color": "white", "width": 1.5},
                },
                hovertemplate=f"Anomaly %{{x|%d %b %Y}}: %{{y{fmt}}}<extra></extra>",
            )
        )
    shifts = frame.filter(pl.col("period").is_in(trend.change_points))
    if len(shifts):
        figure.add_trace(
            go.Scatter(
                x=shifts["period"].to_list(),
                y=shifts[trend.metric].to_list(),
                mode="markers",
                name="Change point",
                marker={"symbol": "diamond", "size": 12, "color": "#D69E2E", "line": {"color": INK, "width": 1}},
                hovertemplate="Change point: a new level from %{x|%d %b %Y}<extra></extra>",
            )
        )
    add_markers(figure, events, caveats)
    figure.update_yaxes(**axis_format(trend.metric), title=definition.label)
    figure.update_xaxes(title=withheld_note(withheld_in(frame, trend.metric)))
    name = title or f"{definition.label}: expected band, anomalies and change points"
    style(figure, name)
    data = frame.select(
        "period",
        trend.metric,
        "expected",
        "lower",
        "upper",
        "anomaly",
        *[c for c in [withheld_column(trend.metric)] if c in frame.columns],
        is_change_point=pl.col("period").is_in(trend.change_points),
    )
    # "other": a native line chart would drop the band, the anomalies and the change points
    return Chart(key, name, figure, data, "other", "period", None, [trend.metric], trend.metric, definition.definition)


def _segment_label(segment: str) -> str:
    """'country=FR & language=fr' → 'France · fr' (labels in words)."""
    parts = []
    for part in segment.split(" & "):
        dimension, _, value = part.partition("=")
        parts.append(label(dimension, value) if value else part)
    return " · ".join(parts)


def waterfall(
    contributors: pl.DataFrame,
    metric: str,
    before: float,
    after: float,
    title: str | None = None,
    key: str = "waterfall",
) -> Chart:
    """From the baseline value to the current one through each segment's contribution.

    ``contributors`` holds one cuboid's rows of ``ChangeExplanation.contributors`` (they add up
    exactly to ``after - before``), largest contributions first.
    """
    definition = as_metric(metric)
    rows = contributors.sort(pl.col("contribution").abs(), descending=True, maintain_order=True)
    names = [
        "Before",
        *[("Others" if other else _segment_label(s)) for s, other in zip(rows["segment"], rows["other"], strict=True)],
        "After",
    ]
    steps = rows["contribution"].to_list()
    levels = [before, *(before + rows["contribution"].cum_sum()).to_list(), after]
    up, down = ("#C05621", "#2F855A") if definition.higher_is_better is False else ("#2F855A", "#C05621")
    # Drawn as bars floating on the level before each step (Plotly's waterfall trace is only in its
    # full build, 4 times the size of the lines-and-bars one the page's other charts need), a line
    # joining each step's end to the next step's start.
    figure = go.Figure(
        [
            go.Scatter(
                x=[x for start, end in itertools.pairwise(names) for x in (start, end, None)],
                y=[y for level in levels[:-1] for y in (level, level, None)],
                mode="lines",
                line={"color": MUTED, "width": 1},
                hoverinfo="skip",
            ),
            go.Bar(
                x=names,
                y=[before, *steps, after],
                base=[0, *levels[:-2], 0],
                marker={"color": [ACCENT, *[up if step >= 0 else down for step in steps], ACCENT]},
                customdata=[None, *rows["segment"].to_list(), None],
                hovertemplate=f"%{{x}}: %{{y{hover_format(metric)}}}<extra></extra>",
            ),
        ]
    )
    figure.update_layout(showlegend=False)
    low, high = min(levels), max(levels)
    if high - low < 0.25 * max(abs(low), abs(high)):
        # steps small against the level: zoom in on them (the axis says it does not start at zero)
        span = (high - low) or abs(high) * 0.01 or 1.0
        figure.update_yaxes(
            range=[low - 0.6 * span, high + 0.6 * span], title=f"{definition.label} (axis not from zero)"
        )
    else:
        figure.update_yaxes(title=definition.label, rangemode="normal")
    figure.update_yaxes(**axis_format(metric))
    name = title or f"What changed {definition.label.lower()}"
    style(figure, name, height=460)
    data = pl.DataFrame({"step": names, "value": [before, *steps, after]})
    return Chart(key, name, figure, data, "other", "step", None, ["value"], metric, definition.definition)


def explanatory_power(
    dimensions: pl.DataFrame, title: str = "Which dimensions explain the change", key: str = "explanatory_power"
) -> Chart:
    """Horizontal bars of each dimension's explanatory power (the share of the change its
    explaining values carry), in ranking order (``ChangeExplanation.dimensions``).

    Dimensions whose explaining values carry at least ``EXPLAINED_SHARE`` of the change (those
    ranked first) are drawn in the accent colour, the others in grey; hovering names the values.
    """
    from insights.rootcause.ranking import ELEMENT_SHARE, EXPLAINED_SHARE

    shown = dimensions.select(
        "dimension",
        "explanatory_power",
        "surprise",
        explaining_values=pl.struct("dimension", "elements").map_elements(
            lambda r: ", ".join(label(r["dimension"], v) for v in r["elements"]), return_dtype=pl.String
        ),
    )
    powers = shown["explanatory_power"].to_list()
    figure = go.Figure(
        go.Bar(
            x=powers,
            y=[DIMENSION_LABELS.get(d, d) for d in shown["dimension"].to_list()],
            orientation="h",
            marker={"color": [ACCENT if p >= EXPLAINED_SHARE else "#9AA5B1" for p in powers]},
            text=[f"{p:.0%}" for p in powers],
            textposition="outside",
            customdata=[v or "no value stands out" for v in shown["explaining_values"].to_list()],
            hovertemplate=(
                f"%{{y}}: %{{x{HOVER_FORMATS['percent']}}} of the change<br>explained by %{{customdata}}<extra></extra>"
            ),
        )
    )
    figure.add_vline(
        x=EXPLAINED_SHARE,
        line={"color": MUTED, "dash": "dash", "width": 1.5},
        annotation={"text": f"{EXPLAINED_SHARE:.0%}: most of the change", "font": {"size": 13, "color": MUTED}},
        annotation_position="top",
    )
    figure.update_yaxes(autorange="reversed", title=None)
    figure.update_xaxes(
        tickformat=TICK_FORMATS["percent"],
        title="Share of the change explained by its few values that moved most",
        range=_padded_range([*powers, 1.0], pad=0.1),
    )
    style(figure, title, height=max(320, 34 * len(shown) + 140))
    notes = (
        f"Explanatory power: the share of the change carried by the few values of a dimension that moved most "
        f"(each at least {ELEMENT_SHARE:.0%} of it); dimensions reaching {EXPLAINED_SHARE:.0%} (dashed line) "
        "rank first, by how surprising the shift is."
    )
    return Chart(key, title, figure, shown, "other", "dimension", None, ["explanatory_power"], None, notes)


def _padded_range(values: list[float | None], pad: float = 0.16) -> list[float]:
    """An axis range from 0 to the values, with room beyond each end for the bars' labels."""
    known = [v for v in values if v is not None]
    low, high = min([0.0, *known]), max([0.0, *known])
    span = (high - low) or 1.0
    return [low - pad * span if low < 0 else 0.0, high + pad * span if high > 0 else 0.0]


#: The two parts of a rate's change, as the mix-or-rate chart names and colours them.
MIX_RATE_PARTS = {
    "rate_effect": ("Rates within values moved", SERIES_COLOURS[0]),
    "mix_effect": ("Volume moved between values", SERIES_COLOURS[1]),
}


def mix_or_rate(mix_rate: pl.DataFrame, metric: str, title: str | None = None, key: str = "mix_or_rate") -> Chart:
    """Grouped horizontal bars per dimension: the rate effect and the mix effect of a rate's change
    (``ChangeExplanation.mix_rate``; the two add up to the change), in the metric's format."""
    definition = as_metric(metric)
    names = [DIMENSION_LABELS.get(d, d) for d in mix_rate["dimension"].to_list()]
    figure = go.Figure()
    for column, (name, colour) in MIX_RATE_PARTS.items():
        values = mix_rate[column].to_list()
        figure.add_trace(
            go.Bar(
                x=values,
                y=names,
                orientation="h",
                name=name,
                marker={"color": colour},
                text=[change_text(metric, v, None) for v in values],
                textposition="outside",
                cliponaxis=False,
                hovertemplate=f"%{{y}} · {name.lower()}: %{{text}}<extra></extra>",
            )
        )
    figure.update_layout(barmode="group", bargap=0.25)
    figure.update_yaxes(autorange="reversed", title=None)
    figure.update_xaxes(
        title=f"Change in {definition.label.lower()}",
        zeroline=True,
        zerolinecolor=MUTED,
        range=_padded_range([v for column in MIX_RATE_PARTS for v in mix_rate[column].to_list()]),
        **change_axis_format(metric),
    )
    name = title or f"{definition.label}: mix or rate?"
    style(figure, name, height=max(340, 58 * len(mix_rate) + 140))
    notes = (
        "Per dimension, the change split into rates moving within its values (rate effect) and volume moving "
        "between values with different rates (mix effect); the two add up to the change."
    )
    return Chart(key, name, figure, mix_rate, "other", "dimension", None, ["rate_effect", "mix_effect"], metric, notes)


def movers(frame: pl.DataFrame, level: str, metric: str, title: str | None = None, key: str = "movers") -> Chart:
    """Diverging bars of each geography's change (``insights.regional.movers``); faded when not
    significant. Geographies whose value or baseline small-cell suppression withheld have no change
    to draw; the axis note says they are left out."""
    definition = as_metric(metric)
    shown = frame.drop_nulls("change").head(12)
    withheld = [*withheld_in(frame, "value"), *withheld_in(frame, "baseline_value")]
    note = withheld_note(withheld)
    up_bad = definition.higher_is_better is False
    colours = [
        ("#C05621" if (change > 0) == up_bad else "#2F855A") if significant else "#CBD2D9"
        for change, significant in zip(shown["change"].to_list(), shown["significant"].to_list(), strict=True)
    ]
    text = [change_text(metric, v, None) for v in shown["change"].to_list()]
    figure = go.Figure(
        go.Bar(
            x=shown["change"].to_list(),
            y=[plain(name) for name in shown["name"].to_list()],
            orientation="h",
            marker={"color": colours},
            text=text,
            textposition="outside",
            customdata=shown[level].to_list(),
            hovertemplate="%{y}: %{text}<extra></extra>",
        )
    )
    figure.update_traces(cliponaxis=False)
    figure.update_yaxes(autorange="reversed", title=None)
    figure.update_xaxes(
        title="<br>".join(
            line
            for line in (
                f"Change in {definition.label.lower()}",
                "(grey: within the usual variation)",
                f"{note}; those geographies are left out" if note else None,
            )
            if line
        ),
        zeroline=True,
        zerolinecolor=MUTED,
        range=_padded_range(shown["change"].to_list(), pad=0.2),
        **change_axis_format(metric),
    )
    name = title or f"Biggest movers: {definition.label.lower()}"
    style(figure, name, height=max(320, 34 * len(shown) + 120))
    return Chart(
        key,
        name,
        figure,
        shown.select(level, "name", "baseline_value", "value", "change", "significant"),
        "bar",
        "name",
        None,
        ["change"],
        metric,
        definition.definition,
    )


def time_to_action(
    frame: pl.DataFrame, metrics: list[str], title: str = "Time to action by harm area", key: str = "time_to_action"
) -> Chart:
    """Grouped horizontal bars of the cumulative shares of actions taken within each time
    threshold (one category per speed metric, e.g. ``within_1h_rate``, shortest first), one
    series per harm area in its colour, each bar labelled with its share.

    ``frame`` is ``Cube.query(metrics, by=["harm_area"])`` output.
    """
    thresholds = [_threshold_words(m) for m in metrics]
    rows = sorted(frame.iter_rows(named=True), key=lambda r: label("harm_area", r["harm_area"]))
    fmt = hover_format(metrics[0])
    figure = go.Figure()
    for index, row in enumerate(rows):
        code, name = row["harm_area"], label("harm_area", row["harm_area"])
        figure.add_trace(
            go.Bar(
                x=[row[m] for m in metrics],
                y=thresholds,
                orientation="h",
                name=name,
                marker={"color": series_colour("harm_area", code, index)},
                customdata=[code] * len(metrics),
                texttemplate=f"%{{x:{TICK_FORMATS['percent']}}}",
                textposition="outside",
                cliponaxis=False,
                hovertemplate=f"{name}<br>%{{y}}: %{{x{fmt}}}<extra></extra>",
            )
        )
    figure.update_xaxes(**axis_format(metrics[0]), title="Share of actions (posting time known)", range=[0, 1.1])
    figure.update_yaxes(autorange="reversed", title=None)
    height = max(340, 3 * 22 * len(rows) + 200)
    # the legend at the foot of the figure, under the axis title (the bottom margin holds both)
    figure.update_layout(
        barmode="group",
        bargap=0.18,
        uniformtext={"minsize": 12, "mode": "show"},
        legend={"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0, "xanchor": "left", "x": 0},
    )
    style(figure, title, height=height)
    figure.update_layout(margin_b=50 + LEGEND_ROW * max(1, legend_rows(figure, LAYOUT_WIDTH)) + EDGE)
    notes = " ".join(f"{as_metric(m).label}: {as_metric(m).definition}" for m in metrics)
    return Chart(key, title, figure, frame, "other", None, "harm_area", list(metrics), None, notes)


def _threshold_words(metric: str) -> str:
    """'within_7d_rate' → 'Within 7 days': the time threshold of a speed metric's numerator, from
    the registry (the measure's label when it is not counted against a threshold)."""
    counted = measures()[as_metric(metric).numerator].from_events
    if counted is None or counted.kind != "count_at_most" or counted.threshold is None:
        return measures()[as_metric(metric).numerator].label
    hours = counted.threshold
    amount, unit = (hours / 24, "day") if hours > 24 and hours % 24 == 0 else (hours, "hour")
    return f"Within {amount:g} {unit}{'' if amount == 1 else 's'}"


def sparkline_svg(values: list[float | None], colour: str = ACCENT, width: int = 160, height: int = 36) -> str:
    """A tiny line as inline SVG text (for KPI cards): no axes, the last point marked.

    It is drawn in a ``width`` × ``height`` box and shrinks with a narrow card (never wider than
    the card). Unknown values break the line. Returns an empty string when there is nothing to draw.
    """
    known = [v for v in values if v is not None]
    if len(known) < 2:
        return ""
    low, high = min(known), max(known)
    span = (high - low) or 1.0
    step = width / (len(values) - 1)
    points = [(i * step, height - 3 - (v - low) / span * (height - 6)) for i, v in enumerate(values) if v is not None]
    path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(points))
    last_x, last_y = points[-1]
    return (
        f'<svg viewBox="0 0 {width} {height}" preserveAspectRatio="none" role="img" aria-label="trend" '
        f'style="width:100%;max-width:{width}px;height:{height}px">'
        f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2" stroke-linejoin="round"/>'
        f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="2.5" fill="{colour}"/></svg>'
    )


# ---- prevalence ---------------------------------------------------------------------------------

#: Plotly formats of a prevalence (a small share of views): ticks to 0.01 %, hover to 0.001 %.
PREVALENCE_TICK, PREVALENCE_HOVER = ".2%", ":.3%"


def _rgba(colour: str, alpha: float) -> str:
    """'#1F4E79' → 'rgba(31,78,121,0.18)'."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def _periods_in_words(rows: pl.DataFrame, of: int, listed: int = 4) -> str:
    """'2026-03-02, 2026-03-09' (the periods of the rows, up to ``listed``), else '31 of 48 periods
    (2025-12-29 to 2026-11-16)'."""
    periods = [f"{p:%Y-%m-%d}" for p in rows["period"].to_list()]
    if len(periods) <= listed:
        return ", ".join(periods)
    return f"{len(periods)} of {of} periods ({periods[0]} to {periods[-1]})"


def _status_markers(
    rows: pl.DataFrame,
    y: list[float],
    series: tuple[str, str, bool],
    marker: dict,
    status: str,
    hover_note: str = "",
) -> go.Scatter:
    """Markers for the prevalence periods of one status (upper bound only, withheld) of one harm
    area. ``series`` is (its name, its harm area, whether this trace carries the legend entry)."""
    name, area, in_legend = series
    return go.Scatter(
        x=rows["period"].to_list(),
        y=y,
        mode="markers",
        name=name if in_legend else f"{name}: {status}",
        legendgroup=area,
        showlegend=in_legend,
        marker=marker,
        text=rows["reported"].to_list(),
        customdata=[area] * len(rows),
        hovertemplate=f"{name}<br>%{{x|%d %b %Y}}: %{{text}}{hover_note}<extra></extra>",
    )


def prevalence_trend(frame: pl.DataFrame, title: str | None = None, key: str = "prevalence_trend") -> Chart:
    """Prevalence per period with its interval band, one line per harm area (in its colour).

    ``frame`` is ``ExposedCube.prevalence`` (or ``estimate_prevalence``) output at some grain.
    Point estimates are joined by a line inside their band; a period with only an upper bound is
    an open downward triangle at the bound ("≤ 0.038 %"); a withheld period is a grey cross on
    the axis ("withheld: n < 500"); a published range without an estimate is its band with a
    bar. Upper-bound and withheld periods are also listed in words under the chart and in the
    notes, so a reader of a deck does not have to hover.
    """
    definition = as_metric("prevalence")
    figure = go.Figure()
    areas = frame["harm_area"].unique(maintain_order=True).to_list()
    words = []
    for index, area in enumerate(areas):
        rows = frame.filter(pl.col("harm_area") == area).sort("period")
        colour = series_colour("harm_area", area, index)
        name = label("harm_area", area)
        points = rows.filter(pl.col("status").is_in(["estimate", "range"]))
        bounded = rows.filter(pl.col("status") == "upper_bound")
        withheld = rows.filter(pl.col("status") == "withheld")
        in_legend = next(i for i, part in enumerate((points, bounded, withheld, rows)) if len(part) or i == 3)
        if len(points):
            figure.add_trace(
                go.Scatter(
                    x=[*points["period"].to_list(), *points["period"].to_list()[::-1]],
                    y=[*points["upper"].to_list(), *points["lower"].to_list()[::-1]],
                    mode="lines",
                    fill="toself",
                    fillcolor=_rgba(colour, 0.16),
                    line={"width": 0},
                    hoverinfo="skip",
                    name=f"{name}: 95% interval",
                    legendgroup=area,
                    showlegend=False,
                )
            )
        figure.add_trace(
            go.Scatter(
                x=points["period"].to_list(),
                y=points.select(pl.coalesce("estimate", (pl.col("lower") + pl.col("upper")) / 2)).to_series().to_list(),
                mode="lines+markers",
                name=name,
                legendgroup=area,
                showlegend=in_legend == 0,
                line={"width": 2.5, "color": colour},
                marker={"size": 7, "color": colour, "symbol": "circle"},
                text=points["reported"].to_list(),
                customdata=[area] * len(points),
                hovertemplate=f"{name}<br>%{{x|%d %b %Y}}: %{{text}}<extra></extra>",
            )
        )
        if len(bounded):
            marker = {"size": 10, "symbol": "triangle-down-open", "color": colour, "line": {"width": 2}}
            figure.add_trace(
                _status_markers(
                    bounded,
                    bounded["upper"].to_list(),
                    (name, area, in_legend == 1),
                    marker,
                    "upper bound only",
                    " (too few violating views sampled)",
                )
            )
            words.append(f"{name}: upper bound only (▽) in {_periods_in_words(bounded, rows.height)}")
        if len(withheld):
            marker = {"size": 9, "symbol": "x-thin-open", "color": MUTED, "line": {"width": 2}}
            figure.add_trace(
                _status_markers(withheld, [0.0] * len(withheld), (name, area, in_legend == 2), marker, "withheld")
            )
            words.append(f"{name}: withheld, too few sampled views (×) in {_periods_in_words(withheld, rows.height)}")
    caption = "; ".join(words)
    if caption:
        figure.add_annotation(
            text="<br>".join(wrap(caption, LAYOUT_WIDTH - 2 * EDGE, 13)),
            xref="paper",
            yref="paper",
            x=0,
            y=-0.14,
            xanchor="left",
            yanchor="top",
            showarrow=False,
            align="left",
            font={"size": 13, "color": MUTED},
        )
    figure.update_yaxes(tickformat=PREVALENCE_TICK, title="Share of views that were violating", rangemode="tozero")
    figure.update_xaxes(title=None)
    name = title or "Prevalence over time, with its 95% interval"
    style(figure, name, height=440 + 18 * len(wrap(caption, LAYOUT_WIDTH - 2 * EDGE, 13)))
    if caption:
        figure.update_layout(margin_b=60 + 18 * len(wrap(caption, LAYOUT_WIDTH - 2 * EDGE, 13)))
    notes = f"{definition.definition} {caption + '.' if caption else ''}".strip()
    data = frame.select("period", "harm_area", "estimate", "lower", "upper", "status", "reported")
    return Chart(key, name, figure, data, "other", "period", "harm_area", ["estimate"], None, notes)


def enforcement_vs_prevalence(
    frame: pl.DataFrame,
    metric: str = "actions_per_million_views",
    title: str | None = None,
    key: str = "enforcement_vs_prevalence",
) -> Chart:
    """Per harm area, enforcement (y) against prevalence (x) over time: "are we removing more
    because there is more, or because we find more?"

    ``frame`` is ``insights.more_or_found.enforcement_against_prevalence`` output. Each harm area
    is a path through its periods (first and last labelled, the last one larger), with
    prevalence's interval as a horizontal bar. Both axes are logarithmic, so the dotted line
    through a harm area's first period is where its points would move if enforcement only
    followed prevalence (the same actions per violating view): a path along it means "more
    because there is more", a path rising above it "more because we find more". Periods
    without a point estimate of prevalence are left out (they are listed in the notes).
    """
    definition = as_metric(metric)
    figure = go.Figure()
    shown = frame.filter(pl.col("prevalence").is_not_null() & pl.col("enforcement").is_not_null()).sort("period")
    missing = frame.filter(pl.col("prevalence").is_null() | pl.col("enforcement").is_null())
    fmt = hover_format(metric)
    for index, area in enumerate(shown["harm_area"].unique(maintain_order=True).to_list()):
        rows = shown.filter(pl.col("harm_area") == area)
        colour = series_colour("harm_area", area, index)
        name = label("harm_area", area)
        periods = [f"{p:%Y-%m-%d}" for p in rows["period"].to_list()]
        x, y = rows["prevalence"].to_list(), rows["enforcement"].to_list()
        first_x, first_y = x[0], y[0]
        reach = [min(x) / 1.15, max(x) * 1.15]
        figure.add_trace(
            go.Scatter(
                x=reach,
                y=[first_y * r / first_x for r in reach],
                mode="lines",
                line={"color": colour, "dash": "dot", "width": 1.2},
                hoverinfo="skip",
                legendgroup=area,
                showlegend=False,
                name=f"{name}: enforcement following prevalence",
            )
        )
        figure.add_trace(
            go.Scatter(
                x=x,
                y=y,
                mode="lines+markers+text",
                name=name,
                legendgroup=area,
                line={"color": colour, "width": 2},
                marker={"color": colour, "size": [7] * (len(x) - 1) + [13]},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": (rows["prevalence_upper"] - rows["prevalence"]).to_list(),
                    "arrayminus": (rows["prevalence"] - rows["prevalence_lower"]).to_list(),
                    "color": _rgba(colour, 0.45),
                    "thickness": 1.2,
                    "width": 0,
                },
                text=[periods[0]] + [""] * (len(x) - 2) + [periods[-1]] if len(x) > 1 else periods,
                textposition="top center",
                textfont={"size": 12, "color": MUTED},
                customdata=list(zip(periods, rows["prevalence_reported"].to_list(), strict=True)),
                hovertemplate=(
                    f"{name} · %{{customdata[0]}}<br>prevalence %{{customdata[1]}}<br>"
                    f"{definition.label.lower()} %{{y{fmt}}}<extra></extra>"
                ),
            )
        )
    # ticks at 1, 2 and 5 of each decade: Plotly's default labels every digit and they overlap
    figure.update_xaxes(type="log", dtick="D2", tickformat=".3~%", title="Prevalence (share of views)")
    figure.update_yaxes(type="log", dtick="D2", title=definition.label, rangemode="normal")
    name = title or f"{definition.label} against prevalence: more harm, or more found?"
    style(figure, name, height=520)
    figure.update_yaxes(rangemode="normal")
    notes = (
        "Each harm area's path runs from its first to its last period (the larger point). On these logarithmic "
        "axes the dotted line through the first period is where the harm area would move if enforcement only "
        "followed prevalence (the same actions per violating view): along it, more because there is more; above "
        "it, more because more is found; below, less is found. Horizontal bars are prevalence's 95% intervals. "
        f"{definition.label}: {definition.definition}"
    )
    if len(missing):
        notes += " Left out (no point estimate of prevalence): " + "; ".join(
            f"{label('harm_area', a)} {p:%Y-%m-%d}" for p, a in missing.select("period", "harm_area").iter_rows()
        )
    return Chart(key, name, figure, frame, "other", "prevalence", "harm_area", ["enforcement"], metric, notes)
