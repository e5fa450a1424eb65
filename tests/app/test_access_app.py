"""Sign-in and scopes on every page, in-process with AppTest's signed-in user: nothing renders before
sign-in, an unknown account sees nothing, and a scoped user sees only their cells whatever the URL
asks for; server sources are an admin's; without sign-in configured the app says it is in local
mode."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from insights.labels import label
from tests.app.drawn import drawn
from tests.app.test_app import PAGES
from tests.conftest import ROOT

POLICY = """
[groups.extremism_europe]
harm_areas = ["violent_extremism"]
regions = ["Europe"]

[groups.admins]
harm_areas = "all"
places = "all"
export = true
admin = true

[[members]]
email = "ana@example.com"
groups = ["extremism_europe"]

[[members]]
claim = { name = "groups", value = "ts-admins" }
groups = ["admins"]
"""
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a-test-secret-of-at-least-32-characters",
    "client_id": "harm-insights",
    "client_secret": "secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}


@pytest.fixture()
def signed(sample_dir, monkeypatch, tmp_path):
    """An AppTest factory: the app with sign-in configured, as the given user (None: signed out)."""
    policy = tmp_path / "access.toml"
    policy.write_text(POLICY)
    monkeypatch.setenv("HARM_INSIGHTS_SOURCE", str(sample_dir))
    monkeypatch.setenv("HARM_INSIGHTS_ACCESS", str(policy))

    def app(user: dict | None, page: str = "overview", **query: object) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.secrets["auth"] = AUTH
        if user is not None:
            at.user = {"is_logged_in": True, **user}
        at.query_params.update(query)
        return at.switch_page(f"pages/{page}_page.py").run()

    return app


def everything_shown(at: AppTest) -> str:
    """Every text the page put on screen, chart specs included."""
    parts = [
        str(getattr(e, "value", ""))
        for kind in ("markdown", "caption", "metric", "title", "info")
        for e in at.get(kind)
    ]
    parts += [m.label for m in at.metric]
    parts += [json.dumps(figure) for figure in drawn(at)]
    parts += [json.dumps(ms.options) for ms in at.sidebar.multiselect]
    parts += [str(df.value) for df in at.dataframe]
    return "\n".join(parts)


@pytest.mark.parametrize("page", PAGES)
def test_nothing_renders_before_sign_in(signed, page):
    at = signed(None, page, harm_area="self_harm")
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    assert not drawn(at) and not at.metric and not at.sidebar.multiselect and not at.dataframe


def test_an_account_no_rule_names_sees_nothing(signed):
    at = signed({"email": "mallory@elsewhere.org"})
    assert not at.exception
    assert "not granted access" in at.warning[0].value
    assert not drawn(at) and not at.metric and not at.sidebar.multiselect


@pytest.mark.parametrize("page", PAGES)
def test_a_scoped_user_sees_only_their_cells_whatever_the_url_asks(signed, sample_cube, page):
    at = signed({"email": "ana@example.com"}, page, harm_area=["self_harm", "violent_extremism"], country="BR")
    assert not at.exception, at.exception
    text = everything_shown(at)
    others = [label("harm_area", h) for h in sample_cube.values("harm_area") if h != "violent_extremism"]
    assert not [o for o in others if o in text]
    assert "Brazil" not in text and "United States" not in text
    if page != "data":
        assert at.multiselect(key="f_harm_area").options == ["Violent extremism"]
        assert at.multiselect(key="f_region").options == ["Europe"]
    assert not list(at.get("download_button")), "no export right, no downloads"


def test_server_sources_are_an_admins(signed):
    user = signed({"email": "ana@example.com"}, "data")
    assert user.radio[0].options == ["Bundled sample", "Upload a file"]
    assert "Rows read" not in [m.label for m in user.metric]
    admin = signed({"email": "root@example.org", "groups": ["ts-admins"]}, "data")
    assert admin.radio[0].options == ["Bundled sample", "Upload a file", "Path on the server", "SQL database"]
    assert "Rows read" in [m.label for m in admin.metric]


def test_without_sign_in_the_app_says_it_is_in_local_mode(sample_dir, monkeypatch):
    monkeypatch.setenv("HARM_INSIGHTS_SOURCE", str(sample_dir))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert any("Local mode" in c.value for c in at.sidebar.caption)


def test_an_admins_server_path_loads_only_under_the_data_roots(signed, sample_dir, monkeypatch, tmp_path):
    """The Data page's typed path goes through the confinement: disabled without data roots,
    refused outside them (without saying whether it exists), loaded inside them."""
    admin_user = {"email": "root@example.org", "groups": ["ts-admins"]}

    def load_typed(path: str) -> AppTest:
        at = signed(admin_user, "data")
        at.radio[0].set_value("Path on the server").run()
        at.text_input[0].set_value(path).run()
        at.button[0].click().run()
        return at

    monkeypatch.delenv("HARM_INSIGHTS_DATA_ROOTS", raising=False)
    disabled = load_typed(str(sample_dir))
    assert any("HARM_INSIGHTS_DATA_ROOTS" in e.value for e in disabled.error), [e.value for e in disabled.error]

    monkeypatch.setenv("HARM_INSIGHTS_DATA_ROOTS", str(sample_dir.parent))
    outside = load_typed("/etc/passwd")
    assert outside.error and not outside.exception
    assert all("root:" not in e.value for e in outside.error)
    inside = load_typed(str(sample_dir))
    assert not inside.error and not inside.exception, [e.value for e in inside.error]
    assert "Rows read" in [m.label for m in inside.metric]
