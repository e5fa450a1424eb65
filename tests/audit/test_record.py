"""A record's fields, their stored form and its seal: canonical details, hidden passwords, UTC
times, the vocabulary, and a hash that changes with every field."""

from __future__ import annotations

import datetime as dt
import json
import math
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insights.audit import ACTIONS, LOCAL, OUTCOMES, AuditRecord, Event, check_chain, hide_passwords
from insights.audit.chain import Head
from insights.audit.record import GENESIS, canonical_json, seal, timestamp

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
DETAILS = st.dictionaries(st.text(), JSON, max_size=6)

#: Generated JSON is slow to make on a busy machine; that is not what these tests are about.
PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: Fixed offsets: Python compares wall times in a zone's DST fold by their own rules (PEP 495).
OFFSETS = st.timedeltas(-dt.timedelta(hours=23, minutes=59), dt.timedelta(hours=23, minutes=59)).map(dt.timezone)
TIMES = st.datetimes(dt.datetime(1970, 1, 2), dt.datetime(2200, 1, 1), timezones=OFFSETS)


@PROPERTY
@given(DETAILS, st.randoms())
def test_details_are_canonical_whatever_the_key_order(details, rng: random.Random):
    items = list(details.items())
    rng.shuffle(items)
    text = canonical_json(details)
    assert canonical_json(dict(items)) == text
    assert canonical_json(json.loads(text)) == text  # stable: the stored text is its own canonical form


def test_details_sort_keys_at_every_level_and_write_dates_as_iso_text():
    what = {"page": "trends", "filters": {"region": "Europe", "harm_area": ["hate"], "start": dt.date(2026, 3, 2)}}
    assert canonical_json(what) == (
        '{"filters":{"harm_area":["hate"],"region":"Europe","start":"2026-03-02"},"page":"trends"}'
    )


@pytest.mark.parametrize("what", [{"tags": {"a", "b"}}, {"value": math.nan}, {"value": object()}])
def test_details_json_cannot_spell_one_way_are_refused(what):
    with pytest.raises(ValueError, match="plain JSON"):
        canonical_json(what)


#: Characters of a URL's user and password: no spaces or control characters (they end a URL).
VISIBLE = ("Cs", "Cc", "Zs", "Zl", "Zp")
USERINFO = st.text(st.characters(exclude_categories=VISIBLE, exclude_characters="@/:"), min_size=1)
PASSWORDS = st.text(st.characters(exclude_categories=VISIBLE, exclude_characters="@"), min_size=1)
SCHEMES = st.sampled_from(["postgresql", "postgresql+psycopg", "mysql+pymysql", "https", "snowflake"])


@PROPERTY
@given(SCHEMES, USERINFO, PASSWORDS, st.sampled_from(["db.internal:5432/harm", "10.0.0.5/x", "host"]))
def test_passwords_in_urls_are_hidden_wherever_they_sit_in_the_details(scheme, user, password, host):
    url = f"{scheme}://{user}:{password}@{host}"
    hidden = f"{scheme}://{user}:***@{host}"
    assert hide_passwords(url) == hidden
    text = canonical_json({"source": url, "sources": [f"loaded {url} table events"], url: {"nested": url}})
    expected = {"source": hidden, "sources": [f"loaded {hidden} table events"], hidden: {"nested": hidden}}
    assert json.loads(text) == expected


def test_urls_without_a_password_are_left_alone():
    for text in ("sqlite:///data/mod.db", "postgresql://harm@db/harm", "https://example.org/a:b", "a@b.org"):
        assert hide_passwords(text) == text


@PROPERTY
@given(TIMES, TIMES)
def test_stored_times_are_utc_and_sort_as_text_in_time_order(one, other):
    assert timestamp(one).endswith("+00:00")
    assert dt.datetime.fromisoformat(timestamp(one)) == one
    assert (timestamp(one) < timestamp(other)) == (one < other)


def test_a_time_without_a_zone_is_refused():
    with pytest.raises(ValueError, match="time zone"):
        Event.of(LOCAL, "sign_in", at=dt.datetime(2026, 3, 2, 9, 0))


@pytest.mark.parametrize(
    ("who", "action", "outcome", "message"),
    [
        ("ana@example.org", "delete_everything", "allowed", "unknown audit action"),
        ("ana@example.org", "export", "maybe", "unknown audit outcome"),
        ("", "sign_in", "denied", "who must be"),
        ("ana@example.org\nforged line", "sign_in", "allowed", "who must be"),
    ],
)
def test_fields_outside_the_vocabulary_are_refused(who, action, outcome, message):
    with pytest.raises(ValueError, match=message):
        Event.of(who, action, {}, outcome)


def test_every_action_has_a_meaning():
    assert all(isinstance(meaning, str) and meaning for meaning in ACTIONS.values())
    assert {"sign_in", "sign_out", "page_view", "export", "deck"} <= set(ACTIONS)


SEAL_FIELDS = st.tuples(st.integers(1, 10**12), st.text(), st.text(), st.text(), st.text(), st.text(), st.text())


@PROPERTY
@given(SEAL_FIELDS, st.integers(0, 6), st.text())
def test_the_seal_changes_with_every_field(fields, position, replacement):
    changed = list(fields)
    changed[position] = fields[position] + 1 if position == 0 else fields[position] + "x" + replacement
    assert seal(*fields) != seal(*changed)
    assert len(seal(*fields)) == 64


EVENTS = st.lists(st.tuples(st.sampled_from(sorted(ACTIONS)), DETAILS, st.sampled_from(OUTCOMES)), max_size=5)


@settings(PROPERTY, max_examples=40)
@given(EVENTS)
def test_events_chained_in_turn_form_a_valid_chain(events):
    records: list[AuditRecord] = []
    for action, what, outcome in events:
        prev = records[-1].hash if records else GENESIS
        records.append(Event.of("ana@example.org", action, what, outcome).chained(len(records) + 1, prev))
    head = Head(records[-1].seq, records[-1].hash) if records else Head(0, GENESIS)
    assert check_chain(records, head).ok
    assert [json.loads(record.what) for record in records] == [json.loads(canonical_json(e[1])) for e in events]


def test_a_chain_read_out_of_order_is_named():
    first = Event.of(LOCAL, "sign_in").chained(1, GENESIS)
    second = Event.of(LOCAL, "sign_out").chained(2, first.hash)
    check = check_chain([second, first], Head(2, second.hash))
    assert (check.ok, check.broken_at, check.problem) == (False, 1, "missing")
    check = check_chain([first, second, second], Head(2, second.hash))
    assert (check.ok, check.broken_at, check.problem) == (False, 3, "out_of_order")
