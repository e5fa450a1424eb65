"""The Impact page in-process with AppTest: it opens on the program story of the sample from a
link (as the Trends page makes one), its numbers are those of ``estimate_impact``, its choices
round-trip through the URL, weak designs are flagged in words and unusable ones explained; a
scoped user's estimate is made from their own cells only, without downloads."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest
from streamlit.testing.v1 import AppTest

from insights.formatting import signed_amount_text
from insights.geo import region_of
from insights.impact import estimate_impact
from insights.labels import label
from tests.app.drawn import figures
from tests.app.test_access_app import signed  # noqa: F401  (fixture)
from tests.conftest import ROOT

STORY = next(
    s for s in json.loads((ROOT / "sample_data" / "stories.json").read_text())["stories"]
    if s["id"] == "exploitation_upload_classifier"
)  # fmt: skip
STORY_URL = {
    "harm_area": ["human_exploitation"],
    "p_metric": ["actions"],
    "p_dimension": ["country"],
    "p_treated": ["BR|MX|CO"],
    "p_launch": [STORY["start"]],
    "p_donors": ["|".join(STORY["donors"])],
}


@pytest.fixture()
def app(sample_dir, monkeypatch) -> AppTest:
    monkeypatch.setenv("HARM_INSIGHTS_SOURCE", str(sample_dir))
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)


def impact(app: AppTest, query: dict[str, list[str]]) -> AppTest:
    app.query_params.update(query)
    at = app.switch_page("pages/impact_page.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def cards(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_the_story_opens_with_the_numbers_of_estimate_impact(app, sample_cube):
    at = impact(app, STORY_URL)
    want = estimate_impact(
        sample_cube,
        metric="actions",
        treated={"country": ["BR", "MX", "CO"]},
        launch=STORY["start"],
        grain="week",
        filters={"harm_area": ["human_exploitation"]},
        donors=STORY["donors"],
        start=sample_cube.date_range[0],
        end=sample_cube.date_range[1],
    )
    shown = cards(at)
    assert shown["Effect per week"] == signed_amount_text("actions", want.average.value)
    lower, upper = (signed_amount_text("actions", v) for v in (want.average.lower, want.average.upper))
    assert shown["90% interval"] == f"{lower} to {upper}"
    assert shown["Over 44 weeks"] == f"{want.cumulative.value:+,.0f}"
    assert shown["More than noise?"] == "Yes"
    drawn = figures(at)
    lines = drawn["Actions in Brazil, Mexico and Colombia: actual and without the launch"]["data"]
    actual = next(t for t in lines if t.get("name") == "Actual: Brazil, Mexico and Colombia")
    assert actual["y"] == pytest.approx(want.series["actual"].to_list())
    counterfactual = next(t for t in lines if t.get("name") == "Without the launch (counterfactual)")
    assert counterfactual["y"] == pytest.approx(want.series["counterfactual"].to_list())
    assert any(title.startswith("Placebos in space:") for title in drawn)
    assert any(title.startswith("Placebo in time:") for title in drawn)
    assert any(title.startswith("What the counterfactual is made of") for title in drawn)
    (story,) = [i.value for i in at.info if "After the launch on 19 Jan 2026" in i.value]
    assert "Brazil, Mexico and Colombia" in story and "assumes that no donor had a launch" in story
    assert "interval" in story and "%" in story


def test_choices_round_trip_through_the_url(app):
    at = impact(app, {**STORY_URL, "p_method": ["augmented"]})
    assert at.multiselect(key="p_treated").value == ["BR", "MX", "CO"]
    assert at.multiselect(key="p_donors").value == STORY["donors"]
    assert str(at.date_input(key="p_launch").value) == STORY["start"]
    assert at.selectbox(key="p_method").value == "augmented"
    for name, values in {**STORY_URL, "p_method": ["augmented"]}.items():
        assert at.query_params[name] in (values, values[0]), name
    at.multiselect(key="p_treated").set_value(["BR"]).run()
    assert not at.exception
    assert at.query_params["p_treated"] in ("BR", ["BR"])
    assert any(title.startswith("Actions in Brazil:") for title in figures(at))


def test_a_weak_design_is_flagged_in_words(app):
    at = impact(app, {**STORY_URL, "p_donors": ["US|IN"]})
    warnings = " ".join(w.value for w in at.warning)
    assert "Only 2 donor(s)" in warnings
    assert "structural time-series model" in " ".join(i.value for i in at.info)
    app.query_params.clear()  # a link without donors: every other country is one
    everyone = impact(app, {k: v for k, v in STORY_URL.items() if k != "p_donors"})
    warnings = " ".join(w.value for w in everyone.warning)
    assert "A donor with its own launch" in warnings and "Trusted-flagger programme launches in Africa" in warnings


def test_an_unusable_design_says_what_to_change(app):
    at = impact(app, {**STORY_URL, "p_launch": ["2024-11-18"]})  # the first day of the data
    (message,) = [i.value for i in at.info if "No estimate for this design" in i.value]
    assert "launch" in message and "Try another launch date" in message
    assert at.sidebar.date_input, "the sidebar is still drawn"
    at = impact(app, {**STORY_URL, "grain": ["day"]})
    assert any("At day grain these dates span" in i.value for i in at.info)
    at.multiselect(key="p_treated").set_value([]).run()
    assert any("Pick the values the launch went out in" in i.value for i in at.info)


def test_trends_opens_the_impact_page_on_an_annotated_launch(app):
    app.query_params.update({"harm_area": ["human_exploitation"], "country": ["BR", "MX", "CO"]})
    at = app.switch_page("pages/trends_page.py").run()
    assert not at.exception
    (link,) = [p.proto for p in at.get("page_link") if "upload classifier" in p.proto.label]
    query = parse_qs(link.query_string)
    assert query["p_launch"] == ["2026-01-19"] and query["p_treated"] == ["BR|MX|CO"]
    assert query["p_dimension"] == ["country"] and query["harm_area"] == ["human_exploitation"]
    assert "country" not in query, "the treated countries' filter would leave no donor"
    at.query_params.clear()
    at.query_params.update(query)
    at = at.switch_page("pages/impact_page.py").run()
    assert not at.exception
    assert at.multiselect(key="p_treated").value == ["BR", "MX", "CO"]
    assert any("Upload-time" in c.value or "upload classifier" in c.value for c in at.caption)
    assert cards(at)["More than noise?"] == "Yes"


def units(at: AppTest) -> tuple[set[str], set[str]]:
    """The donors the page's estimate used: the weights chart's codes, the placebo lines' names."""
    drawn = figures(at)
    weights = next(f for title, f in drawn.items() if title.startswith("What the counterfactual is made of"))
    placebos = next(f for title, f in drawn.items() if title.startswith("Placebos in space:"))
    return set(weights["data"][0]["customdata"]), {t["hovertemplate"].split(" %{x")[0] for t in placebos["data"]}


def test_a_scoped_user_estimates_from_their_own_cells_only(app, signed, sample_cube):  # noqa: F811
    """The same design, first for everyone (local mode), then for a user who sees violent
    extremism in Europe only: their treated choices, donors and placebos are European countries,
    the estimate made for everyone is not reused for them, and they get no downloads or deck."""
    design = {"harm_area": "violent_extremism", "p_dimension": "country", "p_treated": "FR", "p_launch": "2026-01-19"}
    everyone = impact(app, {k: [v] for k, v in design.items()})
    donors, placebos = units(everyone)
    assert any(region_of(d) != "Europe" for d in donors), "the design must draw on donors outside Europe"
    scoped = signed({"email": "ana@example.com"}, "impact", **design)
    assert not scoped.exception, scoped.exception
    europe = {c for c in sample_cube.values("country") if region_of(c) == "Europe"}
    assert set(scoped.multiselect(key="p_treated").options) == {label("country", c) for c in europe}
    assert scoped.multiselect(key="p_treated").value == ["FR"]
    donors, placebos = units(scoped)
    assert donors <= europe and placebos <= {label("country", c) for c in europe}
    assert not list(scoped.get("download_button")), "no export right, no downloads, no deck"
