"""A digest as a value, and its JSON form for generic webhooks.

The content builder decides what a digest says and returns a :class:`Digest`; this module and
its siblings only present it: :mod:`insights.digest.email_message` as an HTML email with the
charts inline and a plain-text alternative, :mod:`insights.digest.slack_blocks` as a Slack Block
Kit payload, :func:`webhook_payload` as JSON. Every string in a digest is plain text, never
markup: each renderer escapes it for its own format.

The JSON schema (``"schema": "harm-insights.digest", "version": 1``)::

    {
      "schema": "harm-insights.digest",
      "version": 1,
      "digest_hash": "sha256 hex of the digest's content (the same for a re-render of the same content)",
      "subscriber": {"id": "ana@example.org", "name": "Ana Lima"},
      "period": {"start": "2026-11-16", "end": "2026-11-22", "label": "2026-11-16 – 2026-11-22"},
      "title": "...", "intro": "..." | null, "link": "https://..." | null,
      "sections": [
        {"title": "...", "numbers": ["..."], "contributors": ["..."], "events": ["..."],
         "link": "https://..." | null,
         "chart": {"media_type": "image/png", "alt": "...", "sha256": "...", "base64": "..."} | null}
      ],
      "unchanged": "..." | null,
      "quiet": "..." | null
    }

``chart.base64`` is left out when the payload is built with ``include_charts=False``; its
``sha256`` is always there. Fields may be added in later releases of version 1; a field is
removed or changes meaning only with a new ``version``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from insights.periods import Period

SCHEMA = "harm-insights.digest"
SCHEMA_VERSION = 1

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _check_link(link: str | None, what: str) -> None:
    if link is not None and (urlsplit(link).scheme not in ("http", "https") or not urlsplit(link).hostname):
        raise ValueError(f"{what} must be an http(s) URL, not {link!r}")


@dataclass(frozen=True)
class Section:
    """One followed slice that changed: what moved, by how much, why, and where to look.

    All texts are plain text. ``numbers`` are ready-formatted lines ('Actions 12,345, +18.2 %
    vs previous week'); ``contributors`` are the lines of ``explain_change``; ``events`` are the
    annotated events near the period. ``chart_png`` is a PNG image; ``chart_alt`` describes it
    for readers who cannot see it.
    """

    title: str
    numbers: tuple[str, ...] = ()
    contributors: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    chart_png: bytes | None = None
    chart_alt: str = ""
    link: str | None = None

    def __post_init__(self) -> None:
        for name in ("numbers", "contributors", "events"):
            value = getattr(self, name)
            if isinstance(value, str):
                raise TypeError(f"Section.{name} is a sequence of lines, not one string")
            object.__setattr__(self, name, tuple(value))
        if self.chart_png is not None and not self.chart_png.startswith(PNG_SIGNATURE):
            raise ValueError("Section.chart_png must be a PNG image (it does not start with the PNG signature)")
        _check_link(self.link, "Section.link")

    @property
    def chart_sha256(self) -> str | None:
        """The chart's SHA-256 (hex), or None without a chart."""
        return hashlib.sha256(self.chart_png).hexdigest() if self.chart_png is not None else None


@dataclass(frozen=True)
class Digest:
    """A rendered digest for one subscriber and one period.

    ``sections`` are the slices that changed notably; ``unchanged`` is one line naming what was
    followed and did not change; ``quiet`` is the line shown when nothing changed at all (a
    quiet week). ``link`` opens the app on the subscriber's view.
    """

    subscriber_id: str
    subscriber_name: str
    period: Period
    title: str
    sections: tuple[Section, ...] = ()
    intro: str | None = None
    unchanged: str | None = None
    quiet: str | None = None
    link: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "sections", tuple(self.sections))
        _check_link(self.link, "Digest.link")

    @property
    def is_quiet(self) -> bool:
        """True when no followed slice changed notably."""
        return not self.sections

    def as_dict(self, *, include_charts: bool = True) -> dict:
        """The digest as JSON-ready data (the webhook schema, without ``digest_hash``)."""
        return {
            "schema": SCHEMA,
            "version": SCHEMA_VERSION,
            "subscriber": {"id": self.subscriber_id, "name": self.subscriber_name},
            "period": {
                "start": self.period.start.isoformat(),
                "end": self.period.end.isoformat(),
                "label": self.period.label(),
            },
            "title": self.title,
            "intro": self.intro,
            "link": self.link,
            "sections": [_section_dict(s, include_charts) for s in self.sections],
            "unchanged": self.unchanged,
            "quiet": self.quiet,
        }

    @property
    def content_hash(self) -> str:
        """SHA-256 (hex) of everything the digest says, charts included: the delivery log keeps it."""
        canonical = json.dumps(self.as_dict(include_charts=False), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _section_dict(section: Section, include_charts: bool) -> dict:
    chart = None
    if section.chart_png is not None:
        chart = {"media_type": "image/png", "alt": section.chart_alt, "sha256": section.chart_sha256}
        if include_charts:
            chart["base64"] = base64.b64encode(section.chart_png).decode("ascii")
    return {
        "title": section.title,
        "numbers": list(section.numbers),
        "contributors": list(section.contributors),
        "events": list(section.events),
        "link": section.link,
        "chart": chart,
    }


def webhook_payload(digest: Digest, *, include_charts: bool = True) -> dict:
    """The generic webhook's JSON body (schema in this module's docstring)."""
    return {**digest.as_dict(include_charts=include_charts), "digest_hash": digest.content_hash}


def webhook_body(digest: Digest, *, include_charts: bool = True) -> bytes:
    """The webhook payload serialised as compact UTF-8 JSON: the exact bytes that are signed and sent."""
    return json.dumps(
        webhook_payload(digest, include_charts=include_charts), ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")
