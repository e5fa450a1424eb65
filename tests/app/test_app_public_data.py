"""Every page works on the real public reports too (quarterly grain, no country, no events)."""

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, SHARED

REAL = SHARED / "real_data"
SOURCES = {
    "tiktok": REAL / "tiktok_cger",
    "meta": REAL / "meta_cser" / "meta-2024-q2.csv",
    "dsa_summary": REAL / "dsa_tdb_daily_summary" / "builtin.parquet",
}
PAGES = ["overview", "regional", "trends", "root_cause", "deep_dive", "data"]


@pytest.mark.parametrize("source", list(SOURCES))
@pytest.mark.parametrize("page", PAGES)
def test_page_renders_on_public_data(source, page, monkeypatch):
    if not SOURCES[source].exists():
        pytest.skip(f"public data not found at {SOURCES[source]} (../shared/real_data)")
    monkeypatch.setenv("HARM_INSIGHTS_SOURCE", str(SOURCES[source]))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).switch_page(f"pages/{page}_page.py").run()
    assert not at.exception, at.exception[0].message
    assert not at.error, [e.value for e in at.error]
