"""The pages on the sample folder with its exposure and view sample (an ExposedCube): every page
renders, per-exposure metrics work wherever a page offers its cube's metrics, and the exposure
views — prevalence cards, the prevalence trend, more harm or more found, the enforcement/exposure
split, maps per views — show, for a scoped user within their scope only."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

import insights
from insights.access import Grant, Scope, restrict
from insights.formatting import value_text
from insights.kpis import prevalence_cards
from insights.labels import label
from tests.app.drawn import drawn
from tests.app.test_access_app import AUTH, POLICY, everything_shown
from tests.app.test_app import PAGES
from tests.conftest import ROOT

CORE = ["violent_extremism", "hateful_behavior", "self_harm", "human_exploitation"]


@pytest.fixture()
def app(sample_dir, monkeypatch) -> AppTest:
    monkeypatch.setenv("HARM_INSIGHTS_SOURCE", str(sample_dir.parent))
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_the_exposed_sample(app, page):
    at = app.switch_page(f"pages/{page}_page.py").run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize(
    ("page", "metric"),
    [
        ("trends", "actions_per_million_views"),
        ("trends", "removal_rate"),
        ("regional", "actions_per_million_views"),
        ("root_cause", "actions_per_10k_uploads"),
    ],
)
def test_pages_offer_and_draw_per_exposure_metrics(app, page, metric):
    app.query_params.update({"p_metric": metric, "harm_area": ["self_harm"]})
    at = app.switch_page(f"pages/{page}_page.py").run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.selectbox(key="p_metric").value == metric, "offered and kept"
    assert drawn(at), "and drawn"


def shown(at: AppTest) -> str:
    """The markdown, captions and info boxes the page showed."""
    return "\n".join(str(e.value) for kind in ("markdown", "caption", "info") for e in at.get(kind))


def test_overview_shows_prevalence_beside_enforcement(app):
    app.query_params.update({"harm_area": CORE})
    at = app.switch_page("pages/overview_page.py").run()
    assert not at.exception, at.exception
    cards = [m for m in at.metric if m.label == "Prevalence (quarter)"]
    assert len(cards) == len(CORE), "one beside each harm area's enforcement cards"
    assert all(m.value.endswith("%") for m in cards), [m.value for m in cards]
    intervals = [c.value for c in at.caption if c.value.startswith("95 % interval ")]
    assert len(intervals) == len(CORE) and all("–" in c for c in intervals)


def test_overview_of_all_harm_areas_shows_prevalence_per_harm_area(app):
    app.query_params.update({"harm_area": ["all"]})
    at = app.switch_page("pages/overview_page.py").run()
    assert not at.exception, at.exception
    labels = [m.label for m in at.metric]
    assert all(label("harm_area", a) in labels for a in CORE), "per harm area, never summed over them"


def test_overview_says_a_bound_or_a_withheld_figure_in_words(app):
    """A small slice (one small country, one content type) leaves too few sampled violating views."""
    app.query_params.update({"harm_area": CORE, "country": ["NZ"], "content_type": ["live"]})
    at = app.switch_page("pages/overview_page.py").run()
    assert not at.exception, at.exception
    cards = [m for m in at.metric if m.label == "Prevalence (quarter)"]
    assert cards and any(m.value.startswith(("≤", "withheld")) for m in cards), [m.value for m in cards]
    text = shown(at)
    assert "an upper bound: too few violating views" in text or "withheld: too few views" in text


def test_trends_shows_prevalence_with_its_band_and_more_harm_or_more_found(app):
    app.query_params.update({"p_metric": "prevalence", "harm_area": CORE, "grain": "quarter"})
    at = app.switch_page("pages/trends_page.py").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="p_metric").value == "prevalence"
    titles = [m.value for m in at.markdown]
    assert "**Prevalence per quarter with its 95 % interval**" in titles
    assert "**More harm, or more found? Enforcement against prevalence**" in titles
    verdicts = [c.value for c in at.caption if "from prevalence" in c.value]
    assert len(verdicts) == len(CORE), "one answer per harm area"


def test_root_cause_splits_a_per_exposure_rate_into_enforcement_and_exposure(app):
    app.query_params.update({"p_metric": "actions_per_million_views", "harm_area": CORE})
    at = app.switch_page("pages/root_cause_page.py").run()
    assert not at.exception, at.exception
    assert any("from enforcement" in i.value and "from exposure" in i.value for i in at.info)
    parts = next(d.value for d in at.dataframe if "enforcement" in d.value.columns)
    assert len(parts) == len(CORE)
    added = parts["enforcement"] + parts["exposure"]
    assert (abs(added - parts["change"]) <= 1e-9 * (1 + abs(parts["change"]))).all(), "the parts add up"


def test_regional_normalises_per_views(app):
    app.query_params.update({"p_metric": "actions", "p_per": "views", "harm_area": CORE})
    at = app.switch_page("pages/regional_page.py").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="p_per").value == "views"
    assert any("Actions per million views" in m.value for m in at.markdown), "the charts are per views"


def test_a_scoped_user_sees_prevalence_of_their_scope_only(sample_dir, monkeypatch, tmp_path, europe_and_everywhere):
    europe, everywhere = europe_and_everywhere
    policy = tmp_path / "access.toml"
    policy.write_text(POLICY)
    monkeypatch.setenv("HARM_INSIGHTS_SOURCE", str(sample_dir.parent))
    monkeypatch.setenv("HARM_INSIGHTS_ACCESS", str(policy))
    for page, query in [("overview", {}), ("trends", {"p_metric": "prevalence"})]:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
        at.secrets["auth"] = AUTH
        at.user = {"is_logged_in": True, "email": "ana@example.com"}
        at.query_params.update({"harm_area": ["self_harm", "violent_extremism"], **query})
        at = at.switch_page(f"pages/{page}_page.py").run()
        assert not at.exception, at.exception
        text = everything_shown(at)
        others = [label("harm_area", h) for h in CORE if h != "violent_extremism"]
        assert not [o for o in others if o in text], page
        if page == "overview":
            cards = [m for m in at.metric if m.label.startswith("Prevalence")]
            assert len(cards) == 1
            assert cards[0].value == europe, "estimated over Europe's sampled views"
            assert europe != everywhere


@pytest.fixture()
def europe_and_everywhere(sample_dir) -> tuple[str, str]:
    """Violent extremism's prevalence card value for a user scoped to it in Europe, and for everyone."""
    exposed = insights.load_source(sample_dir.parent)
    ana = Scope(
        "ana@example.com", ("extremism_europe",), (Grant(frozenset({"violent_extremism"}), frozenset({"Europe"})),)
    )
    values = []
    for cube in (restrict(exposed, ana), exposed):
        _, (card,) = prevalence_cards(cube, filters={"harm_area": ["violent_extremism"]})
        values.append(value_text("prevalence", card.estimate))
    return values[0], values[1]
