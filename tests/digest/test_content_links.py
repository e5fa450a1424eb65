"""A digest's links open the app on the very numbers the digest printed (AppTest, in-process)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from streamlit.testing.v1 import AppTest

from insights.digest.content import DigestBuilder, default_follow
from insights.digest.subscriptions import Channels, Subscription
from insights.periods import Period

ROOT = Path(__file__).resolve().parents[2]
SPIKE = Period(dt.date(2026, 6, 15), dt.date(2026, 6, 21))
CORE = ("violent_extremism", "hateful_behavior", "self_harm", "human_exploitation")


def opened(link: str, page: str, sample_dir: Path, monkeypatch) -> AppTest:
    monkeypatch.setenv("HARM_INSIGHTS_SOURCE", str(sample_dir))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.query_params.update(parse_qs(urlsplit(link).query))
    at = app.switch_page(f"pages/{page}_page.py").run()
    assert not at.exception, at.exception
    return at


def test_the_links_open_the_root_cause_and_overview_on_the_digests_numbers(sample_cube, sample_dir, monkeypatch):
    follows = tuple(default_follow({"harm_area": area}) for area in CORE)
    ana = Subscription("ana", "Ana", "0 7 * * MON", Channels(email="ana@example.org"), follows)
    digest = DigestBuilder(lambda _: sample_cube, charts=False)(ana, SPIKE)
    [section] = digest.sections
    assert section.numbers[0].startswith("Actions: 1,050 against 741 the week before (+41.7%)")

    root_cause = opened(section.link, "root_cause", sample_dir, monkeypatch)
    cards = {m.label: m.value for m in root_cause.metric}
    assert (cards["Baseline"], cards["Current"]) == ("741", "1,050")
    assert root_cause.selectbox(key="p_metric").value == "actions"

    overview = opened(digest.link, "overview", sample_dir, monkeypatch)
    actions = [m.value for m in overview.metric if m.label == "Actions"]
    assert actions[CORE.index("self_harm")] == "1,050"
