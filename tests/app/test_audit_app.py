"""The app writes the audit log: a sign-in once per session, each distinct view with its filters,
refusals, downloads when they are made; the admin page lists and verifies it, and is refused to
everyone else (which is recorded too)."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from insights.access import Scope
from insights.audit import AuditLog
from pages.common import audited
from tests.app.drawn import drawn
from tests.app.test_access_app import AUTH, POLICY
from tests.conftest import ROOT


@pytest.fixture()
def log(tmp_path, monkeypatch, sample_dir):
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    monkeypatch.setenv("HARM_INSIGHTS_AUDIT_URL", url)
    monkeypatch.setenv("HARM_INSIGHTS_SOURCE", str(sample_dir))
    policy = tmp_path / "access.toml"
    policy.write_text(POLICY)
    monkeypatch.setenv("HARM_INSIGHTS_ACCESS", str(policy))
    from pages.signin import audit_log

    audit_log.clear()  # the app keeps one log per process: open the one of this test
    yield AuditLog(url)
    audit_log.clear()


def app_as(user: dict, page: str = "overview") -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": True, **user}
    return at.switch_page(f"pages/{page}_page.py").run()


def test_sign_in_and_each_distinct_view_are_recorded_once(log):
    at = app_as({"email": "ana@example.com"})
    at.run()  # a rerun with the same view adds nothing
    at.multiselect(key="f_country").set_value(["DE"]).run()
    records = log.records()
    assert records["action"].to_list() == ["sign_in", "page_view", "page_view"]
    assert set(records["who"]) == {"ana@example.com"}
    views = [json.loads(w)["view"] for w in records.filter(records["action"] == "page_view")["what"]]
    assert views[1]["country"] == ["DE"] and "country" not in views[0]
    assert log.verify().ok


def test_a_refused_account_is_recorded_as_denied(log):
    app_as({"email": "mallory@elsewhere.org"})
    records = log.records()
    assert records.select("who", "action", "outcome").rows() == [("mallory@elsewhere.org", "sign_in", "denied")]


def test_a_download_is_recorded_when_it_is_made(log):
    scope = Scope.local()
    make = audited(scope, "export", {"chart": "Actions", "format": "csv"}, lambda: b"a,b\n")
    assert log.records().is_empty(), "nothing is recorded before the download is asked for"
    assert make() == b"a,b\n"
    assert log.records().select("who", "action").rows() == [("local", "export")]


def test_the_audit_page_is_an_admins_and_verifies_the_chain(log):
    admin = app_as({"email": "root@example.org", "groups": ["ts-admins"]}, "audit")
    assert not admin.exception and admin.title[0].value == "Audit log"
    next(b for b in admin.button if b.label == "Verify the chain").click()
    admin.run()
    assert "Intact" in admin.success[0].value
    assert "audit_verify" in log.records()["action"].to_list()

    user = app_as({"email": "ana@example.com"}, "audit")
    assert not drawn(user) and not user.dataframe
    assert ("ana@example.com", "denied") in log.records().select("who", "outcome").rows()
