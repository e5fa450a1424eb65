"""Small-cell suppression: the policy, the rules on answer frames, and what a suppressing cube answers."""

from __future__ import annotations

import itertools

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insights.disclosure import (
    DEFAULT_THRESHOLD,
    SUPPRESSION_VARIABLE,
    Suppression,
    Withheld,
    cell_threshold,
    load_suppression,
    suppress,
    withheld_column,
)
from insights.errors import DataError
from insights.formatting import shown_frame, value_text, withheld_card, withheld_note, withheld_text
from insights.metrics import metric
from tests.disclosure.cubes import CELLS, WEEK_2, cube_of

CHILD_SAFETY = Suppression(10, {"child_safety": 20})


# -- The policy ------------------------------------------------------------------------------


def test_default_policy_is_ten_everywhere():
    policy = Suppression()
    assert policy.threshold == DEFAULT_THRESHOLD == 10
    assert policy.threshold_for(["spam"]) == policy.strictest == 10


def test_policy_from_toml_text_and_file(tmp_path):
    text = "[suppression]\nthreshold = 12\n[suppression.harm_area]\nchild_safety = 25\nself_harm = 15\n"
    (tmp_path / "settings.toml").write_text(text)
    for policy in (Suppression.from_toml(text), Suppression.from_toml(tmp_path / "settings.toml")):
        assert policy.threshold == 12
        assert dict(policy.harm_areas) == {"child_safety": 25, "self_harm": 15}
        assert policy.threshold_for(["spam", "self_harm"]) == 15
        assert policy.threshold_for(None) == policy.strictest == 25
    assert Suppression.from_toml("") == Suppression(), "no [suppression] table: the default"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[suppression]\nthreshold = 0", "threshold must be at least 1 (1 switches suppression off), not 0"),
        ("[suppression]\nthreshold = '10'", "suppression.threshold must be a whole number (such as 10), not '10'"),
        ("[suppression]\nthreshold = true", "must be a whole number"),
        ("[suppression]\nthreshold = 9.5", "must be a whole number"),
        (
            "[suppression.harm_area]\nchild_safety = 5",
            "child_safety must be at least 10 (the threshold; a harm area's can only be stricter), not 5",
        ),
        ("[suppression.harm_area]\nchild_safty = 20", "unknown harm area 'child_safty'; expected one of"),
        ("[suppression]\nthreshhold = 10", "unknown key(s) ['threshhold']"),
        ("[suppression]\nharm_area = 20", "[suppression.harm_area] must be a table of harm area = threshold"),
        ("suppression = 10", "[suppression] must be a table"),
        ("[suppression\nthreshold = 10", "not valid TOML"),
    ],
)
def test_bad_settings_say_what_was_expected(text, says):
    with pytest.raises(ValueError) as error:
        Suppression.from_toml(text)
    assert says in str(error.value)


def test_the_policy_is_frozen():
    policy = Suppression(10, {"child_safety": 20})
    with pytest.raises(AttributeError):
        policy.threshold = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        policy.harm_areas["child_safety"] = 1  # type: ignore[index]


# -- The threshold of a cell -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "filters", "rows", "expected"),
    [
        (["harm_area"], None, {"harm_area": ["spam", "child_safety", None]}, [10, 20, 20]),
        (["policy"], None, {"policy": ["child_sexual_exploitation", "fake_accounts", "made_up"]}, [20, 10, 20]),
        (["country"], {"harm_area": "spam"}, {"country": ["FR"]}, [10]),
        (["country"], {"harm_area": ["spam", "child_safety"]}, {"country": ["FR"]}, [20]),
        (["country"], {"policy": "fake_accounts"}, {"country": ["FR"]}, [10]),
        (["country"], None, {"country": ["FR"]}, [20]),
        ([], None, {"x": [1]}, [20]),
    ],
)
def test_a_cell_takes_the_strictest_threshold_of_the_harm_areas_it_may_contain(keys, filters, rows, expected):
    frame = pl.DataFrame(rows)
    assert frame.select(cell_threshold(CHILD_SAFETY, keys, filters))[:, 0].to_list() == expected


# -- The rules on a hand-made answer ---------------------------------------------------------


def test_primary_secondary_and_zeros_on_a_small_table():
    answer = pl.DataFrame(
        {
            "country": ["FR", "DE", "US", "FR", "DE", "US"],
            "harm_area": ["spam"] * 3 + ["self_harm"] * 3,
            "actions": [5, 50, 100, 20, 30, 0],
        }
    )
    got = suppress(answer, Suppression(), keys=["country", "harm_area"], columns=["actions"])
    assert got["actions"].to_list() == [None, None, 100, None, None, 0]
    assert [Withheld.of(r, "actions") for r in got.iter_rows(named=True)] == [
        Withheld(10, "count"),  # FR spam: 5, under 10
        Withheld(10, "complement"),  # DE spam: the smallest other spam cell (US is larger)
        None,
        Withheld(10, "complement"),  # FR self-harm: FR alone would be FR's total minus 20
        Withheld(10, "complement"),  # DE self-harm: then self-harm had one hidden cell
        None,  # a zero is shown, and never hides another cell
    ]


def test_unknown_values_stay_unknown_and_are_never_complements():
    answer = pl.DataFrame({"country": ["FR", "DE", "US"], "actions": [4, None, 50]})
    got = suppress(answer, Suppression(), keys=["country"], columns=["actions"])
    assert got["actions"].to_list() == [None, None, None]
    assert got[withheld_column("actions")].to_list()[1] is None, "null because unknown, not withheld"


def test_an_answer_without_keys_is_only_checked_against_the_threshold():
    small = suppress(pl.DataFrame({"actions": [9]}), Suppression(), keys=[], columns=["actions"])
    large = suppress(pl.DataFrame({"actions": [10]}), Suppression(), keys=[], columns=["actions"])
    assert small["actions"].to_list() == [None] and large["actions"].to_list() == [10]


# -- Generated tables ------------------------------------------------------------------------

#: Counts that are often zero or small, so tables have something to hide.
COUNTS = st.one_of(st.integers(0, 12), st.integers(0, 200), st.none())


@st.composite
def tables(draw) -> tuple[pl.DataFrame, list[str], int]:
    """An answer with one to three keys (one of them ``harm_area``) and two count columns."""
    sizes = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    keys = ["harm_area", "country", "period"][: len(sizes)]
    values = {
        "harm_area": ["spam", "child_safety", "self_harm", "privacy"],
        "country": ["FR", "DE", "US", None],
        "period": ["2025-01", "2025-02", "2025-03", "2025-04"],
    }
    rows = list(itertools.product(*(values[k][:n] for k, n in zip(keys, sizes, strict=True))))
    kept = draw(st.lists(st.booleans(), min_size=len(rows), max_size=len(rows)))
    rows = [row for row, keep in zip(rows, kept, strict=True) if keep] or rows[:1]
    frame = pl.DataFrame(rows, schema=keys, orient="row").with_columns(
        a=pl.Series(draw(st.lists(COUNTS, min_size=len(rows), max_size=len(rows))), dtype=pl.Int64),
        b=pl.Series(draw(st.lists(COUNTS, min_size=len(rows), max_size=len(rows))), dtype=pl.Int64),
    )
    return frame, keys, draw(st.integers(1, 30))


@settings(max_examples=300, deadline=None)
@given(tables())
def test_generated_tables_hide_every_small_count_and_leave_no_lonely_hidden_cell(table):
    frame, keys, threshold = table
    policy = Suppression(threshold, {"child_safety": threshold + 5})
    got = suppress(frame, policy, keys=keys, columns=["a", "b"])
    limits = frame.with_columns(limit=cell_threshold(policy, keys, None))["limit"].to_list()
    for column in ("a", "b"):
        before, after = frame[column].to_list(), got[column].to_list()
        why = got[withheld_column(column)].to_list()
        for value, shown, reason, limit in zip(before, after, why, limits, strict=True):
            if reason is None:
                assert shown == value, "a shown value is the real one"
                assert value is None or value == 0 or value >= limit, f"{value} under {limit} was shown"
            else:
                assert shown is None, "a withheld value is gone from the answer"
                assert reason["threshold"] == limit
                small = 0 < value < limit
                assert reason["reason"] == ("count" if small else "complement")
                assert small or value >= limit, "a complement is never a zero or a small count"
        hidden = got.with_columns(hidden=pl.col(withheld_column(column)).is_not_null())
        for key in keys:
            others = [k for k in keys if k != key]
            groups = hidden.group_by(others) if others else [((), hidden)]
            for _, group in groups:
                if group["hidden"].sum() == 1:
                    rest = group.filter(~pl.col("hidden"))[column].to_list()
                    assert all(v is None or v == 0 for v in rest), (
                        f"along {key}, one hidden cell could be worked out from {rest} and their total"
                    )


@settings(max_examples=100, deadline=None)
@given(tables())
def test_no_withheld_number_reaches_a_table_or_a_csv(table):
    frame, keys, threshold = table
    suppressed = suppress(frame, Suppression(threshold), keys=keys, columns=["a", "b"])
    got = shown_frame(suppressed)
    assert not any(c.endswith("__withheld") for c in got.columns)
    for column in ("a", "b"):
        why = suppressed[withheld_column(column)].to_list()
        for value, text, reason in zip(frame[column].to_list(), got[column].to_list(), why, strict=True):
            if reason is None:
                assert text == (None if value is None else str(value))
            else:
                expected = f"<{threshold}" if reason["reason"] == "count" else "withheld"
                assert text == expected, f"{value} withheld shows as {text!r}"


# -- How '<10' is written --------------------------------------------------------------------


def test_formatting_writes_the_threshold_never_the_value():
    actions, rate = metric("actions"), metric("proactive_rate")
    assert value_text(actions, None, Withheld(10, "count")) == withheld_text(Withheld(10, "count")) == "<10"
    assert value_text(rate, None, Withheld(20, "rate")) == "withheld (<20)"
    assert value_text(actions, None, Withheld(10, "complement")) == "withheld"
    assert value_text(actions, None) == "n/a", "unknown is still 'n/a'"
    assert withheld_note([None, Withheld(10, "count"), Withheld(20, "complement")]) == (
        "Gaps: withheld (counts under 10 or 20 and values that would reveal them)"
    )
    assert withheld_note([None]) is None


# -- A suppressing cube ----------------------------------------------------------------------


def test_a_cube_without_a_policy_answers_as_before():
    cube = cube_of(CELLS)
    assert cube.suppression is None
    assert cube.query("actions", by=["country"]).columns == ["country", "actions"]
    assert cube.with_suppression(None).query("actions").item() == sum(a for a, _ in CELLS.values())


def test_a_suppressing_cube_withholds_small_cells_in_every_answer():
    cube = cube_of(CELLS).with_suppression(CHILD_SAFETY)
    weekly = cube.query("actions", by=["harm_area", "country"], grain="week")
    fr_week_2 = weekly.filter(
        (pl.col("period") == WEEK_2) & (pl.col("country") == "FR") & (pl.col("harm_area") == "spam")
    )
    assert fr_week_2.row(0, named=True)["actions"] is None
    assert Withheld.of(fr_week_2.row(0, named=True), "actions") == Withheld(10, "count")
    de = cube.query("actions", by=["harm_area", "country"], grain="week").filter(
        (pl.col("harm_area") == "child_safety") & (pl.col("country") == "DE")
    )
    assert Withheld.of(de.row(0, named=True), "actions") == Withheld(20, "count"), (
        "12 child-safety actions are under child safety's own threshold of 20"
    )
    total = sum(a for a, _ in CELLS.values())
    assert cube.query("actions").item(0, "actions") == total, "the total is the real total"


def test_rates_are_withheld_with_their_sums_and_sums_answers_agree_with_query():
    cube = cube_of(CELLS).with_suppression(CHILD_SAFETY)
    rates = cube.query(["actions", "proactive_rate"], by=["country"], grain="week", filters={"harm_area": "spam"})
    mx = rates.filter((pl.col("country") == "MX") & (pl.col("period") == WEEK_2)).row(0, named=True)
    assert mx["actions"] == 400, "400 actions are shown"
    assert mx["proactive_rate"] is None, "4 proactive of 400 would give 4 back as rate × actions"
    assert Withheld.of(mx, "proactive_rate") == Withheld(10, "rate")
    sums = cube.sums("proactive_rate", by=["country"], grain="week", filters={"harm_area": "spam"})
    assert sums.select("period", "country", "proactive_rate", withheld_column("proactive_rate")).equals(
        rates.select("period", "country", "proactive_rate", withheld_column("proactive_rate"))
    )
    mx_sums = sums.filter(pl.col("country") == "MX")
    assert mx_sums["numerator"].to_list() == [None, None], "week 1's 100 hides week 2's 4 from MX's total"
    assert [Withheld.of(r, "numerator") for r in mx_sums.iter_rows(named=True)] == [
        Withheld(10, "complement"),
        Withheld(10, "count"),
    ]


@settings(max_examples=30, deadline=None)
@given(
    threshold=st.integers(1, 400),
    by=st.sampled_from([[], ["country"], ["harm_area"], ["harm_area", "country"]]),
    grain=st.sampled_from([None, "week"]),
    area=st.sampled_from([None, "spam", "child_safety"]),
)
def test_every_cube_answer_hides_what_is_under_its_threshold(threshold, by, grain, area):
    raw = cube_of(CELLS)
    policy = Suppression(threshold, {"child_safety": threshold * 2})
    filters = {"harm_area": area} if area else None
    real = raw.sums("proactive_rate", by=by, grain=grain, filters=filters)
    got = raw.with_suppression(policy).sums("proactive_rate", by=by, grain=grain, filters=filters)
    keys = [k for k in real.columns if k in ("period", *by)]
    limits = got.with_columns(limit=cell_threshold(policy, keys, filters))["limit"].to_list()
    assert got.select(keys).equals(real.select(keys)), "the same cells, in the same order"
    for column in ("numerator", "denominator", "proactive_rate"):
        for value, shown, why in zip(real[column], got[column], got[withheld_column(column)].to_list(), strict=True):
            assert shown == (None if why else value)
    for column in ("numerator", "denominator"):
        for value, why, limit in zip(real[column], got[withheld_column(column)].to_list(), limits, strict=True):
            assert (why is not None) or not (0 < value < limit)


def test_the_app_reads_its_policy_from_the_file_the_environment_names(tmp_path, monkeypatch):
    monkeypatch.delenv(SUPPRESSION_VARIABLE, raising=False)
    assert load_suppression() is None, "not configured: no suppression"
    settings_file = tmp_path / "suppression.toml"
    settings_file.write_text("[suppression]\nthreshold = 15\n[suppression.harm_area]\nchild_safety = 30\n")
    monkeypatch.setenv(SUPPRESSION_VARIABLE, str(settings_file))
    assert load_suppression() == Suppression(15, {"child_safety": 30})
    settings_file.write_text("# suppression on, every threshold the default\n")
    assert load_suppression() == Suppression()
    settings_file.write_text("[suppression]\nthreshold = 0\n")
    with pytest.raises(DataError, match=r"suppression settings .*suppression.toml: suppression.threshold must be"):
        load_suppression()
    with pytest.raises(DataError, match="cannot read them"):
        load_suppression(tmp_path / "missing.toml")


def test_a_withheld_card_value_is_short_and_says_why_under_it():
    assert withheld_card(Withheld(10, "count")) == ("<10", "fewer than 10")
    assert withheld_card(Withheld(20, "rate")) == ("withheld", "from fewer than 20")
    assert withheld_card(Withheld(10, "complement")) == ("withheld", "would reveal fewer than 10")
