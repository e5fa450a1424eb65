"""Small-cell suppression in the app: with ``$HARM_INSIGHTS_SUPPRESSION`` naming a settings file,
every page runs on suppressed answers and shows withheld values as '<threshold'; a signed-in user's
cube is restricted to their scope first and suppressed after (a scoped count under the threshold
is withheld even where everyone's is not); settings that cannot be read show nothing."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.drawn import drawn
from tests.app.test_access_app import AUTH, POLICY
from tests.app.test_app import PAGES
from tests.conftest import ROOT


def settings(tmp_path, threshold: int) -> str:
    path = tmp_path / "suppression.toml"
    path.write_text(f"[suppression]\nthreshold = {threshold}\n[suppression.harm_area]\nself_harm = {threshold * 2}\n")
    return str(path)


def card_values(at: AppTest) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for m in at.metric:
        values.setdefault(m.label, []).append(m.value)
    return values


def small_counts(at: AppTest, threshold: int) -> list[str]:
    """Whole numbers of cards under the threshold (a count shown is 0 or at least the threshold)."""
    return [
        m.value for m in at.metric if re.fullmatch(r"[\d,]+", m.value) and 0 < int(m.value.replace(",", "")) < threshold
    ]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_suppressed_answers_when_configured(sample_dir, monkeypatch, tmp_path, page):
    monkeypatch.setenv("HARM_INSIGHTS_SOURCE", str(sample_dir))
    monkeypatch.setenv("HARM_INSIGHTS_SUPPRESSION", settings(tmp_path, 1000))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).switch_page(f"pages/{page}_page.py").run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    assert not small_counts(at, 1000)
    if page == "overview":
        assert card_values(at)["Actions"] == ["<1000", "1,376", "<2000", "<1000"], card_values(at)
        assert "withheld" in card_values(at)["Overturn rate"], "a rate of fewer than 1000 overturns"
    if page == "regional":  # each country's week is under 2000 (self-harm's): no mover drawn, and the chart says why
        axes = [figure["layout"].get("xaxis", {}) for figure in drawn(at)]
        notes = " ".join((axis.get("title") or {}).get("text", "").replace("<br>", " ") for axis in axes)
        assert "withheld (counts under 2000 and values that would reveal them); those geographies are left out" in notes


def test_a_signed_in_users_cells_are_restricted_first_then_suppressed(sample_dir, monkeypatch, tmp_path):
    policy = tmp_path / "access.toml"
    policy.write_text(POLICY)
    monkeypatch.setenv("HARM_INSIGHTS_SOURCE", str(sample_dir))
    monkeypatch.setenv("HARM_INSIGHTS_ACCESS", str(policy))
    monkeypatch.setenv("HARM_INSIGHTS_SUPPRESSION", settings(tmp_path, 200))

    def overview(user: dict) -> dict[str, list[str]]:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
        at.secrets["auth"] = AUTH
        at.user = {"is_logged_in": True, **user}
        at = at.switch_page("pages/overview_page.py").run()
        assert not at.exception and not at.error
        return card_values(at)

    admin = overview({"email": "root@example.org", "groups": ["ts-admins"]})
    scoped = overview({"email": "ana@example.com"})
    assert admin["Actions"][0] == "628", "violent extremism everywhere: 628 actions, shown"
    assert scoped["Actions"] == ["<200"], "violent extremism in Europe: 162 actions, withheld"


def test_settings_that_cannot_be_read_show_no_data(sample_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("HARM_INSIGHTS_SOURCE", str(sample_dir))
    monkeypatch.setenv("HARM_INSIGHTS_SUPPRESSION", str(tmp_path / "missing.toml"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).switch_page("pages/overview_page.py").run()
    assert not at.exception
    assert "suppression settings cannot be read" in at.error[0].value
    assert not at.metric and not drawn(at)
