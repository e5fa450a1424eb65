"""The digest and schedule commands end to end: subscriptions file → due digests → real SMTP / HTTP servers.

The scheduler runs on a clock that its own sleeps advance (no wall-clock waiting); SIGTERM is
tested on a real subprocess.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import itertools
import json
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

from insights.digest.cli import digest_command, schedule_command
from insights.digest.delivery import DeliverySettings, RetryPolicy, SmtpSettings
from insights.digest.delivery_log import DeliveryKey, DeliveryLog
from insights.digest.outline import outline_digest
from insights.digest.schedule import Scheduler
from insights.digest.subscriptions import load_subscriptions
from insights.periods import Period
from tests.digest.helpers import HttpReceiver, free_port, smtp_server

ROOT = Path(__file__).resolve().parents[2]
WEEK = Period(dt.date(2026, 11, 16), dt.date(2026, 11, 22))


def subscriber(ident: str, cadence: str, channels: dict[str, str], timezone: str = "UTC") -> str:
    lines = [
        "[[subscriber]]",
        f'id = "{ident}"',
        f'name = "{ident.title()}"',
        f'cadence = "{cadence}"',
        f'timezone = "{timezone}"',
        "[subscriber.channels]",
        *(f'{key} = "{value}"' for key, value in channels.items()),
        "[[subscriber.follow]]",
        f'label = "{ident} follows violent extremism"',
        'filters = { harm_area = "violent_extremism" }',
        'metrics = [{ metric = "actions", direction = "up", min_change_pct = 10 }]',
        "",
    ]
    return "\n".join(lines)


def write_subscriptions(path: Path, *entries: str) -> Path:
    path.write_text("version = 1\n\n" + "\n".join(entries))
    return path


def smtp_env(port: int) -> dict[str, str]:
    return {
        "HARM_INSIGHTS_SMTP_HOST": "127.0.0.1",
        "HARM_INSIGHTS_SMTP_PORT": str(port),
        "HARM_INSIGHTS_SMTP_SENDER": "digest@example.org",
        "HARM_INSIGHTS_SMTP_TIMEOUT": "5",
    }


def run_digest(*argv: str, **options) -> tuple[int, str]:
    out = io.StringIO()
    status = digest_command(list(argv), stdout=out, **options)
    return status, out.getvalue()


# ---------------------------------------------------------------------------------------------
# harm-insights digest


def test_a_dry_run_writes_what_each_channel_would_get_and_sends_nothing(tmp_path):
    subs = write_subscriptions(
        tmp_path / "subs.toml",
        subscriber("ana@example.org", "0 7 * * MON", {"email": "ana@example.org", "webhook": "https://h.example/x"}),
        subscriber("bo", "0 7 1 * *", {"email": "bo@example.org"}),
    )
    status, printed = run_digest(
        "--subscriptions",
        str(subs),
        "--as-of",
        "2026-11-23",
        "--dry-run",
        "--out",
        str(tmp_path / "out"),
        "--render",
        "insights.digest.outline:outline_digest",
    )
    assert status == 0, printed
    assert "1 digest(s) due on 2026-11-23" in printed and "dry run: nothing sent" in printed
    folder = tmp_path / "out" / "2026-11-16_2026-11-22" / "ana@example.org"
    assert sorted(p.name for p in folder.iterdir()) == [
        "email.eml",
        "email.html",
        "email.txt",
        "slack.json",
        "webhook.json",
    ]
    message = email.message_from_bytes((folder / "email.eml").read_bytes(), policy=email.policy.default)
    assert message["To"] == "ana@example.org" and message.get_content_type() == "multipart/alternative"
    webhook = json.loads((folder / "webhook.json").read_text())
    assert (
        webhook["period"]["start"] == "2026-11-16"
        and webhook["sections"][0]["title"] == "ana@example.org follows violent extremism"
    )
    assert json.loads((folder / "slack.json").read_text())["blocks"][0]["type"] == "header"
    assert not (tmp_path / "deliveries.sqlite3").exists()  # a dry run leaves no trace in the log


def test_without_its_data_source_the_content_builder_exits_2_naming_it(tmp_path, capsys):
    subs = write_subscriptions(tmp_path / "subs.toml", subscriber("ana", "0 7 * * MON", {"email": "ana@example.org"}))
    missing = tmp_path / "no-such-data"
    assert digest_command(["--subscriptions", str(subs), "--send", "--source", str(missing)]) == 2
    assert f"no data source: {missing} does not exist" in capsys.readouterr().err
    assert schedule_command(["--subscriptions", str(subs)], environ={"HARM_INSIGHTS_SOURCE": str(missing)}) == 2
    assert "no data source" in capsys.readouterr().err


def test_unusable_input_exits_2_naming_the_problem(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('version = 1\n[[subscriber]]\nid = "ana"\ncadence = "0 * * * *"\n')
    assert digest_command(["--subscriptions", str(bad)]) == 2
    assert "bad.toml: subscriber #1 ('ana')" in capsys.readouterr().err
    assert digest_command(["--subscriptions", str(bad), "--send", "--render", "no.such.module:render"]) == 2
    assert "cannot import it" in capsys.readouterr().err
    assert digest_command([], environ={}) == 2
    assert "pass --subscriptions FILE" in capsys.readouterr().err


def test_send_delivers_each_channel_once_per_period(tmp_path):
    with smtp_server() as (inbox, port), HttpReceiver() as hook, HttpReceiver() as slack:
        subs = write_subscriptions(
            tmp_path / "subs.toml",
            subscriber(
                "ana",
                "0 7 * * MON",
                {"email": "ana@example.org", "slack_webhook": slack.url("/services/T/B/X"), "webhook": hook.url()},
            ),
        )
        argv = [
            "--subscriptions",
            str(subs),
            "--as-of",
            "2026-11-23",
            "--send",
            "--render",
            "insights.digest.outline:outline_digest",
        ]
        first, printed_first = run_digest(*argv, environ=smtp_env(port))
        second, printed_second = run_digest(*argv, environ=smtp_env(port))
    assert (first, second) == (0, 0), printed_first + printed_second
    assert len(inbox.messages) == len(hook.requests) == len(slack.requests) == 1
    assert printed_first.count("delivered") == 3
    assert printed_second.count("already delivered") == 3 and "delivered ana" not in printed_second
    assert {r.status for r in DeliveryLog(tmp_path / "deliveries.sqlite3").records()} == {"delivered"}


def test_a_failed_channel_exits_1_and_only_it_is_retried_by_the_next_run(tmp_path):
    calls = []

    def render(subscription, period):
        calls.append(subscription.id)
        return outline_digest(subscription, period)

    with smtp_server() as (inbox, port), HttpReceiver(script=[(500, "down", {})] * 2) as hook:
        subs = write_subscriptions(
            tmp_path / "subs.toml",
            subscriber("ana", "0 7 * * MON", {"email": "ana@example.org", "webhook": hook.url()}),
        )
        argv = [
            "--subscriptions",
            str(subs),
            "--as-of",
            "2026-11-23",
            "--send",
            "--attempts",
            "2",
            "--retry-delay",
            "0.001",
        ]
        first, printed_first = run_digest(*argv, environ=smtp_env(port), render=render)
        second, printed_second = run_digest(*argv, environ=smtp_env(port), render=render)
        third, _ = run_digest(*argv, environ=smtp_env(port), render=render)
    assert (first, second, third) == (1, 0, 0)
    assert "failed    ana via webhook" in printed_first and "HTTP 500: down" in printed_first
    assert "delivered ana via webhook" in printed_second and "skipped   ana via email" in printed_second
    assert len(inbox.messages) == 1 and len(hook.requests) == 3
    assert calls == ["ana", "ana"]  # the third run had nothing left to send: the digest was not rebuilt
    record = DeliveryLog(tmp_path / "deliveries.sqlite3").get(DeliveryKey("ana", "webhook", WEEK))
    assert (record.status, record.attempts) == ("delivered", 3)


def test_a_content_builder_that_fails_for_one_subscriber_does_not_stop_the_others(tmp_path):
    def render(subscription, period):
        if subscription.id == "bo":
            raise RuntimeError("cube unavailable")
        return outline_digest(subscription, period)

    with smtp_server() as (inbox, port):
        subs = write_subscriptions(
            tmp_path / "subs.toml",
            subscriber("bo", "0 7 * * MON", {"email": "bo@example.org"}),
            subscriber("ana", "0 7 * * MON", {"email": "ana@example.org"}),
        )
        argv = ["--subscriptions", str(subs), "--as-of", "2026-11-23", "--send"]
        first, printed = run_digest(*argv, environ=smtp_env(port), render=render)
        second, _ = run_digest(*argv, environ=smtp_env(port), render=outline_digest)
    assert first == 1 and "building the digest failed: RuntimeError: cube unavailable" in printed
    assert second == 0
    assert sorted(m.rcpt_tos[0] for m in inbox.messages) == ["ana@example.org", "bo@example.org"]


# ---------------------------------------------------------------------------------------------
# The scheduler


class SteppedClock:
    """A clock that only moves when the scheduler sleeps; ``events`` run when it passes their times."""

    def __init__(self, start: dt.datetime, end: dt.datetime, events: dict[dt.datetime, object] | None = None) -> None:
        self.now, self.end = start, end
        self.wakes: list[dt.datetime] = []
        self.events = dict(sorted((events or {}).items()))

    def __call__(self) -> dt.datetime:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.now += dt.timedelta(seconds=seconds)
        self.wakes.append(self.now)
        for at in [t for t in self.events if t <= self.now]:
            self.events.pop(at)()
        return self.now >= self.end  # True: stop


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def test_the_scheduler_wakes_at_each_tick_sends_once_and_picks_up_file_edits(tmp_path, caplog):
    path = tmp_path / "subs.toml"
    ana = subscriber("ana", "0 7 * * MON", {"email": "ana@example.org"}, timezone="Europe/Berlin")  # 06:00 UTC
    bo = subscriber("bo", "30 8 * * MON", {"email": "bo@example.org"})
    write_subscriptions(path, ana)
    with smtp_server() as (inbox, port):
        clock = SteppedClock(
            utc("2026-11-22T23:02"),
            utc("2026-11-23T10:00"),
            events={
                utc("2026-11-23T07:10"): lambda: path.write_text("version = 1\n[[subscriber]]\nid = 'half an edit"),
                utc("2026-11-23T08:00"): lambda: write_subscriptions(path, ana, bo),  # a Follow click adds bo
            },
        )
        scheduler = Scheduler(
            lambda: load_subscriptions(path),
            outline_digest,
            settings=DeliverySettings(SmtpSettings("127.0.0.1", port, "digest@example.org", timeout=5)),
            delivery_log=DeliveryLog(tmp_path / "log.sqlite3"),
            policy=RetryPolicy(attempts=2, base_delay=0),
            clock=clock,
            wait=clock.wait,
        )
        scheduler.run()
    assert utc("2026-11-23T06:00") in clock.wakes and utc("2026-11-23T08:30") in clock.wakes  # woke at the ticks
    assert max(b - a for a, b in itertools.pairwise(clock.wakes)) <= dt.timedelta(minutes=5)  # polls between
    assert [m.rcpt_tos for m in inbox.messages] == [["ana@example.org"], ["bo@example.org"]]  # each once
    assert "subs.toml: not valid TOML" in caplog.text and "still using the subscriptions read before" in caplog.text


def test_the_scheduler_retries_a_failed_delivery_on_a_later_wake_up(tmp_path):
    port = free_port()
    path = write_subscriptions(
        tmp_path / "subs.toml", subscriber("ana", "0 6 * * MON", {"webhook": f"http://127.0.0.1:{port}/hook"})
    )
    receivers: list[HttpReceiver] = []
    clock = SteppedClock(
        utc("2026-11-23T05:58"),
        utc("2026-11-23T07:00"),
        events={utc("2026-11-23T06:10"): lambda: receivers.append(HttpReceiver(port).__enter__())},  # back up
    )
    scheduler = Scheduler(
        lambda: load_subscriptions(path),
        outline_digest,
        settings=DeliverySettings(http_timeout=5),
        delivery_log=DeliveryLog(tmp_path / "log.sqlite3"),
        policy=RetryPolicy(attempts=2, base_delay=1),
        retry_failed_after=dt.timedelta(minutes=15),
        clock=clock,
        wait=clock.wait,
    )
    try:
        scheduler.run()
    finally:
        for receiver in receivers:
            receiver.__exit__(None, None, None)
    [hook] = receivers
    assert len(hook.requests) == 1  # once, although the scheduler woke many times after
    record = scheduler.delivery_log.get(DeliveryKey("ana", "webhook", WEEK))
    assert record.status == "delivered" and record.attempts == 3
    assert record.delivered_at >= utc("2026-11-23T06:15")  # not before the pause after the failure


def test_schedule_stops_cleanly_on_sigterm(tmp_path):
    subs = write_subscriptions(tmp_path / "subs.toml", subscriber("ana", "0 7 1 1 *", {"email": "ana@example.org"}))
    code = "import sys; from insights.digest.cli import schedule_command; sys.exit(schedule_command(sys.argv[1:]))"
    argv = ["--subscriptions", str(subs), "--render", "insights.digest.outline:outline_digest"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-c", code, *argv],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready, _, _ = select.select([process.stdout], [], [], 60)
        assert ready, "the scheduler did not start"
        assert process.stdout.readline().startswith("scheduler started: 1 subscriber(s); next tick 20")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        assert "scheduler stopped" in process.stdout.read()
        assert "digest scheduler stopped" in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
