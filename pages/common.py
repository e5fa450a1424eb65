"""Glue shared by the pages: the cached cube, the view kept in the URL, and chart display with
downloads. No computation here: a page starts (``start_page``), reads its view, calls insights,
shows the results through its ``Page`` and finishes.

The URL is the view. A page run reads it; when it differs from what the app last wrote there
(a copied link, the *Details* link of a card, the browser's Back button) the URL wins and the
sidebar follows it; otherwise the sidebar's widgets win and the view is written back to the URL
(one browser-history entry per change, so Back undoes a drill). Every value is checked against
the data first: unknown codes, dates outside the data, unknown grains and metrics fall back to
what the data has, so no URL and no sequence of clicks can break a page.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import shutil
import tempfile
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NoReturn, TypeVar, cast

import polars as pl
import streamlit as st

import insights
from insights import charts, export
from insights.access import Scope, restrict
from insights.cube import source_name
from insights.digest.content import default_follow
from insights.digest.subscriptions import (
    add_follow,
    load_subscriptions,
    remove_follow,
    slice_key,
    subscriptions_path,
)
from insights.disclosure import SUPPRESSION_VARIABLE, Suppression, load_suppression
from insights.exposed import ExposedCube
from insights.formatting import escape_markdown
from insights.impact.events import launch_slice, linked_dimensions
from insights.labels import dimension_label, label
from insights.limits import check_upload
from insights.maps import topojson_data_url
from insights.model import harm_area_colours
from insights.periods import GRAINS, Grain, Period
from insights.sources.confine import load_confined
from insights.trends import events_in_scope, read_events
from insights.trends.events import EVENT_SCHEMA
from insights.viewstate import PAGE_PREFIX, ViewState, parse_period_param, period_param
from pages.chart_element import builds_served, chart_element
from pages.signin import audit, require_scope, settings_file

ROOT = Path(__file__).resolve().parents[1]
#: The bundled sample: events with their exposure and labelled view sample beside them.
SAMPLE = ROOT / "sample_data" / "generated"
EVENTS_FILE = ROOT / "sample_data" / "events.csv"
CORE_HARM_AREAS = ["violent_extremism", "hateful_behavior", "self_harm", "human_exploitation"]
#: The URL value meaning "every harm area" (an empty selection).
ALL = "all"
#: The media type of an exported deck.
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
#: Dimensions offered as extra filters (besides harm area, region and country).
MORE_FILTERS = ["policy", "language", "content_type", "detection_source", "action", "platform"]
UPLOADS = Path(tempfile.gettempdir()) / "harm-insights-uploads"
#: Session keys: the query string the app last wrote, and the source the filters were made for.
LAST_URL, FILTERED_SOURCE = "_view_url", "_view_source"
#: Between the values of a multi-valued page choice in the URL (``p_treated=BR|MX|CO``).
SEPARATOR = "|"


# ---- the data --------------------------------------------------------------------------------

SourceKey = tuple[tuple[str, Any], ...]


def source_key(options: dict[str, Any]) -> SourceKey:
    """The options of a source as a hashable, order-free cache key (mappings become sorted pairs)."""
    return tuple(sorted((k, tuple(sorted(v.items())) if isinstance(v, dict) else v) for k, v in options.items()))


@st.cache_resource(show_spinner="Loading enforcement data…", max_entries=8)
def load_cube(src: str, options: SourceKey = ()) -> insights.Cube:
    """Load a source once per process; every page, rerun and session of it reuses the cube. A
    source typed on the Data page (option ``confined``) loads only under the data roots or from an
    allowlisted database (``insights.sources.confine.load_confined``)."""
    given = {k: dict(v) if k == "columns" else v for k, v in options if k != "confined"}
    confined = dict(options).get("confined", False)
    loaded = load_confined(src, **given) if confined else insights.load_source(src, **given)
    loaded.warm()
    return loaded


@st.cache_resource(show_spinner=False, max_entries=32)
def scoped_cube(src: str, options: SourceKey, scope_key: str, _scope: Scope) -> insights.Cube:
    """The cube as one scope sees it (``insights.access.restrict``), made once per source and
    scope and shared by every session with that scope (``scope_key`` identifies the scope)."""
    scoped = restrict(load_cube(src, options), _scope)
    scoped.warm()
    return scoped


Answer = TypeVar("Answer")


class SharedAnswers:
    """A page's costly answers (a change explained, an impact estimated) shared by every session of
    this server: computed once per question on one loaded cube, the least recently used dropped
    beyond ``size``. An answer is handed out only for the very cube it was computed on, so a source
    loaded anew (a reload, a cube evicted and loaded again) is answered anew. Plain memory: unlike
    Streamlit's caches, it records nothing a computation draws (its progress and Cancel button),
    so another session is never handed elements to replay."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._kept: OrderedDict[str, tuple[weakref.ref, object]] = OrderedDict()
        self._lock = threading.Lock()

    def answer(self, cube: insights.Cube, question: str, compute: Callable[[], Answer]) -> Answer:
        """The answer kept for ``question`` on ``cube``, else ``compute()``'s, kept (two sessions
        asking at once may both compute; a computation that fails keeps nothing)."""
        with self._lock:
            kept = self._kept.get(question)
            if kept is not None and kept[0]() is cube:
                self._kept.move_to_end(question)
                return cast(Answer, kept[1])
        answer = compute()
        with self._lock:
            self._kept[question] = (weakref.ref(cube), answer)
            self._kept.move_to_end(question)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return answer

    def clear(self) -> None:
        """Forget every answer (the data is reloaded)."""
        with self._lock:
            self._kept.clear()


#: The answers every session of this server shares (``Page.shared``).
SHARED_ANSWERS = SharedAnswers()


def suppression() -> Suppression | None:
    """The suppression every page applies ($HARM_INSIGHTS_SUPPRESSION), None when not configured."""
    return settings_file(SUPPRESSION_VARIABLE, load_suppression)


def source() -> tuple[str, SourceKey]:
    """The data source and its options: the one chosen on the Data page, else
    $HARM_INSIGHTS_SOURCE, else the sample."""
    chosen = st.session_state.get("source") or os.environ.get("HARM_INSIGHTS_SOURCE", str(SAMPLE))
    return chosen, source_key(st.session_state.get("source_options", {}))


class SessionFolder:
    """A temporary folder for one session's uploads, deleted when the session ends (Streamlit
    frees a session's state once its browser has been gone for ``server.disconnectedSessionTTL``)
    or when the server stops."""

    def __init__(self) -> None:
        UPLOADS.mkdir(parents=True, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(prefix="session-", dir=UPLOADS))
        self._removal = weakref.finalize(self, shutil.rmtree, self.path, True)


def keep_upload(upload) -> Path:
    """Store an uploaded file in this session's folder (refused past the configured size) so it can
    be a source like any path; only this session can name it, and it goes when the session ends."""
    check_upload(upload.name, upload.size)
    if "_uploads" not in st.session_state:
        st.session_state["_uploads"] = SessionFolder()
    session: SessionFolder = st.session_state["_uploads"]
    data = upload.getvalue()
    folder = session.path / hashlib.sha256(data).hexdigest()[:16]  # a changed file is a new source
    folder.mkdir(exist_ok=True)
    path = folder / Path(upload.name).name
    path.write_bytes(data)
    return path


@st.cache_data(show_spinner=False)
def annotated_events(path: str = str(EVENTS_FILE)) -> pl.DataFrame:
    """The annotated events file (date, title, kind, harm_area, region)."""
    return read_events(path)


# ---- the view --------------------------------------------------------------------------------


@dataclass
class View:
    """The filter state every page shares (an empty ``harm_areas`` means every harm area)."""

    harm_areas: list[str]
    start: dt.date
    end: dt.date
    grain: Grain
    dims: dict[str, list[str]] = field(default_factory=dict)

    @property
    def filters(self) -> dict[str, list[str]]:
        """Filters for Cube.query: harm areas plus every other chosen dimension."""
        return {"harm_area": self.harm_areas, **{d: v for d, v in self.dims.items() if v}}


def filter_dimensions(data: insights.Cube) -> list[str]:
    """Dimensions with a sidebar filter besides harm area: region, country, then the others the data has."""
    return [d for d in ["region", "country", *MORE_FILTERS] if d in data.dimensions]


def grains(data: insights.Cube) -> list[Grain]:
    """Grains the data can be shown at (its own time grain and coarser, up to quarters)."""
    return [g for g in GRAINS if g != "year" and GRAINS.index(g) >= GRAINS.index(data.time_grain)]


def date_bounds(data: insights.Cube) -> tuple[dt.date, dt.date]:
    """The first and last day of the data (today for a source without dates)."""
    return data.date_range or (dt.date.today(), dt.date.today())


def filter_choices(data: insights.Cube, dimension: str) -> list[str]:
    """The values a filter offers: countries narrowed to the chosen regions, others as the data has them."""
    regions = st.session_state.get("f_region") or []
    if dimension == "country" and regions and "region" in data.dimensions:
        return data.values("country", filters={"region": regions})
    return data.values(dimension)


def _default_harm_areas(data: insights.Cube) -> list[str]:
    areas = data.values("harm_area") if "harm_area" in data.dimensions else []
    return [h for h in CORE_HARM_AREAS if h in areas] or areas[:4]


def _url_state() -> ViewState:
    return ViewState.from_query({k: st.query_params.get_all(k) for k in st.query_params})


def _follow_url(data: insights.Cube, url: ViewState) -> None:
    """Set the filters' state from the URL (a link or Back): what the URL does not name is cleared."""
    first, last = date_bounds(data)
    known = data.values("harm_area") if "harm_area" in data.dimensions else []
    areas = [h for h in url.filters.get("harm_area", []) if h in known]
    st.session_state["f_harm_area"] = (
        [] if url.filters.get("harm_area") == [ALL] else areas or _default_harm_areas(data)
    )
    st.session_state["f_dates"] = (url.start or first, url.end or last)
    st.session_state["f_grain"] = url.grain or "week"
    for dim in filter_dimensions(data):
        st.session_state[f"f_{dim}"] = list(url.filters.get(dim, []))


def _reset_filters(data: insights.Cube) -> None:
    """The filters' defaults for this data (a new session, or another source chosen)."""
    _follow_url(data, ViewState())


def _clamp_filters(data: insights.Cube) -> None:
    """Keep only what the data has: known codes, dates inside the data, a grain it can show.

    Runs before the widgets exist, so a multiselect never holds a value outside its options and a
    date input never a date outside its bounds."""
    first, last = date_bounds(data)
    areas = data.values("harm_area") if "harm_area" in data.dimensions else []
    st.session_state["f_harm_area"] = [h for h in st.session_state.get("f_harm_area", []) if h in areas]
    dates = st.session_state.get("f_dates")
    start, end = (dates[0], dates[1]) if isinstance(dates, (tuple, list)) and len(dates) == 2 else (first, last)
    start, end = max(first, min(start, last)), min(last, max(end, first))
    st.session_state["f_dates"] = (start, end) if start <= end else (first, last)
    if st.session_state.get("f_grain") not in grains(data):
        st.session_state["f_grain"] = "week" if "week" in grains(data) else grains(data)[0]
    for dim in filter_dimensions(data):  # region before country: countries are narrowed by regions
        allowed = set(filter_choices(data, dim))
        st.session_state[f"f_{dim}"] = [v for v in st.session_state.get(f"f_{dim}", []) if v in allowed]


def read_view(data: insights.Cube, url: ViewState, source_id: object) -> tuple[View, bool]:
    """The view of this run, and whether the URL decided it (a link or Back) rather than the sidebar.

    The widgets themselves are drawn by ``draw_filters`` at the end of the page: the page's
    first chart reaches the browser before the sidebar's widgets, whose code it then loads.
    """
    if st.session_state.get(FILTERED_SOURCE) != source_id or "f_harm_area" not in st.session_state:
        _reset_filters(data)
    url_won = bool(url.to_query()) and url.to_query() != st.session_state.get(LAST_URL)
    if url_won:
        _follow_url(data, url)
    st.session_state[FILTERED_SOURCE] = source_id
    _clamp_filters(data)
    for key in ["f_harm_area", "f_dates", "f_grain", *(f"f_{d}" for d in filter_dimensions(data))]:
        # Each page's widgets are new widgets to Streamlit, and the URL's query string is cleared
        # on a page switch: handing the value back to Session State keeps the filters across pages.
        st.session_state[key] = st.session_state[key]
    start, end = st.session_state["f_dates"]
    dims = {d: list(st.session_state[f"f_{d}"]) for d in filter_dimensions(data)}
    view = View(list(st.session_state["f_harm_area"]), start, end, st.session_state["f_grain"], dims)
    return view, url_won


def _dimension_filter(where: Any, data: insights.Cube, dim: str) -> None:
    """A multiselect of one dimension's codes, shown by label ("All" when empty)."""
    where.multiselect(
        dimension_label(dim),
        filter_choices(data, dim),
        key=f"f_{dim}",
        format_func=lambda c: label(dim, c),
        placeholder="All",
    )


#: The narrowest a chart stands beside another before the pair wraps onto two rows.
CHART_MIN_WIDTH = "26rem"


def chart_columns(key: str, count: int = 2) -> list[Any]:
    """``count`` containers for charts side by side, each at least ``CHART_MIN_WIDTH`` wide: where
    the page is too narrow for them all (a laptop with the sidebar open, a phone), they wrap onto
    more rows at full width instead of squeezing each chart until its labels are cut."""
    st.html(
        f"<style>.st-key-{key} > div {{ flex: 1 1 {CHART_MIN_WIDTH} !important; "
        f"min-width: min(100%, {CHART_MIN_WIDTH}) !important; }}</style>"
    )
    row = st.container(horizontal=True, gap="medium", key=key)
    return [row.container() for _ in range(count)]


def draw_filters(data: insights.Cube) -> None:
    """The shared sidebar: harm areas, dates, grain, region, country, more dimensions (state in the URL)."""
    first, last = date_bounds(data)
    side = st.sidebar
    if "harm_area" in data.dimensions:
        side.multiselect(
            "Harm areas",
            data.values("harm_area"),
            key="f_harm_area",
            format_func=lambda c: label("harm_area", c),
            placeholder="All harm areas",
        )
    side.date_input("Dates", key="f_dates", min_value=first, max_value=last, format="YYYY-MM-DD")
    side.segmented_control("Grain", grains(data), key="f_grain", format_func=str.capitalize, required=True)
    dimensions = filter_dimensions(data)
    extra = [d for d in dimensions if d in MORE_FILTERS]
    for dim in [d for d in dimensions if d not in extra]:
        _dimension_filter(side, data, dim)
    with side.expander("More filters", expanded=any(st.session_state.get(f"f_{d}") for d in extra)):
        for dim in extra:
            _dimension_filter(st, data, dim)


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


def _clear_filter(dimension: str) -> None:
    """Chip callback: drop one dimension's filter."""
    st.session_state[f"f_{dimension}"] = []


def set_choice(name: str, value: object) -> None:
    """Callback: set a page choice (the next run writes it to the URL, one history entry)."""
    st.session_state[PAGE_PREFIX + name] = value


def with_prevalence(data: insights.Cube) -> ExposedCube | None:
    """The cube when prevalence figures (a labelled view sample, a publisher's) come with it."""
    return data if isinstance(data, ExposedCube) and data.has_prevalence else None


def exposures(data: insights.Cube) -> list[str]:
    """The exposure measures (uploads, views) the cube can normalise its counts by."""
    return [m for m in ("views", "uploads") if isinstance(data, ExposedCube) and m in data.measures]


def metric_label(name: str) -> str:
    """A metric's label, for selectors."""
    return insights.metric(name).label


# ---- a page ----------------------------------------------------------------------------------


@dataclass
class Page:
    """One run of one page: the data, the view, the page's choices (kept in the URL) and what it
    showed (charts, KPIs, narrative), which the deck export takes."""

    data: insights.Cube
    view: View
    url: ViewState
    url_won: bool
    title: str
    path: str
    scope: Scope
    preload: Any = None
    origin: insights.Cube | None = None
    policy: Suppression | None = None
    charts: dict[str, charts.Chart] = field(default_factory=dict)
    kpis: list[export.Kpi] = field(default_factory=list)
    narrative: str = ""
    choices: dict[str, str] = field(default_factory=dict)

    def shared(self, compute: Callable[[], Answer], *question: object) -> Answer:
        """``compute()``'s answer to ``question`` on this page's data, computed once and shared by every
        session that sees the same data (the same loaded cube of the same source and access scope,
        under the same suppression): the next reader of a view gets its costly parts (a change
        explained, the periods suggested) at once. The cube ``origin`` (the source as the scope sees
        it, as loaded) is checked by identity; ``question`` names everything else the answer depends
        on, and the suppression ``policy`` is added to it."""
        assert self.origin is not None, "a page started by start_page knows its cube"
        return SHARED_ANSWERS.answer(self.origin, repr((self.policy, *question)), compute)

    # -- the page's own choices ----------------------------------------------------------------

    def choice(self, name: str, options: Sequence[str], default: str) -> str:
        """The widget key of a page choice (metric, breakdown…), seeded from the URL (``p_<name>``)
        and kept across page switches; give it to the widget as ``key=``."""
        key = PAGE_PREFIX + name
        wanted = self.url.page.get(name)
        if key not in st.session_state or (self.url_won and wanted in options):
            st.session_state[key] = wanted if wanted in options else default
        if st.session_state[key] not in options:
            st.session_state[key] = default
        st.session_state[key] = st.session_state[key]
        return key

    def flag(self, name: str) -> str:
        """The widget key of an on/off page choice (a toggle), seeded from the URL (``p_<name>=1``)."""
        key = PAGE_PREFIX + name
        if key not in st.session_state or self.url_won:
            st.session_state[key] = self.url.page.get(name) == "1"
        st.session_state[key] = bool(st.session_state[key])
        return key

    def text(self, name: str, default: str = "") -> str:
        """A free-form page choice (e.g. the tree's path), kept in Session State under ``p_<name>``
        and in the URL; set it with ``set_choice``."""
        key = PAGE_PREFIX + name
        if key not in st.session_state or self.url_won:
            st.session_state[key] = self.url.page.get(name, default)
        self.keep(name, st.session_state[key])
        return str(st.session_state[key])

    def keep(self, name: str, value: str | None) -> None:
        """Record a page choice for the URL (written when the page finishes)."""
        if value:
            self.choices[name] = value
        else:
            self.choices.pop(name, None)

    def period(self, name: str, default: Period) -> str:
        """The widget key of a period choice (a date-range input), seeded from the URL
        (``p_<name>=start..end``) or ``default``, and kept inside the data's dates."""
        key = PAGE_PREFIX + name
        chosen = parse_period_param(self.url.page.get(name))
        if key not in st.session_state or (self.url_won and chosen is not None):
            chosen = chosen or default
            st.session_state[key] = (chosen.start, chosen.end)
        first, last = date_bounds(self.data)
        value = st.session_state[key]
        if not (isinstance(value, (tuple, list)) and all(first <= day <= last for day in value)):
            st.session_state[key] = (default.start, default.end)
        st.session_state[key] = st.session_state[key]
        return key

    def keep_period(self, name: str, period: Period) -> None:
        """Record a period choice for the URL."""
        self.keep(name, period_param(period))

    def selection(self, name: str, options: Sequence[str], default: Sequence[str]) -> str:
        """The widget key of a multi-valued page choice (a multiselect), seeded from the URL
        (``p_<name>=a|b``, values outside ``options`` dropped; a link without it means ``default``)
        or ``default``, which it falls back to when a value is no longer an option; record it with
        ``keep(name, SEPARATOR.join(values))``."""
        key = PAGE_PREFIX + name
        wanted = [v for v in (self.url.page.get(name) or "").split(SEPARATOR) if v in options]
        if key not in st.session_state or self.url_won:
            st.session_state[key] = wanted or list(default)
        value = st.session_state[key]
        if not isinstance(value, list) or any(v not in options for v in value):
            st.session_state[key] = [v for v in default if v in options]
        st.session_state[key] = list(st.session_state[key])
        return key

    def day(self, name: str, default: dt.date) -> str:
        """The widget key of a date choice (a date input), seeded from the URL (``p_<name>=2026-01-19``)
        or ``default``, and kept inside the data's dates."""
        key = PAGE_PREFIX + name
        chosen = parse_day_param(self.url.page.get(name))
        if key not in st.session_state or (self.url_won and chosen is not None):
            st.session_state[key] = chosen or default
        first, last = date_bounds(self.data)
        value = st.session_state[key]
        if not (isinstance(value, dt.date) and first <= value <= last):
            st.session_state[key] = min(max(default, first), last)
        st.session_state[key] = st.session_state[key]
        return key

    # -- what the page shows -------------------------------------------------------------------

    def header(self, title: str, caption: str | None = None) -> None:
        """The page's title, its active filters as chips (each cleared with one click), a caption."""
        st.title(title)
        active = [(d, v) for d, v in self.view.dims.items() if v]
        if active:
            row = st.container(horizontal=True, gap="small")
            for dimension, values in active:
                names = ", ".join(label(dimension, v) for v in values[:3]) + (" …" if len(values) > 3 else "")
                row.button(
                    f"{dimension_label(dimension)}: {names}",
                    key=f"chip_{dimension}",
                    icon=":material/close:",
                    on_click=_clear_filter,
                    args=(dimension,),
                    help="Remove this filter (Back brings it back)",
                )
        if caption:
            st.caption(caption)

    def has_data(self) -> bool:
        """Whether the view's slice has any data; if not, says so with what to change."""
        if self.data.has_data(self.view.filters, self.view.start, self.view.end):
            return True
        active = [dimension_label(d).lower() for d, v in self.view.dims.items() if v]
        hint = f"remove a {' or '.join(active)} filter above, " if active else ""
        st.info(
            f"**No data for these filters.** Try to {hint}choose other harm areas or widen the dates "
            f"({self.view.start} – {self.view.end}).",
            icon=":material/filter_alt_off:",
        )
        return False

    def events(
        self, start: dt.date | None = None, end: dt.date | None = None, filters: dict[str, list[str]] | None = None
    ) -> pl.DataFrame:
        """Annotated events plus those added in this session that concern the view's slice (or the
        slice ``filters``), between ``start`` and ``end`` when given (a time chart's window)."""
        added = pl.DataFrame(st.session_state.get("added_events", []), schema=EVENT_SCHEMA)
        everything = pl.concat([annotated_events(), added], how="vertical_relaxed")
        if not self.scope.everything:
            everything = everything.filter(
                pl.Series([self.scope.admits(e) for e in everything.iter_rows(named=True)], dtype=pl.Boolean)
            )
        wanted = self.view.filters if filters is None else filters
        return events_in_scope(everything, wanted, start, end).sort("date")

    def subtitle(self, current: Period | None = None, baseline: Period | None = None) -> str:
        """A chart's subtitle for this view: the slice, the periods (default: the view's dates),
        the data's as-of date."""
        shown = current or Period(self.view.start, self.view.end)
        return charts.subtitle_text(
            self.view.filters, current=shown, baseline=baseline, as_of=self.data.provenance.as_of
        )

    def show(
        self, chart: charts.Chart, drill: str | None = None, *, current: Period | None = None,
        baseline: Period | None = None,
    ) -> None:  # fmt: skip
        """Show a chart (its title and subtitle as text above it) with PNG / SVG / CSV downloads,
        and add it to this page's deck. A chart without a subtitle gets the view's, with the
        periods it shows (``current``, compared with ``baseline``; default: the view's dates).

        With ``drill`` (a dimension), clicking a bar, point, line or country filters the whole view
        to the clicked values of that dimension (the sidebar filter and the URL follow).
        """
        chart.subtitle = chart.subtitle or self.subtitle(current, baseline)
        self.charts[chart.key] = chart
        key = f"chart_{chart.key}"
        on_drill: Callable[[], None] | None = (lambda: _drill(key, drill)) if drill else None
        st.markdown(f"**{escape_markdown(chart.title)}**")
        if chart.subtitle:
            st.caption(escape_markdown(chart.subtitle))
        config = {
            "displaylogo": False,
            "toImageButtonOptions": {"format": "png", "width": 1600, "height": 900},
            **({} if self.scope.export else {"modeBarButtonsToRemove": ["toImage"]}),
            **({"topojsonURL": topojson_data_url()} if charts.draws_map(chart) else {}),
        }
        with charts.on_screen(chart, st.context.theme.type or "light") as figure:
            drawn = chart_element(figure, key=key, config=config, on_select=on_drill)
            if not drawn:  # the app's static chart builds are missing: Streamlit's element
                st.plotly_chart(
                    figure,
                    key=key,
                    on_select=on_drill or "ignore",
                    selection_mode=("points",),
                    theme=None,
                    config=config,
                )
        if self.scope.export:
            downloads(chart, self.scope)

    def follow(self, filters: dict[str, list[str]], name: str, where: Any = st) -> None:
        """A *Follow* popover for a slice: a digest when it really changes, written to the
        subscriptions file (``insights.digest``) for the signed-in user, or the local one."""
        path = subscriptions_path()
        key = slice_key({d: v for d, v in filters.items() if v})
        try:
            mine = load_subscriptions(path).get(self.scope.user) if path.is_file() else None
        except insights.DataError as error:
            where.caption(f"Follow is unavailable: {error}")
            return
        followed = mine is not None and mine.following(key) is not None
        widget = hashlib.sha256(key.encode()).hexdigest()[:12]
        label_text = "Following" if followed else "Follow"
        icon = ":material/notifications_active:" if followed else ":material/notifications:"
        with where.popover(label_text, icon=icon, help=f"A weekly digest when {name} really changes"):
            st.caption(
                f"A digest every Monday when {name} changes beyond its usual variation: actions, proactive rate, "
                "actioned within 24 h, appeal and overturn rates (rises or falls of 10 % / 2 pp or more)."
            )
            if followed:
                st.button("Stop following", key=f"unfollow_{widget}", on_click=_unfollow, args=(path, self.scope, key))
                return
            email = self.scope.user if "@" in self.scope.user else None
            if mine is None and email is None:  # a new subscriber needs somewhere to send digests
                email = st.text_input("Send digests to (email)", key=f"follow_email_{widget}") or None
            st.button(
                "Follow",
                key=f"follow_{widget}",
                type="primary",
                disabled=mine is None and email is None,
                on_click=_follow,
                args=(path, self.scope, filters, name, email),
            )

    def caveats(self) -> None:
        """Caveats that apply to this view, beside the numbers."""
        areas = self.view.harm_areas
        notes = [c for c in self.data.provenance.caveats if c.harm_area is None or not areas or c.harm_area in areas]
        if notes:
            with st.expander(f"Caveats ({len(notes)})", icon=":material/info:"):
                for note in notes:
                    st.text(f"{note.date.isoformat() + ': ' if note.date else ''}{note.text}")

    # -- the end of the page -------------------------------------------------------------------

    def url_state(self) -> ViewState:
        """This view as a ``ViewState`` (the whole data range is left out of the URL)."""
        dims = {"harm_area": self.view.harm_areas or [ALL], **self.view.dims}
        full_range = (self.view.start, self.view.end) == date_bounds(self.data)
        start, end = (None, None) if full_range else (self.view.start, self.view.end)
        return ViewState(dims, start, end, self.view.grain, dict(self.choices))

    def query(self, **filters: list[str]) -> dict[str, list[str]]:
        """This view's query string with some filters replaced (for a link to another page);
        the page's own choices are left out."""
        state = self.url_state()
        return replace(state, filters={**state.filters, **filters}, page={}).to_query()

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
            source=source_name(self.data.provenance),
        )

    def finish(self) -> None:
        """End a page: the URL, the sidebar's filters and the deck exports. Every page calls it
        last (``stop`` calls it when a page ends early)."""
        state = self.url_state()
        _write_url(state)
        _audit_view(self.scope, self.path or "overview", state)
        if self.preload is not None:
            self.preload.empty()
        draw_filters(self.data)
        deck_export(self)

    def stop(self) -> NoReturn:
        """End a page early (nothing more to show): still draw the sidebar, then stop the script."""
        self.finish()
        st.stop()
        raise AssertionError("st.stop() returns only outside a Streamlit run")


def _follow(path: Path, scope: Scope, filters: dict[str, list[str]], name: str, email: str | None) -> None:
    try:
        follow = default_follow({d: v for d, v in filters.items() if v}, label=name)
        add_follow(path, follow, subscriber_id=scope.user, name=scope.user, email=email)
        st.toast(f"Following {name}: digests go to {email or 'your subscription'}", icon=":material/check:")
    except insights.DataError as error:
        st.toast(f"Could not follow: {error}", icon=":material/error:")


def _unfollow(path: Path, scope: Scope, key: str) -> None:
    try:
        remove_follow(path, subscriber_id=scope.user, key=key)
    except insights.DataError as error:
        st.toast(f"Could not stop following: {error}", icon=":material/error:")


def audited(scope: Scope, action: str, what: dict[str, Any], make: Callable[[], bytes]) -> Callable[[], bytes]:
    """A download's bytes, made when the user asks for them and recorded in the audit log."""

    def download() -> bytes:
        audit(scope.user, action, what)
        return make()

    return download


def downloads(chart: charts.Chart, scope: Scope) -> None:
    """PNG, SVG and CSV downloads of a chart, in a row under it (each recorded in the audit log)."""
    name = chart.key
    row = st.container(horizontal=True, gap="small")
    files: list[tuple[str, str, str, Callable[[], bytes]]] = [
        ("png", "image/png", ":material/image:", lambda: export.image_bytes(chart, "png", scale=2)),
        ("svg", "image/svg+xml", ":material/polyline:", lambda: export.image_bytes(chart, "svg")),
        ("csv", "text/csv", ":material/table:", lambda: export.csv_bytes(chart)),
    ]
    for kind, mime, icon, make in files:
        row.download_button(
            kind.upper(),
            data=audited(scope, "export", {"chart": chart.title, "format": kind}, make),
            file_name=f"{name}.{kind}",
            mime=mime,
            key=f"{kind}_{name}",
            on_click="ignore",
            icon=icon,
        )


def _preload_charts() -> Any:
    """Where no Plotly build is served (pages use Streamlit's element): an element with nothing to
    draw, sent first, so the browser fetches and runs Streamlit's Plotly chunk while the server
    computes the page's numbers (removed when the page finishes). The app's own element gains
    nothing from it: the browser runs it only with the first charts."""
    slot = st.empty()
    if not builds_served():
        with slot:
            st.plotly_chart(PRELOAD_FIGURE, key="preload", height=10, config={"staticPlot": True})
    return slot


#: The figure of ``_preload_charts``: no data, no axes, nothing drawn.
PRELOAD_FIGURE = {
    "data": [{"type": "scatter", "x": [], "y": [], "visible": False}],
    "layout": {
        "xaxis": {"visible": False},
        "yaxis": {"visible": False},
        "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
        "height": 10,
    },
}


#: A question running this many seconds shows how long it has run, with a Cancel button.
SLOW_QUESTION = 1.0
#: Session keys: the view whose questions the user cancelled; the page of this run.
CANCELLED, RUNNING_PAGE = "_cancelled_view", "_running_page"
#: Seconds between two looks at the aggregates being prepared.
PREPARATION_EVERY = 3


def start_page() -> Page:
    """Start a page: check who is here, load the cube restricted to their scope (or explain why
    it cannot be loaded), say whether the data changed or is still being prepared, and read the
    shared view. The page's questions are watched (``QuestionStatus``); a view whose questions
    the user cancelled waits for other filters or *Try again*."""
    scope = require_scope()
    st.session_state.pop(RUNNING_PAGE, None)
    preload = _preload_charts()
    status = QuestionStatus()
    src, options = source()
    try:
        policy = suppression()
    except insights.DataError as error:  # configured but unreadable: show nothing rather than small cells
        preload.empty()
        detail = f" ({error})" if scope.admin else ""
        st.error(
            f"The small-cell suppression settings cannot be read{detail}, so no data is shown. "
            "An administrator must fix them.",
            icon=":material/error:",
        )
        st.stop()
    try:
        # Restricted to the user's scope first, then suppressed: the cells withheld are those of
        # what this user may see.
        origin = scoped_cube(src, options, scope.key, scope)
        data = origin.with_suppression(policy)
    except insights.DataError as error:
        preload.empty()
        st.session_state.pop("source", None)
        detail = f": {error}" if scope.admin else ". An administrator can see why on the Data page."
        st.error(f"The data source could not be loaded{detail}", icon=":material/error:")
        if st.session_state.get("page_path") != "data":
            st.page_link("pages/data_page.py", label="Choose another source on the Data page")
        st.stop()
    if data.changed():
        note = st.container(horizontal=True, vertical_alignment="center")
        note.info(
            "The data changed since it was loaded: these numbers are from before. Reload to see the new data.",
            icon=":material/sync:",
        )
        note.button("Reload", key="reload_data", on_click=_reload, icon=":material/refresh:")
    preparing = data.preparation()
    if preparing is not None and not preparing.done:
        with st.sidebar:
            _preparation(data)
    url = _url_state()
    view, url_won = read_view(data, url, (src, options))
    page = Page(
        data.watched(status),
        view,
        url,
        url_won,
        st.session_state.get("page_title", "Review"),
        st.session_state.get("page_path", ""),
        scope,
        preload,
        origin=origin,
        policy=policy,
    )
    st.session_state[RUNNING_PAGE] = page
    # The filters reach the URL at once (a link copied while the page draws is already right);
    # the page's own choices follow when it finishes.
    _write_url(replace(page.url_state(), page=url.page))
    if st.session_state.get(CANCELLED) == _asked_view():
        page.choices.update(url.page)
        st.title(page.title)
        st.warning("Cancelled — change the filters or try again.", icon=":material/cancel:")
        st.button(
            "Try again", key="try_again", on_click=st.session_state.pop, args=(CANCELLED,), icon=":material/refresh:"
        )
        page.stop()
    st.session_state.pop(CANCELLED, None)
    return page


def view_record(path: str, state: ViewState) -> dict[str, Any]:
    """What the audit log keeps of a page view: the page and its view as query parameters."""
    return {"page": path, "view": state.to_query()}


class QuestionStatus:
    """Follows a page's questions (``insights.Cube.watched``): one running longer than
    ``SLOW_QUESTION`` shows its time and a Cancel button at the top of the page, gone once it is
    answered. Each update of the time is a moment where Streamlit stops the run when the user
    clicked something (Cancel, a filter): the engine's question is cancelled then."""

    def __init__(self) -> None:
        self.slot = st.empty()
        self.clock: Any = None
        self.shown = 0

    def waiting(self, seconds: float) -> None:
        """Show (or update) the running question's time and its Cancel button."""
        if seconds < SLOW_QUESTION:
            return
        if self.clock is None:
            self.shown += 1
            row = self.slot.container(horizontal=True, vertical_alignment="center")
            self.clock = row.empty()
            row.button("Cancel", key=f"cancel_{self.shown}", on_click=_cancel_view, icon=":material/cancel:")
        self.clock.caption(f":material/hourglass_top: Still working… {seconds:.0f} s")

    def answered(self) -> None:
        """Remove the running question's status."""
        if self.clock is not None:
            self.slot.empty()
            self.clock = None


def _asked_view() -> tuple[object, object]:
    """The page and the query string of this run's view (what a Cancel click gives up)."""
    return st.session_state.get("page_path"), st.session_state.get(LAST_URL)


def _cancel_view() -> None:
    """Cancel callback: remember the view given up (the interrupted run cancels its question)."""
    st.session_state[CANCELLED] = _asked_view()


def _reload() -> None:
    """Reload callback: drop every loaded cube, so the next run loads the source as it is now."""
    load_cube.clear()
    scoped_cube.clear()
    SHARED_ANSWERS.clear()


@st.fragment(run_every=PREPARATION_EVERY)
def _preparation(data: insights.Cube) -> None:
    """The sidebar's note while the engine materialises the aggregates pages use most (redrawn
    every few seconds; pages answer from the raw events meanwhile)."""
    preparing = data.preparation()
    if preparing is not None and not preparing.done:
        st.caption(f":material/hourglass_top: Preparing faster answers: {preparing.text()}.")


def question_failed(error: insights.DataError) -> None:
    """A question the data source could not answer (an engine error, a database gone): say so in
    words and keep the sidebar's filters, so another view can be chosen."""
    reason = str(error).rstrip(".")
    st.error(
        f"**The data source could not answer.** {escape_markdown(reason[:1].upper() + reason[1:])}. "
        "Change the filters or try again.",
        icon=":material/error:",
    )
    page: Page | None = st.session_state.get(RUNNING_PAGE)
    if page is not None:
        with contextlib.suppress(insights.DataError):  # the filters need the data source too
            draw_filters(page.data)


def _audit_view(scope: Scope, path: str, state: ViewState) -> None:
    """Record a page view with its filters (once per distinct view of a session)."""
    what = view_record(path, state)
    if st.session_state.get("_audited_view") != what:
        audit(scope.user, "page_view", what)
        st.session_state["_audited_view"] = what


def _write_url(state: ViewState) -> None:
    """Mirror the view into the query string in one update (one browser-history entry)."""
    wanted = state.to_query()
    st.session_state[LAST_URL] = wanted
    if {k: st.query_params.get_all(k) for k in st.query_params} != wanted:
        st.query_params.from_dict(wanted)


def parse_day_param(text: str | None) -> dt.date | None:
    """The date of a ``p_<name>=2026-01-19`` value; None when it is not one."""
    try:
        return dt.date.fromisoformat(text or "")
    except ValueError:
        return None


def impact_query(page: Page, event: Mapping[str, Any], metric: str) -> dict[str, list[str]]:
    """The query string that opens the Impact page on an annotated event: its date as the launch,
    ``metric``, and the slice it launched in (``insights.impact.events.launch_slice``: its region's
    countries, its harm area, or the view's filters), with the view's other filters. Filters that
    would leave that slice without donors (its dimension and the one nested with it) are dropped."""
    found = launch_slice(page.data, event, page.view.filters)
    choices = {"metric": metric, "launch": str(event["date"])}
    filters: dict[str, list[str]] = {}
    if found is not None:
        choices |= {"dimension": found.dimension, "treated": SEPARATOR.join(found.values)}
        filters = {d: [] for d in linked_dimensions(found.dimension) if d != "harm_area"}
        if found.harm_area:
            filters["harm_area"] = [found.harm_area]
    return {**page.query(**filters), **{PAGE_PREFIX + name: [value] for name, value in choices.items()}}


def impact_links(page: Page, events: pl.DataFrame, metric: str) -> None:
    """An expander of links that open the Impact page on each of ``events`` (see ``impact_query``)."""
    if events.is_empty():
        return
    with st.expander(f"Estimate the impact of an annotated event ({len(events)})", icon=":material/science:"):
        for event in events.iter_rows(named=True):
            st.page_link(
                "pages/impact_page.py",
                label=escape_markdown(f"{event['date']:%d %b %Y} · {event['title']}"),
                icon=":material/arrow_forward:",
                query_params=impact_query(page, event, metric),
            )


def describe(data: insights.Cube, view: View) -> str:
    """The view in words for a deck: harm areas, dates, grain, other filters, data as-of and source."""
    areas = ", ".join(label("harm_area", h) for h in view.harm_areas) or "all harm areas"
    others = "; ".join(
        f"{dimension_label(d)}: {', '.join(label(d, v) for v in values)}" for d, values in view.dims.items() if values
    )
    return f"{areas}{' · ' + others if others else ''}\n{view.start} – {view.end} · by {view.grain} · {data_note(data)}"


def data_note(data: insights.Cube) -> str:
    """Where the data comes from (by name, never a server path) and how fresh it is, for a deck."""
    return f"data as of {data.provenance.as_of} · {source_name(data.provenance)}"


def deck_export(page: Page) -> None:
    """Sidebar: this page's charts as a 16:9 deck (KPIs, narrative, the view link), and a review
    deck that collects views from several pages (each added with its filters at the time)."""
    review: dict[str, export.Section] = st.session_state.setdefault("review_deck", {})
    if not page.scope.export or (not page.charts and not review):
        return
    side = st.sidebar
    side.divider()
    if page.charts:
        section = page.section()
        side.download_button(
            f"Export deck ({len(page.charts)} charts)",
            data=audited(
                page.scope,
                "deck",
                {"title": page.title, "views": [section.link]},
                lambda: export.build_deck(
                    export.Deck(f"Harm Insights · {page.title}", section.subtitle, [section], source=section.source)
                ),
            ),
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
        deck = export.Deck(
            "Harm Insights · Review",
            f"{len(sections)} views · {data_note(page.data)}",
            sections,
            source=source_name(page.data.provenance),
        )
        side.download_button(
            f"Export review deck ({len(sections)} view{'s' if len(sections) > 1 else ''}, {count} charts)",
            data=audited(
                page.scope, "deck", {"title": deck.title, "views": list(review)}, lambda: export.build_deck(deck)
            ),
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
