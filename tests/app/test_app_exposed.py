"""The pages as they are, on the sample folder with its exposure (an ExposedCube): every page renders,
and per-exposure metrics work wherever a page offers its cube's metrics."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.test_app import PAGES
from tests.conftest import ROOT


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
    assert metric in at.selectbox[0].options or any(metric in str(o) for s in at.selectbox for o in s.options)
