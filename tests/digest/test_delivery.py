"""Delivery through real protocols on 127.0.0.1: SMTP (aiosmtpd), Slack and generic webhooks (http.server).

Retries are observed through the sleeps the retry loop asks for (recorded, not slept), never
through the wall clock.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import random
import ssl
from dataclasses import replace

import pytest
import trustme
from aiosmtpd.smtp import AuthResult
from hypothesis import given
from hypothesis import strategies as st

from insights.digest.delivery import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    EmailChannel,
    RetryPolicy,
    SlackChannel,
    SmtpSettings,
    WebhookChannel,
    deliver,
    verify_signature,
)
from insights.digest.delivery_log import DeliveryKey, DeliveryLog
from insights.digest.subscriptions import Channels, Subscription
from tests.digest.helpers import PERIOD, HttpReceiver, SmtpInbox, free_port, sample_digest, smtp_server

ANA = Subscription("ana", "Ana", "0 7 * * MON", Channels(email="ana@example.org"))
FAST = RetryPolicy(attempts=3, base_delay=0.5, max_delay=10, jitter=0.5)
SLACK_PATH = "/services/T000/B000/SECRETTOKEN"


@pytest.fixture
def delivery_log(tmp_path) -> DeliveryLog:
    return DeliveryLog(tmp_path / "deliveries.sqlite3")


def smtp(port: int, **options) -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=port, sender="Harm Insights <digest@example.org>", timeout=5, **options)


def send(channel, delivery_log, digest=None, sleeps=None, policy=FAST, **options):
    """Deliver the sample digest on one channel, recording the back-off sleeps instead of sleeping."""
    sleeps = [] if sleeps is None else sleeps
    [result] = deliver(
        digest or sample_digest(),
        ANA,
        PERIOD,
        [channel],
        delivery_log,
        policy=policy,
        sleep=sleeps.append,
        rng=random.Random(7),
        **options,
    )
    return result


def expected_sleeps(policy: RetryPolicy, count: int) -> list[float]:
    rng = random.Random(7)
    return [policy.delay(n, rng) for n in range(1, count + 1)]


# ---------------------------------------------------------------------------------------------
# Email


def test_an_email_digest_arrives_with_text_html_and_inline_charts(delivery_log):
    with smtp_server() as (inbox, port):
        result = send(EmailChannel("ana@example.org", smtp(port)), delivery_log)
    assert (result.status, result.attempts, result.channel) == ("delivered", 1, "email")
    [envelope] = inbox.messages
    assert envelope.mail_from == "digest@example.org" and envelope.rcpt_tos == ["ana@example.org"]
    message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(preferencelist=("plain",)).get_content_type() == "text/plain"
    html = message.get_body(preferencelist=("html",)).get_content()
    images = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 2
    for image in images:
        assert f'src="cid:{image["Content-ID"].strip("<>")}"' in html
    assert message[DELIVERY_HEADER].strip()
    assert delivery_log.get(DeliveryKey("ana", "email", PERIOD)).status == "delivered"


@pytest.fixture(scope="module")
def certificate_authority() -> trustme.CA:
    return trustme.CA()


def tls_server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


def test_starttls_and_login_work_and_the_password_is_never_logged(
    tmp_path, delivery_log, certificate_authority, caplog
):
    password = "s3cret-Pa55word"
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((session.ssl is not None, auth_data.login.decode()))
        return AuthResult(success=auth_data.password.decode() == password, handled=False)

    ca_file = tmp_path / "ca.pem"
    certificate_authority.cert_pem.write_to_path(str(ca_file))
    tls = {"tls_context": tls_server_context(certificate_authority), "require_starttls": True}
    caplog.set_level("DEBUG")
    with smtp_server(authenticator=authenticator, auth_required=True, **tls) as (inbox, port):
        settings = smtp(port, security="starttls", username="digest", password=password, ca_file=str(ca_file))
        good = send(EmailChannel("ana@example.org", settings), delivery_log)
        wrong = replace(settings, password="not-the-password")
        other_period_log = DeliveryLog(tmp_path / "other.sqlite3")
        bad = send(EmailChannel("ana@example.org", wrong), other_period_log)
        untrusting = replace(settings, ca_file=None)
        untrusted = send(EmailChannel("ana@example.org", untrusting), DeliveryLog(tmp_path / "third.sqlite3"))
    assert good.status == "delivered" and len(inbox.messages) == 1
    assert logins[0] == (True, "digest")  # logged in over TLS
    assert (bad.status, bad.attempts) == ("failed", 1)  # a refused login is not retried
    assert "refused the login of user 'digest'" in bad.reason and "535" in bad.reason
    assert (untrusted.status, untrusted.attempts) == ("failed", 1) and "not trusted" in untrusted.reason
    assert password not in repr(settings) and "not-the-password" not in repr(wrong)
    for text in (caplog.text, bad.reason, good.line(), bad.line()):
        assert password not in text and "not-the-password" not in text
    for path in tmp_path.glob("*.sqlite3"):
        assert password.encode() not in path.read_bytes() and b"not-the-password" not in path.read_bytes()


def test_a_password_is_not_sent_over_an_unencrypted_connection(delivery_log):
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append(auth_data.login)
        return AuthResult(success=True, handled=False)

    with smtp_server(authenticator=authenticator, auth_require_tls=False) as (inbox, port):
        result = send(EmailChannel("ana@example.org", smtp(port, username="digest", password="pw")), delivery_log)
    assert (result.status, result.attempts) == ("failed", 1) and "unencrypted" in result.reason
    assert logins == [] and inbox.messages == []


def test_a_temporary_smtp_refusal_is_retried_with_backoff(delivery_log):
    inbox = SmtpInbox(replies=["451 4.3.0 Try again later", "451 4.3.0 Try again later"])
    sleeps: list[float] = []
    with smtp_server(inbox) as (_, port):
        result = send(EmailChannel("ana@example.org", smtp(port)), delivery_log, sleeps=sleeps)
    assert (result.status, result.attempts) == ("delivered", 3)
    assert len(inbox.messages) == 1
    assert sleeps == expected_sleeps(FAST, 2)
    assert delivery_log.get(DeliveryKey("ana", "email", PERIOD)).attempts == 3


def test_a_permanent_smtp_refusal_is_reported_at_once(delivery_log):
    inbox = SmtpInbox(replies=["554 5.7.1 Message rejected"])
    with smtp_server(inbox) as (_, port):
        result = send(EmailChannel("ana@example.org", smtp(port)), delivery_log)
    assert (result.status, result.attempts) == ("failed", 1)
    assert "554 5.7.1 Message rejected" in result.reason
    record = delivery_log.get(DeliveryKey("ana", "email", PERIOD))
    assert (record.status, record.reason) == ("failed", result.reason)


def test_a_server_that_is_down_fails_then_the_next_run_delivers(delivery_log):
    port = free_port()
    channel = EmailChannel("ana@example.org", smtp(port))
    sleeps: list[float] = []
    first = send(channel, delivery_log, sleeps=sleeps)
    assert (first.status, first.attempts) == ("failed", 3) and "Connection" in first.reason
    assert len(sleeps) == 2
    with smtp_server(port=port) as (inbox, _):
        second = send(channel, delivery_log)
        third = send(channel, delivery_log)
    assert (second.status, second.attempts) == ("delivered", 1)
    assert third.status == "skipped" and "already delivered" in third.reason
    assert len(inbox.messages) == 1
    record = delivery_log.get(DeliveryKey("ana", "email", PERIOD))
    assert (record.status, record.attempts) == ("delivered", 4)


def test_a_crash_while_building_the_message_is_reported_not_raised(delivery_log):
    broken = EmailChannel("ana@example.org", replace(smtp(free_port()), sender="digest@example.org\nBcc: x@y.org"))
    result = send(broken, delivery_log)
    assert (result.status, result.attempts) == ("failed", 1)
    assert result.reason.startswith("ValueError")


# ---------------------------------------------------------------------------------------------
# Slack and generic webhooks


def test_slack_gets_block_kit_json_and_its_url_is_never_shown(delivery_log):
    with HttpReceiver() as slack:
        result = send(SlackChannel(slack.url(SLACK_PATH)), delivery_log)
    assert result.status == "delivered"
    [request] = slack.requests
    assert request.path == SLACK_PATH
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    payload = request.json()
    assert payload["blocks"][0]["type"] == "header" and payload["text"]
    assert "SECRETTOKEN" not in result.target and "SECRETTOKEN" not in result.line()
    assert "SECRETTOKEN" not in (delivery_log.get(DeliveryKey("ana", "slack", PERIOD)).target or "")


def test_slack_refusing_the_payload_is_permanent(delivery_log):
    with HttpReceiver(script=[(400, "invalid_blocks", {})]) as slack:
        result = send(SlackChannel(slack.url(SLACK_PATH)), delivery_log)
    assert (result.status, result.attempts) == ("failed", 1)
    assert "HTTP 400: invalid_blocks" in result.reason and len(slack.requests) == 1


def test_server_errors_are_retried_with_the_same_body_and_delivery_id(delivery_log):
    sleeps: list[float] = []
    with HttpReceiver(script=[(500, "boom", {}), (503, "busy", {})]) as hook:
        result = send(WebhookChannel(hook.url()), delivery_log, sleeps=sleeps)
    assert (result.status, result.attempts) == ("delivered", 3)
    assert len(hook.requests) == 3
    assert len({r.body for r in hook.requests}) == 1
    assert len({r.headers[DELIVERY_HEADER] for r in hook.requests}) == 1
    assert sleeps == expected_sleeps(FAST, 2)


def test_retry_after_is_honoured(delivery_log):
    sleeps: list[float] = []
    with HttpReceiver(script=[(429, "slow down", {"Retry-After": "7"})]) as hook:
        result = send(WebhookChannel(hook.url()), delivery_log, sleeps=sleeps)
    assert result.status == "delivered" and sleeps == [7.0]


def test_a_refused_connection_is_retried_and_reported(delivery_log):
    sleeps: list[float] = []
    result = send(WebhookChannel(f"http://127.0.0.1:{free_port()}/hook"), delivery_log, sleeps=sleeps)
    assert (result.status, result.attempts) == ("failed", 3) and "refused" in result.reason.lower()
    assert len(sleeps) == 2


def test_a_signed_webhook_verifies_with_the_shared_secret(delivery_log):
    secret = "shared-secret-1"
    with HttpReceiver() as hook:
        channel = WebhookChannel(hook.url(), secret_env="HOOK_SECRET", environ={"HOOK_SECRET": secret})
        result = send(channel, delivery_log)
    assert result.status == "delivered"
    [request] = hook.requests
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    stamp, signed = request.headers[TIMESTAMP_HEADER], request.headers[SIGNATURE_HEADER]
    assert signed.startswith("sha256=")
    assert verify_signature(secret.encode(), request.body, stamp, signed)
    assert not verify_signature(b"another secret", request.body, stamp, signed)
    assert not verify_signature(secret.encode(), request.body.replace(b"Ana", b"Bob"), stamp, signed)
    assert not verify_signature(secret.encode(), request.body, stamp, signed, now=int(stamp) + 301)  # replayed late
    payload = request.json()
    assert (payload["schema"], payload["version"]) == ("harm-insights.digest", 1)
    assert payload["digest_hash"] == sample_digest().content_hash
    assert secret not in result.line()


def test_a_missing_secret_sends_nothing_unsigned(delivery_log):
    with HttpReceiver() as hook:
        result = send(WebhookChannel(hook.url(), secret_env="HOOK_SECRET", environ={}), delivery_log)
    assert (result.status, result.attempts) == ("failed", 1)
    assert "HOOK_SECRET" in result.reason and hook.requests == []


def test_a_redirect_is_not_followed(delivery_log):
    with HttpReceiver() as elsewhere, HttpReceiver(script=[(302, "", {"Location": elsewhere.url("/x")})]) as hook:
        result = send(WebhookChannel(hook.url()), delivery_log)
    assert (result.status, result.attempts) == ("failed", 1) and "redirects" in result.reason
    assert elsewhere.requests == []


# ---------------------------------------------------------------------------------------------
# The delivery log


def test_a_second_run_sends_nothing_and_a_new_period_sends_again(delivery_log):
    with HttpReceiver() as hook:
        channel = WebhookChannel(hook.url())
        assert send(channel, delivery_log).status == "delivered"
        again = send(channel, delivery_log)
        assert (again.status, again.attempts) == ("skipped", 0)
        next_week = replace(PERIOD, start=PERIOD.end + dt.timedelta(days=1), end=PERIOD.end + dt.timedelta(days=7))
        [later] = deliver(sample_digest(), ANA, next_week, [channel], delivery_log, policy=FAST, sleep=lambda _: None)
    assert later.status == "delivered"
    assert len(hook.requests) == 2
    assert [r.key.period for r in delivery_log.records()] == [PERIOD, next_week]


def test_only_one_of_two_overlapping_runs_gets_to_send(tmp_path):
    first, second = DeliveryLog(tmp_path / "log.sqlite3"), DeliveryLog(tmp_path / "log.sqlite3")
    key = DeliveryKey("ana", "email", PERIOD)
    now = dt.datetime(2026, 11, 23, 7, tzinfo=dt.UTC)
    assert first.claim(key, digest_hash="h", target="t", now=now)
    assert not second.claim(key, digest_hash="h", target="t", now=now + dt.timedelta(minutes=5))
    assert second.get(key).status == "sending"
    # a sender that died mid-way: after stale_after the delivery is handed out again
    assert second.claim(key, digest_hash="h", target="t", now=now + first.stale_after)


def test_a_failed_delivery_waits_retry_failed_after_then_is_tried_again(delivery_log):
    key = DeliveryKey("ana", "webhook", PERIOD)
    now = dt.datetime(2026, 11, 23, 7, tzinfo=dt.UTC)
    assert delivery_log.claim(key, digest_hash="h", target="t", now=now)
    delivery_log.finish(key, delivered=False, attempts=3, reason="HTTP 500", now=now)
    pause = dt.timedelta(minutes=15)
    assert not delivery_log.pending(key, now=now + dt.timedelta(minutes=5), retry_failed_after=pause)
    assert not delivery_log.claim(
        key, digest_hash="h", target="t", now=now + dt.timedelta(minutes=5), retry_failed_after=pause
    )
    assert delivery_log.pending(key, now=now + pause, retry_failed_after=pause)
    assert delivery_log.claim(key, digest_hash="h", target="t", now=now + pause, retry_failed_after=pause)
    record = delivery_log.finish(key, delivered=True, attempts=1, now=now + pause)
    assert (record.status, record.attempts, record.delivered_at) == ("delivered", 4, now + pause)
    assert record.first_tried_at == now


@given(
    retry=st.integers(1, 30),
    base=st.floats(0, 100),
    cap=st.floats(0, 1000),
    jitter=st.floats(0, 1),
    seed=st.integers(0, 2**32),
)
def test_backoff_doubles_up_to_the_cap_and_jitter_only_shortens(retry, base, cap, jitter, seed):
    policy = RetryPolicy(attempts=5, base_delay=base, max_delay=cap, jitter=jitter)
    ceiling = min(cap, base * 2 ** (retry - 1))
    wait = policy.delay(retry, random.Random(seed))
    assert ceiling * (1 - jitter) - 1e-9 <= wait <= ceiling + 1e-9
    assert policy.delay(retry, random.Random(seed), retry_after=cap + 5) == cap


def test_results_read_as_one_line_each(delivery_log):
    with HttpReceiver() as hook:
        result = send(WebhookChannel(hook.url()), delivery_log)
    assert result.line().startswith("delivered ana via webhook (http://127.0.0.1:")
    assert json.dumps(result.period.label())
