"""One record of the audit log: who did what, when, whether it was allowed, sealed by a hash.

A record's hash is SHA-256 over the canonical serialization of every field and of the previous
record's hash, so changing any field, or the order, breaks the chain from that record on.
The canonical serialization is a compact JSON array (UTF-8, no spaces)::

    [seq, at, who, action, what, outcome, prev_hash]

where ``at`` is the UTC time as text (``2026-03-02T09:15:00.123456+00:00``) and ``what`` is the
details as canonical JSON text (sorted keys, no spaces). Both are stored exactly as sealed, so
checking a record hashes the stored text and never depends on parsing it back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

#: What can be recorded, with what it means and what its details (``what``) hold. An attempt
#: that was refused is recorded under the action attempted, with ``outcome="denied"``.
ACTIONS: dict[str, str] = {
    "sign_in": "signed in (denied: the address may not use the app)",
    "sign_out": "signed out",
    "page_view": "opened or changed a page; what: the page and its filters",
    "export": "downloaded a chart, a table or the audit log; what: which one and the format",
    "deck": "built a PPTX deck; what: its title and the views in it",
    "audit_verify": "checked the audit log's chain; what: the result",
}

Outcome = Literal["allowed", "denied"]
OUTCOMES: tuple[Outcome, ...] = ("allowed", "denied")

#: ``who`` where the app runs without sign-in.
LOCAL = "local"

#: The previous hash of the first record.
GENESIS = "0" * 64

#: The canonical serialization of a record's fields: compact JSON, UTF-8 as it is.
_SERIALIZATION = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))

#: ``scheme://user:password@``: the password part of a URL written in the details.
_URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s/@:]*:)[^\s]*@")


@dataclass(frozen=True)
class Event:
    """What happened, checked and in its stored form, before it has a place in the chain."""

    at: str
    who: str
    action: str
    what: str
    outcome: Outcome

    @classmethod
    def of(
        cls,
        who: str,
        action: str,
        what: Mapping[str, Any] | None = None,
        outcome: Outcome = "allowed",
        at: dt.datetime | None = None,
    ) -> Event:
        """Check the fields and put them in stored form. ``at`` defaults to now and must carry a
        time zone; ``who`` is an email address or :data:`LOCAL`. Raises ``ValueError`` for an
        action outside :data:`ACTIONS`, an outcome outside :data:`OUTCOMES`, an empty ``who`` or
        one with control characters, and details that are not JSON (see :func:`canonical_json`)."""
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}; one of {', '.join(ACTIONS)}")
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown audit outcome {outcome!r}; one of {', '.join(OUTCOMES)}")
        if not who or any(unicodedata.category(char) in ("Cc", "Cs") for char in who):
            raise ValueError(f"who must be an address or {LOCAL!r} without control characters, not {who!r}")
        return cls(timestamp(at or dt.datetime.now(dt.UTC)), who, action, canonical_json(what or {}), outcome)

    def chained(self, seq: int, prev_hash: str) -> AuditRecord:
        """The record this event becomes as number ``seq`` after the record hashed ``prev_hash``."""
        fields = (seq, self.at, self.who, self.action, self.what, self.outcome, prev_hash)
        return AuditRecord(*fields, hash=seal(*fields))


@dataclass(frozen=True)
class AuditRecord:
    """One record as stored: its place in the chain, the event, the previous hash and its own."""

    seq: int
    at: str
    who: str
    action: str
    what: str
    outcome: str
    prev_hash: str
    hash: str

    @property
    def time(self) -> dt.datetime:
        """``at`` as a UTC datetime."""
        return dt.datetime.fromisoformat(self.at)

    @property
    def details(self) -> Any:
        """``what`` parsed back from JSON."""
        return json.loads(self.what)

    def computed_hash(self, seq: int | None = None) -> str:
        """The hash its fields give (as record number ``seq`` when given, else its own number)."""
        number = self.seq if seq is None else seq
        return seal(number, self.at, self.who, self.action, self.what, self.outcome, self.prev_hash)


def seal(seq: int, at: str, who: str, action: str, what: str, outcome: str, prev_hash: str) -> str:
    """SHA-256 (hex) of the canonical serialization of a record's fields and the previous hash."""
    payload = _SERIALIZATION.encode([seq, at, who, action, what, outcome, prev_hash])
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


def timestamp(at: dt.datetime) -> str:
    """``at`` in UTC as stored: ISO 8601 with microseconds (text order is time order)."""
    if at.tzinfo is None:
        raise ValueError(f"audit time {at} has no time zone; pass an aware datetime (UTC)")
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def canonical_json(what: Mapping[str, Any]) -> str:
    """Details as canonical JSON text: sorted keys, no spaces, dates as ISO text, and the password
    of any URL in a key or value replaced by ``***``. Raises ``ValueError`` for what JSON cannot
    hold without choosing an order or a spelling (sets, NaN, arbitrary objects)."""
    try:
        text = json.dumps(
            _without_passwords(dict(what)),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
            default=_iso_date,
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"audit details must be plain JSON: {exc}") from exc
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"audit details must be valid Unicode text: {exc}") from exc
    return text


def hide_passwords(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@host`` URL in it replaced by
    ``***`` (as SQLAlchemy's ``render_as_string(hide_password=True)`` shows it)."""
    return _URL_PASSWORD.sub(r"\g<head>***@", text)


def _without_passwords(value: Any) -> Any:
    if isinstance(value, str):
        return hide_passwords(value)
    if isinstance(value, Mapping):
        return {_without_passwords(key): _without_passwords(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_without_passwords(item) for item in value]
    return value


def _iso_date(value: Any) -> str:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")
