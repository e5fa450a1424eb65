"""The real content through the real protocols: a Follow written to the file, ``harm-insights digest --send``,
an SMTP server (aiosmtpd) and webhook receivers on 127.0.0.1, the messages parsed back."""

from __future__ import annotations

import email
import email.policy
import io
import json
from pathlib import Path

from PIL import Image

from insights.digest.cli import digest_command
from insights.digest.content import default_follow
from insights.digest.subscriptions import add_follow
from tests.digest.helpers import HttpReceiver, smtp_server

ROOT = Path(__file__).resolve().parents[2]
BASE_URL = "https://insights.example.org"


def test_a_followed_story_arrives_by_email_slack_and_webhook_with_its_numbers_and_chart(tmp_path, sample_dir):
    subs = tmp_path / "subs.toml"
    for area in ("violent_extremism", "self_harm"):  # what the Follow button writes for the local user
        add_follow(subs, default_follow({"harm_area": area}), subscriber_id="ana", name="Ana", email="ana@example.org")
    with smtp_server() as (inbox, port), HttpReceiver() as hook, HttpReceiver() as slack:
        text = subs.read_text().replace(
            "[subscriber.channels]\n",
            f'[subscriber.channels]\nslack_webhook = "{slack.url("/services/T/B/X")}"\nwebhook = "{hook.url()}"\n',
        )
        subs.write_text(text)
        argv = [
            "--subscriptions", str(subs), "--as-of", "2026-06-22", "--send",
            "--source", str(sample_dir), "--events", str(ROOT / "sample_data" / "events.csv"),
            "--base-url", BASE_URL, "--out", str(tmp_path / "out"),
        ]  # fmt: skip
        env = {
            "HARM_INSIGHTS_SMTP_HOST": "127.0.0.1",
            "HARM_INSIGHTS_SMTP_PORT": str(port),
            "HARM_INSIGHTS_SMTP_SENDER": "digest@example.org",
        }
        out = io.StringIO()
        assert digest_command(argv, environ=env, stdout=out) == 0, out.getvalue()
        again = io.StringIO()
        assert digest_command(argv, environ=env, stdout=again) == 0
    assert again.getvalue().count("already delivered") == 3  # never twice for a period

    [envelope] = inbox.messages
    message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert message["Subject"] == "Harm Insights, week of 2026-06-15 – 2026-06-21: 1 change"
    plain = message.get_body(preferencelist=("plain",)).get_content()
    assert "Actions: 1,050 against 741 the week before (+41.7%)" in plain
    assert "No change beyond the usual variation in Violent extremism." in plain
    html = message.get_body(preferencelist=("html",)).get_content()
    [chart] = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert f'src="cid:{chart["Content-ID"].strip("<>")}"' in html
    assert Image.open(io.BytesIO(chart.get_content())).size == (1200, 720)
    assert f'href="{BASE_URL}/root_cause?harm_area=self_harm&amp;grain=week' in html

    [posted] = hook.requests
    payload = posted.json()
    [section] = payload["sections"]
    assert section["title"] == "Mental health / self-harm" and section["numbers"][0] in plain
    assert section["chart"]["media_type"] == "image/png" and section["link"].startswith(f"{BASE_URL}/root_cause?")
    blocks = json.dumps(slack.requests[0].json())
    assert "1,050 against 741" in blocks and "What explains it" in blocks
    written = tmp_path / "out" / "2026-06-15_2026-06-21" / "ana"
    assert (written / "chart-1.png").read_bytes() == chart.get_content()
