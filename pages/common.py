"""Glue shared by the pages: the cached cube, the view kept in the URL, and chart display with
downloads. No computation here: a page starts (``start_page``), reads its view, calls insights,
shows the results through its ``Page`` and finishes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NoReturn

import polars as pl
import streamlit as st

import insights
from insights import charts, export
from insights.labels import dimension_label, label
from insights.maps import topojson_data_url
from insights.model import harm_area_colours
from insights.periods import GRAINS, Grain, Period
from insights.trends import events_in_scope, read_events
from insights.trends.events import EVENT_SCHEMA
from insights.viewstate import PAGE_PREFIX, ViewState, parse_period_param, period_param

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "generated" / "events"
EVENTS_FILE = ROOT / "sample_data" / "events.csv"
CORE_HARM_AREAS = ["violent_extremism", "hateful_behavior", "self_harm", "human_exploitation"]
#: The media type of an exported deck.
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
#: Dimensions offered as extra filters (besides harm area, region and country).
MORE_FILTERS = ["policy", "language", "content_type", "detection_source", "action", "platform"]
UPLOADS = Path(tempfile.gettempdir()) / "harm-insights-uploads"


# ---- the data --------------------------------------------------------------------------------

SourceKey = tuple[tuple[str, Any], ...]


def source_key(options: dict[str, Any]) -> SourceKey:
    """The options of a source as a hashable, order-free cache key (mappings become sorted pairs)."""
    return tuple(sorted((k, tuple(sorted(v.items())) if isinstance(v, dict) else v) for k, v in options.items()))


@st.cache_resource(show_spinner="Loading enforcement data…", max_entries=8)
def load_cube(src: str, options: SourceKey = ()) -> insights.Cube:
    """Load a source once per process; every page, rerun and session of it reuses the cube."""
    loaded = insights.load_source(src, **{k: dict(v) if k == "columns" else v for k, v in options})
    loaded.warm()
    return loaded


def source() -> tuple[str, SourceKey]:
    """The data source and its options: the one chosen on the Data page, else
    $HARM_INSIGHTS_SOURCE, else the sample."""
    chosen = st.session_state.get("source") or os.environ.get("HARM_INSIGHTS_SOURCE", str(SAMPLE))
    return chosen, source_key(st.session_state.get("source_options", {}))


def keep_upload(upload) -> Path:
    """Store an uploaded file on the server (named by its content hash) so it can be a source like any path."""
    data = upload.getvalue()
    folder = UPLOADS / hashlib.sha256(data).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / Path(upload.name).name
    if not path.exists():
        path.write_bytes(data)
    return path


@st.cache_data(show_spinner=False)
def annotated_events(path: str = str(EVENTS_FILE)) -> pl.DataFrame:
    """The annotated events file (date, title, kind, harm_area, region)."""
    return read_events(path)


# ---- the view, kept in the URL -----------------------------------------------------------------


@dataclass
class View:
    """The filter state every page shares."""

    harm_areas: list[str]
    start: dt.date
    end: dt.date
    grain: Grain
    dims: dict[str, list[str]] = field(default_factory=dict)

    @property
    def filters(self) -> dict[str, list[str]]:
        """Filters for Cube.query: harm areas plus every other chosen dimension."""
        return {"harm_area": self.harm_areas, **{d: v for d, v in self.dims.items() if v}}


def _url_state() -> ViewState:
    return ViewState.from_query({k: st.query_params.get_all(k) for k in st.query_params})


def _seed(key: str, value: object) -> None:
    """Initialise a widget's state once per session (from the URL, or a default)."""
    if key not in st.session_state:
        st.session_state[key] = value


def filter_dimensions(data: insights.Cube) -> list[str]:
    """Dimensions with a sidebar filter besides harm area: region, country, then the others the data has."""
    return [d for d in ["region", "country", *MORE_FILTERS] if d in data.dimensions]


def grains(data: insights.Cube) -> list[Grain]:
    """Grains the data can be shown at (its own time grain and coarser, up to quarters)."""
    return [g for g in GRAINS if g != "year" and GRAINS.index(g) >= GRAINS.index(data.time_grain)]


def date_bounds(data: insights.Cube) -> tuple[dt.date, dt.date]:
    """The first and last day of the data (today for a source without dates)."""
    return data.date_range or (dt.date.today(), dt.date.today())


def _filter_keys(data: insights.Cube) -> list[str]:
    return ["f_harm_area", "f_dates", "f_grain", *(f"f_{d}" for d in filter_dimensions(data))]


def read_view(data: insights.Cube, url: ViewState) -> View:
    """The view from the filters' state, seeded from the URL on a session's first run.

    The widgets themselves are drawn by ``draw_filters`` at the end of the page: the page's
    first chart reaches the browser before the sidebar's widgets, whose code it then loads.
    """
    first, last = date_bounds(data)
    areas = data.values("harm_area")
    wanted = [h for h in url.filters.get("harm_area", []) if h in areas]
    _seed("f_harm_area", wanted or [h for h in CORE_HARM_AREAS if h in areas] or areas[:4])
    _seed("f_dates", (max(first, url.start or first), min(last, url.end or last)))
    _seed("f_grain", url.grain or "week")
    for dim in filter_dimensions(data):
        _seed(f"f_{dim}", url.filters.get(dim, []))
    for key in _filter_keys(data):
        # Each page's widgets are new widgets to Streamlit, and the URL's query string is cleared
        # on a page switch: handing the value back to Session State keeps the filters across pages.
        st.session_state[key] = st.session_state[key]
    dates = st.session_state["f_dates"]
    start, end = (dates[0], dates[1]) if isinstance(dates, (tuple, list)) and len(dates) == 2 else (first, last)
    choices = grains(data)
    grain = st.session_state["f_grain"] if st.session_state["f_grain"] in choices else choices[0]
    dims = {d: list(st.session_state[f"f_{d}"]) for d in filter_dimensions(data)}
    return View(list(st.session_state["f_harm_area"]), start, end, grain, dims)


def draw_filters(data: insights.Cube) -> None:
    """The shared sidebar: harm areas, dates, grain, region, country, more dimensions (state in the URL)."""
    first, last = date_bounds(data)
    side = st.sidebar
    side.multiselect(
        "Harm areas", data.values("harm_area"), key="f_harm_area", format_func=lambda c: label("harm_area", c)
    )
    side.date_input("Dates", key="f_dates", min_value=first, max_value=last, format="YYYY-MM-DD")
    side.segmented_control("Grain", grains(data), key="f_grain", format_func=str.capitalize)
    dimensions = filter_dimensions(data)
    extra = [d for d in dimensions if d in MORE_FILTERS]
    for dim in [d for d in dimensions if d not in extra]:
        side.multiselect(
            dimension_label(dim), data.values(dim), key=f"f_{dim}", format_func=lambda c, d=dim: label(d, c)
        )
    with side.expander("More filters", expanded=any(st.session_state.get(f"f_{d}") for d in extra)):
        for dim in extra:
            st.multiselect(
                dimension_label(dim), data.values(dim), key=f"f_{dim}", format_func=lambda c, d=dim: label(d, c)
            )


def colour(harm_area: str) -> str:
    """The harm area's colour (grey for areas outside the taxonomy)."""
    return harm_area_colours().get(harm_area, "#555555")


def selected_values(state: object) -> list[str]:
    """The codes clicked in a chart (each trace carries its codes in ``customdata``)."""
    selection = (state or {}).get("selection", {}) if isinstance(state, dict) else getattr(state, "selection", {})
    points = selection.get("points", []) if isinstance(selection, dict) else getattr(selection, "points", [])
    values: list[str] = []
    for point in points:
        value = point.get("customdata")
        value = value[0] if isinstance(value, list) and value else value
        if value is not None and str(value) not in values:
            values.append(str(value))
    return values


def _drill(chart_key: str, dimension: str) -> None:
    """Selection callback: make the clicked values the filter of ``dimension``."""
    values = selected_values(st.session_state.get(chart_key))
    if values:
        st.session_state[f"f_{dimension}"] = values


# ---- a page ----------------------------------------------------------------------------------


@dataclass
class Page:
    """One run of one page: the data, the view, the page's choices (kept in the URL) and what it
    showed (charts, KPIs, narrative), which the deck export takes."""

    data: insights.Cube
    view: View
    url: ViewState
    title: str
    path: str
    charts: dict[str, charts.Chart] = field(default_factory=dict)
    kpis: list[export.Kpi] = field(default_factory=list)
    narrative: str = ""
    choices: dict[str, str] = field(default_factory=dict)

    # -- the page's own choices ----------------------------------------------------------------

    def choice(self, name: str, options: Sequence[str], default: str) -> str:
        """The widget key of a page choice (metric, breakdown…), seeded from the URL (``p_<name>``)
        and kept across page switches; give it to the widget as ``key=``."""
        key = PAGE_PREFIX + name
        wanted = self.url.page.get(name)
        _seed(key, wanted if wanted in options else default)
        if st.session_state[key] not in options:
            st.session_state[key] = default
        st.session_state[key] = st.session_state[key]
        return key

    def flag(self, name: str) -> str:
        """The widget key of an on/off page choice (a toggle), seeded from the URL (``p_<name>=1``)."""
        key = PAGE_PREFIX + name
        _seed(key, self.url.page.get(name) == "1")
        st.session_state[key] = bool(st.session_state[key])
        return key

    def keep(self, name: str, value: str | None) -> None:
        """Record a page choice for the URL (written when the page finishes)."""
        if value:
            self.choices[name] = value
        else:
            self.choices.pop(name, None)

    def period(self, name: str, default: Period) -> str:
        """The widget key of a period choice (a date-range input), seeded from the URL
        (``p_<name>=start..end``) or ``default``."""
        key = PAGE_PREFIX + name
        if key not in st.session_state:
            chosen = parse_period_param(self.url.page.get(name)) or default
            st.session_state[key] = (chosen.start, chosen.end)
        return key

    def keep_period(self, name: str, period: Period) -> None:
        """Record a period choice for the URL."""
        self.keep(name, period_param(period))

    # -- what the page shows -------------------------------------------------------------------

    def events(self, start: dt.date | None = None, end: dt.date | None = None) -> pl.DataFrame:
        """Annotated events plus those added in this session that concern the view's slice,
        between ``start`` and ``end`` when given (a time chart's window)."""
        added = pl.DataFrame(st.session_state.get("added_events", []), schema=EVENT_SCHEMA)
        everything = pl.concat([annotated_events(), added], how="vertical_relaxed")
        return events_in_scope(everything, self.view.filters, start, end).sort("date")

    def show(self, chart: charts.Chart, drill: str | None = None) -> None:
        """Show a chart with PNG / SVG / CSV downloads, and add it to this page's deck.

        With ``drill`` (a dimension), clicking a bar, point or country filters the whole view to
        the clicked values of that dimension (the sidebar filter and the URL follow).
        """
        self.charts[chart.key] = chart
        key = f"chart_{chart.key}"
        on_select: Callable[[], None] | str = (lambda: _drill(key, drill)) if drill else "ignore"
        st.plotly_chart(
            chart.figure,
            key=key,
            on_select=on_select,
            selection_mode=("points",),
            config={
                "displaylogo": False,
                "topojsonURL": topojson_data_url(),
                "toImageButtonOptions": {"format": "png", "width": 1600, "height": 900},
            },
        )
        name = chart.key
        row = st.container(horizontal=True, gap="small")
        row.download_button(
            "PNG",
            data=lambda: export.image_bytes(chart, "png", scale=2),
            file_name=f"{name}.png",
            mime="image/png",
            key=f"png_{name}",
            on_click="ignore",
            icon=":material/image:",
        )
        row.download_button(
            "SVG",
            data=lambda: export.image_bytes(chart, "svg"),
            file_name=f"{name}.svg",
            mime="image/svg+xml",
            key=f"svg_{name}",
            on_click="ignore",
            icon=":material/polyline:",
        )
        row.download_button(
            "CSV",
            data=lambda: export.csv_bytes(chart),
            file_name=f"{name}.csv",
            mime="text/csv",
            key=f"csv_{name}",
            on_click="ignore",
            icon=":material/table:",
        )

    def caveats(self) -> None:
        """Caveats that apply to this view, beside the numbers."""
        notes = [c for c in self.data.provenance.caveats if c.harm_area is None or c.harm_area in self.view.harm_areas]
        if notes:
            with st.expander(f"Caveats ({len(notes)})", icon=":material/info:"):
                for note in notes:
                    st.markdown(f"- {note.date.isoformat() + ': ' if note.date else ''}{note.text}")

    # -- the end of the page -------------------------------------------------------------------

    def url_state(self) -> ViewState:
        """This view as a ``ViewState`` (the whole data range is left out of the URL)."""
        dims = {"harm_area": self.view.harm_areas, **self.view.dims}
        full_range = (self.view.start, self.view.end) == date_bounds(self.data)
        start, end = (None, None) if full_range else (self.view.start, self.view.end)
        return ViewState(dims, start, end, self.view.grain, dict(self.choices))

    def link(self) -> str:
        """The link to this exact view (for decks and sharing)."""
        base = os.environ.get("HARM_INSIGHTS_BASE_URL", "http://localhost:8501")
        query = "&".join(f"{k}={v}" for k, values in self.url_state().to_query().items() for v in values)
        return f"{base}/{self.path}?{query}"

    def section(self) -> export.Section:
        """What this page adds to a deck: its charts, KPIs, narrative, filters in words and link."""
        return export.Section(
            title=self.title,
            subtitle=describe(self.data, self.view),
            charts=list(self.charts.values()),
            kpis=self.kpis,
            link=self.link(),
            narrative=self.narrative,
        )

    def finish(self) -> None:
        """End a page: the URL, the sidebar's filters and the deck exports. Every page calls it
        last (``stop`` calls it when a page ends early)."""
        _write_url(self.url_state())
        draw_filters(self.data)
        deck_export(self)

    def stop(self) -> NoReturn:
        """End a page early (nothing more to show): still draw the sidebar, then stop the script."""
        self.finish()
        st.stop()
        raise AssertionError("st.stop() returns only outside a Streamlit run")


def start_page() -> Page:
    """Start a page: load the cube (or explain why it cannot be) and read the shared view."""
    src, options = source()
    try:
        data = load_cube(src, options)
    except insights.DataError as error:
        st.error(f"The data source could not be loaded: {error}", icon=":material/error:")
        st.session_state.pop("source", None)
        st.page_link("pages/data_page.py", label="Choose another source on the Data page")
        st.stop()
    url = _url_state()
    view = read_view(data, url)
    page = Page(data, view, url, st.session_state.get("page_title", "Review"), st.session_state.get("page_path", ""))
    # The filters reach the URL at once (a link copied while the page draws is already right);
    # the page's own choices follow when it finishes.
    _write_url(replace(page.url_state(), page=url.page))
    return page


def _write_url(state: ViewState) -> None:
    """Mirror the view into the query string, so a copied link reopens exactly this view."""
    wanted = state.to_query()
    current = {k: st.query_params.get_all(k) for k in st.query_params}
    for key in current:
        if key not in wanted:
            del st.query_params[key]
    for key, values in wanted.items():
        if current.get(key) != values:
            st.query_params[key] = values


def describe(data: insights.Cube, view: View) -> str:
    """The view in words for a deck: harm areas, dates, grain, other filters, data as-of and source."""
    areas = ", ".join(label("harm_area", h) for h in view.harm_areas) or "all harm areas"
    others = "; ".join(
        f"{dimension_label(d)}: {', '.join(label(d, v) for v in values)}" for d, values in view.dims.items() if values
    )
    return f"{areas}{' · ' + others if others else ''}\n{view.start} – {view.end} · by {view.grain} · {data_note(data)}"


def data_note(data: insights.Cube) -> str:
    """Where the data comes from and how fresh it is, for a deck."""
    return f"data as of {data.provenance.as_of} · source {data.provenance.source}"


def deck_export(page: Page) -> None:
    """Sidebar: this page's charts as a 16:9 deck (KPIs, narrative, the view link), and a review
    deck that collects views from several pages (each added with its filters at the time)."""
    review: dict[str, export.Section] = st.session_state.setdefault("review_deck", {})
    if not page.charts and not review:
        return
    side = st.sidebar
    side.divider()
    if page.charts:
        section = page.section()
        side.download_button(
            f"Export deck ({len(page.charts)} charts)",
            data=lambda: export.build_deck(export.Deck(f"Harm Insights · {page.title}", section.subtitle, [section])),
            file_name="harm-insights.pptx",
            mime=PPTX,
            icon=":material/slideshow:",
            on_click="ignore",
            key="export_deck",
            width="stretch",
        )
        added = section.link in review
        side.button(
            "Update in review deck" if added else "Add to review deck",
            on_click=review.__setitem__,
            args=(section.link, section),
            icon=":material/playlist_add:",
            key="review_add",
            width="stretch",
            help="Collect this view (with its filters) into one deck with views from other pages",
        )
    if review:
        sections = list(review.values())
        count = sum(len(s.charts) for s in sections)
        deck = export.Deck("Harm Insights · Review", f"{len(sections)} views · {data_note(page.data)}", sections)
        side.download_button(
            f"Export review deck ({len(sections)} view{'s' if len(sections) > 1 else ''}, {count} charts)",
            data=lambda: export.build_deck(deck),
            file_name="harm-insights-review.pptx",
            mime=PPTX,
            icon=":material/library_books:",
            on_click="ignore",
            key="export_review",
            width="stretch",
        )
        side.caption(" · ".join(s.title for s in sections))
        side.button(
            "Clear review deck",
            on_click=review.clear,
            icon=":material/delete_sweep:",
            key="review_clear",
            type="tertiary",
        )


def metric_label(name: str) -> str:
    """A metric's label, for selectors."""
    return insights.metric(name).label
