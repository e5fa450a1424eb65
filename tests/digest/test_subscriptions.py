"""The subscriptions file: parsing, the errors a subscriber-list owner is shown, and the Follow button's edits."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insights import DataError
from insights.digest.subscriptions import (
    Follow,
    Watch,
    add_follow,
    follow_of,
    load_subscriptions,
    parse_subscriptions,
    remove_follow,
    slice_key,
)
from insights.metrics import metrics
from insights.model import labels

ROOT = Path(__file__).resolve().parents[2]

VALID = """
version = 1

[[subscriber]]
id = "ana@example.org"
name = "Ana"
cadence = "0 7 * * MON"

[subscriber.channels]
email = "ana@example.org"

[[subscriber.follow]]
filters = { harm_area = "violent_extremism" }
metrics = ["actions"]
"""


def documented_example() -> str:
    """The TOML example in docs/digests.md (the first ```toml block)."""
    text = (ROOT / "docs" / "digests.md").read_text()
    return re.search(r"```toml\n(.*?)```", text, re.DOTALL).group(1)


def test_the_documented_example_parses_into_what_it_says():
    subscriptions = parse_subscriptions(documented_example(), source="docs/digests.md")
    ana = subscriptions.get("ana@example.org")
    assert ana is not None and ana.name == "Ana Lima" and ana.timezone == "Europe/Lisbon"
    assert ana.cadence == "0 7 * * MON"
    assert ana.channels.email == "ana@example.org" and ana.channels.webhook_secret_env == "HARM_INSIGHTS_WEBHOOK_SECRET"
    germany = ana.follows[0]
    assert germany.cube_filters() == {"country": "DE", "harm_area": "violent_extremism"}
    assert germany.min_volume == 100
    assert germany.watches == (
        Watch("actions", "up", None, 10),
        Watch("proactive_rate", "down", 0.02, None),
        Watch("appeal_rate", "both", None, None),  # a bare name takes the follow's defaults
    )
    assert len(subscriptions) >= 2


def test_aliases_of_coded_dimensions_name_one_slice():
    text = VALID.replace('harm_area = "violent_extremism"', 'harm_area = ["Hate speech", "hateful_behavior"]')
    follow = parse_subscriptions(text).entries[0].follows[0]
    assert follow.filters == {"harm_area": ("hateful_behavior",)}


def test_follow_level_defaults_and_per_metric_overrides():
    text = VALID.replace(
        'metrics = ["actions"]',
        'direction = "down"\nmin_change_pct = 5\nmetrics = ["actions", { metric = "appeal_rate", direction = "up" }]',
    )
    watches = parse_subscriptions(text).entries[0].follows[0].watches
    assert watches == (Watch("actions", "down", None, 5), Watch("appeal_rate", "up", None, 5))


# snippet replacing part of VALID → fragments that the error must contain (file, entry, what was expected)
ERRORS = {
    "not toml": (("version = 1", "version = = 1"), ["subs.toml", "not valid TOML"]),
    "version": (("version = 1", "version = 2"), ["subs.toml", "version = 2", "version = 1"]),
    "no id": (('id = "ana@example.org"\n', ""), ["subscriber #1", "missing 'id'"]),
    "typo key": (("cadence =", 'cadance = "x"\ncadence ='), ["subscriber #1 ('ana@example.org')", "cadance"]),
    "cron": (('"0 7 * * MON"', '"0 7 * MON"'), ["cadence '0 7 * MON'", "five fields"]),
    "bad cron": (('"0 7 * * MON"', '"0 25 * * *"'), ["cadence '0 25 * * *'", "not a cron expression"]),
    "hourly": (('"0 7 * * MON"', '"0 * * * *"'), ["more than once a day"]),
    "never": (('"0 7 * * MON"', '"0 7 31 2 *"'), ["never fires"]),
    "zone": (
        ('cadence = "0 7 * * MON"', 'cadence = "0 7 * * MON"\ntimezone = "Mars/Olympus"'),
        ["Mars/Olympus", "IANA"],
    ),
    "email": (
        ('email = "ana@example.org"', 'email = "Ana <ana@example.org>"'),
        ["[subscriber.channels]", "not an address"],
    ),
    "header injection": (
        ('email = "ana@example.org"', 'email = "ana@example.org\\nBcc: x@example.org"'),
        ["not an address"],
    ),
    "no channel": (('email = "ana@example.org"', ""), ["no channel", "email", "slack_webhook", "webhook"]),
    "url": (
        ('email = "ana@example.org"', 'webhook = "ftp://example.org/x"'),
        ["webhook 'ftp://example.org/x'", "http(s)"],
    ),
    "secret without hook": (
        ('email = "ana@example.org"', 'email = "ana@example.org"\nwebhook_secret_env = "S"'),
        ["no 'webhook'"],
    ),
    "dimension": (("harm_area =", "colour ="), ["follow #1, filters", "'colour' is not a dimension", "harm_area"]),
    "metric": (('["actions"]', '["actoins"]'), ["follow #1, metric #1", "'actoins' is not a metric", "proactive_rate"]),
    "no metrics": (('metrics = ["actions"]', "metrics = []"), ["follow #1", "non-empty list"]),
    "direction": (
        ('["actions"]', '[{ metric = "actions", direction = "upward" }]'),
        ["'upward'", "'up', 'down', 'both'"],
    ),
    "negative": (('metrics = ["actions"]', 'metrics = ["actions"]\nmin_volume = -5'), ["min_volume", ">= 0", "-5"]),
    "twice": (('metrics = ["actions"]', 'metrics = ["actions", "actions"]'), ["['actions'] listed twice"]),
    "bool": (('metrics = ["actions"]', 'metrics = ["actions"]\nmin_change = true'), ["min_change must be a number"]),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_name_the_file_the_entry_and_what_was_expected(tmp_path, case):
    (old, new), fragments = ERRORS[case]
    assert old in VALID
    path = tmp_path / "subs.toml"
    path.write_text(VALID.replace(old, new, 1))
    with pytest.raises(DataError) as error:
        load_subscriptions(path)
    for fragment in fragments:
        assert fragment in str(error.value), (case, str(error.value))


def test_duplicate_subscriber_ids_and_slices_are_refused(tmp_path):
    with pytest.raises(DataError, match=r"subscriber #2 has id 'ana@example.org', already used by subscriber #1"):
        parse_subscriptions(VALID + VALID.replace("version = 1", ""))
    follow_twice = (
        VALID + '\n[[subscriber.follow]]\nfilters = { harm_area = "violent_extremism" }\nmetrics = ["appeal_rate"]\n'
    )
    with pytest.raises(DataError, match=r"follow #2: the slice 'harm_area=violent_extremism' is already followed"):
        parse_subscriptions(follow_twice)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(DataError, match=r"nowhere\.toml: no such subscriptions file"):
        load_subscriptions(tmp_path / "nowhere.toml")


@pytest.mark.parametrize(
    ("watch", "change", "pct", "expected"),
    [
        (Watch("actions", "up"), 5, 0.1, True),
        (Watch("actions", "up"), -5, -0.1, False),
        (Watch("actions", "down"), -5, -0.1, True),
        (Watch("actions", "both"), -5, -0.1, True),
        (Watch("actions", "both"), 0, 0.0, False),
        (Watch("actions", "both"), None, None, False),
        (Watch("actions", "up", min_change=10), 9, 0.5, False),
        (Watch("actions", "up", min_change=10), 10, 0.5, True),
        (Watch("actions", "up", min_change_pct=10), 1000, 0.099, False),
        (Watch("actions", "up", min_change_pct=10), 1000, 0.1, True),
        (Watch("actions", "up", min_change_pct=10), 1000, None, False),  # baseline 0: no relative change
        (Watch("proactive_rate", "down", min_change=0.02, min_change_pct=5), -0.03, -0.04, False),  # both must hold
        (Watch("proactive_rate", "down", min_change=0.02, min_change_pct=5), -0.03, -0.06, True),
    ],
)
def test_which_changes_matter(watch, change, pct, expected):
    assert watch.matters(change, pct) is expected


def test_a_page_can_tell_whether_its_slice_is_followed():
    ana = parse_subscriptions(VALID).get("ana@example.org")
    assert ana.following(slice_key({"harm_area": "Violent extremism"})) is ana.follows[0]
    assert ana.following(slice_key({"harm_area": ["violent_extremism"], "country": "DE"})) is None
    assert slice_key({"country": ["FR", "DE"]}) == slice_key({"country": ["DE", "FR"]}) == "country=DE,FR"


def test_volume_threshold():
    follow = follow_of({"harm_area": "self_harm"}, ["actions"], min_volume=100)
    assert not follow.has_volume(99) and follow.has_volume(100) and not follow.has_volume(None)
    assert follow_of({}, ["actions"]).has_volume(None)


# ---------------------------------------------------------------------------------------------
# The Follow button


COMMENTED = "# Digest subscriptions: edited by hand and by the app's Follow button.\n" + VALID.replace(
    'cadence = "0 7 * * MON"', 'cadence = "0 7 * * MON"  # Monday mornings'
)


def test_add_follow_keeps_comments_and_round_trips(tmp_path):
    path = tmp_path / "subs.toml"
    path.write_text(COMMENTED)
    new = follow_of(
        {"country": ["DE", "FR"], "harm_area": "hateful_behavior"},
        ["actions", "proactive_rate"],
        direction="up",
        min_change_pct=10,
        min_volume=50,
        label="Hate in DE/FR",
    )
    after = add_follow(path, new, subscriber_id="ana@example.org")
    text = path.read_text()
    assert "# Digest subscriptions: edited by hand" in text and "# Monday mornings" in text
    assert after.get("ana@example.org").follows[-1] == new
    assert load_subscriptions(path).get("ana@example.org").follows == after.get("ana@example.org").follows
    assert len(after.get("ana@example.org").follows) == 2
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # no temporary file left behind


def test_following_a_followed_slice_replaces_it_and_unfollowing_removes_it(tmp_path):
    path = tmp_path / "subs.toml"
    path.write_text(COMMENTED)
    replacement = follow_of({"harm_area": "violent_extremism"}, ["appeal_rate"], direction="down")
    after = add_follow(path, replacement, subscriber_id="ana@example.org")
    assert after.get("ana@example.org").follows == (replacement,)
    after = remove_follow(path, subscriber_id="ana@example.org", key=replacement.key)
    assert after.get("ana@example.org").follows == ()
    assert after.get("ana@example.org").channels.email == "ana@example.org"  # the subscriber stays
    unchanged = path.read_text()
    remove_follow(path, subscriber_id="ana@example.org", key=replacement.key)  # unfollowing twice: no change
    assert path.read_text() == unchanged


def test_add_follow_creates_the_file_and_the_subscriber(tmp_path):
    path = tmp_path / "new" / "subs.toml"
    follow = follow_of({"harm_area": "self_harm"}, ["actions"])
    after = add_follow(path, follow, subscriber_id="bo", name="Bo", email="bo@example.org", timezone="Asia/Tokyo")
    bo = after.get("bo")
    assert (bo.name, bo.cadence, bo.timezone, bo.channels.email, bo.follows) == (
        "Bo",
        "0 7 * * MON",
        "Asia/Tokyo",
        "bo@example.org",
        (follow,),
    )


def test_an_edit_that_would_not_load_leaves_the_file_as_it_was(tmp_path):
    path = tmp_path / "subs.toml"
    path.write_text(COMMENTED)
    before = path.read_bytes()
    follow = follow_of({"harm_area": "self_harm"}, ["actions"])
    with pytest.raises(DataError, match="not an address"):
        add_follow(path, follow, subscriber_id="cy", email="not an address")
    with pytest.raises(DataError, match="give an email"):
        add_follow(path, follow, subscriber_id="dee")
    with pytest.raises(DataError, match="is not a metric"):
        add_follow(path, follow_of({"harm_area": "self_harm"}, ["no_such_metric"]), subscriber_id="ana@example.org")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["subs.toml", "subs.toml.lock"]


def test_concurrent_follow_clicks_lose_none(tmp_path):
    path = tmp_path / "subs.toml"
    path.write_text(COMMENTED)
    countries = ["DE", "FR", "IT", "ES", "PL", "NL", "SE", "PT"]

    def click(country: str) -> None:
        add_follow(path, follow_of({"country": country}, ["actions"]), subscriber_id="ana@example.org")

    with ThreadPoolExecutor(max_workers=len(countries)) as pool:
        for clicked in [pool.submit(click, c) for c in countries]:
            clicked.result()  # re-raises a click's error here
    followed = {f.key for f in load_subscriptions(path).get("ana@example.org").follows}
    assert followed == {"harm_area=violent_extremism"} | {f"country={c}" for c in countries}


# Free-text dimensions take any value; coded ones take their codes (aliases are normalised on read).
free_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12).filter(
    lambda s: s.strip() == s and s
)
slices = st.fixed_dictionaries(
    {},
    optional={
        "harm_area": st.sampled_from(sorted(labels("harm_area"))),
        "country": st.lists(st.sampled_from(["DE", "FR", "US", "BR", "IN"]), min_size=1, max_size=3, unique=True),
        "language": free_text,
        "platform": st.lists(free_text, min_size=1, max_size=2, unique=True),
    },
)
watches = st.builds(
    Watch,
    metric=st.sampled_from(sorted(metrics())),
    direction=st.sampled_from(["up", "down", "both"]),
    min_change=st.none() | st.floats(0, 1e6, allow_nan=False),
    min_change_pct=st.none() | st.integers(0, 500),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    filters=slices,
    watched=st.lists(watches, min_size=1, max_size=4, unique_by=lambda w: w.metric),
    min_volume=st.integers(0, 10_000),
    label=st.none() | st.text(max_size=40).filter(lambda s: s.strip() == s and s),
)
def test_any_follow_written_by_the_button_reads_back_the_same(tmp_path, filters, watched, min_volume, label):
    path = tmp_path / "roundtrip.toml"
    path.unlink(missing_ok=True)
    follow = Follow(filters, tuple(watched), min_volume, "actions", label)
    after = add_follow(path, follow, subscriber_id="x", email="x@example.org")
    assert after.get("x").follows == (follow,)
