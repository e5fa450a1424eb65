"""Shared pieces of the digest tests: a real PNG, digests (benign and hostile), and the two real servers.

The servers are the real protocols on 127.0.0.1: aiosmtpd for SMTP, http.server in a thread for
Slack's incoming webhook and the generic webhook. Each can be told to fail its first requests.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import struct
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

from aiosmtpd.controller import Controller

from insights.digest.message import Digest, Section
from insights.periods import Period

PERIOD = Period(dt.date(2026, 11, 16), dt.date(2026, 11, 22))

#: Strings that would become markup if pasted into HTML or Slack mrkdwn unescaped.
HOSTILE = (
    '<script>alert("x")</script>',
    '<a href="https://evil.example/a">click</a>',
    "<img src=x onerror=alert(1)>",
    "Tom & Jerry &amp; &lt;b&gt;",
    "*bold* _italic_ ~strike~ `code`",
    "[link](https://evil.example/md)",
    "<https://evil.example/slack|click me>",
    "<!channel> <@U0123> <#C0123>",
    '" onmouseover="alert(1)',
    "> quoted\n```block```",
)


def png(width: int = 4, height: int = 3, rgb: tuple[int, int, int] = (200, 30, 40)) -> bytes:
    """A real (tiny, one-colour) PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def sample_digest(subscriber: str = "ana", texts: tuple[str, ...] | None = None, charts: bool = True) -> Digest:
    """A digest with two sections (one with a chart), contributors, events and links.

    ``texts`` replaces every piece of data text (cycled), to put hostile strings everywhere.
    """
    pool = list(texts or ())

    def text(default: str) -> str:
        if not pool:
            return default
        value = pool.pop(0)
        pool.append(value)
        return value

    return Digest(
        subscriber_id=subscriber,
        subscriber_name=text("Ana Lima"),
        period=PERIOD,
        title=text("Harm Insights: week of 16 November"),
        intro=text("Two of the slices you follow changed."),
        sections=(
            Section(
                title=text("Violent extremism in Germany"),
                numbers=(text("Actions 12,345 (+18.2% vs previous week)"), text("Proactive rate 91.0% (-2.1 pp)")),
                contributors=(text("Terrorist content, video: +1,200"), text("Automated detection: +900")),
                events=(text("12 Nov: classifier v7 launched"),),
                chart_png=png() if charts else None,
                chart_alt=text("Weekly actions, last 12 weeks"),
                link="https://insights.example.org/?page=trends&harm_area=violent_extremism&country=DE",
            ),
            Section(
                title=text("Hateful behavior"),
                numbers=(text("Appeal rate 4.2% (+1.0 pp)"),),
                chart_png=png(8, 2, (10, 120, 200)) if charts else None,
                chart_alt=text("Appeal rate"),
            ),
        ),
        unchanged=text("Not changed: Human exploitation (actions)."),
        link="https://insights.example.org/?page=overview",
    )


def free_port() -> int:
    """A TCP port nothing listens on (just now) on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# SMTP


@dataclass
class SmtpInbox:
    """An aiosmtpd handler that keeps what it receives; ``replies`` answer the first DATA commands."""

    messages: list = field(default_factory=list)
    replies: list[str] = field(default_factory=list)  # e.g. ["451 4.3.0 try later"]; then accepted

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.replies:
            return self.replies.pop(0)
        self.messages.append(envelope)
        return "250 OK"


@contextmanager
def smtp_server(
    inbox: SmtpInbox | None = None, port: int | None = None, **smtp_options
) -> Iterator[tuple[SmtpInbox, int]]:
    """A real SMTP server on 127.0.0.1 for the duration of the block."""
    inbox = inbox or SmtpInbox()
    port = port or free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **smtp_options)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


# ---------------------------------------------------------------------------------------------
# HTTP


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


class HttpReceiver:
    """An HTTP server in a thread that records POSTs and answers from a script.

    ``script`` holds (status, body, headers) answers for the first requests; after it runs out,
    every request gets 200 "ok" (Slack's own success answer).
    """

    def __init__(self, port: int = 0, script: list[tuple[int, str, dict[str, str]]] | None = None) -> None:
        self.requests: list[Received] = []
        self.script = list(script or [])
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
                status, text, headers = receiver.script.pop(0) if receiver.script else (200, "ok", {})
                payload = text.encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:  # keep the test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
