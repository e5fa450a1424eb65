"""Exports are opened and checked: PNG size, SVG text, CSV content, a PPTX read back."""

import io

import polars as pl
import pytest
from PIL import Image
from pptx import Presentation
from pptx.enum.chart import XL_CHART_TYPE, XL_TICK_LABEL_POSITION
from pptx.enum.shapes import MSO_SHAPE_TYPE

from insights import charts, export
from tests.conftest import ROOT

CORE = ["violent_extremism", "hateful_behavior", "self_harm", "human_exploitation"]


@pytest.fixture(scope="module")
def trend(sample_cube):
    frame = sample_cube.query("actions", by=["harm_area"], grain="month", filters={"harm_area": CORE})
    events = pl.read_csv(ROOT / "sample_data" / "events.csv", try_parse_dates=True)
    return charts.trend(frame, "actions", by="harm_area", events=events)


@pytest.fixture(scope="module")
def bars(sample_cube):
    return charts.breakdown(sample_cube.query("overturn_rate", by=["country"]), "country", "overturn_rate")


def test_png_is_rendered_on_the_server_at_deck_size(trend):
    image = Image.open(io.BytesIO(export.image_bytes(trend, "png", scale=2)))
    assert image.size == (export.IMAGE_WIDTH * 2, export.IMAGE_HEIGHT * 2)


def test_svg_carries_the_labels_in_words(trend):
    svg = export.image_bytes(trend, "svg").decode()
    assert svg.startswith("<svg") and "Mental health / self-harm" in svg and "harm_area" not in svg


def test_csv_is_the_data_behind_the_chart(trend, sample_cube):
    frame = pl.read_csv(io.BytesIO(export.csv_bytes(trend)), try_parse_dates=True)
    assert frame["actions"].sum() == sample_cube.query("actions", filters={"harm_area": CORE})["actions"].item()


def test_trend_uses_each_harm_areas_own_colour(trend):
    from insights.model import harm_area_colours

    colours = {t.name: t.line.color for t in trend.figure.data if t.showlegend is not False}
    assert colours["Violent extremism"] == harm_area_colours()["violent_extremism"]


def test_deck_reads_back_with_native_charts_images_and_notes(trend, bars):
    picture_chart = charts.Chart("image", "Shown as an image", trend.figure, trend.data, "other")
    section = export.Section(
        title="Overview",
        charts=[trend, bars, picture_chart],
        kpis=[export.Kpi("Actions · Violent extremism", "628", "-4.8%")],
        link="http://localhost:8501/?harm_area=self_harm",
        narrative="Self-harm actions rose 35%.",
    )
    deck = export.Deck("Weekly review", "Harm areas: 4 · data as of 2026-11-22", [section])
    presentation = Presentation(io.BytesIO(export.build_deck(deck)))
    assert round(presentation.slide_width / presentation.slide_height, 2) == round(16 / 9, 2)
    slides = list(presentation.slides)
    assert len(slides) == 2 + 3  # one section: no header slide
    chart_types = [shape.chart.chart_type for s in slides for shape in s.shapes if shape.has_chart]
    assert chart_types == [XL_CHART_TYPE.LINE, XL_CHART_TYPE.BAR_CLUSTERED]
    line = next(shape.chart for shape in slides[2].shapes if shape.has_chart)
    assert [s.name for s in line.plots[0].series] == [
        "Hateful behavior",
        "Human exploitation",
        "Mental health / self-harm",
        "Violent extremism",
    ]
    assert any(shape.shape_type == MSO_SHAPE_TYPE.PICTURE for shape in slides[4].shapes)
    notes = slides[2].notes_slide.notes_text_frame.text
    assert (
        "Self-harm actions rose 35%." in notes
        and "Actions: Pieces of content" in notes
        and "http://localhost:8501/?harm_area=self_harm" in notes
    )
    assert "628" in " ".join(shape.text_frame.text for shape in slides[1].shapes if shape.has_text_frame)


def slide_text(slide) -> str:
    return " ".join(shape.text_frame.text for shape in slide.shapes if shape.has_text_frame)


def test_review_deck_has_a_header_slide_per_view_and_each_views_own_notes(trend, bars):
    overview = export.Section(
        "Overview",
        [bars],
        [export.Kpi("Actions", "1,204")],
        "http://h/overview?grain=week",
        "Actions fell 3%.",
        "Violent extremism",
    )
    trends = export.Section("Trends", [trend, bars], [], "http://h/trends?grain=month", "", "Self-harm · by month")
    deck = export.Deck("Harm Insights · Review", "2 views", [overview, trends])
    slides = list(Presentation(io.BytesIO(export.build_deck(deck))).slides)
    # title; Overview header, KPIs, 1 chart; Trends header, 2 charts
    assert len(slides) == 1 + (1 + 1 + 1) + (1 + 2)
    assert [slide_text(slides[i]).split(" ")[0] for i in (1, 4)] == ["Overview", "Trends"]
    assert "Self-harm · by month" in slide_text(slides[4])
    assert "1,204" in slide_text(slides[2])
    assert "http://h/overview?grain=week" in slides[3].notes_slide.notes_text_frame.text
    assert "Actions fell 3%." not in slides[5].notes_slide.notes_text_frame.text
    assert "http://h/trends?grain=month" in slides[6].notes_slide.notes_text_frame.text
    title_notes = slides[0].notes_slide.notes_text_frame.text
    assert "http://h/overview?grain=week" in title_notes and "http://h/trends?grain=month" in title_notes
    kinds = [shape.chart.chart_type for s in slides for shape in s.shapes if shape.has_chart]
    assert kinds == [XL_CHART_TYPE.BAR_CLUSTERED, XL_CHART_TYPE.LINE, XL_CHART_TYPE.BAR_CLUSTERED]


def test_sparkline_svg_draws_every_known_point_in_the_harm_area_colour():
    svg = charts.sparkline_svg([1.0, None, 3.0, 2.0], colour="#B2182B")
    assert svg.startswith("<svg") and 'stroke="#B2182B"' in svg
    assert svg.count("L") == 2 and svg.count("M") == 1  # three known points, the unknown one skipped
    assert charts.sparkline_svg([None, 5.0]) == ""


def test_diverging_bars_keep_their_negative_side_in_the_deck():
    movers = pl.DataFrame(
        {
            "country": ["ID", "TR"],
            "name": ["Indonesia", "Türkiye"],
            "baseline_value": [10.0, 40.0],
            "value": [43.0, 11.0],
            "change": [33.0, -29.0],
            "significant": [False, True],
        }
    )
    chart = charts.movers(movers, "country", "actions")
    deck = export.Deck("Movers", "", [export.Section("Overview", [chart])])
    slide = list(Presentation(io.BytesIO(export.build_deck(deck))).slides)[1]
    plot = next(shape.chart for shape in slide.shapes if shape.has_chart)
    assert list(plot.plots[0].series[0].values) == [33.0, -29.0]
    assert plot.value_axis.minimum_scale is None


def slide_texts(slides) -> list[str]:
    return [slide_text(slide) for slide in slides]


def deck_slides(*sections: export.Section, source: str = "") -> list:
    deck = export.Deck("Review", "2 views", list(sections), source=source)
    return list(Presentation(io.BytesIO(export.build_deck(deck))).slides)


KPIS = [export.Kpi(f"KPI {n} · Mental health / self-harm", f"{n}00,{n:03d}", f"+{n}.0%") for n in range(1, 21)]


def test_every_kpi_reaches_the_deck_over_as_many_slides_as_it_needs():
    slides = deck_slides(export.Section("Overview", [], KPIS, subtitle="Self-harm · data as of 2026-11-22"))
    texts = slide_texts(slides[1:])
    assert [t.split(" Self-harm")[0] for t in texts] == ["Key figures (1/2)", "Key figures (2/2)"]
    assert all(f"{n}00,{n:03d}" in " ".join(texts) for n in range(1, 21)), "KPIs 17–20 too"
    assert "KPI 12 " in texts[0] and "KPI 13 " in texts[1]
    assert all("Self-harm · data as of 2026-11-22" in t for t in texts)
    (single,) = slide_texts(deck_slides(export.Section("Overview", [], KPIS[:12]))[1:])
    assert single.startswith("Key figures KPI 1 ")


LONG_MOVERS = pl.DataFrame(
    {
        "country": ["CD", "ID", "TR", "VC"],
        "name": ["Democratic Republic of the Congo", "Indonesia", "Türkiye", "Saint Vincent and the Grenadines"],
        "baseline_value": [10.0, 40.0, 30.0, 5.0],
        "value": [43.0, 11.0, 27.0, 9.0],
        "change": [33.0, -29.0, -3.0, 4.0],
        "significant": [True, True, False, False],
    }
)


def test_native_bars_keep_value_labels_colours_and_names_clear_of_negative_bars():
    chart = charts.movers(LONG_MOVERS, "country", "actions")
    (slide,) = deck_slides(export.Section("Overview", [chart]))[1:]
    plot = next(shape.chart for shape in slide.shapes if shape.has_chart)
    series = plot.plots[0].series[0]
    figure_bar = chart.figure.data[0]
    assert [str(series.points[i].format.fill.fore_color.rgb) for i in range(4)] == [
        c.lstrip("#").upper() for c in figure_bar.marker.color
    ], "significance colours: the same as on screen"
    assert [series.points[i].data_label.text_frame.text for i in range(4)] == list(figure_bar.text)
    assert series.invert_if_negative is False
    assert plot.category_axis.tick_label_position == XL_TICK_LABEL_POSITION.LOW
    assert plot.value_axis.axis_title.text_frame.text == "Change in actions (grey: within the usual variation)"


def test_native_bars_label_values_in_the_registrys_format(bars):
    (slide,) = deck_slides(export.Section("Overview", [bars]))[1:]
    plot = next(shape.chart for shape in slide.shapes if shape.has_chart)
    labels = plot.plots[0].data_labels
    assert labels.number_format == "0.0%" and labels.number_format_is_linked is False
    assert plot.value_axis.minimum_scale == 0
    assert plot.category_axis.tick_label_position != XL_TICK_LABEL_POSITION.LOW


def test_the_expected_band_goes_in_as_an_image(sample_cube):
    from insights.trends import trend

    band = charts.expected_band(trend(sample_cube, "actions", grain="month", filters={"harm_area": "self_harm"}))
    (slide,) = deck_slides(export.Section("Trends", [band]))[1:]
    assert not any(shape.has_chart for shape in slide.shapes)
    assert any(shape.shape_type == MSO_SHAPE_TYPE.PICTURE for shape in slide.shapes)


def test_every_chart_slide_says_what_it_shows(trend, bars):
    own = "Violent extremism · 2026-03-02 – 2026-04-26 against 2026-01-05 – 2026-03-01 · data as of 2026-11-22"
    titled = charts.Chart(bars.key, bars.title, bars.figure, bars.data, "bar", bars.x, None, bars.y, bars.metric)
    titled.subtitle = own
    section = export.Section("Overview", [titled, trend], subtitle="All harm areas\ndata as of 2026-11-22")
    line_slide, bar_slide = deck_slides(section)[1:][::-1]
    assert own in slide_text(bar_slide) and "All harm areas" not in slide_text(bar_slide)
    assert "All harm areas" in slide_text(line_slide) and "data as of 2026-11-22" in slide_text(line_slide)


def test_a_native_line_chart_lists_the_events_it_cannot_draw(trend):
    (slide,) = deck_slides(export.Section("Trends", [trend]))[1:]
    marks = export.marked_dates(trend)
    assert "09 Jun 2025: Quarterly moderation staffing change" in marks
    assert "Marked: " in slide_text(slide) and marks[0] in slide_text(slide)
    assert marks[-1] in slide.notes_slide.notes_text_frame.text


def test_the_title_slide_names_the_source_not_a_server_path(sample_cube):
    from insights.cube import source_name

    name = source_name(sample_cube.provenance)
    assert "/" not in name
    section = export.Section("Overview", [], [export.Kpi("Actions", "1")], source=name)
    assert f"Data: {name}" in slide_text(deck_slides(section)[0]), "from the sections when the deck names none"
    title = deck_slides(section, source="bundled sample data")[0]
    assert "Data: bundled sample data" in slide_text(title)


@pytest.fixture
def template_without_automargin():
    """The app's Plotly template leaves axes without automargin; exports must not depend on it."""
    import plotly.io as pio

    default = pio.templates.default
    pio.templates.default = "none"
    yield
    pio.templates.default = default


def ink_columns(png: bytes) -> list[int]:
    """Per pixel column, how many pixels are not (almost) white."""
    image = Image.open(io.BytesIO(png)).convert("L")
    width, height = image.size
    pixels = image.load()
    return [sum(pixels[x, y] < 200 for y in range(height)) for x in range(width)]


@pytest.mark.usefixtures("template_without_automargin")
def test_images_keep_long_labels_whole_and_print_the_subtitle():
    chart = charts.movers(LONG_MOVERS, "country", "actions")
    chart.subtitle = "Hateful behavior · Country: Indonesia, Türkiye · data as of 2026-11-22"
    before = chart.figure.to_plotly_json()
    svg = export.image_bytes(chart, "svg", width=900, height=500).decode()
    assert ">Democratic Republic of the Congo<" in svg and ">Saint Vincent and the Grenadines<" in svg
    assert chart.subtitle in svg and chart.title in svg
    columns = ink_columns(export.image_bytes(chart, "png", width=900, height=500))
    assert max(columns[:4]) == 0 and max(columns[-4:]) == 0, "nothing cut at the left or right edge"
    assert chart.figure.to_plotly_json() == before, "the chart itself is not changed"
