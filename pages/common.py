"""Glue shared by the pages: the cached cube, filters kept in the URL, and chart display with
downloads. No computation here: pages read the filter state, call insights, show the result.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import streamlit as st

import insights
from insights import charts, export
from insights.cube import GRAIN_ORDER
from insights.metrics import metric
from insights.model import DIMENSION_LABELS, harm_area_colours, label

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "generated" / "events"
EVENTS_FILE = ROOT / "sample_data" / "events.csv"
CORE_HARM_AREAS = ["violent_extremism", "hateful_behavior", "self_harm", "human_exploitation"]
#: The media type of an exported deck.
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
#: Dimensions offered as extra filters (besides harm area, region and country).
MORE_FILTERS = ["policy", "language", "content_type", "detection_source", "action", "platform"]


# ---- the data --------------------------------------------------------------------------------

def source() -> str:
    """The data source: the one chosen on the Data page, else $HARM_INSIGHTS_SOURCE, else the sample."""
    return st.session_state.get("source") or os.environ.get("HARM_INSIGHTS_SOURCE", str(SAMPLE))


@st.cache_resource(show_spinner="Loading enforcement data…", max_entries=8)
def load_cube(src: str, options: tuple = ()) -> insights.Cube:
    """Load a source once per process; every page, rerun and session of it reuses the cube."""
    loaded = insights.load_source(src, **dict(options))
    loaded.warm()
    return loaded


def cube() -> insights.Cube:
    """The cube of the current source."""
    return load_cube(source(), tuple(sorted(st.session_state.get("source_options", {}).items())))


UPLOADS = Path(tempfile.gettempdir()) / "harm-insights-uploads"


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
    return pl.read_csv(path, try_parse_dates=True, schema_overrides={"harm_area": pl.String, "region": pl.String})


def events_for(harm_areas: list[str], start: dt.date | None = None, end: dt.date | None = None) -> pl.DataFrame:
    """Annotated events plus the ones added in this session, for the chosen harm areas (and global
    ones), between ``start`` and ``end`` when given (a time chart's window)."""
    frame = pl.concat([annotated_events(), session_events()], how="diagonal_relaxed")
    frame = frame.filter(pl.col("harm_area").is_null() | pl.col("harm_area").is_in(harm_areas))
    if start is not None and end is not None:
        frame = frame.filter(pl.col("date").is_between(start, end))
    return frame.sort("date")


def session_events() -> pl.DataFrame:
    """Events the user added in this session."""
    rows = st.session_state.get("added_events", [])
    schema = {"date": pl.Date, "title": pl.String, "kind": pl.String, "harm_area": pl.String, "region": pl.String}
    return pl.DataFrame(rows, schema=schema)


# ---- filters, kept in the URL ----------------------------------------------------------------

@dataclass
class View:
    """The filter state every page shares."""

    harm_areas: list[str]
    start: dt.date
    end: dt.date
    grain: str
    dims: dict[str, list[str]] = field(default_factory=dict)

    @property
    def filters(self) -> dict[str, list[str]]:
        """Filters for Cube.query: harm areas plus every other chosen dimension."""
        return {"harm_area": self.harm_areas, **{d: v for d, v in self.dims.items() if v}}


def _url_list(name: str) -> list[str]:
    return [v for v in st.query_params.get_all(name) if v]


def _url_date(name: str, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(st.query_params.get(name, ""))
    except ValueError:
        return default


def _seed(key: str, value) -> None:
    """Initialise a widget's state from the URL once per session."""
    if key not in st.session_state:
        st.session_state[key] = value


def filter_dimensions(data: insights.Cube) -> list[str]:
    """Dimensions with a sidebar filter besides harm area: region, country, then the others the data has."""
    return [d for d in ["region", "country", *MORE_FILTERS] if d in data.dimensions]


def grains(data: insights.Cube) -> list[str]:
    """Grains the data can be shown at (its own time grain and coarser, up to quarters)."""
    return [g for g in GRAIN_ORDER if g != "year" and GRAIN_ORDER.index(g) >= GRAIN_ORDER.index(data.time_grain)]


def date_bounds(data: insights.Cube) -> tuple[dt.date, dt.date]:
    """The first and last day of the data (today for a source without dates)."""
    return data.date_range or (dt.date.today(), dt.date.today())


def filter_view(data: insights.Cube) -> View:
    """The view from the filters' state, seeded from the URL on a session's first run.

    The widgets themselves are drawn by ``draw_filters`` at the end of the page: the page's
    first chart reaches the browser before the sidebar's widgets, whose code it then loads.
    """
    first, last = date_bounds(data)
    areas = data.values("harm_area")
    dimensions = filter_dimensions(data)
    _seed("f_harm_area", [h for h in _url_list("harm_area") if h in areas] or [h for h in CORE_HARM_AREAS if h in areas] or areas[:4])
    _seed("f_dates", (max(first, _url_date("start", first)), min(last, _url_date("end", last))))
    _seed("f_grain", st.query_params.get("grain", "week") if st.query_params.get("grain") in GRAIN_ORDER else "week")
    for dim in dimensions:
        _seed(f"f_{dim}", _url_list(dim))
    for key in ["f_harm_area", "f_dates", "f_grain", *(f"f_{d}" for d in dimensions)]:
        # Each page's widgets are new widgets to Streamlit, and the URL's query string is cleared
        # on a page switch: handing the value back to Session State keeps the filters across pages.
        st.session_state[key] = st.session_state[key]
    dates = st.session_state["f_dates"]
    start, end = (dates[0], dates[1]) if isinstance(dates, (tuple, list)) and len(dates) == 2 else (first, last)
    choices = grains(data)
    grain = st.session_state["f_grain"] if st.session_state["f_grain"] in choices else choices[0]
    dims = {d: list(st.session_state[f"f_{d}"]) for d in dimensions}
    view = View(list(st.session_state["f_harm_area"]), start, end, grain, dims)
    _write_url(view, (first, last))
    return view


def draw_filters(data: insights.Cube) -> None:
    """The shared sidebar: harm areas, dates, grain, region, country, more dimensions (state in the URL)."""
    first, last = date_bounds(data)
    side = st.sidebar
    side.multiselect("Harm areas", data.values("harm_area"), key="f_harm_area", format_func=lambda c: label("harm_area", c))
    side.date_input("Dates", key="f_dates", min_value=first, max_value=last, format="YYYY-MM-DD")
    side.segmented_control("Grain", grains(data), key="f_grain", format_func=str.capitalize)
    dimensions = filter_dimensions(data)
    extra = [d for d in dimensions if d in MORE_FILTERS]
    for dim in [d for d in dimensions if d not in extra]:
        side.multiselect(DIMENSION_LABELS[dim], data.values(dim), key=f"f_{dim}", format_func=lambda c, d=dim: label(d, c))
    with side.expander("More filters", expanded=any(_url_list(d) for d in extra)):
        for dim in extra:
            st.multiselect(DIMENSION_LABELS[dim], data.values(dim), key=f"f_{dim}", format_func=lambda c, d=dim: label(d, c))


def _write_url(view: View, full_range: tuple[dt.date, dt.date]) -> None:
    """Mirror the view into the query string, so a copied link reopens exactly this view."""
    params = {"harm_area": view.harm_areas, "grain": view.grain}
    if (view.start, view.end) != full_range:
        params |= {"start": view.start.isoformat(), "end": view.end.isoformat()}
    params |= {d: v for d, v in view.dims.items() if v}
    current = {k: st.query_params.get_all(k) for k in st.query_params}
    for key in current:
        if key not in params and not key.startswith("p_"):
            del st.query_params[key]
    for key, value in params.items():
        wanted = value if isinstance(value, list) else [value]
        if current.get(key) != wanted:
            st.query_params[key] = value


def page_param(name: str, options: list[str], default: str) -> str:
    """A page-specific choice (metric, breakdown…) seeded from and written to the URL as ``p_<name>``."""
    key = f"p_{name}"
    wanted = st.query_params.get(key)
    _seed(key, wanted if wanted in options else default)
    if st.session_state[key] not in options:
        st.session_state[key] = default
    return key


def remember_page_param(name: str) -> None:
    """Write a page choice back to the URL."""
    st.query_params[f"p_{name}"] = st.session_state[f"p_{name}"]


def view_link() -> str:
    """The link to this exact view (for decks and sharing)."""
    base = os.environ.get("HARM_INSIGHTS_BASE_URL", "http://localhost:8501")
    page = st.session_state.get("page_path", "")
    query = "&".join(f"{k}={v}" for k in st.query_params for v in st.query_params.get_all(k))
    return f"{base}/{page}?{query}"


# ---- showing charts --------------------------------------------------------------------------

def colour(harm_area: str) -> str:
    """The harm area's colour (grey for areas outside the taxonomy)."""
    return harm_area_colours().get(harm_area, "#555555")


def show(chart: charts.Chart, drill: str | None = None) -> None:
    """Show a chart with PNG / SVG / CSV downloads, and add it to this page's deck.

    With ``drill`` (a dimension), clicking a bar, point or country filters the whole view to
    the clicked values of that dimension (the sidebar filter and the URL follow).
    """
    st.session_state.setdefault("deck_charts", {})[chart.key] = chart
    key = f"chart_{chart.key}"
    st.plotly_chart(
        chart.figure,
        key=key,
        on_select=(lambda: _drill(key, drill)) if drill else "ignore",
        selection_mode=("points",),
        config={"displaylogo": False, "topojsonURL": "/app/static/topojson/", "toImageButtonOptions": {"format": "png", "width": 1600, "height": 900}},
    )
    name = chart.key
    row = st.container(horizontal=True, gap="small")
    row.download_button("PNG", data=lambda: export.image_bytes(chart, "png", scale=2), file_name=f"{name}.png", mime="image/png", key=f"png_{name}", on_click="ignore", icon=":material/image:")
    row.download_button("SVG", data=lambda: export.image_bytes(chart, "svg"), file_name=f"{name}.svg", mime="image/svg+xml", key=f"svg_{name}", on_click="ignore", icon=":material/polyline:")
    row.download_button("CSV", data=lambda: export.csv_bytes(chart), file_name=f"{name}.csv", mime="text/csv", key=f"csv_{name}", on_click="ignore", icon=":material/table:")


def _drill(chart_key: str, dimension: str) -> None:
    """Selection callback: make the clicked values the filter of ``dimension``."""
    values = selected_values(st.session_state.get(chart_key))
    if values:
        st.session_state[f"f_{dimension}"] = values


def selected_values(state) -> list[str]:
    """The codes clicked in a chart (each trace carries its codes in ``customdata``)."""
    selection = (state or {}).get("selection", {}) if isinstance(state, dict) else getattr(state, "selection", {})
    points = selection.get("points", []) if isinstance(selection, dict) else getattr(selection, "points", [])
    values = []
    for point in points:
        value = point.get("customdata")
        value = value[0] if isinstance(value, list) and value else value
        if value is not None and str(value) not in values:
            values.append(str(value))
    return values


def metric_label(name: str) -> str:
    """A metric's label for selectors."""
    return metric(name).label


def caveat_notes(data: insights.Cube, harm_areas: list[str]) -> None:
    """Caveats that apply to this view, beside the numbers."""
    notes = [c for c in data.provenance.caveats if c.harm_area is None or c.harm_area in harm_areas]
    if notes:
        with st.expander(f"Caveats ({len(notes)})", icon=":material/info:"):
            for note in notes:
                st.markdown(f"- {note.date.isoformat() + ': ' if note.date else ''}{note.text}")


def current() -> tuple[insights.Cube, View]:
    """Start a page: load the cube (or explain why it cannot be) and read the shared filters' view."""
    st.session_state.update(deck_charts={}, deck_kpis=[], deck_narrative="")
    try:
        data = cube()
    except insights.DataError as error:
        st.error(f"The data source could not be loaded: {error}", icon=":material/error:")
        st.session_state.pop("source", None)
        st.page_link("pages/data_page.py", label="Choose another source on the Data page")
        st.stop()
    view = filter_view(data)
    st.session_state["view"] = view
    return data, view


def finish() -> None:
    """End a page: the sidebar's filters, the deck export of this page and the review deck
    collected across pages. Every page calls it last (also before stopping early)."""
    data = cube()
    draw_filters(data)
    deck_export(data, st.session_state["view"])


def stop_page() -> None:
    """End a page early (nothing more to show): still draw the sidebar, then stop the script."""
    finish()
    st.stop()


def describe(data: insights.Cube, view: View) -> str:
    """The view in words for a deck: harm areas, dates, grain, other filters, data as-of and source."""
    areas = ", ".join(label("harm_area", h) for h in view.harm_areas) or "all harm areas"
    others = "; ".join(f"{DIMENSION_LABELS[d]}: {', '.join(label(d, v) for v in values)}" for d, values in view.dims.items() if values)
    return f"{areas}{' · ' + others if others else ''}\n{view.start} – {view.end} · by {view.grain} · {data_note(data)}"


def data_note(data: insights.Cube) -> str:
    """Where the data comes from and how fresh it is, for a deck."""
    return f"data as of {data.provenance.as_of} · source {data.provenance.source}"


def deck_export(data: insights.Cube, view: View) -> None:
    """Sidebar: this page's charts as a 16:9 deck (KPIs, narrative, the view link), and a review
    deck that collects views from several pages (each added with its filters at the time)."""
    chosen = list(st.session_state.get("deck_charts", {}).values())
    review: dict[str, export.Section] = st.session_state.setdefault("review_deck", {})
    if not chosen and not review:
        return
    side = st.sidebar
    side.divider()
    title = st.session_state.get("page_title", "Review")
    if chosen:
        section = export.Section(
            title=title,
            subtitle=describe(data, view),
            charts=chosen,
            kpis=st.session_state.get("deck_kpis", []),
            link=view_link(),
            narrative=st.session_state.get("deck_narrative", ""),
        )
        side.download_button(
            f"Export deck ({len(chosen)} charts)",
            data=lambda: export.build_deck(export.Deck(f"Harm Insights · {title}", section.subtitle, [section])),
            file_name="harm-insights.pptx", mime=PPTX, icon=":material/slideshow:", on_click="ignore", key="export_deck", width="stretch",
        )
        added = section.link in review
        side.button("Update in review deck" if added else "Add to review deck", on_click=review.__setitem__, args=(section.link, section),
                    icon=":material/playlist_add:", key="review_add", width="stretch",
                    help="Collect this view (with its filters) into one deck with views from other pages")
    if review:
        sections = list(review.values())
        count = sum(len(s.charts) for s in sections)
        side.download_button(
            f"Export review deck ({len(sections)} view{'s' if len(sections) > 1 else ''}, {count} charts)",
            data=lambda: export.build_deck(export.Deck("Harm Insights · Review", f"{len(sections)} views · {data_note(data)}", sections)),
            file_name="harm-insights-review.pptx", mime=PPTX, icon=":material/library_books:", on_click="ignore", key="export_review", width="stretch",
        )
        side.caption(" · ".join(s.title for s in sections))
        side.button("Clear review deck", on_click=review.clear, icon=":material/delete_sweep:", key="review_clear", type="tertiary")
