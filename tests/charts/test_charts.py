"""Chart functions of insights.charts: what each figure draws, checked on its traces and shapes."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from insights import charts
from insights.cube import Caveat

REGIONS = ["Africa", "Americas", "Europe", "Asia"]
MONDAYS = [dt.date(2025, 9, 1) + dt.timedelta(weeks=w) for w in range(8)]
GLOBAL_DAY, EUROPE_DAY, CAVEAT_DAY = dt.date(2025, 9, 15), dt.date(2025, 10, 6), dt.date(2025, 10, 13)


@pytest.fixture(scope="module")
def multiples() -> charts.Chart:
    """Weekly actions in four regions, a global event, a European one and a dated caveat."""
    frame = pl.DataFrame(
        {
            "period": MONDAYS * len(REGIONS),
            "region": [r for r in REGIONS for _ in MONDAYS],
            "actions": list(range(len(MONDAYS) * len(REGIONS))),
        },
        schema_overrides={"actions": pl.Int64},
    )
    events = pl.DataFrame(
        {
            "date": [GLOBAL_DAY, EUROPE_DAY],
            "title": ["Staffing change", "Attack in Western Europe"],
            "kind": ["operations", "world_event"],
            "harm_area": [None, "violent_extremism"],
            "region": [None, "Europe"],
        },
        schema_overrides={"harm_area": pl.String, "region": pl.String},
    )
    caveats = [Caveat("Detection model recalibrated", date=CAVEAT_DAY), Caveat("No date, so not on a time axis")]
    return charts.small_multiples(frame, "actions", "region", events=events, caveats=caveats)


def panel_axes(chart: charts.Chart) -> dict[str, str]:
    """Each panel's name → its x axis ('x', 'x2', …), read from the panel's line."""
    return {t.name: t.xaxis for t in chart.figure.data if t.mode == "lines"}


def lines_at(chart: charts.Chart, day: dt.date) -> dict[str, dict]:
    """The vertical markers drawn at ``day``: x axis → the line's style."""
    return {
        s.xref: s.line.to_plotly_json() for s in chart.figure.layout.shapes if s.type == "line" and s.x0 == day == s.x1
    }


def hover_markers(chart: charts.Chart, text: str) -> list[str]:
    """The x axes of the hover markers named ``text``."""
    return sorted(t.xaxis for t in chart.figure.data if t.mode == "markers" and t.name == text)


def test_small_multiples_draw_a_global_event_in_every_panel(multiples):
    axes = panel_axes(multiples)
    assert sorted(axes) == sorted(REGIONS)
    drawn = lines_at(multiples, GLOBAL_DAY)
    assert sorted(drawn) == sorted(axes.values())
    assert all(line == {"color": "#7B8794", "dash": "dot", "width": 1.5} for line in drawn.values())
    assert hover_markers(multiples, "Staffing change") == sorted(axes.values())
    marker = next(t for t in multiples.figure.data if t.name == "Staffing change")
    assert marker.hovertemplate == "15 Sep 2025: Staffing change<extra></extra>" and marker.showlegend is False


def test_small_multiples_draw_a_regional_event_only_in_its_regions_panel(multiples):
    europe = panel_axes(multiples)["Europe"]
    assert list(lines_at(multiples, EUROPE_DAY)) == [europe]
    assert hover_markers(multiples, "Attack in Western Europe") == [europe]


def test_small_multiples_draw_dated_caveats_in_every_panel(multiples):
    axes = panel_axes(multiples)
    drawn = lines_at(multiples, CAVEAT_DAY)
    assert sorted(drawn) == sorted(axes.values())
    assert all(line == {"color": "#B7791F", "dash": "dash", "width": 1.5} for line in drawn.values())
    assert hover_markers(multiples, "Detection model recalibrated") == sorted(axes.values())
    assert not hover_markers(multiples, "No date, so not on a time axis")
    # four panels × (global event + caveat) + the European event
    assert len(multiples.figure.layout.shapes) == 4 * 2 + 1


def test_small_multiples_by_another_facet_draw_regional_events_everywhere():
    frame = pl.DataFrame(
        {"period": MONDAYS * 2, "content_type": ["video"] * 8 + ["live"] * 8, "actions": list(range(16))}
    )
    events = pl.DataFrame({"date": [EUROPE_DAY], "title": ["Attack in Western Europe"], "region": ["Europe"]})
    chart = charts.small_multiples(frame, "actions", "content_type", events=events)
    assert sorted(lines_at(chart, EUROPE_DAY)) == ["x", "x2"]


def test_trend_markers_stay_on_the_single_axes():
    frame = pl.DataFrame({"period": MONDAYS, "actions": list(range(8))})
    events = pl.DataFrame({"date": [GLOBAL_DAY], "title": ["Staffing change"]})
    chart = charts.trend(frame, "actions", events=events, caveats=[Caveat("Recalibrated", date=CAVEAT_DAY)])
    assert [(s.xref, s.x0) for s in chart.figure.layout.shapes] == [("x", GLOBAL_DAY), ("x", CAVEAT_DAY)]
    assert [(t.name, t.x[0]) for t in chart.figure.data if t.mode == "markers"] == [
        ("Staffing change", GLOBAL_DAY),
        ("Recalibrated", CAVEAT_DAY),
    ]


BASELINE, CURRENT = ("2026-01-05", "2026-03-01"), ("2026-03-02", "2026-04-26")
HATEFUL = {"harm_area": ["hateful_behavior"]}


@pytest.fixture(scope="module")
def explanation(sample_cube):
    """Why hateful behaviour's proactive rate rose after the classifier launch (a rate: it has a mix/rate split)."""
    from insights.rootcause import explain_change

    return explain_change(sample_cube, "proactive_rate", current=CURRENT, baseline=BASELINE, filters=HATEFUL)


def test_explanatory_power_bars_carry_each_dimensions_share_of_the_change_in_words(explanation):
    from insights.model import DIMENSION_LABELS

    chart = charts.explanatory_power(explanation.dimensions)
    (bars,) = chart.figure.data
    ranked = explanation.dimensions
    assert list(bars.y) == [DIMENSION_LABELS[d] for d in ranked["dimension"]]
    assert list(bars.x) == ranked["explanatory_power"].to_list()
    assert list(bars.text) == [f"{p:.0%}" for p in ranked["explanatory_power"]]
    assert chart.figure.layout.xaxis.tickformat == ".0%"
    assert bars.customdata[0] == "User report", "the detection source that moved, in words"
    assert chart.kind == "other" and chart.metric is None, "not a registry metric: exported as an image"


def test_mix_or_rate_bars_carry_the_rate_and_mix_effects(explanation):
    from insights.model import DIMENSION_LABELS

    chart = charts.mix_or_rate(explanation.mix_rate, "proactive_rate")
    rate, mix = chart.figure.data
    assert (rate.name, mix.name) == ("Rates within values moved", "Volume moved between values")
    split = explanation.mix_rate
    assert list(rate.y) == list(mix.y) == [DIMENSION_LABELS[d] for d in split["dimension"]]
    assert list(rate.x) == split["rate_effect"].to_list() and list(mix.x) == split["mix_effect"].to_list()
    for r, m in zip(rate.x, mix.x, strict=True):
        assert r + m == pytest.approx(explanation.headline.change)
    detection = split["dimension"].to_list().index("detection_source")
    assert mix.text[detection] == f"{split['mix_effect'][detection] * 100:+.1f} pp"
    assert chart.figure.layout.xaxis.tickformat == ".1%"


def test_root_cause_charts_export_as_csv_and_deck_images(explanation):
    import io

    from pptx import Presentation
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    from insights import export

    power = charts.explanatory_power(explanation.dimensions)
    split = charts.mix_or_rate(explanation.mix_rate, "proactive_rate")
    assert pl.read_csv(io.BytesIO(export.csv_bytes(power)))["explaining_values"][0] == "User report"
    assert pl.read_csv(io.BytesIO(export.csv_bytes(split)))["mix_effect"].to_list() == pytest.approx(
        explanation.mix_rate["mix_effect"].to_list()
    )
    deck = export.Deck("Root cause", "", [export.Section("Root cause", [power, split])])
    slides = list(Presentation(io.BytesIO(export.build_deck(deck))).slides)[1:]
    assert [any(s.shape_type == MSO_SHAPE_TYPE.PICTURE for s in slide.shapes) for slide in slides] == [True, True]
    assert "Explanatory power:" in slides[0].notes_slide.notes_text_frame.text
    notes = slides[1].notes_slide.notes_text_frame.text
    assert "(mix effect)" in notes and "Proactive rate: " in notes, "what the split means, and the metric's definition"


SPEED = ["within_1h_rate", "within_24h_rate", "within_7d_rate"]
CORE = ["violent_extremism", "hateful_behavior", "self_harm", "human_exploitation"]


def test_time_to_action_plots_each_harm_areas_shares_in_its_colour(sample_cube):
    from insights.labels import label
    from insights.model import harm_area_colours

    frame = sample_cube.query(
        SPEED, by=["harm_area"], filters={"harm_area": CORE}, start="2026-01-01", end="2026-03-31"
    )
    chart = charts.time_to_action(frame, SPEED)
    traces = {t.name: t for t in chart.figure.data}
    assert sorted(traces) == sorted(label("harm_area", h) for h in CORE)
    for row in frame.iter_rows(named=True):
        trace = traces[label("harm_area", row["harm_area"])]
        assert list(trace.y) == ["Within 1 hour", "Within 24 hours", "Within 7 days"]
        assert list(trace.x) == [row[m] for m in SPEED]
        assert trace.marker.color == harm_area_colours()[row["harm_area"]]
        assert set(trace.customdata) == {row["harm_area"]}
    assert chart.figure.layout.xaxis.tickformat == ".0%"
    assert chart.kind == "other" and chart.series == "harm_area" and chart.y == SPEED
    assert all(0 < v <= 1 for t in chart.figure.data for v in t.x) and all(
        list(t.x) == sorted(t.x) for t in chart.figure.data
    ), "cumulative shares"


def test_movers_leave_room_for_the_labels_of_the_longest_bars():
    frame = pl.DataFrame(
        {
            "country": ["ID", "TR"],
            "name": ["Indonesia", "Türkiye"],
            "baseline_value": [10.0, 40.0],
            "value": [43.0, 11.0],
            "change": [33.0, -29.0],
            "significant": [False, True],
        }
    )
    figure = charts.movers(frame, "country", "actions").figure
    low, high = figure.layout.xaxis.range
    assert low < -29 * 1.1 and high > 33 * 1.1
    assert figure.data[0].cliponaxis is False


def test_a_change_that_rounds_to_zero_has_no_minus_sign():
    from insights.formatting import change_text

    assert change_text("proactive_rate", -0.00001, None) == "+0.0 pp"
    assert change_text("actions", -1.0, -0.0001) == "+0.0%"
    assert change_text("actions", -30.0, -0.123) == "-12.3%"


def test_waterfall_zooms_in_when_the_steps_are_small_against_the_level():
    contributors = pl.DataFrame(
        {"segment": ["country=ID", "country=TR"], "other": [False, False], "contribution": [33.0, -37.0]}
    )
    figure = charts.waterfall(contributors, "actions", 3450.0, 3446.0).figure
    low, high = figure.layout.yaxis.range
    assert 3413 - 37 < low < 3413 and 3450 < high < 3450 + 37  # largest step first: levels run 3450 → 3413 → 3446
    assert "not from zero" in figure.layout.yaxis.title.text
    big = charts.waterfall(contributors.with_columns(pl.col("contribution") * 100), "actions", 3450.0, 3050.0).figure
    assert big.layout.yaxis.range is None


LONG_NAMES = pl.DataFrame(
    {
        "country": ["CD", "ID", "VC"],
        "name": ["Democratic Republic of the Congo", "Indonesia", "Saint Vincent and the Grenadines"],
        "baseline_value": [10.0, 40.0, 5.0],
        "value": [43.0, 11.0, 9.0],
        "change": [33.0, -29.0, 4.0],
        "significant": [True, True, False],
    }
)


def test_horizontal_bars_leave_room_for_their_longest_label_whatever_the_template():
    figure = charts.movers(LONG_NAMES, "country", "actions").figure
    assert figure.layout.margin.l >= charts.text_width("Saint Vincent and the Grenadines") > 200
    assert figure.layout.xaxis.automargin is True and figure.layout.yaxis.automargin is True, (
        "set on the figure, not left to a template (the app's Plotly template does not set it)"
    )
    short = charts.breakdown(pl.DataFrame({"country": ["FR"], "actions": [3]}), "country", "actions")
    assert 60 <= short.figure.layout.margin.l < 100, "no more room than 'France' needs"


def test_the_title_the_legend_and_text_above_the_plot_each_have_a_row():
    frame = pl.DataFrame({"period": MONDAYS * 2, "harm_area": ["self_harm"] * 8 + ["spam"] * 8, "actions": range(16)})
    lines = charts.trend(frame, "actions", by="harm_area").figure
    single = charts.trend(frame.filter(pl.col("harm_area") == "spam"), "actions").figure
    assert (lines.layout.legend.y, lines.layout.legend.yanchor, lines.layout.legend.x) == (1.0, "bottom", 0)
    assert lines.layout.margin.t == single.layout.margin.t + charts.LEGEND_ROW, "one legend row under the title"
    assert lines.layout.title.yref == "container" and lines.layout.title.y == 1


def test_heading_wraps_a_long_subtitle_on_a_copy_and_keeps_the_chart_as_it_was():
    import plotly.graph_objects as go

    chart = charts.movers(LONG_NAMES, "country", "actions")
    before = chart.figure.to_plotly_json()
    subtitle = "Hateful behavior · Country: Indonesia, Türkiye · " * 6 + "data as of 2026-11-22"
    wide = charts.heading(go.Figure(chart.figure), chart.title, subtitle, width=1600)
    narrow = charts.heading(go.Figure(chart.figure), chart.title, subtitle, width=700)
    assert chart.figure.to_plotly_json() == before
    assert narrow.layout.title.subtitle.text.count("<br>") > wide.layout.title.subtitle.text.count("<br>") >= 1
    for line in narrow.layout.title.subtitle.text.split("<br>"):
        assert charts.text_width(line, charts.SUBTITLE_SIZE) <= 700 - 2 * charts.EDGE
    assert narrow.layout.margin.t > wide.layout.margin.t > chart.figure.layout.margin.t
    assert narrow.layout.title.subtitle.text.replace("<br>", " ") == subtitle.strip()


def test_subtitle_text_names_the_slice_the_periods_and_the_as_of_date():
    from insights.periods import Period

    text = charts.subtitle_text(
        {"harm_area": ["self_harm"], "country": ["ID", "TR"], "language": None},
        current=Period(dt.date(2026, 3, 2), dt.date(2026, 4, 26)),
        baseline=Period(dt.date(2026, 1, 5), dt.date(2026, 3, 1)),
        as_of=dt.date(2026, 11, 22),
    )
    assert text == (
        "Mental health / self-harm · Country: Indonesia, Türkiye · 2026-03-02 – 2026-04-26 against "
        "2026-01-05 – 2026-03-01 · data as of 2026-11-22"
    )
    assert charts.subtitle_text(as_of=dt.date(2026, 11, 22)) == "All harm areas · data as of 2026-11-22"


def test_the_expected_band_is_not_a_plain_line(sample_cube):
    from insights.trends import trend

    chart = charts.expected_band(trend(sample_cube, "actions", grain="month", filters={"harm_area": "self_harm"}))
    assert chart.kind == "other", "a native line chart would drop the band, the anomalies and the change points"
    assert any(t.fill == "tonexty" for t in chart.figure.data)


words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz()%:", min_size=1, max_size=14)


@given(st.lists(words, min_size=1, max_size=12), st.lists(words, max_size=6))
def test_an_axis_title_fits_a_phone_in_its_own_words_and_order(first, second):
    title = " ".join(first) + ("<br>" + " ".join(second) if second else "")
    lines = charts.fitted_axis_title(title).split("<br>")
    assert " ".join(lines).split() == title.replace("<br>", " ").split()
    for line in lines:
        assert charts.text_width(line, charts.AXIS_TITLE_SIZE) <= charts.AXIS_TITLE_WIDTH or " " not in line
    # a title that needs two lines is shared out evenly, not broken greedily
    greedy = charts.wrap(" ".join(first), charts.AXIS_TITLE_WIDTH, charts.AXIS_TITLE_SIZE)
    if not second and len(greedy) == 2:
        balanced = [charts.text_width(line, charts.AXIS_TITLE_SIZE) for line in lines]
        assert max(balanced) <= max(charts.text_width(line, charts.AXIS_TITLE_SIZE) for line in greedy)


def test_a_long_axis_title_is_broken_where_it_reads_well():
    chart = charts.time_to_action(
        pl.DataFrame({"harm_area": ["self_harm"], "within_1h_rate": [0.5], "within_24h_rate": [0.9]}),
        ["within_1h_rate", "within_24h_rate"],
    )
    assert chart.figure.layout.xaxis.title.text == "Share of actions<br>(posting time known)"


@given(st.lists(st.floats(-1e4, 1e4, allow_nan=False), min_size=1, max_size=8), st.floats(0, 1e5))
def test_a_waterfall_steps_from_the_level_before_to_the_level_after_with_lines_and_bars_only(steps, before):
    contributors = pl.DataFrame(
        {
            "segment": [f"country=C{i}" for i in range(len(steps))],
            "other": [False] * len(steps),
            "contribution": steps,
        }
    )
    after = before + sum(steps)
    figure = charts.waterfall(contributors, "actions", before, after).figure
    assert {trace.type for trace in figure.data} <= {"scatter", "bar"}  # the lines-and-bars build draws it
    (bars,) = [trace for trace in figure.data if trace.type == "bar"]
    ends = [base + height for base, height in zip(bars.base, bars.y, strict=True)]
    ordered = sorted(steps, key=abs, reverse=True)
    levels = [before + sum(ordered[: i + 1]) for i in range(len(ordered))]
    assert ends[1:-1] == pytest.approx(levels)
    assert list(bars.base[1:-1]) == pytest.approx([before, *levels[:-1]])
    # the line joins each bar's end to the next bar's start, at the level between them
    (line,) = [trace for trace in figure.data if trace.type == "scatter"]
    joins = [y for y in line.y if y is not None]
    assert joins[::2] == joins[1::2] and joins[::2] == pytest.approx([before, *levels])
