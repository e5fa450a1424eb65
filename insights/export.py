"""Export: charts to PNG / SVG / CSV, and a 16:9 deck to PPTX.

One entry point per artefact. Images are rendered on the server by kaleido (one headless
Chromium kept warm for the whole process) from a copy of the chart's figure that carries its
title and subtitle; the chart itself is never changed. In a deck, charts of kind ``"line"`` and
``"bar"`` become native, editable PowerPoint charts that keep what the figure draws (series and
per-bar colours, value labels, axis titles); every other chart goes in as a deck-quality image.
Every chart slide says under its title what it shows (``Chart.subtitle``, else its section's).
"""

from __future__ import annotations

import atexit
import datetime as dt
import io
import itertools
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import plotly.graph_objects as go
import polars as pl
from pptx import Presentation
from pptx.chart.data import CategoryChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import (
    XL_CHART_TYPE,
    XL_LABEL_POSITION,
    XL_LEGEND_POSITION,
    XL_TICK_LABEL_POSITION,
)
from pptx.oxml.ns import qn
from pptx.oxml.xmlchemy import OxmlElement
from pptx.util import Emu, Inches, Pt

from insights.charts import ACCENT, Chart, heading
from insights.formatting import shown_frame
from insights.labels import label
from insights.maps import topojson_url
from insights.metrics import Format, metric

ImageFormat = Literal["png", "svg"]
#: Deck-quality image size (16:9) in CSS pixels; PNGs are rendered at ``scale`` times this.
IMAGE_WIDTH, IMAGE_HEIGHT = 1600, 900
#: The CSS width a slide's picture is laid out at (rendered at twice that): its text then reads at
#: about the size of a native chart's (12 pt across the slide).
SLIDE_IMAGE_WIDTH = 1100

#: Figures kaleido draws at once (one browser tab each): a deck's pictures are drawn together.
RENDER_TABS = 2

_server_lock = threading.Lock()
_server_started = False


def _warm_kaleido() -> None:
    """Start kaleido's browser once per process and keep it (the first export pays, later ones do not)."""
    global _server_started
    with _server_lock:
        if not _server_started:
            import kaleido

            kaleido.start_sync_server(n=RENDER_TABS, silence_warnings=True)
            atexit.register(kaleido.stop_sync_server, silence_warnings=True)
            _server_started = True


def image_bytes(
    chart: Chart, format: ImageFormat = "png", width: int = IMAGE_WIDTH, height: int = IMAGE_HEIGHT, scale: float = 1.0
) -> bytes:
    """The chart rendered on the server as PNG or SVG at ``width`` × ``height`` (× ``scale`` for PNG),
    with its title and subtitle (``Chart.subtitle``: slice, periods, as-of) wrapped to the width."""
    figure = heading(go.Figure(chart.figure), chart.title, chart.subtitle, width)
    return _render([figure], format, width, height, scale)[0]


def _render(figures: Sequence[go.Figure], format: ImageFormat, width: int, height: int, scale: float) -> list[bytes]:
    """Figures drawn by kaleido at ``width`` × ``height`` CSS px, ``RENDER_TABS`` at a time."""
    import kaleido

    _warm_kaleido()
    options = {"format": format, "width": width, "height": height, "scale": scale}
    with _server_lock, tempfile.TemporaryDirectory(prefix="harm-insights-render-") as folder:
        paths = [Path(folder) / f"{index}.{format}" for index in range(len(figures))]
        # every drawing runs to its end (a failure does not cancel the others mid-write), then the
        # first failure, if any, is raised
        failures = kaleido.write_fig_from_object_sync(
            [
                {"fig": figure, "path": path, "opts": options, "topojson": topojson_url()}
                for figure, path in zip(figures, paths, strict=True)
            ],
            cancel_on_error=False,
        )
        if failures:
            raise failures[0]
        return [path.read_bytes() for path in paths]


def csv_bytes(chart: Chart) -> bytes:
    """The data behind the chart as CSV (UTF-8), safe to open in a spreadsheet (``safe_csv``)."""
    return safe_csv(chart.data)


#: First characters that make a spreadsheet read a cell as a formula (or, for tab and carriage
#: return, that some spreadsheets strip before doing so).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_csv(frame: pl.DataFrame) -> bytes:
    """A frame as CSV (UTF-8) in which no text cell can run as a formula: a text cell starting with
    = + - @ (or a tab or carriage return) gets a leading apostrophe, as OWASP advises, so
    '=HYPERLINK(…)' shows as text. Numbers, dates and booleans are written as they are, and values
    withheld by small-cell suppression as '<10' and the like (``insights.formatting.shown_frame``),
    never as their number. Every download of data (chart data, rejected rows) goes through this."""
    frame = shown_frame(frame)
    texts = [c for c, t in frame.schema.items() if t in (pl.String, pl.Categorical, pl.Enum)]
    risky = pl.col(texts).cast(pl.String)
    guarded = pl.when(risky.str.contains(r"^[=+\-@\t\r]")).then(pl.lit("'") + risky).otherwise(risky)
    return frame.with_columns(guarded.name.keep()).write_csv().encode()


@dataclass
class Kpi:
    """One KPI for the deck's KPI slides."""

    title: str
    value: str
    change: str | None = None


@dataclass
class Section:
    """One view of the app in a deck: its charts, KPIs and narrative, and the link that reopens it.

    ``subtitle`` is the view in words (filters, dates, as-of); it is printed under the title of
    every slide of the section whose chart has no ``subtitle`` of its own. ``source`` is the
    data source's human name (``insights.cube.source_name``), never a server path.
    """

    title: str
    charts: list[Chart]
    kpis: list[Kpi] = field(default_factory=list)
    link: str = ""
    narrative: str = ""
    subtitle: str = ""
    source: str = ""


@dataclass
class Deck:
    """What goes into an exported deck: a title slide, then one or more sections (views).

    ``source`` is named on the title slide (``insights.cube.source_name``); when it is empty the
    sections' sources are.
    """

    title: str
    subtitle: str
    sections: list[Section]
    source: str = ""


SLIDE_WIDTH, SLIDE_HEIGHT = Inches(13.333), Inches(7.5)
MARGIN = Inches(0.5)
#: Where a chart slide's chart (or picture) starts: under the title and a two-line subtitle.
CHART_TOP = Inches(1.65)
#: The longest slide title printed on one line at 26 pt (bold, across the slide); a longer one
#: wraps onto two lines at 18 pt, which fit in the same space above the subtitle.
TITLE_LINE = 56
#: KPIs per KPI slide: four to a row, three rows.
KPI_COLUMNS, KPI_ROWS = 4, 3
INK = RGBColor(0x1F, 0x29, 0x33)
MUTED = RGBColor(0x61, 0x6E, 0x7C)
#: Excel number formats of the registry's formats (values and value axes).
NUMBER_FORMATS: dict[Format, str] = {"percent": "0.0%", "count": "#,##0", "decimal": "#,##0.00"}


def _text(slide, text: str, left, top, width, height, size: int, bold: bool = False, colour: RGBColor = INK) -> None:
    """A text box; each line of ``text`` is a paragraph."""
    box = slide.shapes.add_textbox(left, top, width, height)
    frame = box.text_frame
    frame.word_wrap = True
    for index, line in enumerate(text.splitlines() or [""]):
        paragraph = frame.paragraphs[0] if index == 0 else frame.add_paragraph()
        run = paragraph.add_run()
        run.text = line
        run.font.size = Pt(size)
        run.font.bold = bold
        run.font.color.rgb = colour


def _notes(slide, *parts: str) -> None:
    slide.notes_slide.notes_text_frame.text = "\n\n".join(p for p in parts if p)


def _rgb(colour: str) -> RGBColor:
    return RGBColor.from_string(colour.lstrip("#").upper())


def _axis_title(axis, text: str | None) -> None:
    """Give a native chart's axis the figure's axis title (line breaks become spaces)."""
    text = " ".join(text.replace("<br>", " ").split()) if text else text
    if text:
        axis.has_title = True
        axis.axis_title.text_frame.text = text
        axis.axis_title.text_frame.paragraphs[0].runs[0].font.size = Pt(13)
        axis.axis_title.text_frame.paragraphs[0].runs[0].font.bold = False


def native(chart: Chart) -> bool:
    """True when the deck rebuilds the chart as a native PowerPoint chart (kinds ``"line"`` and
    ``"bar"`` with their columns named); every other chart goes in as an image."""
    return chart.kind in ("line", "bar") and bool(chart.x) and bool(chart.y)


def _native_chart(slide, chart: Chart, top: int, height: int) -> None:
    """Add a line or bar chart as an editable PowerPoint chart that draws what the figure draws."""
    assert chart.x is not None, "a native chart has an x column"
    data = CategoryChartData()
    frame = chart.data
    value = chart.y[0]
    shown = metric(chart.metric or value)
    if chart.kind == "line":
        periods = sorted(frame[chart.x].unique().to_list())
        dated = all(isinstance(p, dt.date) for p in periods)
        data.categories = periods if dated else [str(p) for p in periods]  # dates: a date axis
        groups = [(None, frame)] if chart.series is None else frame.group_by(chart.series, maintain_order=True)
        for key, part in sorted(groups, key=lambda g: str(g[0])):
            code = key[0] if isinstance(key, tuple) else key
            by_period = dict(zip(part[chart.x].to_list(), part[value].to_list(), strict=True))
            name = label(chart.series, code) if chart.series is not None and code is not None else shown.label
            data.add_series(name, [by_period.get(p) for p in periods])
        kind = XL_CHART_TYPE.LINE
    else:
        data.categories = [label(chart.x, v) for v in frame[chart.x].to_list()]
        data.add_series(shown.label, frame[value].to_list())
        kind = XL_CHART_TYPE.BAR_CLUSTERED
    shape = slide.shapes.add_chart(kind, MARGIN, top, SLIDE_WIDTH - 2 * MARGIN, height, data)
    plot = shape.chart
    plot.has_legend = chart.kind == "line" and chart.series is not None
    if plot.has_legend:
        plot.legend.position = XL_LEGEND_POSITION.BOTTOM
        plot.legend.include_in_layout = False
    number_format = NUMBER_FORMATS[shown.format]
    plot.value_axis.tick_labels.number_format = number_format
    plot.value_axis.tick_labels.number_format_is_linked = False
    plot.font.size = Pt(14)
    plot.has_title = False
    layout = chart.figure.layout
    if chart.kind == "line":
        if plot.category_axis._element.tag.endswith("dateAx"):
            _date_axis(plot.category_axis, periods)
        _axis_title(plot.value_axis, layout.yaxis.title.text)
        _axis_title(plot.category_axis, layout.xaxis.title.text)  # e.g. the note on withheld values
        for series, colour in zip(plot.series, _series_colours(chart), strict=False):
            series.format.line.color.rgb = _rgb(colour)
            series.format.line.width = Pt(2.25)
            series.smooth = False
    else:
        _axis_title(plot.value_axis, layout.xaxis.title.text)
        _bars(plot, chart, number_format)


def _date_axis(axis, periods: list[dt.date]) -> None:
    """A date axis labelled about eight times across: months (or days for short spans) as steps."""
    gaps = [(b - a).days for a, b in itertools.pairwise(periods)]
    monthly = min(gaps, default=31) >= 28
    span_days = (periods[-1] - periods[0]).days
    if span_days >= 62:
        step, unit = next((s for s in (1, 2, 3, 6, 12, 24) if span_days / 30.44 / s <= 8), 60), "months"
    else:
        step, unit = max(1, -(-span_days // 8)), "days"
    axis.tick_labels.number_format = "mmm yyyy" if unit == "months" else "d mmm yyyy"
    axis.tick_labels.number_format_is_linked = False
    element = axis._element
    base = element.find(qn("c:baseTimeUnit"))
    base.set("val", "months" if monthly else "days")
    for tag, value in (("c:majorUnit", str(step)), ("c:majorTimeUnit", unit)):
        child = OxmlElement(tag)
        child.set("val", value)
        element.append(child)  # after c:baseTimeUnit, as the schema orders them


def _bars(plot, chart: Chart, number_format: str) -> None:
    """A native bar chart as the figure draws it: each bar in its own colour, its value label
    (the figure's own text where it has one, else the value in the registry's format), top
    row first, and category labels left of the plot so they never sit on a negative bar."""
    trace = next((t for t in chart.figure.data if t.type == "bar"), None)
    series = plot.series[0]
    series.invert_if_negative = False
    colours = trace.marker.color if trace is not None else None
    texts = trace.text if trace is not None and isinstance(trace.text, Sequence) else None
    values = chart.data[chart.y[0]].to_list()
    for index in range(len(values)):
        point = series.points[index]
        colour = colours[index] if isinstance(colours, Sequence) and not isinstance(colours, str) else colours
        point.format.fill.solid()
        point.format.fill.fore_color.rgb = _rgb(colour if isinstance(colour, str) else ACCENT)
        if texts is not None and not isinstance(texts, str):
            point_label = point.data_label
            point_label.position = XL_LABEL_POSITION.OUTSIDE_END
            point_label.text_frame.text = str(texts[index])
            point_label.text_frame.paragraphs[0].runs[0].font.size = Pt(12)
    if texts is None or isinstance(texts, str):
        bar_plot = plot.plots[0]
        bar_plot.has_data_labels = True
        labels = bar_plot.data_labels
        labels.number_format = number_format
        labels.number_format_is_linked = False
        labels.position = XL_LABEL_POSITION.OUTSIDE_END
        labels.font.size = Pt(12)
    plot.plots[0].gap_width = 60
    plot.category_axis.reverse_order = True  # the first row on top, as on screen …
    plot.value_axis._element.find(qn("c:crosses")).set("val", "max")  # … the value axis still at the bottom
    plot.category_axis.tick_labels.font.size = Pt(13)
    if min((v for v in values if v is not None), default=0) >= 0:
        plot.value_axis.minimum_scale = 0
    else:  # diverging bars keep their negative side, and their names stay clear of it
        plot.category_axis.tick_label_position = XL_TICK_LABEL_POSITION.LOW


def _series_colours(chart: Chart) -> list[str]:
    """The colours the figure uses for its series, so the deck matches the screen."""
    colours = []
    for trace in chart.figure.data:
        if getattr(trace, "showlegend", None) is False:
            continue  # event / caveat markers
        line = getattr(trace, "line", None)
        marker = getattr(trace, "marker", None)
        colour = (line.color if line is not None and line.color else None) or (
            marker.color if marker is not None and isinstance(marker.color, str) else None
        )
        colours.append(colour or ACCENT)
    return colours


def marked_dates(chart: Chart) -> list[str]:
    """The dated events and caveats the figure marks on its time axis, as '15 Sep 2025: text'
    (a native line chart cannot draw them, so its slide lists them under the chart)."""
    marks = []
    for trace in chart.figure.data:
        if trace.type == "scatter" and trace.mode == "markers" and trace.showlegend is False and trace.name:
            day = trace.x[0]
            marks.append((str(day), f"{day:%d %b %Y}: {trace.name}" if isinstance(day, dt.date) else trace.name))
    return [text for _, text in sorted(set(marks))]


def build_deck(deck: Deck) -> bytes:
    """A 16:9 PPTX: a title slide naming the data source, then per section a header slide (when
    there are several), its KPI slides (twelve KPIs each, as many as the KPIs need) and one slide
    per chart under its title and subtitle, every slide with speaker notes (narrative, metric
    definitions, the link to the view)."""
    presentation = Presentation()
    presentation.slide_width, presentation.slide_height = SLIDE_WIDTH, SLIDE_HEIGHT
    blank = presentation.slide_layouts[6]

    # every picture of the deck drawn at once, so kaleido's tabs share them whatever section each is in
    drawn = [chart for section in deck.sections for chart in section.charts if not native(chart)]
    pictures = dict(zip(map(id, drawn), _slide_pictures(drawn), strict=True))
    slide = presentation.slides.add_slide(blank)
    sources = deck.source or " · ".join(dict.fromkeys(s.source for s in deck.sections if s.source))
    _title_slide(slide, deck.title, deck.subtitle, sources)
    _notes(slide, *(part for section in deck.sections for part in (section.narrative, _view(section))))
    for section in deck.sections:
        if len(deck.sections) > 1:
            slide = presentation.slides.add_slide(blank)
            _title_slide(slide, section.title, section.subtitle, section.source if section.source != sources else "")
            _notes(slide, section.narrative, _view(section))
        pages = [
            section.kpis[i : i + KPI_COLUMNS * KPI_ROWS] for i in range(0, len(section.kpis), KPI_COLUMNS * KPI_ROWS)
        ]
        for number, kpis in enumerate(pages, start=1):
            title = "Key figures" + (f" ({number}/{len(pages)})" if len(pages) > 1 else "")
            _kpi_slide(presentation.slides.add_slide(blank), title, kpis, section)
        for chart in section.charts:
            _chart_slide(presentation.slides.add_slide(blank), chart, section, pictures.get(id(chart)))

    out = io.BytesIO()
    presentation.save(out)
    return out.getvalue()


def _view(section: Section) -> str:
    return f"View: {section.link}" if section.link else ""


def _title_slide(slide, title: str, subtitle: str, source: str = "") -> None:
    _text(slide, title, Inches(0.8), Inches(2.2), Inches(11.5), Inches(1.4), 40, bold=True)
    _text(slide, subtitle, Inches(0.8), Inches(3.6), Inches(11.5), Inches(1.5), 18, colour=MUTED)
    if source:
        _text(slide, f"Data: {source}", Inches(0.8), Inches(5.4), Inches(11.5), Inches(0.6), 16, colour=MUTED)


def _heading(slide, title: str, subtitle: str) -> None:
    """A slide's title (a long one on two lines in a smaller size) and, under it, what it shows
    (at most two lines)."""
    size = 26 if len(title) <= TITLE_LINE else 18
    _text(slide, title, MARGIN, Inches(0.3), SLIDE_WIDTH - 2 * MARGIN, Inches(0.7), size, bold=True)
    if subtitle:
        _text(slide, subtitle, MARGIN, Inches(0.95), SLIDE_WIDTH - 2 * MARGIN, Inches(0.65), 13, colour=MUTED)


def _kpi_slide(slide, title: str, kpis: list[Kpi], section: Section) -> None:
    """Up to twelve KPIs, four to a row: name (up to two lines), value, change."""
    _heading(slide, title, section.subtitle)
    width = (SLIDE_WIDTH - 2 * MARGIN) / KPI_COLUMNS
    row = (SLIDE_HEIGHT - CHART_TOP - Inches(0.3)) / KPI_ROWS
    for index, kpi in enumerate(kpis):
        left = MARGIN + Emu(int(width * (index % KPI_COLUMNS)))
        top = CHART_TOP + Emu(int(row * (index // KPI_COLUMNS)))
        box = Emu(int(width - Inches(0.2)))
        _text(slide, kpi.title, left, top, box, Inches(0.55), 13, colour=MUTED)
        _text(slide, kpi.value, left, top + Inches(0.55), box, Inches(0.6), 28, bold=True)
        if kpi.change:
            _text(slide, kpi.change, left, top + Inches(1.1), box, Inches(0.4), 14, colour=MUTED)
    _notes(slide, section.narrative, _view(section))


#: Where a slide's picture goes: under the heading, as wide as the slide's text, as high as is left.
PICTURE_WIDTH, PICTURE_HEIGHT = SLIDE_WIDTH - 2 * MARGIN, SLIDE_HEIGHT - Inches(0.3) - CHART_TOP


def _slide_pictures(charts: Sequence[Chart]) -> list[bytes]:
    """Deck-quality PNGs of charts without their headings, drawn for a slide's picture, together."""
    if not charts:
        return []
    pixels = round(SLIDE_IMAGE_WIDTH * PICTURE_HEIGHT / PICTURE_WIDTH)
    figures = [heading(go.Figure(chart.figure), "", "", SLIDE_IMAGE_WIDTH) for chart in charts]
    return _render(figures, "png", SLIDE_IMAGE_WIDTH, pixels, 2)


def _chart_slide(slide, chart: Chart, section: Section, picture: bytes | None) -> None:
    """A chart under its title and subtitle: native for line and bar charts (a line chart's marked
    events listed under it), else ``picture``, the chart drawn by ``_slide_pictures``."""
    _heading(slide, chart.title, chart.subtitle or section.subtitle)
    bottom = SLIDE_HEIGHT - Inches(0.3)
    marks = marked_dates(chart) if native(chart) else []
    if marks:
        caption = "Marked: " + " · ".join(marks)
        lines = 1 + len(caption) // 190
        bottom -= Inches(0.22 * lines + 0.1)
        _text(slide, caption, MARGIN, bottom, SLIDE_WIDTH - 2 * MARGIN, Inches(0.22 * lines + 0.1), 10, colour=MUTED)
    if native(chart):
        _native_chart(slide, chart, CHART_TOP, bottom - CHART_TOP)
    else:
        assert picture is not None, "a chart that is not native needs its picture"
        slide.shapes.add_picture(io.BytesIO(picture), MARGIN, CHART_TOP, width=PICTURE_WIDTH, height=PICTURE_HEIGHT)
    definitions = f"{metric(chart.metric).label}: {metric(chart.metric).definition}" if chart.metric else ""
    notes = chart.notes if chart.notes not in definitions else ""
    _notes(slide, notes, "\n".join(marks), section.narrative, definitions, _view(section))
