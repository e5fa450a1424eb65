"""The deck as a reader sees it: rendered by LibreOffice to PDF, then to page images and text.

Reading the PPTX back proves what was written; rendering it proves what shows (a KPI slide that
stops at 16, category names printed over negative bars, a blank picture). Skips without
LibreOffice (``soffice``) and poppler (``pdftoppm``, ``pdftotext``), or fails under
``HARM_INSIGHTS_REQUIRE_SERVICES=1``. Two pages of the review deck are kept in ``test-artifacts/``.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import re
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest
from PIL import Image, ImageStat

from insights import charts, export
from insights.periods import Period
from insights.trends import trend
from tests.conftest import ROOT, unavailable

CORE = ["violent_extremism", "hateful_behavior", "self_harm", "human_exploitation"]
CURRENT, BASELINE = Period(dt.date(2026, 3, 2), dt.date(2026, 4, 26)), Period(dt.date(2026, 1, 5), dt.date(2026, 3, 1))
AS_OF = dt.date(2026, 11, 22)
SLICE = {"harm_area": ["self_harm"]}
SUBTITLE = charts.subtitle_text(SLICE, current=CURRENT, baseline=BASELINE, as_of=AS_OF)
MOVERS = pl.DataFrame(
    {
        "country": ["CD", "ID", "TR", "VC", "BR"],
        "name": [
            "Democratic Republic of the Congo",
            "Indonesia",
            "Türkiye",
            "Saint Vincent and the Grenadines",
            "Brazil",
        ],
        "baseline_value": [10.0, 40.0, 30.0, 5.0, 20.0],
        "value": [43.0, 11.0, 27.0, 9.0, 4.0],
        "change": [33.0, -29.0, -3.0, 4.0, -16.0],
        "significant": [True, True, False, False, True],
    }
)
ARTIFACTS = ROOT / "test-artifacts"
#: A title too long for one line at the slide's title size (impact charts have such titles).
LONG_TITLE = "Mental health / self-harm actions per week: the expected band, its anomalies and its change points"


@pytest.fixture(scope="module")
def programs() -> dict[str, str]:
    """Paths of the programs the rendering needs (skips, or fails under CI, when one is missing)."""
    found = {name: shutil.which(name) for name in ("soffice", "pdftoppm", "pdftotext")}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        unavailable(
            f"cannot render decks: {', '.join(missing)} not installed "
            "(apt-get install libreoffice-impress poppler-utils)"
        )
    return {name: str(path) for name, path in found.items()}


def render_review_deck(out: Path, programs: dict[str, str], cube) -> None:
    """A two-view review deck (20 KPIs, diverging movers, bars, a trend with events, the expected
    band) written to ``out``: the PPTX, its PDF, and one PNG per page at 60 dpi."""
    events = pl.read_csv(ROOT / "sample_data" / "events.csv", try_parse_dates=True)
    movers = charts.movers(MOVERS, "country", "actions", title="Biggest movers against the 8 weeks before")
    movers.subtitle = SUBTITLE
    band = charts.expected_band(trend(cube, "actions", grain="week", filters=SLICE), title=LONG_TITLE)
    band.subtitle = charts.subtitle_text(SLICE, as_of=AS_OF)
    lines = charts.trend(
        cube.query("actions", by=["harm_area"], grain="month", filters={"harm_area": CORE}),
        "actions",
        by="harm_area",
        events=events,
    )
    bars = charts.breakdown(cube.query("overturn_rate", by=["country"]), "country", "overturn_rate")
    kpis = [export.Kpi(f"KPI {n} · Mental health / self-harm", f"{n * 1111:,}", f"+{n}.0%") for n in range(1, 21)]
    overview = export.Section(
        "Overview",
        [movers, bars],
        kpis,
        "http://h/overview",
        "Self-harm actions rose.",
        "All harm areas\n2026-03-02 – 2026-04-26 · by week · data as of 2026-11-22",
        source="bundled sample data",
    )
    trends = export.Section("Trends", [lines, band], [], "http://h/trends", "", "Self-harm · by month")
    deck = export.Deck("Harm Insights · Review", "2 views", [overview, trends])  # the source: the sections'
    pptx = out / "review.pptx"
    pptx.write_bytes(export.build_deck(deck))
    profile = (out / "profile").as_uri()  # its own LibreOffice profile, not the user's
    convert = [programs["soffice"], f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf"]
    subprocess.run([*convert, "--outdir", str(out), str(pptx)], check=True, capture_output=True, timeout=240)
    pages = [programs["pdftoppm"], "-png", "-r", "60", str(out / "review.pdf"), str(out / "page")]
    subprocess.run(pages, check=True, timeout=120)


@pytest.fixture(scope="module")
def rendered(programs, sample_cube, tmp_path_factory):
    """The rendered review deck: its PDF and page PNGs, made once per test run (parallel
    workers wait for the first one and share its files)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # the run's folder, above each worker's
    out = shared / "rendered-review-deck"
    with open(shared / "rendered-review-deck.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "done").exists():
            out.mkdir(exist_ok=True)
            render_review_deck(out, programs, sample_cube)
            (out / "done").touch()
    pages = sorted(out.glob("page-*.png"), key=lambda p: int(re.sub(r"\D", "", p.stem)))
    return {"pdf": out / "review.pdf", "pages": pages, "programs": programs}


def page_text(rendered, page: int, *options: str) -> str:
    """The text of one page (1-based) as pdftotext reads it."""
    command = [rendered["programs"]["pdftotext"], "-f", str(page), "-l", str(page), *options, str(rendered["pdf"]), "-"]
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=60).stdout


# title; Overview: header, 2 KPI slides, movers, bars; Trends: header, line, band
OVERVIEW_KPIS, MOVERS_PAGE, BARS_PAGE, LINE_PAGE, BAND_PAGE = (3, 4), 5, 6, 8, 9


def test_every_slide_renders_and_none_is_blank(rendered):
    pages = rendered["pages"]
    assert len(pages) == 9
    for page in pages:
        image = Image.open(page).convert("L")
        assert image.size == (800, 450), "16:9"
        assert ImageStat.Stat(image).stddev[0] > 8, f"{page.name} looks blank"
    for page in (MOVERS_PAGE, BARS_PAGE, LINE_PAGE, BAND_PAGE):
        image = Image.open(pages[page - 1]).convert("L")
        inked = sum(1 for value in image.get_flattened_data() if value < 230) / (image.width * image.height)
        assert inked > 0.04, f"page {page}: a chart should cover part of the slide ({inked:.1%} inked)"
    ARTIFACTS.mkdir(exist_ok=True)
    for page in (MOVERS_PAGE, BAND_PAGE):
        shutil.copy(pages[page - 1], ARTIFACTS / f"review-deck-page-{page}.png")


def test_the_title_slide_names_the_source_and_no_path(rendered):
    text = page_text(rendered, 1)
    assert "Data: bundled sample data" in text
    assert not re.search(r"/\w+/", text), "no server path on the title slide"


def test_all_twenty_kpis_are_shown(rendered):
    first, second = (page_text(rendered, page) for page in OVERVIEW_KPIS)
    assert "Key figures (1/2)" in first and "Key figures (2/2)" in second
    shown = first + second
    assert all(f"{n * 1111:,}" in shown for n in range(1, 21)), "KPIs 17–20 as well"
    assert all(f"KPI {n} " in second for n in range(17, 21))


def test_each_chart_page_prints_its_subtitle(rendered):
    flat = {page: " ".join(page_text(rendered, page).split()) for page in range(MOVERS_PAGE, BAND_PAGE + 1)}
    assert SUBTITLE in flat[MOVERS_PAGE], "the chart's own subtitle: slice, periods, as-of"
    assert "against 2026-01-05 – 2026-03-01" in flat[MOVERS_PAGE]
    assert "data as of 2026-11-22" in flat[BARS_PAGE], "the section's subtitle when the chart has none"
    assert "Self-harm · by month" in flat[LINE_PAGE]
    assert "data as of 2026-11-22" in flat[BAND_PAGE]


def words(rendered, page: int) -> list[tuple[str, float, float, float, float]]:
    """(word, x min, x max, y min, y max) of every word on a page, from pdftotext's bounding boxes."""
    html = page_text(rendered, page, "-bbox")
    found = re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', html)
    return [(text, float(left), float(right), float(top), float(bottom)) for left, top, right, bottom, text in found]


def test_diverging_bars_print_every_name_whole_and_clear_of_the_bars(rendered):
    placed = words(rendered, MOVERS_PAGE)
    text = " ".join(word for word, *_ in placed)
    for name in MOVERS["name"]:
        assert name in text, f"{name!r} whole on the slide"
    labels = {f"{v:+.0f}" for v in MOVERS["change"]}
    values = [(w, left) for w, left, *_ in placed if w in labels]
    assert {w for w, _ in values} == labels, "every bar's value label"
    names = {w for name in MOVERS["name"] for w in name.split() if w[0].isupper()}
    rightmost_name = max(right for w, _, right, *_ in placed if w in names)
    assert rightmost_name < min(left for _, left in values), "names sit left of every bar and its label"


def test_the_expected_band_is_a_picture_and_the_line_lists_its_events(rendered):
    band_words = {w for w, *_ in words(rendered, BAND_PAGE)}
    assert "Jan" not in band_words, "the band's axes are inside its picture, not native text"
    line = " ".join(page_text(rendered, LINE_PAGE).split())
    assert "Marked:" in line and "Quarterly moderation staffing change" in line


def test_a_long_title_wraps_whole_above_its_subtitle(rendered):
    placed = words(rendered, BAND_PAGE)
    text = " ".join(word for word, *_ in placed)
    assert LONG_TITLE in text, "the whole title is printed"
    title_bottom = max(bottom for word, *_, bottom in placed if word == "points")
    subtitle_top = min(top for word, _, _, top, _ in placed if word == "2026-11-22")
    assert title_bottom < subtitle_top, "the title's second line sits above the subtitle, not on it"
