"""The audit log in its database: appends, where it lives, listing with filters, and exports."""

from __future__ import annotations

import datetime as dt
import io
import json
import random
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insights.audit import ACTIONS, AuditLog, AuditRecord, check_chain, default_url
from insights.audit.record import GENESIS

START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
PEOPLE = ("ana@example.org", "bo@example.org", "=cmd|' /C calc'!A0", "local")
OUTCOMES = ("allowed", "denied")


def test_records_are_numbered_and_each_names_the_one_before(backend):
    with backend.fresh() as fresh:
        written = [
            fresh.log.record("ana@example.org", "sign_in"),
            fresh.log.record("ana@example.org", "page_view", {"page": "trends", "filters": {"grain": "week"}}),
            fresh.log.record("eve@example.org", "deck", {"title": "Q1"}, outcome="denied"),
        ]
        assert [record.seq for record in written] == [1, 2, 3]
        assert [record.prev_hash for record in written] == [GENESIS, written[0].hash, written[1].hash]
        frame = fresh.log.records()
        assert frame["hash"].to_list() == [record.hash for record in written]
        assert frame["outcome"].to_list() == ["allowed", "allowed", "denied"]
        assert json.loads(frame["what"][1]) == {"filters": {"grain": "week"}, "page": "trends"}
        assert frame.schema["at"] == pl.Datetime("us", "UTC")
        assert written[2].time.tzinfo is not None and written[2].details == {"title": "Q1"}


def test_a_reopened_log_goes_on_with_the_same_chain(backend):
    with backend.fresh(3) as fresh:
        again = AuditLog(fresh.url, table=fresh.table)
        try:
            record = again.record("bo@example.org", "sign_out")
        finally:
            again.close()
        assert record.seq == 4
        assert fresh.log.verify().ok


def test_passwords_in_the_details_never_reach_the_database(backend):
    with backend.fresh() as fresh:
        fresh.log.record("ana@example.org", "page_view", {"page": "data", "source": "postgresql://ana:s3cr3t@db/harm"})
        stored = fresh.sql("SELECT what FROM {t}").scalar_one()
        assert "s3cr3t" not in stored and "postgresql://ana:***@db/harm" in stored


def test_the_location_never_shows_a_password(backend):
    with backend.fresh() as fresh:
        shown = f"{fresh.log.location} {fresh.log!r}"
        if backend.name == "postgresql":
            assert "***@" in shown
        assert "harm:harm@" not in shown


def test_the_default_log_is_a_file_under_the_state_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("HARM_INSIGHTS_AUDIT_URL", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    log = AuditLog()
    try:
        log.record("local", "sign_in")
    finally:
        log.close()
    assert (tmp_path / "state" / "harm-insights" / "audit.db").is_file()


def test_where_the_log_lives_comes_from_the_environment():
    assert default_url({"HARM_INSIGHTS_AUDIT_URL": "postgresql+psycopg://a@b/c"}) == "postgresql+psycopg://a@b/c"
    assert default_url({"XDG_STATE_HOME": "/var/lib/x"}) == "sqlite:////var/lib/x/harm-insights/audit.db"
    assert default_url({}) == f"sqlite:///{Path.home() / '.local/state/harm-insights/audit.db'}"


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_log_is_refused(url):
    with pytest.raises(ValueError, match="SQLite file"):
        AuditLog(url)


@pytest.fixture(scope="module")
def listed(backend):
    """A log of 40 records by several people, actions and outcomes, at shuffled times."""
    rng = random.Random(7)
    with backend.fresh() as fresh:
        for hour in rng.sample(range(24 * 10), 40):
            at = START + dt.timedelta(hours=hour, microseconds=rng.randrange(10**6))
            what = {"page": rng.choice(["trends", "regional"]), "filters": {"harm_area": ["hate"]}}
            fresh.log.record(rng.choice(PEOPLE), rng.choice(sorted(ACTIONS)), what, rng.choice(OUTCOMES), at)
        yield fresh


DAYS = st.none() | st.integers(-1, 11).map(lambda days: (START + dt.timedelta(days=days)).date())
MOMENTS = st.none() | st.integers(-24, 24 * 11).map(lambda hours: START + dt.timedelta(hours=hours))


@settings(max_examples=25, deadline=None)
@given(
    since=DAYS | MOMENTS,
    until=DAYS | MOMENTS,
    who=st.none() | st.sampled_from(PEOPLE),
    action=st.none() | st.sampled_from(sorted(ACTIONS)),
    outcome=st.none() | st.sampled_from(OUTCOMES),
    limit=st.none() | st.integers(0, 45),
)
def test_listing_filters_are_those_of_the_whole_log(listed, since, until, who, action, outcome, limit):
    everything = listed.log.records()
    expected = everything.filter(
        pl.col("at") >= _utc(since) if since is not None else pl.lit(True),
        pl.col("at") < _utc(until) if until is not None else pl.lit(True),
        pl.col("who") == who if who is not None else pl.lit(True),
        pl.col("action") == action if action is not None else pl.lit(True),
        pl.col("outcome") == outcome if outcome is not None else pl.lit(True),
    )
    if limit is not None:
        expected = expected.tail(limit)
    got = listed.log.records(since=since, until=until, who=who, action=action, outcome=outcome, limit=limit)
    assert got.equals(expected)


def _utc(moment: dt.date | dt.datetime) -> dt.datetime:
    return moment if isinstance(moment, dt.datetime) else dt.datetime.combine(moment, dt.time(), dt.UTC)


def test_the_csv_export_cannot_run_a_formula(listed):
    frame = pl.read_csv(io.BytesIO(listed.log.export("csv")), infer_schema=False)
    assert len(frame) == 40
    formula = frame.filter(pl.col("who").str.contains("cmd"))["who"]
    assert len(formula) > 0 and all(cell.startswith("'=") for cell in formula)


def test_the_json_lines_export_is_the_chain_itself(listed):
    lines = listed.log.export("jsonl").decode().splitlines()
    records = [AuditRecord(**json.loads(line)) for line in lines]
    assert len(records) == 40
    assert check_chain(records, listed.log.head()).ok
    some = listed.log.export("jsonl", who="bo@example.org", action="export").decode().splitlines()
    assert all(json.loads(line)["who"] == "bo@example.org" for line in some)


def test_an_unknown_export_format_is_refused(listed):
    with pytest.raises(ValueError, match="csv or jsonl"):
        listed.log.export("xlsx")  # type: ignore[arg-type]
