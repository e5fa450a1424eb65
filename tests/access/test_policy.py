"""The access policy file: deny by default, membership by email / domain / claim, unions of groups,
and a clear DataError naming the key for every malformed policy."""

from __future__ import annotations

import tomllib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from insights import DataError
from insights.access import Grant, Scope, load_policy, parse_policy

POLICY = """
[groups.leadership]
harm_areas = "all"
places = "all"
export = true

[groups.extremism_europe]
harm_areas = ["violent_extremism"]
regions = ["Europe"]
countries = ["tr"]

[groups.admins]
harm_areas = "all"
places = "all"
admin = true

[groups.nothing]
harm_areas = ["self_harm"]

[[members]]
email = "Head@Example.com"
groups = ["leadership"]

[[members]]
domain = "example.com"
groups = ["extremism_europe"]

[[members]]
claim = { name = "groups", value = "ts-admins" }
groups = ["admins"]

[[members]]
email = "placeless@other.org"
groups = ["nothing"]
"""


@pytest.fixture
def policy():
    return parse_policy(tomllib.loads(POLICY))


def test_nobody_the_policy_does_not_name_gets_in(policy):
    assert policy.scope_for({"email": "someone@elsewhere.org"}) is None
    assert policy.scope_for({}) is None
    assert policy.scope_for({"email": "x@example.com.evil.org"}) is None
    assert policy.scope_for({"email": "x@sub.example.com"}) is None


def test_an_unverified_email_matches_no_email_or_domain_rule(policy):
    assert policy.scope_for({"email": "ana@example.com", "email_verified": False}) is None


def test_domain_members_get_their_group_and_places_are_regions_or_countries(policy):
    scope = policy.scope_for({"email": "ana@example.com"})
    assert scope is not None and not scope.export and not scope.admin
    assert scope.grants == (Grant(frozenset({"violent_extremism"}), frozenset({"Europe", "TR"})),)
    assert scope.admits({"harm_area": "violent_extremism", "region": "Asia", "country": "TR"})
    assert not scope.admits({"harm_area": "self_harm", "region": "Europe", "country": "FR"})
    assert not scope.admits({"harm_area": "violent_extremism", "region": "Americas", "country": "BR"})


def test_a_user_in_several_groups_gets_the_union(policy):
    scope = policy.scope_for({"email": "head@example.com", "groups": ["ts-admins"]})
    assert scope is not None and scope.export and scope.admin and scope.everything
    assert set(scope.groups) == {"leadership", "extremism_europe", "admins"}


def test_a_group_without_places_sees_nothing(policy):
    scope = policy.scope_for({"email": "placeless@other.org"})
    assert scope is not None and scope.grants[0].places == frozenset()
    assert not scope.admits({"harm_area": "self_harm", "country": "FR", "region": "Europe"})


def test_equal_scopes_share_a_key_whoever_holds_them(policy):
    one = policy.scope_for({"email": "ana@example.com"})
    other = policy.scope_for({"email": "bo@example.com"})
    assert one is not None and other is not None and one.key == other.key and one.user != other.user
    assert one.key != Scope.local().key


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("[groups.a]\nharm_areas = 'x'", "harm_areas"),
        ("[groups.a]\nplaces = ['Europe']", "places"),
        ("[groups.a]\nplaces = 'all'\nregions = ['Europe']", "places"),
        ("[groups.a]\nregions = 'all'", "regions"),
        ("[groups.a]\nexport = 'yes'", "export"),
        ("[groups.a]\nharm_area = ['x']", "unknown keys"),
        ("[[members]]\nemail = 'a@b.c'\ngroups = ['missing']", "does not define"),
        ("[groups.a]\n[[members]]\nemail = 'a@b.c'\ndomain = 'b.c'\ngroups = ['a']", "exactly one"),
        ("[groups.a]\n[[members]]\nemail = 'a@b.c'\ngroups = []", "non-empty"),
        ("[groups.a]\n[[members]]\nclaim = 'groups'\ngroups = ['a']", "claim"),
        ("users = 1", "unknown top-level"),
    ],
)
def test_a_bad_policy_names_its_fault(text, names):
    with pytest.raises(DataError, match=names):
        parse_policy(tomllib.loads(text))


def test_an_unreadable_policy_file_is_a_data_error(tmp_path, monkeypatch):
    with pytest.raises(DataError, match="cannot read"):
        load_policy(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[groups.a\n")
    with pytest.raises(DataError, match="not valid TOML"):
        load_policy(broken)
    monkeypatch.delenv("HARM_INSIGHTS_ACCESS", raising=False)
    assert load_policy(None) is None


@given(
    email=st.emails(),
    groups=st.lists(st.text(min_size=1, max_size=8), max_size=3),
)
def test_any_claims_get_a_scope_only_through_a_rule(email, groups):
    policy = parse_policy(tomllib.loads(POLICY))
    scope = policy.scope_for({"email": email, "groups": groups})
    domain = email.rpartition("@")[2].lower()
    named = email.lower() in {"head@example.com", "placeless@other.org"} or domain == "example.com"
    assert (scope is not None) == (named or "ts-admins" in groups)
