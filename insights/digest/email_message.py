"""A digest as an email: HTML with the charts inline, and a plain-text alternative.

The message is ``multipart/alternative``: a ``text/plain`` part first, then a
``multipart/related`` holding the ``text/html`` part and one ``image/png`` part per chart, each
with a ``Content-ID`` that the HTML refers to as ``<img src="cid:...">`` (RFC 2387 / RFC 2392).
Mail clients that show HTML show the charts in place; the others show the text.

Every text of the digest is escaped with :func:`html.escape`, so a title such as
``<script>`` or ``<a href=...>`` reads literally; links are only ever the digest's own http(s)
links (checked when the digest is built).
"""

from __future__ import annotations

import datetime as dt
import re
import struct
from collections.abc import Iterable
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from html import escape

from insights.digest.message import Digest, Section

#: The width charts are shown at, at most (the body is 640 px wide with padding).
CHART_WIDTH = 600

_LINE_BREAKS = re.compile(r"[\r\n\t\v\f\x85\u2028\u2029]+")


def email_message(digest: Digest, *, sender: str, to: str, date: dt.datetime | None = None) -> EmailMessage:
    """The digest as an email from ``sender`` to ``to`` (one address each)."""
    message = EmailMessage()
    message["Subject"] = _one_line(digest.title)
    message["From"] = sender
    message["To"] = to
    message["Date"] = format_datetime(date or dt.datetime.now(dt.UTC))
    message["Message-ID"] = make_msgid(domain=_domain(sender))
    message["X-Harm-Insights-Digest"] = digest.content_hash
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to a digest
    charts = {n: make_msgid(domain=_domain(sender)) for n, s in enumerate(digest.sections) if s.chart_png}
    message.set_content(plain_text(digest))
    message.add_alternative(html_body(digest, {n: f"cid:{cid[1:-1]}" for n, cid in charts.items()}), subtype="html")
    html_part = message.get_body(preferencelist=("html",))
    assert html_part is not None, "the HTML alternative was just added"
    for n, cid in charts.items():
        chart = digest.sections[n].chart_png
        assert chart is not None
        html_part.add_related(chart, "image", "png", cid=cid, disposition="inline", filename=f"chart-{n + 1}.png")
    return message


def _one_line(text: str) -> str:
    """A header value on one line: line breaks (which would start a new header) become spaces."""
    return _LINE_BREAKS.sub(" ", text).strip()


def _domain(address: str) -> str:
    return address.rpartition("@")[2].strip("> ") or "harm-insights.invalid"


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height of a PNG image, from its header chunk."""
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def html_body(digest: Digest, chart_src: dict[int, str] | None = None) -> str:
    """The HTML body. ``chart_src`` maps a section's index to its chart's ``src``: 'cid:…' in an
    email, a file name in a preview written to disk; sections not in it show no chart."""
    chart_src = chart_src or {}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(digest.title)}</title></head>",
        '<body style="margin:0;padding:0;background:#f4f4f4;">',
        (
            '<div style="max-width:640px;margin:0 auto;padding:20px;background:#ffffff;'
            'font-family:Arial,Helvetica,sans-serif;font-size:14px;line-height:1.45;color:#1a1a1a;">'
        ),
        f'<h1 style="font-size:20px;margin:0 0 4px;">{escape(digest.title)}</h1>',
        (
            f'<p style="margin:0 0 16px;color:#555555;">{escape(digest.period.label())} · '
            f"for {escape(digest.subscriber_name)}</p>"
        ),
    ]
    if digest.intro:
        parts.append(f"<p>{escape(digest.intro)}</p>")
    for n, section in enumerate(digest.sections):
        parts.extend(_html_section(section, chart_src.get(n)))
    if digest.quiet:
        parts.append(f'<p style="margin:16px 0;">{escape(digest.quiet)}</p>')
    if digest.unchanged:
        parts.append(f'<p style="margin:16px 0;color:#555555;">{escape(digest.unchanged)}</p>')
    if digest.link:
        parts.append(f'<p style="margin:24px 0 0;">{_link(digest.link, "Open Harm Insights")}</p>')
    parts.append(
        '<p style="margin:24px 0 0;font-size:12px;color:#777777;">'
        "You receive this digest because you follow these slices in Harm Insights.</p>"
    )
    parts.append("</div></body></html>")
    return "\n".join(parts) + "\n"


def _html_section(section: Section, chart_src: str | None) -> list[str]:
    parts = [f'<h2 style="font-size:16px;margin:28px 0 8px;">{escape(section.title)}</h2>']
    parts.extend(_html_list(section.numbers))
    if chart_src and section.chart_png:
        width, height = png_size(section.chart_png)
        shown = min(width, CHART_WIDTH)
        parts.append(
            f'<img src="{escape(chart_src)}" alt="{escape(section.chart_alt)}" width="{shown}" '
            f'height="{round(height * shown / width) if width else height}" '
            'style="display:block;max-width:100%;height:auto;border:0;">'
        )
    if section.contributors:
        parts.append('<p style="margin:12px 0 4px;"><strong>What explains it</strong></p>')
        parts.extend(_html_list(section.contributors))
    if section.events:
        parts.append('<p style="margin:12px 0 4px;"><strong>Nearby events</strong></p>')
        parts.extend(_html_list(section.events))
    if section.link:
        parts.append(f'<p style="margin:8px 0;">{_link(section.link, "Open in Harm Insights")}</p>')
    return parts


def _html_list(lines: Iterable[str]) -> list[str]:
    items = [f"<li>{escape(line)}</li>" for line in lines]
    return ['<ul style="margin:0;padding-left:20px;">', *items, "</ul>"] if items else []


def _link(url: str, text: str) -> str:
    return f'<a href="{escape(url, quote=True)}" style="color:#1a5fb4;">{escape(text)}</a>'


def plain_text(digest: Digest) -> str:
    """The plain-text alternative: everything the HTML says, charts named by their description."""
    lines = [digest.title, f"{digest.period.label()} · for {digest.subscriber_name}", ""]
    if digest.intro:
        lines += [digest.intro, ""]
    for section in digest.sections:
        lines.append(section.title)
        lines.append("-" * min(len(section.title), 72))
        lines += [f"  {line}" for line in section.numbers]
        if section.chart_png is not None:
            lines.append(f"  Chart (in the HTML version): {section.chart_alt or 'no description'}")
        if section.contributors:
            lines += ["  What explains it:", *(f"  - {line}" for line in section.contributors)]
        if section.events:
            lines += ["  Nearby events:", *(f"  - {line}" for line in section.events)]
        if section.link:
            lines.append(f"  Open in Harm Insights: {section.link}")
        lines.append("")
    if digest.quiet:
        lines += [digest.quiet, ""]
    if digest.unchanged:
        lines += [digest.unchanged, ""]
    if digest.link:
        lines += [f"Open Harm Insights: {digest.link}", ""]
    lines.append("You receive this digest because you follow these slices in Harm Insights.")
    return "\n".join(lines) + "\n"
