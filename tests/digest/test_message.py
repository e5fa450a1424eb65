"""A digest rendered for email, Slack and JSON: structure, inline charts, and that no data text becomes markup."""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import json
import re
from dataclasses import replace
from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

from insights.digest.email_message import email_message, html_body, plain_text
from insights.digest.message import Digest, Section, webhook_body, webhook_payload
from insights.digest.slack_blocks import HEADER_LIMIT, MAX_BLOCKS, TEXT_LIMIT, mrkdwn_escape, slack_payload
from tests.digest.helpers import HOSTILE, PERIOD, png, sample_digest

ZWSP = "\u200b"


class Markup(HTMLParser):
    """The tags of an HTML document (with their attribute names) and its text, entities decoded."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, tuple[str, ...]]] = []
        self.links: list[str] = []
        self.sources: list[str] = []
        self.alts: list[str] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, tuple(name for name, _ in attrs)))
        values = dict(attrs)
        if tag == "a":
            self.links.append(values["href"])
        if tag == "img":
            self.sources.append(values["src"])
            self.alts.append(values["alt"])

    def handle_data(self, data):
        self.text.append(data)


def parsed(digest: Digest) -> email.message.EmailMessage:
    raw = email_message(digest, sender="Harm Insights <digest@example.org>", to="ana@example.org").as_bytes()
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_the_email_is_text_plus_html_with_the_charts_inline_by_content_id():
    digest = sample_digest()
    message = parsed(digest)
    assert message.get_content_type() == "multipart/alternative"
    text_part, related = message.get_payload()
    assert text_part.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html_part, *images = related.get_payload()
    assert html_part.get_content_type() == "text/html"
    assert [i.get_content_type() for i in images] == ["image/png", "image/png"]
    markup = Markup(html_part.get_content())
    cids = [i["Content-ID"].strip("<>") for i in images]
    assert markup.sources == [f"cid:{cid}" for cid in cids]  # each chart shown where its section is
    assert [i.get_content() for i in images] == [s.chart_png for s in digest.sections]
    assert all(i.get_content_disposition() == "inline" for i in images)
    plain = text_part.get_content()
    for line in (
        "Actions 12,345 (+18.2% vs previous week)",
        "Terrorist content, video: +1,200",
        "12 Nov: classifier v7",
    ):
        assert line in plain and line in "".join(markup.text)
    assert "Chart (in the HTML version): Weekly actions, last 12 weeks" in plain
    assert message["Subject"] == digest.title
    assert message["X-Harm-Insights-Digest"].strip() == digest.content_hash  # (folded after the colon)


def test_a_quiet_week_without_charts_is_a_plain_alternative():
    quiet = Digest("ana", "Ana", PERIOD, "Quiet week", quiet="Nothing you follow changed notably.")
    message = parsed(quiet)
    text_part, html_part = message.get_payload()
    assert (text_part.get_content_type(), html_part.get_content_type()) == ("text/plain", "text/html")
    assert "Nothing you follow changed notably." in text_part.get_content()
    assert quiet.is_quiet


def test_hostile_data_in_every_text_reads_literally_and_adds_no_markup():
    benign, hostile = sample_digest(), sample_digest(texts=HOSTILE)
    charts = {0: "cid:chart-1@example.org", 1: "cid:chart-2@example.org"}
    clean, dirty = Markup(html_body(benign, charts)), Markup(html_body(hostile, charts))
    assert len(clean.alts) == 2
    assert dirty.tags == clean.tags  # the same elements and attributes: data made none
    assert dirty.links == clean.links  # and only the digest's own links
    text = "".join(dirty.text) + " ".join(dirty.alts)
    for hostile_text in HOSTILE:
        assert hostile_text.split("\n")[0] in text


def test_hostile_data_does_not_escape_into_email_headers():
    digest = replace(sample_digest(), title="Weekly digest\r\nBcc: everyone@example.org")
    message = parsed(digest)
    assert message["Bcc"] is None
    assert message["Subject"] == "Weekly digest Bcc: everyone@example.org"


def test_the_html_email_with_hostile_data_passes_through_smtp_bytes_unchanged():
    message = parsed(sample_digest(texts=HOSTILE))
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html


# ---------------------------------------------------------------------------------------------
# Slack


def text_objects(payload: dict) -> list[dict]:
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text") and "text" in node:
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(payload["blocks"])
    return found


def unfenced_markers(text: str) -> list[int]:
    """Positions of * _ ~ ` that are not fenced by zero-width spaces (so Slack could format with them)."""
    return [
        i for i, c in enumerate(text) if c in "*_~`" and not (text[i - 1 : i] == ZWSP and text[i + 1 : i + 2] == ZWSP)
    ]


def unescape(text: str) -> str:
    return text.replace(ZWSP, "").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def test_slack_payload_layout():
    digest = sample_digest()
    payload = slack_payload(digest)
    kinds = [b["type"] for b in payload["blocks"]]
    assert kinds[:3] == ["header", "context", "section"]
    assert kinds.count("divider") == 2 and kinds[-1] == "actions"
    assert payload["blocks"][0]["text"] == {"type": "plain_text", "text": digest.title, "emoji": False}
    urls = [e["url"] for b in payload["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert urls == [digest.sections[0].link, digest.link]
    notes = " ".join(t["text"] for t in text_objects(payload))
    assert "Slack incoming webhooks cannot carry images" in notes  # charts are said to be elsewhere
    assert "image" not in kinds
    json.dumps(payload)  # JSON-serialisable as sent


def test_hostile_data_in_slack_makes_no_links_mentions_or_formatting():
    digest = sample_digest(texts=HOSTILE)
    payload = slack_payload(digest)
    for obj in text_objects(payload):
        if obj["type"] == "plain_text":
            continue  # Slack does not parse plain_text at all
        text = obj["text"]
        assert obj["verbatim"] is True
        assert "<" not in text and ">" not in text, text  # no <url|text>, <!channel>, <@user>
        assert "://" not in text, text  # no bare URL to auto-link
        first_line = text.split("\n")[0]
        own_bold = {0, first_line.rfind("*")} if first_line.startswith("*") else set()
        assert set(unfenced_markers(text)) <= own_bold, text
    everything = unescape(" ".join(o["text"] for o in text_objects(payload)))
    for hostile_text in HOSTILE:
        assert hostile_text.split("\n")[0] in everything  # still reads the same
    urls = [e["url"] for b in payload["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert all(u.startswith("https://insights.example.org/") for u in urls)


@given(st.text())
def test_mrkdwn_escape_is_inert_and_reversible(text):
    escaped = mrkdwn_escape(text)
    assert "<" not in escaped and ">" not in escaped and "://" not in escaped
    assert unfenced_markers(escaped) == []
    assert re.search(r"&(?!amp;|lt;|gt;)", escaped) is None
    assert unescape(escaped) == text.replace(ZWSP, "")


def test_slack_limits_are_kept_without_cutting_an_escape_in_half():
    many = tuple(
        Section(
            title=f"Slice {n} " + "&" * 600, numbers=tuple("<&>" * 40 for _ in range(100)), link="https://x.example/"
        )
        for n in range(40)
    )
    digest = Digest("ana", "Ana", PERIOD, "T" * 400, sections=many, link="https://x.example/")
    payload = slack_payload(digest)
    blocks = payload["blocks"]
    assert len(blocks) <= MAX_BLOCKS
    assert len(blocks[0]["text"]["text"]) <= HEADER_LIMIT
    assert any("more changed slices in the email and the app" in o["text"] for o in text_objects(payload))
    for obj in text_objects(payload):
        assert len(obj["text"]) <= TEXT_LIMIT
        assert re.search(r"&(?!amp;|lt;|gt;)", obj["text"]) is None
    first = blocks[2]["text"]["text"]
    assert "more in the email and the app" in first  # numbers beyond the section's room are counted, not lost


# ---------------------------------------------------------------------------------------------
# JSON webhook


def test_webhook_payload_follows_the_documented_schema():
    digest = sample_digest()
    payload = json.loads(webhook_body(digest))
    assert payload == webhook_payload(digest)
    assert (payload["schema"], payload["version"]) == ("harm-insights.digest", 1)
    assert payload["period"] == {"start": "2026-11-16", "end": "2026-11-22", "label": PERIOD.label()}
    assert payload["subscriber"] == {"id": "ana", "name": "Ana Lima"}
    chart = payload["sections"][0]["chart"]
    assert base64.b64decode(chart["base64"]) == digest.sections[0].chart_png
    assert chart["sha256"] == hashlib.sha256(digest.sections[0].chart_png).hexdigest()
    assert payload["digest_hash"] == digest.content_hash
    assert "base64" not in webhook_payload(digest, include_charts=False)["sections"][0]["chart"]


def test_the_content_hash_follows_the_content_charts_included():
    digest = sample_digest()
    assert sample_digest().content_hash == digest.content_hash  # same content, same hash
    changed_number = replace(
        digest, sections=(replace(digest.sections[0], numbers=("Actions 12,346",)), digest.sections[1])
    )
    changed_chart = replace(digest, sections=(replace(digest.sections[0], chart_png=png(5, 3)), digest.sections[1]))
    assert len({digest.content_hash, changed_number.content_hash, changed_chart.content_hash}) == 3


def test_a_digest_refuses_what_it_cannot_present_safely():
    with pytest.raises(ValueError, match="PNG"):
        Section("x", chart_png=b"GIF89a...")
    with pytest.raises(ValueError, match="http"):
        Section("x", link="javascript:alert(1)")
    with pytest.raises(ValueError, match="http"):
        Digest("ana", "Ana", PERIOD, "t", link="data:text/html,<script>")
    with pytest.raises(TypeError, match="sequence of lines"):
        Section("x", numbers="one string")


def test_plain_text_carries_every_line():
    digest = sample_digest()
    text = plain_text(digest)
    for section in digest.sections:
        for line in (section.title, *section.numbers, *section.contributors, *section.events):
            assert line in text
    assert digest.unchanged in text and digest.link in text
