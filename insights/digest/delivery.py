"""Sending a digest: email by SMTP, Slack incoming webhooks and generic JSON webhooks.

Each kind of channel is one small class with a ``send(digest, delivery_id=...)`` that either
returns (the receiving server accepted the digest) or raises :class:`DeliveryError` saying why
and whether trying again can help. :func:`channels_for` lists the kinds in one place.
:func:`deliver` sends one digest to each of a subscriber's channels through the
:class:`~insights.digest.delivery_log.DeliveryLog` (never twice for a period), retrying
temporary failures with exponential back-off and jitter, and returns one
:class:`DeliveryResult` per channel: nothing fails silently.

Temporary (retried): connection refused or reset, time-outs, HTTP 408/425/429/5xx, SMTP 4xx
replies and dropped SMTP connections. Permanent (reported at once): HTTP 4xx such as Slack's
``invalid_payload`` or ``no_service``, redirects, SMTP 5xx replies, failed SMTP authentication,
a missing signing secret.

Secrets: the SMTP password and the webhook signing secret come from the environment and never
appear in a log line, a result or the delivery log; Slack webhook URLs (which are credentials)
are shown and stored as their host only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import json
import logging
import os
import random
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Literal, Protocol
from urllib.parse import urlsplit

from insights.digest.delivery_log import DeliveryKey, DeliveryLog, DeliveryRecord
from insights.digest.email_message import email_message
from insights.digest.message import Digest, webhook_body
from insights.digest.slack_blocks import slack_payload
from insights.digest.subscriptions import Subscription
from insights.periods import Period

log = logging.getLogger("insights.digest")

USER_AGENT = "harm-insights-digest/1"
SIGNATURE_HEADER = "X-Harm-Insights-Signature"
TIMESTAMP_HEADER = "X-Harm-Insights-Timestamp"
DELIVERY_HEADER = "X-Harm-Insights-Delivery"


class DeliveryError(Exception):
    """A channel could not deliver: ``reason`` for people, ``retryable`` for the retry loop.

    ``retry_after`` (seconds) is the server's own request to wait (HTTP ``Retry-After``).
    """

    def __init__(self, reason: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after


# ---------------------------------------------------------------------------------------------
# Configuration


@dataclass(frozen=True)
class SmtpSettings:
    """How to reach the mail relay.

    ``security``: 'none', 'starttls' (upgrade after connecting) or 'tls' (implicit TLS, port 465).
    """

    host: str = "localhost"
    port: int = 25
    sender: str = "harm-insights@localhost"
    security: Literal["none", "starttls", "tls"] = "none"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None  # a private CA to trust besides the system's
    timeout: float = 30.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SmtpSettings:
        """Read ``HARM_INSIGHTS_SMTP_{HOST,PORT,SENDER,SECURITY,USERNAME,PASSWORD,CA_FILE,TIMEOUT}``."""
        env = os.environ if environ is None else environ
        security = env.get("HARM_INSIGHTS_SMTP_SECURITY", "none").lower()
        if security not in ("none", "starttls", "tls"):
            raise ValueError(f"HARM_INSIGHTS_SMTP_SECURITY must be none, starttls or tls, not {security!r}")
        default_port = {"none": 25, "starttls": 587, "tls": 465}[security]
        return cls(
            host=env.get("HARM_INSIGHTS_SMTP_HOST", "localhost"),
            port=int(env.get("HARM_INSIGHTS_SMTP_PORT", default_port)),
            sender=env.get("HARM_INSIGHTS_SMTP_SENDER", "harm-insights@localhost"),
            security=security,  # type: ignore[arg-type]
            username=env.get("HARM_INSIGHTS_SMTP_USERNAME") or None,
            password=env.get("HARM_INSIGHTS_SMTP_PASSWORD") or None,
            ca_file=env.get("HARM_INSIGHTS_SMTP_CA_FILE") or None,
            timeout=float(env.get("HARM_INSIGHTS_SMTP_TIMEOUT", 30)),
        )

    def tls_context(self) -> ssl.SSLContext:
        """A verifying TLS context (system CAs, plus ``ca_file`` when given)."""
        context = ssl.create_default_context()
        if self.ca_file:
            context.load_verify_locations(self.ca_file)
        return context


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to try: ``attempts`` in all, waits doubling from ``base_delay``.

    The wait before retry ``n`` (1 for the second attempt) is ``min(max_delay, base_delay × 2^(n-1))``,
    shortened by a random fraction of up to ``jitter`` (0 = none, 1 = anywhere down to 0) so that
    many subscribers' retries do not arrive at a recovering server all at once; a server's
    ``Retry-After`` lengthens it (up to ``max_delay``).
    """

    attempts: int = 4
    base_delay: float = 2.0
    max_delay: float = 300.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base_delay < 0 or self.max_delay < 0 or not 0 <= self.jitter <= 1:
            raise ValueError(f"invalid retry policy {self}")

    def delay(self, retry: int, rng: random.Random, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (1-based)."""
        wait = min(self.max_delay, self.base_delay * 2 ** (retry - 1)) * (1 - self.jitter * rng.random())
        return min(self.max_delay, max(wait, retry_after or 0.0))


@dataclass(frozen=True)
class DeliverySettings:
    """Everything channels need besides the subscription: the mail relay, HTTP time-out, the environment for secrets."""

    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    http_timeout: float = 30.0
    environ: Mapping[str, str] | None = None  # None: os.environ, read at send time

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DeliverySettings:
        """SMTP settings and ``HARM_INSIGHTS_HTTP_TIMEOUT`` from the environment."""
        env = os.environ if environ is None else environ
        return cls(SmtpSettings.from_env(env), float(env.get("HARM_INSIGHTS_HTTP_TIMEOUT", 30)), environ)


# ---------------------------------------------------------------------------------------------
# Channels


class Channel(Protocol):
    """One way of reaching a subscriber."""

    @property
    def kind(self) -> str:
        """'email', 'slack' or 'webhook': the delivery log's channel."""
        ...

    @property
    def target(self) -> str:
        """Where it goes, safe to log and store (no credentials)."""
        ...

    def send(self, digest: Digest, *, delivery_id: str) -> None:
        """Deliver, or raise :class:`DeliveryError`."""
        ...


@dataclass(frozen=True)
class EmailChannel:
    """Email through an SMTP relay."""

    address: str
    smtp: SmtpSettings
    kind: str = "email"

    @property
    def target(self) -> str:
        return self.address

    def send(self, digest: Digest, *, delivery_id: str) -> None:
        message = email_message(digest, sender=self.smtp.sender, to=self.address)
        message[DELIVERY_HEADER] = delivery_id
        settings = self.smtp
        where = f"{settings.host}:{settings.port}"
        if settings.username and settings.security == "none":
            raise DeliveryError(
                f"SMTP {where}: not sending the password of user {settings.username!r} unencrypted; "
                "set HARM_INSIGHTS_SMTP_SECURITY to starttls or tls",
                retryable=False,
            )
        client: smtplib.SMTP | None = None
        try:
            if settings.security == "tls":
                client = smtplib.SMTP_SSL(
                    settings.host, settings.port, timeout=settings.timeout, context=settings.tls_context()
                )
            else:
                client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
            if settings.security == "starttls":
                client.starttls(context=settings.tls_context())
            if settings.username:
                client.login(settings.username, settings.password or "")
            client.send_message(message, from_addr=parseaddr(settings.sender)[1], to_addrs=[self.address])
            # accepted: whatever happens to QUIT now, the digest is delivered (a retry would send it twice)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                f"SMTP {where} refused the login of user {settings.username!r}: {_smtp_reply(exc)}", retryable=False
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(f"SMTP {where}: {exc}", retryable=False) from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            detail = "; ".join(f"{r}: {c} {m.decode(errors='replace')}" for r, (c, m) in exc.recipients.items())
            raise DeliveryError(
                f"SMTP {where} refused the recipient ({detail})", retryable=all(400 <= c < 500 for c in codes)
            ) from None
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused, other replies
            raise DeliveryError(
                f"SMTP {where} answered {_smtp_reply(exc)}", retryable=400 <= exc.smtp_code < 500
            ) from None
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError(
                f"SMTP {where}: TLS certificate not trusted ({exc.verify_message})", retryable=False
            ) from None
        except (smtplib.SMTPException, OSError) as exc:  # disconnected, refused, reset, time-out
            raise DeliveryError(f"SMTP {where}: {type(exc).__name__}: {exc}", retryable=True) from None
        finally:
            if client is not None:
                _hang_up(client)


def _hang_up(client: smtplib.SMTP) -> None:
    """Say QUIT and close; a relay that answers QUIT badly or drops the line changes nothing."""
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def _smtp_reply(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
    return f"{exc.smtp_code} {text}"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A webhook that redirects is misconfigured; following it would re-send the body elsewhere (or drop it)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def post_json(url: str, body: bytes, *, headers: Mapping[str, str] | None = None, timeout: float = 30.0) -> bytes:
    """POST ``body`` as JSON and return the response body; failures raise :class:`DeliveryError`."""
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT, **(headers or {})},
    )
    opener = urllib.request.build_opener(_NoRedirects)
    where = _redacted_url(url)
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.read(65536)
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode("utf-8", errors="replace").strip()
        retryable = exc.code in (408, 425, 429) or exc.code >= 500
        retry_after = _seconds(exc.headers.get("Retry-After")) if exc.headers else None
        if 300 <= exc.code < 400:
            detail = f"redirects to {_redacted_url(exc.headers.get('Location', '?'))}; update the URL"
        raise DeliveryError(
            f"{where} answered HTTP {exc.code}{': ' + detail if detail else ''}",
            retryable=retryable,
            retry_after=retry_after,
        ) from None
    except urllib.error.URLError as exc:
        raise DeliveryError(
            f"{where}: {exc.reason}", retryable=not isinstance(exc.reason, ssl.SSLCertVerificationError)
        ) from None
    except (http.client.HTTPException, OSError) as exc:  # reset, time-out, bad status line
        raise DeliveryError(f"{where}: {type(exc).__name__}: {exc}", retryable=True) from None


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: ignore it and back off as usual


def _redacted_url(url: str) -> str:
    """A URL without its path, query and credentials: Slack puts its secret token in the path."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}/…" if parts.hostname else "(no URL)"


@dataclass(frozen=True)
class SlackChannel:
    """A Slack incoming webhook (its URL is a credential: shown as its host only)."""

    url: str
    timeout: float = 30.0
    kind: str = "slack"

    @property
    def target(self) -> str:
        return _redacted_url(self.url)

    def send(self, digest: Digest, *, delivery_id: str) -> None:
        body = json.dumps(slack_payload(digest), ensure_ascii=False).encode("utf-8")
        post_json(self.url, body, timeout=self.timeout)


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """The webhook signature header's value: ``sha256=`` + HMAC-SHA256(secret, ``"{timestamp}." + body``) in hex."""
    return "sha256=" + hmac.new(secret, f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()


def verify_signature(
    secret: bytes, body: bytes, timestamp: str, signed: str, *, now: float | None = None, tolerance: float = 300
) -> bool:
    """For receivers: True when ``signed`` (the signature header) is this body's, made at most ``tolerance`` s ago."""
    try:
        stamp = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((time.time() if now is None else now) - stamp) > tolerance:
        return False  # an old, replayed request
    return hmac.compare_digest(signature(secret, stamp, body), signed)


@dataclass(frozen=True)
class WebhookChannel:
    """A generic JSON webhook (schema in :mod:`insights.digest.message`), signed when a secret is configured."""

    url: str
    secret_env: str | None = None
    environ: Mapping[str, str] | None = None
    timeout: float = 30.0
    kind: str = "webhook"

    @property
    def target(self) -> str:
        return _redacted_url(self.url)

    def send(self, digest: Digest, *, delivery_id: str) -> None:
        body = webhook_body(digest)
        headers = {DELIVERY_HEADER: delivery_id}
        if self.secret_env:
            secret = (os.environ if self.environ is None else self.environ).get(self.secret_env)
            if not secret:
                raise DeliveryError(
                    f"the signing secret's environment variable {self.secret_env} is not set; not sending unsigned",
                    retryable=False,
                )
            stamp = int(time.time())
            headers[TIMESTAMP_HEADER] = str(stamp)
            headers[SIGNATURE_HEADER] = signature(secret.encode("utf-8"), stamp, body)
        post_json(self.url, body, headers=headers, timeout=self.timeout)


def channels_for(subscription: Subscription, settings: DeliverySettings) -> list[Channel]:
    """The subscriber's channels, in the order they are tried: email, Slack, webhook."""
    wanted = subscription.channels
    found: list[Channel] = []
    if wanted.email:
        found.append(EmailChannel(wanted.email, settings.smtp))
    if wanted.slack_webhook:
        found.append(SlackChannel(wanted.slack_webhook, settings.http_timeout))
    if wanted.webhook:
        found.append(WebhookChannel(wanted.webhook, wanted.webhook_secret_env, settings.environ, settings.http_timeout))
    return found


# ---------------------------------------------------------------------------------------------
# Delivering


@dataclass(frozen=True)
class DeliveryResult:
    """How one channel's delivery of one digest went in this run.

    ``status``: 'delivered'; 'failed' (``reason`` says why; the next run tries again);
    'skipped' (already delivered, or being sent by another run: nothing sent).
    ``attempts`` counts this run's tries; the delivery log keeps the total.
    """

    subscriber: str
    channel: str
    target: str
    period: Period
    status: Literal["delivered", "failed", "skipped"]
    attempts: int
    reason: str | None = None

    def line(self) -> str:
        """One line for a terminal or a log."""
        tries = f" after {self.attempts} attempt{'s' if self.attempts != 1 else ''}" if self.attempts else ""
        why = f": {self.reason}" if self.reason else ""
        return (
            f"{self.status:9} {self.subscriber} via {self.channel} ({self.target}), {self.period.label()}{tries}{why}"
        )


def skipped_result(subscriber: str, channel: Channel, period: Period, record: DeliveryRecord | None) -> DeliveryResult:
    """The result for a channel the log did not hand out, saying why."""
    at = f" at {record.last_tried_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC" if record else ""
    if record is not None and record.status == "failed":
        why = f"failed{at} ({record.reason}); retried later"
    elif record is not None and record.status == "sending":
        why = f"being sent by another run since{at}"
    else:
        why = f"already delivered{at}"
    return DeliveryResult(subscriber, channel.kind, channel.target, period, "skipped", 0, why)


def delivery_id(key: DeliveryKey) -> str:
    """A stable id of one delivery (same across retries and runs), sent for receivers to drop duplicates."""
    subscriber, channel, start, end = key.columns
    return hashlib.sha256(f"{subscriber}\x1f{channel}\x1f{start}\x1f{end}".encode()).hexdigest()[:32]


def send_with_retry(
    channel: Channel,
    digest: Digest,
    *,
    delivery_id: str,
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> tuple[bool, int, str | None]:
    """Try ``channel`` up to ``policy.attempts`` times: (delivered, attempts made, last failure's reason)."""
    rng = rng or random.Random()
    reason = None
    for attempt in range(1, policy.attempts + 1):
        try:
            channel.send(digest, delivery_id=delivery_id)
            return True, attempt, None
        except DeliveryError as exc:
            reason, retryable, retry_after = exc.reason, exc.retryable, exc.retry_after
        except Exception as exc:  # a bug in rendering or a channel: report it, do not retry it
            log.exception("%s delivery to %s crashed", channel.kind, channel.target)
            reason, retryable, retry_after = f"{type(exc).__name__}: {exc}", False, None
        if not retryable or attempt == policy.attempts:
            log.warning("%s delivery to %s failed (attempt %d): %s", channel.kind, channel.target, attempt, reason)
            return False, attempt, reason
        wait = policy.delay(attempt, rng, retry_after)
        log.info(
            "%s delivery to %s failed (attempt %d), retrying in %.2f s: %s",
            channel.kind,
            channel.target,
            attempt,
            wait,
            reason,
        )
        sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def deliver(
    digest: Digest,
    subscription: Subscription,
    period: Period,
    channels: Sequence[Channel],
    delivery_log: DeliveryLog,
    *,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    now: Callable[[], dt.datetime] | None = None,
    retry_failed_after: dt.timedelta = dt.timedelta(0),
) -> list[DeliveryResult]:
    """Send ``digest`` (the subscriber's for ``period``) to each channel not yet delivered for that period.

    A channel whose delivery for the period failed before is tried again, unless that was less
    than ``retry_failed_after`` ago (the scheduler's pace for retrying across its wake-ups).
    """
    policy = policy or RetryPolicy()
    clock = now or (lambda: dt.datetime.now(dt.UTC))
    results = []
    for channel in channels:
        key = DeliveryKey(subscription.id, channel.kind, period)
        claimed = delivery_log.claim(
            key,
            digest_hash=digest.content_hash,
            target=channel.target,
            now=clock(),
            retry_failed_after=retry_failed_after,
        )
        if not claimed:
            results.append(skipped_result(subscription.id, channel, period, delivery_log.get(key)))
            continue
        try:
            delivered, attempts, reason = send_with_retry(
                channel, digest, delivery_id=delivery_id(key), policy=policy, sleep=sleep, rng=rng
            )
        except BaseException:  # interrupted (KeyboardInterrupt): leave a failed row, not a stuck 'sending' one
            delivery_log.finish(key, delivered=False, attempts=1, reason="interrupted while sending", now=clock())
            raise
        delivery_log.finish(key, delivered=delivered, attempts=attempts, reason=reason, now=clock())
        status: Literal["delivered", "failed"] = "delivered" if delivered else "failed"
        results.append(DeliveryResult(subscription.id, channel.kind, channel.target, period, status, attempts, reason))
        log.info("%s", results[-1].line())
    return results
