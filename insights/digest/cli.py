"""The ``harm-insights digest`` and ``harm-insights schedule`` commands (argparse; registered by the CLI).

``harm-insights digest --subscriptions FILE [--as-of DATE] [--dry-run [--out DIR] | --send]``
renders every digest due now (or on ``DATE``, in each subscriber's time zone); ``--out`` writes
each one as files (email.eml, email.html with its charts, email.txt, slack.json, webhook.json);
``--send`` delivers through the delivery log. Exit status: 0 when nothing failed, 1 when a
delivery or a digest failed (it is retried by the next run), 2 for unusable input.

``harm-insights schedule --subscriptions FILE`` stays up and sends digests on their cadences
(see :mod:`insights.digest.schedule`); SIGTERM or SIGINT stops it cleanly with status 0.

The content is built by :data:`CONTENT_BUILDER` (:class:`insights.digest.content.DigestBuilder`)
on the data of ``--source`` (or ``HARM_INSIGHTS_SOURCE``; default the bundled sample), with the
annotated events of ``--events`` (``HARM_INSIGHTS_EVENTS``; the sample's own with the sample) and
links to the app at ``--base-url`` (``HARM_INSIGHTS_BASE_URL``). ``--render MODULE:FUNCTION`` names
another builder (``insights.digest.outline:outline_digest``: what is followed, no numbers).

Configuration from the environment: ``HARM_INSIGHTS_SUBSCRIPTIONS`` (instead of
``--subscriptions``; default ``~/.config/harm-insights/subscriptions.toml``, the file the app's
Follow button writes), ``HARM_INSIGHTS_DELIVERY_LOG`` (default: ``deliveries.sqlite3`` beside the
subscriptions file), ``HARM_INSIGHTS_SMTP_*`` (see :class:`~insights.digest.delivery.SmtpSettings`),
``HARM_INSIGHTS_HTTP_TIMEOUT``, and the three above.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from insights.digest.cadence import DueDigest, due, due_on, next_run
from insights.digest.delivery import DeliverySettings, RetryPolicy
from insights.digest.delivery_log import DeliveryLog
from insights.digest.dispatch import Render, send_due
from insights.digest.email_message import email_message, html_body, plain_text
from insights.digest.message import Digest, webhook_payload
from insights.digest.schedule import Scheduler
from insights.digest.slack_blocks import slack_payload
from insights.digest.subscriptions import Subscription, load_subscriptions, subscriptions_path
from insights.errors import DataError
from insights.viewstate import DEFAULT_BASE_URL

#: The content builder the commands use unless ``--render`` names another: the real content
#: (``insights.digest.content``), built on ``--source`` / ``$HARM_INSIGHTS_SOURCE``. Its
#: module-level ``render`` reads the environment only; the commands build it with their options.
CONTENT_BUILDER = "insights.digest.content:render"

OUTLINE = "insights.digest.outline:outline_digest"


class _UsageError(Exception):
    """Input the command cannot use: printed, exit status 2."""


def _common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--subscriptions", metavar="FILE", help="the subscriptions TOML (or $HARM_INSIGHTS_SUBSCRIPTIONS)"
    )
    parser.add_argument(
        "--delivery-log",
        metavar="PATH",
        help="the SQLite delivery log (or $HARM_INSIGHTS_DELIVERY_LOG; default: deliveries.sqlite3 beside FILE)",
    )
    parser.add_argument(
        "--render",
        metavar="MODULE:FUNCTION",
        help=f"the content builder, render(subscription, period) -> Digest (default {CONTENT_BUILDER}; "
        f"{OUTLINE} for outlines)",
    )
    parser.add_argument(
        "--source",
        metavar="PATH_OR_URL",
        help="the data the digests read (or $HARM_INSIGHTS_SOURCE; default the bundled sample_data/generated/events)",
    )
    parser.add_argument(
        "--events",
        metavar="CSV",
        help="annotated events (or $HARM_INSIGHTS_EVENTS; default sample_data/events.csv with the bundled sample)",
    )
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help=f"the app's address for links (or $HARM_INSIGHTS_BASE_URL; default {DEFAULT_BASE_URL})",
    )
    parser.add_argument("--attempts", type=int, default=4, help="tries per channel and run (default 4)")
    parser.add_argument("--retry-delay", type=float, default=2.0, metavar="SECONDS", help="first back-off (doubles)")


def digest_parser() -> argparse.ArgumentParser:
    """The ``digest`` command's arguments."""
    parser = argparse.ArgumentParser(
        prog="harm-insights digest", description="Render, and with --send deliver, due digests."
    )
    _common_arguments(parser)
    parser.add_argument("--as-of", metavar="DATE", type=dt.date.fromisoformat, help="digests due on DATE (YYYY-MM-DD)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="render only (the default)")
    mode.add_argument("--send", action="store_true", help="deliver through the delivery log")
    parser.add_argument("--out", metavar="DIR", type=Path, help="write each rendered digest to DIR")
    return parser


def schedule_parser() -> argparse.ArgumentParser:
    """The ``schedule`` command's arguments."""
    parser = argparse.ArgumentParser(
        prog="harm-insights schedule", description="Send digests on their cadences until stopped."
    )
    _common_arguments(parser)
    parser.add_argument(
        "--poll", type=float, default=300, metavar="SECONDS", help="longest sleep between looks (default 300)"
    )
    parser.add_argument(
        "--retry-failed-after",
        type=float,
        default=900,
        metavar="SECONDS",
        help="pause before retrying a failed delivery",
    )
    return parser


def _environ(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def _subscriptions_path(args: argparse.Namespace, env: Mapping[str, str]) -> Path:
    path = Path(args.subscriptions) if args.subscriptions else subscriptions_path(env)
    if not path.is_file():
        raise _UsageError(
            f"no subscriptions file at {path}: follow a slice in the app, or pass --subscriptions FILE "
            "or set HARM_INSIGHTS_SUBSCRIPTIONS"
        )
    return path


def _delivery_log(args: argparse.Namespace, env: Mapping[str, str], subscriptions: Path) -> DeliveryLog:
    path = args.delivery_log or env.get("HARM_INSIGHTS_DELIVERY_LOG") or subscriptions.parent / "deliveries.sqlite3"
    return DeliveryLog(path)


def resolve_render(spec: str) -> Render:
    """Import a content builder named 'module:function'."""
    module_name, _, attribute = spec.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError) as exc:
        raise _UsageError(f"--render {spec!r}: cannot import it ({exc})") from None
    if not callable(found):
        raise _UsageError(f"--render {spec!r} is not callable")
    return found


def _render(args: argparse.Namespace, render: Render | None, env: Mapping[str, str]) -> Render:
    """The content builder: passed in, named with --render, or the real one on --source's data."""
    if render is not None:
        return render
    if args.render:
        return resolve_render(args.render)
    from insights.digest.content import ContentConfig  # the analytics stack loads only when digests are built

    try:
        config = ContentConfig.from_env(env, source=args.source, events=args.events, base_url=args.base_url)
        return config.builder()
    except (DataError, ValueError) as exc:
        raise _UsageError(str(exc)) from None


def _policy(args: argparse.Namespace) -> RetryPolicy:
    try:
        return RetryPolicy(attempts=args.attempts, base_delay=args.retry_delay)
    except ValueError as exc:
        raise _UsageError(str(exc)) from None


def _configure_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
        for chatty in ("kaleido", "choreographer"):  # the chart renderer's browser narrates every image
            logging.getLogger(chatty).setLevel(logging.WARNING)


def digest_command(
    argv: Sequence[str] | None = None,
    *,
    render: Render | None = None,
    environ: Mapping[str, str] | None = None,
    now: dt.datetime | None = None,
    stdout: TextIO | None = None,
) -> int:
    """``harm-insights digest``: render the due digests; with ``--send`` deliver them. Returns the exit status.

    ``render`` (a content builder) overrides ``--render``; ``now`` stands in for the clock.
    """
    out = stdout or sys.stdout
    args = digest_parser().parse_args(argv)
    env = _environ(environ)
    _configure_logging()
    try:
        path = _subscriptions_path(args, env)
        builder = _render(args, render, env)
        policy = _policy(args)
        subscriptions = load_subscriptions(path)
    except (_UsageError, DataError) as exc:
        print(f"harm-insights digest: {exc}", file=sys.stderr)
        return 2
    moment = now or dt.datetime.now(dt.UTC)
    found = due_on(subscriptions, args.as_of) if args.as_of else due(subscriptions, moment)
    print(f"{len(found)} digest(s) due {'on ' + args.as_of.isoformat() if args.as_of else 'now'}", file=out)
    if not args.send:
        return _dry_run(found, builder, args.out, DeliverySettings.from_env(env), out)
    settings = DeliverySettings.from_env(env)
    outcomes = send_due(found, builder, settings=settings, delivery_log=_delivery_log(args, env, path), policy=policy)
    failed = False
    for outcome in outcomes:
        if args.out and outcome.digest is not None:
            write_digest(outcome.digest, outcome.due.subscription, args.out, sender=settings.smtp.sender)
        for result in outcome.results:
            print(result.line(), file=out)
        failed = failed or outcome.failed
    return 1 if failed else 0


def _dry_run(
    found: list[DueDigest], builder: Render, directory: Path | None, settings: DeliverySettings, out: TextIO
) -> int:
    status = 0
    for item in found:
        try:
            digest = builder(item.subscription, item.period)
        except Exception as exc:
            logging.getLogger("insights.digest").exception("building the digest of %s failed", item.subscription.id)
            print(f"failed    {item.subscription.id}, {item.period.label()}: {type(exc).__name__}: {exc}", file=out)
            status = 1
            continue
        where = ""
        if directory is not None:
            written = write_digest(digest, item.subscription, directory, sender=settings.smtp.sender)
            where = f" -> {written}"
        shape = "quiet" if digest.is_quiet else f"{len(digest.sections)} section(s)"
        print(f"rendered  {item.subscription.id}, {item.period.label()}: {shape}{where}", file=out)
    print("dry run: nothing sent (pass --send to deliver)", file=out)
    return status


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]+", "_", text).strip("._") or "subscriber"


def write_digest(digest: Digest, subscription: Subscription, directory: Path, *, sender: str) -> Path:
    """Write a digest as files under ``directory/<period>/<subscriber>/``: what each channel would get, and a preview.

    ``email.eml`` is the very message the email channel sends; ``email.html`` shows it in a
    browser with its charts as ``chart-N.png`` beside it.
    """
    folder = directory / f"{digest.period.start}_{digest.period.end}" / _slug(subscription.id)
    folder.mkdir(parents=True, exist_ok=True)
    to = subscription.channels.email or "nobody@example.invalid"
    (folder / "email.eml").write_bytes(email_message(digest, sender=sender, to=to).as_bytes())
    charts = {}
    for n, section in enumerate(digest.sections):
        if section.chart_png is not None:
            charts[n] = f"chart-{n + 1}.png"
            (folder / charts[n]).write_bytes(section.chart_png)
    (folder / "email.html").write_text(html_body(digest, charts), encoding="utf-8")
    (folder / "email.txt").write_text(plain_text(digest), encoding="utf-8")
    (folder / "slack.json").write_text(
        json.dumps(slack_payload(digest), indent=2, ensure_ascii=False), encoding="utf-8"
    )
    (folder / "webhook.json").write_text(
        json.dumps(webhook_payload(digest), indent=2, ensure_ascii=False), encoding="utf-8"
    )
    return folder


def schedule_command(
    argv: Sequence[str] | None = None,
    *,
    render: Render | None = None,
    environ: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    on_start: Callable[[Scheduler], None] | None = None,
) -> int:
    """``harm-insights schedule``: send digests on their cadences until SIGTERM/SIGINT. Returns the exit status.

    ``on_start`` is called with the scheduler before the loop (an embedding process can keep it to call ``stop``).
    """
    out = stdout or sys.stdout
    args = schedule_parser().parse_args(argv)
    env = _environ(environ)
    _configure_logging()
    try:
        path = _subscriptions_path(args, env)
        builder = _render(args, render, env)
        policy = _policy(args)
        subscriptions = load_subscriptions(path)
    except (_UsageError, DataError) as exc:
        print(f"harm-insights schedule: {exc}", file=sys.stderr)
        return 2
    scheduler = Scheduler(
        lambda: load_subscriptions(path),
        builder,
        settings=DeliverySettings.from_env(env),
        delivery_log=_delivery_log(args, env, path),
        policy=policy,
        poll=dt.timedelta(seconds=args.poll),
        retry_failed_after=dt.timedelta(seconds=args.retry_failed_after),
    )
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            previous[stop_signal] = signal.signal(stop_signal, lambda *_: scheduler.stop())
    try:
        upcoming = next_run(subscriptions, dt.datetime.now(dt.UTC))
        print(
            f"scheduler started: {len(subscriptions)} subscriber(s); next tick "
            f"{upcoming.astimezone(dt.UTC).isoformat(timespec='minutes') if upcoming else 'none'}",
            file=out,
            flush=True,
        )
        if on_start is not None:
            on_start(scheduler)
        scheduler.run()
    except DataError as exc:
        print(f"harm-insights schedule: {exc}", file=sys.stderr)
        return 2
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    print("scheduler stopped", file=out, flush=True)
    return 0
