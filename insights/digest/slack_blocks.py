"""A digest as a Slack Block Kit payload for an incoming webhook.

Layout: a header (the title), a context line (period, subscriber), then per changed slice a
section with its numbers, a section with what explains it, a context line with nearby events and
a link button, and finally the quiet-week / not-changed lines and a button to the app.

Charts are not in the Slack message: an incoming webhook cannot upload files, and an image
block needs a publicly reachable ``image_url``, which a digest of enforcement data must not
have. Each section with a chart says so and links to the app instead.

Escaping: data text goes into ``mrkdwn`` objects only through :func:`mrkdwn_escape`, and those
objects are ``verbatim`` (no automatic linking of URLs, channels or mentions). Text objects of
type ``plain_text`` (header, buttons) are not parsed by Slack at all. Slack's limits (150
characters in a header, 3,000 in a section, 50 blocks) are kept by shortening, never by
cutting an escape sequence in half.
"""

from __future__ import annotations

from collections.abc import Sequence

from insights.digest.message import Digest, Section

MAX_BLOCKS = 50
HEADER_LIMIT = 150
TEXT_LIMIT = 3000
BUTTON_TEXT_LIMIT = 75

_ZWSP = "\u200b"  # zero-width space: invisible, but no longer a formatting marker's boundary
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MARKERS = "*_~`"
_ELLIPSIS = "…"


def mrkdwn_escape(text: str) -> str:
    """Plain text made safe to put in Slack ``mrkdwn``: it reads the same and formats nothing.

    ``&``, ``<`` and ``>`` become ``&amp;``, ``&lt;``, ``&gt;`` (Slack's documented escaping:
    no ``<url|link>``, ``<!channel>`` or ``<@user>`` can form); the formatting markers
    ``* _ ~ ``` are fenced with zero-width spaces so no bold, italic, strike or code span can
    open; ``://`` gets a zero-width space so a URL in data is not turned into a link.
    """
    out = []
    for char in text:
        if char in _ENTITIES:
            out.append(_ENTITIES[char])
        elif char in _MARKERS:
            out.append(f"{_ZWSP}{char}{_ZWSP}")
        else:
            out.append(char)
    return "".join(out).replace("://", f":{_ZWSP}//")


def _fit(text: str, limit: int, escape=mrkdwn_escape) -> str:
    """``text`` escaped, shortened (with an ellipsis) so that the escaped form has at most ``limit`` characters."""
    out = escape(text)
    while len(out) > limit:
        text = text[: max(0, len(text) - (len(out) - limit) - 1)]
        out = escape(text) + _ELLIPSIS
    return out


def _plain(text: str, limit: int) -> dict:
    return {"type": "plain_text", "text": _fit(text, limit, escape=str) or " ", "emoji": False}


def _mrkdwn(text: str) -> dict:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _lines(heading: str | None, lines: Sequence[str], bullet: str = "• ") -> str:
    """A heading in bold (our markup) over escaped bullet lines, within Slack's section limit."""
    head = [_fit(heading, 500, escape=lambda t: f"*{mrkdwn_escape(t)}*")] if heading else []
    body = [bullet + _fit(line, 500) for line in lines]
    dropped = 0

    def joined() -> str:
        more = [f"{_ELLIPSIS} {dropped} more in the email and the app"] if dropped else []
        return "\n".join(head + body + more)

    while body and len(joined()) > TEXT_LIMIT:
        body.pop()
        dropped += 1
    return joined()


def _button(text: str, url: str) -> dict:
    return {"type": "button", "text": _plain(text, BUTTON_TEXT_LIMIT), "url": url}


def _section_blocks(section: Section) -> list[dict]:
    blocks: list[dict] = [{"type": "section", "text": _mrkdwn(_lines(section.title, section.numbers))}]
    if section.contributors:
        blocks.append({"type": "section", "text": _mrkdwn(_lines("What explains it", section.contributors))})
    notes = []
    if section.events:
        notes.append(_mrkdwn(_fit("Nearby events: " + "; ".join(section.events), TEXT_LIMIT)))
    if section.chart_png is not None:
        described = f"Chart: {section.chart_alt}, " if section.chart_alt else "Chart "
        notes.append(
            _mrkdwn(_fit(described, 500) + "in the email and the app (Slack incoming webhooks cannot carry images)")
        )
    if notes:
        blocks.append({"type": "context", "elements": notes})
    if section.link:
        blocks.append({"type": "actions", "elements": [_button("Open in Harm Insights", section.link)]})
    blocks.append({"type": "divider"})
    return blocks


def slack_payload(digest: Digest) -> dict:
    """The JSON body to POST to a Slack incoming webhook: fallback ``text`` plus ``blocks``."""
    head: list[dict] = [
        {"type": "header", "text": _plain(digest.title, HEADER_LIMIT)},
        {
            "type": "context",
            "elements": [_mrkdwn(_fit(f"{digest.period.label()} · for {digest.subscriber_name}", TEXT_LIMIT))],
        },
    ]
    if digest.intro:
        head.append({"type": "section", "text": _mrkdwn(_fit(digest.intro, TEXT_LIMIT))})
    sections = [_section_blocks(section) for section in digest.sections]
    tail: list[dict] = []
    if digest.quiet:
        tail.append({"type": "section", "text": _mrkdwn(_fit(digest.quiet, TEXT_LIMIT))})
    if digest.unchanged:
        tail.append({"type": "context", "elements": [_mrkdwn(_fit(digest.unchanged, TEXT_LIMIT))]})
    if digest.link:
        tail.append({"type": "actions", "elements": [_button("Open Harm Insights", digest.link)]})
    body: list[dict] = []
    room = MAX_BLOCKS - len(head) - len(tail) - 1  # one for a "more sections" note
    for n, blocks in enumerate(sections):
        if len(body) + len(blocks) > room:
            rest = len(sections) - n
            note = f"{rest} more changed slice{'s' if rest > 1 else ''} in the email and the app"
            body.append({"type": "context", "elements": [_mrkdwn(note)]})
            break
        body.extend(blocks)
    return {"text": _fit(digest.title, TEXT_LIMIT), "blocks": head + body + tail}
