"""Who follows what: the subscriptions file, read into frozen dataclasses and edited in place.

A subscriptions file is TOML. Each ``[[subscriber]]`` gets one digest per cadence tick, on each
of its channels, about the slices it follows::

    version = 1

    [[subscriber]]
    id = "ana@example.org"             # unique; the delivery log is keyed by it
    name = "Ana Lima"
    cadence = "0 7 * * MON"            # cron (minute hour day-of-month month day-of-week), at most once a day
    timezone = "Europe/Lisbon"         # the cadence's and the period's time zone; default UTC

    [subscriber.channels]              # at least one
    email = "ana@example.org"
    slack_webhook = "https://hooks.slack.com/services/T000/B000/XXXX"
    webhook = "https://alerts.example.org/harm-insights"
    webhook_secret_env = "HARM_INSIGHTS_WEBHOOK_SECRET"   # signs the webhook; the secret stays in the environment

    [[subscriber.follow]]
    label = "Violent extremism in Germany"                # optional
    filters = { harm_area = "violent_extremism", country = "DE" }
    min_volume = 100                   # at least 100 actions in the period (volume_measure), else not reported
    direction = "both"                 # default for the metrics below: "up", "down" or "both"
    metrics = [
      { metric = "actions", direction = "up", min_change_pct = 10 },       # rises of 10 % or more
      { metric = "proactive_rate", direction = "down", min_change = 0.02 },  # falls of 2 pp or more
      "appeal_rate",                   # a bare name takes the follow's direction and thresholds
    ]

``min_change`` is an absolute change in the metric's own unit (a rate is a proportion, so 0.02 is
2 percentage points, as ``Delta.change``); ``min_change_pct`` is a relative change in percent.
When both are given both must be met. Errors raise :class:`insights.DataError` naming the file,
the entry and what was expected.

:func:`add_follow` and :func:`remove_follow` (the app's Follow button) edit the file in place:
comments and layout are kept, the result is validated before it replaces the file, and the
replacement is atomic (a temporary file renamed over the old one, under a lock).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import math
import os
import re
import tempfile
import tomllib
import zoneinfo
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from types import MappingProxyType
from typing import Literal, get_args
from urllib.parse import urlsplit

import tomlkit
from croniter import CroniterBadDateError, croniter

from insights.errors import DataError
from insights.metrics import measures, metrics
from insights.model import CODED_DIMENSIONS, DIMENSIONS, normalise_code

Direction = Literal["up", "down", "both"]
DIRECTIONS: tuple[str, ...] = get_args(Direction)

#: The cadence given to a subscriber the Follow button creates: Mondays at 07:00.
DEFAULT_CADENCE = "0 7 * * MON"

#: Dimensions a follow may filter on (a period is chosen by the cadence, not by a filter).
FILTER_DIMENSIONS: tuple[str, ...] = tuple(d for d in DIMENSIONS if d != "date")

FORMAT_VERSION = 1

_SUBSCRIBER_KEYS = {"id", "name", "cadence", "timezone", "channels", "follow"}
_CHANNEL_KEYS = {"email", "slack_webhook", "webhook", "webhook_secret_env"}
_FOLLOW_KEYS = {
    "label",
    "filters",
    "metrics",
    "direction",
    "min_change",
    "min_change_pct",
    "min_volume",
    "volume_measure",
}
_WATCH_KEYS = {"metric", "direction", "min_change", "min_change_pct"}
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Watch:
    """One metric of a followed slice, and which of its changes are worth a line in a digest."""

    metric: str
    direction: Direction = "both"
    min_change: float | None = None  # absolute, in the metric's unit (rates: 0.02 = 2 pp)
    min_change_pct: float | None = None  # relative, in percent (10 = 10 %)

    def matters(self, change: float | None, pct_change: float | None) -> bool:
        """True when a change goes the way that matters and clears the thresholds.

        ``change`` and ``pct_change`` are as on :class:`insights.change.Change`
        (``pct_change`` a fraction: 0.1 is 10 %). An unknown change never matters, nor does a
        relative threshold against an unknown relative change (a baseline of 0).
        """
        if change is None or change == 0:
            return False
        if (self.direction == "up" and change < 0) or (self.direction == "down" and change > 0):
            return False
        if self.min_change is not None and abs(change) < self.min_change:
            return False
        if self.min_change_pct is None:
            return True
        return pct_change is not None and abs(pct_change) * 100 >= self.min_change_pct


@dataclass(frozen=True)
class Follow:
    """A followed slice (filters on the cube's dimensions) and the metrics watched on it."""

    filters: Mapping[str, tuple[str, ...]]
    watches: tuple[Watch, ...]
    min_volume: float = 0
    volume_measure: str = "actions"
    label: str | None = None

    def __post_init__(self) -> None:
        frozen = {d: (v,) if isinstance(v, str) else tuple(v) for d, v in sorted(self.filters.items())}
        object.__setattr__(self, "filters", MappingProxyType(frozen))
        object.__setattr__(self, "watches", tuple(self.watches))

    def __hash__(self) -> int:
        return hash((self.key, self.watches, self.min_volume, self.volume_measure, self.label))

    @property
    def key(self) -> str:
        """The slice as one stable string, 'country=DE,FR;harm_area=violent_extremism'.

        A subscriber follows a slice once: following it again replaces the follow.
        """
        return ";".join(f"{d}={','.join(sorted(v))}" for d, v in self.filters.items())

    def cube_filters(self) -> dict[str, str | list[str]]:
        """The filters as :meth:`insights.Cube.query` takes them (a value or a list of values)."""
        return {d: v[0] if len(v) == 1 else list(v) for d, v in self.filters.items()}

    def has_volume(self, volume: float | None) -> bool:
        """True when the slice's volume in the period (``volume_measure``) reaches ``min_volume``."""
        return self.min_volume <= 0 or (volume is not None and volume >= self.min_volume)


@dataclass(frozen=True)
class Channels:
    """Where a subscriber's digest goes. The webhook secret itself is read from the environment."""

    email: str | None = None
    slack_webhook: str | None = None
    webhook: str | None = None
    webhook_secret_env: str | None = None


@dataclass(frozen=True)
class Subscription:
    """One subscriber: who, when (a cron cadence in a time zone), where to, and what they follow."""

    id: str
    name: str
    cadence: str
    channels: Channels
    follows: tuple[Follow, ...] = ()
    timezone: str = "UTC"

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The cadence's time zone."""
        return zoneinfo.ZoneInfo(self.timezone)

    def following(self, key: str) -> Follow | None:
        """The follow of the slice ``key`` (see :func:`slice_key`), or None when it is not followed."""
        return next((f for f in self.follows if f.key == key), None)


@dataclass(frozen=True)
class Subscriptions:
    """A parsed subscriptions file."""

    path: Path | None
    entries: tuple[Subscription, ...] = field(default=())

    def __iter__(self) -> Iterator[Subscription]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, subscriber_id: str) -> Subscription | None:
        """The subscription of one subscriber, or None."""
        return next((s for s in self.entries if s.id == subscriber_id), None)


# ---------------------------------------------------------------------------------------------
# Reading


#: Where the subscriptions file is when ``$HARM_INSIGHTS_SUBSCRIPTIONS`` does not say.
DEFAULT_SUBSCRIPTIONS = Path("~/.config/harm-insights/subscriptions.toml")


def subscriptions_path(env: Mapping[str, str] | None = None) -> Path:
    """The subscriptions file the app's Follow button writes and the digest commands read:
    ``$HARM_INSIGHTS_SUBSCRIPTIONS``, else ``~/.config/harm-insights/subscriptions.toml``."""
    configured = (os.environ if env is None else env).get("HARM_INSIGHTS_SUBSCRIPTIONS")
    return Path(configured) if configured else DEFAULT_SUBSCRIPTIONS.expanduser()


def load_subscriptions(path: str | Path) -> Subscriptions:
    """Read and validate a subscriptions file. A missing file is an error; an empty one has no entries."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: no such subscriptions file") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return parse_subscriptions(text, source=path)


def parse_subscriptions(text: str, *, source: str | Path = "<subscriptions>") -> Subscriptions:
    """Parse the text of a subscriptions file (``source`` names it in error messages)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"{source}: not valid TOML ({exc})") from None
    unknown = set(document) - {"version", "subscriber"}
    if unknown:
        raise DataError(f"{source}: unknown top-level key(s) {sorted(unknown)}; expected 'version' and [[subscriber]]")
    version = document.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise DataError(f"{source}: version = {version!r}, but this release reads version = {FORMAT_VERSION}")
    raw = document.get("subscriber", [])
    if not isinstance(raw, list):
        raise DataError(f"{source}: 'subscriber' must be an array of tables ([[subscriber]]), not {type(raw).__name__}")
    entries = tuple(_subscription(item, f"{source}: subscriber #{n}") for n, item in enumerate(raw, start=1))
    seen: dict[str, int] = {}
    for n, entry in enumerate(entries, start=1):
        if entry.id in seen:
            raise DataError(
                f"{source}: subscriber #{n} has id {entry.id!r}, already used by subscriber #{seen[entry.id]}"
            )
        seen[entry.id] = n
    return Subscriptions(Path(source) if isinstance(source, Path) else None, entries)


def _subscription(item: object, where: str) -> Subscription:
    table = _table(item, where, None)
    ident = _required_text(table, "id", where)
    where = f"{where} ({ident!r})"
    _table(table, where, _SUBSCRIBER_KEYS)
    name = _text(table, "name", where) or ident
    cadence = _required_text(table, "cadence", where)
    problem = cadence_problem(cadence)
    if problem:
        raise DataError(f"{where}: cadence {cadence!r} {problem}")
    timezone = _text(table, "timezone", where) or "UTC"
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise DataError(
            f"{where}: timezone {timezone!r} is not an IANA time zone name such as 'Europe/Berlin'"
        ) from None
    channels = _channels(table.get("channels"), f"{where}, [subscriber.channels]")
    raw_follows = table.get("follow", [])
    if not isinstance(raw_follows, list):
        raise DataError(f"{where}: 'follow' must be an array of tables ([[subscriber.follow]])")
    follows = tuple(_follow(f, f"{where}, follow #{n}") for n, f in enumerate(raw_follows, start=1))
    keys = [f.key for f in follows]
    for n, key in enumerate(keys, start=1):
        if key in keys[: n - 1]:
            raise DataError(f"{where}, follow #{n}: the slice {key or '(everything)'!r} is already followed above")
    return Subscription(ident, name, cadence, channels, follows, timezone)


def cadence_problem(cadence: str) -> str | None:
    """Why a cron expression cannot be a digest cadence, or None when it can.

    A cadence has five fields (or is one of croniter's '@daily', '@weekly', '@monthly',
    '@yearly') and fires at most once a day (one minute, one hour): a digest covers whole days,
    so two sends on one day would cover nothing new.
    """
    if len(cadence.split()) != 5 and not cadence.startswith("@"):
        return "must have five fields: minute hour day-of-month month day-of-week (for example '0 7 * * MON')"
    try:
        expanded = croniter(cadence).expanded
    except (ValueError, KeyError) as exc:  # croniter's errors are ValueErrors; a few slip out as KeyError
        return f"is not a cron expression ({exc})"
    minutes, hours = expanded[0], expanded[1]
    if len(minutes) != 1 or len(hours) != 1 or "*" in (minutes[0], hours[0]):
        return "fires more than once a day; a digest cadence names one minute and one hour, such as '0 7 * * MON'"
    try:
        croniter(cadence, dt.datetime(2000, 1, 1)).get_next(dt.datetime)
    except CroniterBadDateError:
        return "never fires (no such date)"
    return None


def _channels(item: object, where: str) -> Channels:
    if item is None:
        raise DataError(f"{where}: missing; give at least one of 'email', 'slack_webhook', 'webhook'")
    table = _table(item, where, _CHANNEL_KEYS)
    email = _text(table, "email", where)
    if email is not None and not is_email_address(email):
        raise DataError(f"{where}: email {email!r} is not an address such as 'name@example.org'")
    urls = {key: _text(table, key, where) for key in ("slack_webhook", "webhook")}
    for key, url in urls.items():
        if url is not None and not is_http_url(url):
            raise DataError(f"{where}: {key} {url!r} is not an http(s) URL")
    secret_env = _text(table, "webhook_secret_env", where)
    if secret_env is not None and not _ENV_NAME.fullmatch(secret_env):
        raise DataError(f"{where}: webhook_secret_env {secret_env!r} is not an environment variable name")
    if secret_env is not None and urls["webhook"] is None:
        raise DataError(f"{where}: webhook_secret_env is set but there is no 'webhook' to sign")
    if email is None and urls["slack_webhook"] is None and urls["webhook"] is None:
        raise DataError(f"{where}: no channel; give at least one of 'email', 'slack_webhook', 'webhook'")
    return Channels(email, urls["slack_webhook"], urls["webhook"], secret_env)


def is_email_address(text: str) -> bool:
    """A single plain address ('name@example.org'): no display name, spaces or line breaks."""
    _, address = parseaddr(text)
    return address == text and bool(re.fullmatch(r"[^@\s<>\"(),;:]+@[^@\s<>\"(),;:]+\.[^@\s<>\"(),;:.]+", text))


def is_http_url(text: str) -> bool:
    """An absolute http(s) URL with a host."""
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in text)


def _follow(item: object, where: str) -> Follow:
    table = _table(item, where, _FOLLOW_KEYS)
    label = _text(table, "label", where)
    filters = _filters(table.get("filters", {}), f"{where}, filters")
    defaults = Watch(
        metric="",
        direction=_direction(table.get("direction", "both"), where),
        min_change=_threshold(table, "min_change", where),
        min_change_pct=_threshold(table, "min_change_pct", where),
    )
    raw_metrics = table.get("metrics")
    if not isinstance(raw_metrics, list) or not raw_metrics:
        raise DataError(f"{where}: 'metrics' must be a non-empty list of metric names or {{ metric = ... }} tables")
    watches = tuple(_watch(w, defaults, f"{where}, metric #{n}") for n, w in enumerate(raw_metrics, start=1))
    names = [w.metric for w in watches]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise DataError(f"{where}: metric(s) {duplicated} listed twice")
    volume_measure = _text(table, "volume_measure", where) or "actions"
    if volume_measure not in measures():
        raise DataError(
            f"{where}: volume_measure {volume_measure!r} is not a measure; expected one of {sorted(measures())}"
        )
    min_volume = _threshold(table, "min_volume", where) or 0
    return Follow(filters, watches, min_volume, volume_measure, label)


def _filters(item: object, where: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(item, dict):
        raise DataError(f'{where}: expected a table such as {{ harm_area = "violent_extremism", country = "DE" }}')
    filters: dict[str, tuple[str, ...]] = {}
    for dimension, value in item.items():
        if dimension not in FILTER_DIMENSIONS:
            raise DataError(f"{where}: {dimension!r} is not a dimension; expected one of {list(FILTER_DIMENSIONS)}")
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v.strip() for v in values):
            raise DataError(f"{where}: {dimension} must be a value or a non-empty list of values, not {value!r}")
        if dimension in CODED_DIMENSIONS:  # 'Hate speech' and 'hate_speech' are one slice
            values = [normalise_code(dimension, v) or v for v in values]
        filters[dimension] = tuple(dict.fromkeys(v.strip() for v in values))
    return filters


def _watch(item: object, defaults: Watch, where: str) -> Watch:
    if isinstance(item, str):
        table: dict = {"metric": item}
    else:
        table = _table(item, where, _WATCH_KEYS)
    name = _required_text(table, "metric", where)
    if name not in metrics():
        raise DataError(f"{where}: {name!r} is not a metric; expected one of {sorted(metrics())}")
    return Watch(
        metric=name,
        direction=_direction(table["direction"], where) if "direction" in table else defaults.direction,
        min_change=_threshold(table, "min_change", where) if "min_change" in table else defaults.min_change,
        min_change_pct=(
            _threshold(table, "min_change_pct", where) if "min_change_pct" in table else defaults.min_change_pct
        ),
    )


def _direction(value: object, where: str) -> Direction:
    if value not in DIRECTIONS:
        raise DataError(f"{where}: direction must be one of {list(DIRECTIONS)}, not {value!r}")
    return value  # type: ignore[return-value]


def _threshold(table: Mapping[str, object], key: str, where: str) -> float | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or math.isnan(value):
        raise DataError(f"{where}: {key} must be a number >= 0, not {value!r}")
    return value


def _table(item: object, where: str, allowed: set[str] | None) -> dict:
    """``item`` as a table with no keys outside ``allowed`` (None: any keys)."""
    if not isinstance(item, dict):
        raise DataError(f"{where}: expected a table, not {type(item).__name__} {item!r}")
    if allowed is not None and (unknown := set(item) - allowed):
        raise DataError(f"{where}: unknown key(s) {sorted(unknown)}; expected some of {sorted(allowed)}")
    return item


def _required_text(table: Mapping[str, object], key: str, where: str) -> str:
    value = _text(table, key, where)
    if value is None:
        raise DataError(f"{where}: missing {key!r}")
    return value


def _text(table: Mapping[str, object], key: str, where: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"{where}: {key} must be a non-empty string, not {value!r}")
    return value.strip()


# ---------------------------------------------------------------------------------------------
# Writing (the Follow button)


def add_follow(
    path: str | Path,
    follow: Follow,
    *,
    subscriber_id: str,
    name: str | None = None,
    email: str | None = None,
    cadence: str = DEFAULT_CADENCE,
    timezone: str = "UTC",
) -> Subscriptions:
    """Follow a slice for a subscriber, creating the file or the subscriber when needed.

    Following a slice the subscriber already follows replaces that follow (same filters, new
    metrics and thresholds). A new subscriber gets ``name``, ``cadence``, ``timezone`` and an
    email channel to ``email`` (required then); an existing one keeps theirs. Returns the file
    as read back after the write.
    """
    with _editing(path) as document:
        subscribers = document.setdefault("subscriber", tomlkit.aot())
        entry = next((s for s in subscribers if s.get("id") == subscriber_id), None)
        if entry is None:
            if email is None:
                raise DataError(f"{path}: {subscriber_id!r} is not a subscriber yet; give an email to send digests to")
            entry = tomlkit.table()
            entry["id"] = subscriber_id
            entry["name"] = name or subscriber_id
            entry["cadence"] = cadence
            if timezone != "UTC":
                entry["timezone"] = timezone
            channels = tomlkit.table()
            channels["email"] = email
            entry["channels"] = channels
            subscribers.append(entry)
        follows = entry.setdefault("follow", tomlkit.aot())
        replaced = [n for n, f in enumerate(follows) if _follow_key(f) == follow.key]
        if replaced:
            follows[replaced[0]] = _follow_table(follow)
        else:
            follows.append(_follow_table(follow))
    return load_subscriptions(path)


def remove_follow(path: str | Path, *, subscriber_id: str, key: str) -> Subscriptions:
    """Stop following the slice ``key`` (a :attr:`Follow.key`). Unfollowing what is not followed changes nothing.

    The subscriber stays (with their cadence and channels) even with no follows left; their
    digests then read as quiet weeks until they follow something again or are removed by hand.
    """
    with _editing(path) as document:
        for entry in document.get("subscriber", []):
            if entry.get("id") == subscriber_id and "follow" in entry:
                kept = [f for f in entry["follow"] if _follow_key(f) != key]
                if len(kept) != len(entry["follow"]):
                    if kept:
                        aot = tomlkit.aot()
                        for f in kept:
                            aot.append(f)
                        entry["follow"] = aot
                    else:
                        del entry["follow"]
    return load_subscriptions(path)


def _follow_key(table: Mapping) -> str:
    """The slice key of a follow table as it stands in the file ('' for one whose filters do not parse)."""
    try:
        return Follow(_filters(dict(table.get("filters", {})), "follow"), ()).key
    except (DataError, TypeError, ValueError):
        return ""


def _follow_table(follow: Follow) -> tomlkit.items.Table:
    table = tomlkit.table()
    if follow.label:
        table["label"] = follow.label
    filters = tomlkit.inline_table()
    filters.update(follow.cube_filters())
    table["filters"] = filters
    if follow.min_volume:
        table["min_volume"] = _number(follow.min_volume)
    if follow.volume_measure != "actions":
        table["volume_measure"] = follow.volume_measure
    watches = tomlkit.array()
    for watch in follow.watches:
        item = tomlkit.inline_table()
        item["metric"] = watch.metric
        item["direction"] = watch.direction
        if watch.min_change is not None:
            item["min_change"] = _number(watch.min_change)
        if watch.min_change_pct is not None:
            item["min_change_pct"] = _number(watch.min_change_pct)
        watches.append(item)
    watches.multiline(True)
    table["metrics"] = watches
    return table


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


@contextlib.contextmanager
def _editing(path: str | Path) -> Iterator[tomlkit.TOMLDocument]:
    """Lock the file, hand out its document for editing, validate the result and replace the file atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(path.name + ".lock")
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one writer at a time: two Follow clicks must not lose one
        try:
            text = path.read_text(encoding="utf-8") if path.exists() else f"version = {FORMAT_VERSION}\n"
            try:
                document = tomlkit.parse(text)
            except tomlkit.exceptions.ParseError as exc:
                raise DataError(f"{path}: not valid TOML ({exc}); not changed") from None
            yield document
            new_text = tomlkit.dumps(document)
            parse_subscriptions(new_text, source=path)  # never write a file that would not load
            _replace_atomically(path, new_text)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _replace_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, flush it to disk and rename it over ``path``."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def slice_key(filters: Mapping[str, str | Sequence[str]]) -> str:
    """The :attr:`Follow.key` of a slice given as filters (a page's filter state): is it followed?

    Names are normalised as in the file: ``{"harm_area": "Hate speech"}`` and
    ``{"harm_area": ["hateful_behavior"]}`` are one slice.
    """
    table = {d: v if isinstance(v, str) else list(v) for d, v in filters.items()}
    return Follow(_filters(table, "filters"), ()).key


def follow_of(
    filters: Mapping[str, str | Sequence[str]],
    metrics: Sequence[str],
    *,
    direction: Direction = "both",
    min_change: float | None = None,
    min_change_pct: float | None = None,
    min_volume: float = 0,
    label: str | None = None,
) -> Follow:
    """A follow built the way the app's Follow button knows it: a slice, metric names and one rule for all.

    Validated like a follow read from a file (unknown dimensions, metrics or directions raise
    :class:`insights.DataError`).
    """
    table: dict[str, object] = {"filters": {d: v if isinstance(v, str) else list(v) for d, v in filters.items()}}
    table["metrics"] = list(metrics)
    table["direction"] = direction
    for key, value in (("min_change", min_change), ("min_change_pct", min_change_pct), ("label", label)):
        if value is not None:
            table[key] = value
    table["min_volume"] = min_volume
    return _follow(table, "follow")


__all__ = [
    "DEFAULT_CADENCE",
    "DEFAULT_SUBSCRIPTIONS",
    "Channels",
    "Direction",
    "Follow",
    "Subscription",
    "Subscriptions",
    "Watch",
    "add_follow",
    "cadence_problem",
    "follow_of",
    "load_subscriptions",
    "parse_subscriptions",
    "remove_follow",
    "slice_key",
    "subscriptions_path",
]
