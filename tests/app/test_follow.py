"""The Follow button: on an Overview card and on the Trends page it writes the slice to the
subscriptions file for the user (the local one asked for an email once; a signed-in one by their
account), shows *Following* afterwards, and *Stop following* removes it."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from insights.digest.subscriptions import load_subscriptions, slice_key
from tests.app.test_access_app import AUTH
from tests.conftest import ROOT


@pytest.fixture()
def subscriptions(sample_dir, monkeypatch, tmp_path):
    path = tmp_path / "subscriptions.toml"
    monkeypatch.setenv("HARM_INSIGHTS_SOURCE", str(sample_dir))
    monkeypatch.setenv("HARM_INSIGHTS_SUBSCRIPTIONS", str(path))
    return path


def popovers(at: AppTest) -> list[str]:
    return [p.proto.popover.label for p in at.get("popover")]


def click(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click()
    return at.run()


def test_follow_a_harm_area_from_its_overview_card_and_stop(subscriptions):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert popovers(at)[:4] == ["Follow"] * 4 and not subscriptions.exists()
    at.text_input[0].input("ana@example.org").run()
    at = click(at, "Follow")
    follows = load_subscriptions(subscriptions).get("local")
    assert follows is not None and follows.channels.email == "ana@example.org"
    assert [f.key for f in follows.follows] == [slice_key({"harm_area": "violent_extremism"})]
    assert popovers(at)[:2] == ["Following", "Follow"]
    assert not [t for t in at.text_input if t.label.startswith("Send digests")], "asked once"
    at = click(at, "Stop following")
    assert load_subscriptions(subscriptions).get("local").follows == ()
    assert popovers(at)[0] == "Follow"


def test_follow_the_trends_view_as_a_signed_in_user(subscriptions, tmp_path, monkeypatch):
    policy = tmp_path / "access.toml"
    policy.write_text(
        '[groups.all]\nharm_areas = "all"\nplaces = "all"\n[[members]]\ndomain = "example.com"\ngroups = ["all"]\n'
    )
    monkeypatch.setenv("HARM_INSIGHTS_ACCESS", str(policy))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": True, "email": "bo@example.com"}
    at.query_params.update({"harm_area": "self_harm", "country": "BR"})
    at = at.switch_page("pages/trends_page.py").run()
    assert not at.exception and popovers(at) == ["Follow"]
    at = click(at, "Follow")
    mine = load_subscriptions(subscriptions).get("bo@example.com")
    assert mine is not None and mine.channels.email == "bo@example.com"
    assert mine.following(slice_key({"harm_area": "self_harm", "country": "BR"})) is not None
