"""Withheld values in every export: CSV, SVG and PPTX (native bars and lines) say '<10', never the number."""

from __future__ import annotations

import datetime as dt
import html
import io
import zipfile

import pytest
from pptx import Presentation

from insights import charts, export
from insights.disclosure import Suppression
from tests.disclosure.cubes import CELLS, WEEK_2, cube_of

SPAM = {"harm_area": "spam"}


@pytest.fixture(scope="module")
def cube():
    return cube_of(CELLS).with_suppression(Suppression())


@pytest.fixture(scope="module")
def bars(cube) -> charts.Chart:
    """Spam actions by country in week 2: FR's 3 is withheld, and DE's 60 with it."""
    frame = cube.query("actions", by=["country"], filters=SPAM, start=WEEK_2, end=WEEK_2 + dt.timedelta(days=6))
    return charts.breakdown(frame, "country", "actions")


@pytest.fixture(scope="module")
def line(cube) -> charts.Chart:
    return charts.trend(cube.query("actions", by=["country"], grain="week", filters=SPAM), "actions", by="country")


def test_csv_says_withheld_and_never_the_number(bars):
    rows = dict(line.split(",") for line in export.csv_bytes(bars).decode().splitlines()[1:])
    assert rows == {"MX": "400", "US": "310", "FR": "<10", "DE": "withheld"}


def test_svg_prints_the_threshold_not_the_value(bars):
    svg = html.unescape(export.image_bytes(bars, "svg").decode())
    assert "><10<" in svg and ">withheld<" in svg
    assert ">60<" not in svg and ">3<" not in svg


def _chart_xml(deck: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(deck)) as parts:
        return " ".join(parts.read(n).decode() for n in parts.namelist() if n.startswith("ppt/charts/chart"))


def test_native_deck_charts_carry_no_withheld_number(bars, line):
    deck = export.build_deck(export.Deck("Spam", "", [export.Section("Overview", [bars, line])]))
    slides = list(Presentation(io.BytesIO(deck)).slides)
    plot = next(shape.chart for shape in slides[1].shapes if shape.has_chart)
    series = plot.plots[0].series[0]
    assert [series.points[i].data_label.text_frame.text for i in range(4)] == ["400", "310", "withheld", "<10"]
    xml = _chart_xml(deck)
    assert "<c:v>3</c:v>" not in xml and "<c:v>60</c:v>" not in xml, "FR's 3 and DE's 60 are not in the charts"
    assert "<c:v>40</c:v>" not in xml, "FR's week 1 (40) is withheld too: FR's total minus it would give 3"
    line_plot = next(shape.chart for shape in slides[2].shapes if shape.has_chart)
    assert "withheld" in line_plot.category_axis.axis_title.text_frame.text


def test_kpis_reach_the_deck_as_they_are_shown(cube):
    from insights.kpis import kpi_cards

    _, cards = kpi_cards(cube, ["actions"], by="country", filters=SPAM, as_of=dt.date(2025, 3, 16))
    kpis = [export.Kpi(c.key or "", c.change.value_text(), c.change.change_text()) for c in cards]
    shown = {k.title: k.value for k in kpis}
    assert shown["FR"] == "<10" and shown["DE"] == "withheld" and shown["US"] == "310"
    deck = export.build_deck(export.Deck("KPIs", "", [export.Section("Overview", [], kpis)]))
    text = " ".join(shape.text_frame.text for slide in Presentation(io.BytesIO(deck)).slides for shape in slide.shapes)
    assert "FR <10" in text and "DE withheld" in text
