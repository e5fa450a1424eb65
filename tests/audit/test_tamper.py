"""Tampering behind the log's back is found: ``verify()`` names the first broken record and why.

Each case changes the database directly, as someone with write access to it (but not going
through the log) would: edit a field, renumber, delete a record in the middle or at the end,
swap two, slip a forged record in or on the end, rewrite one with a recomputed hash, remove
the head. Hypothesis picks the log's length, the record and the field.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insights.audit import AuditRecord, Event
from insights.audit.record import GENESIS

from .helpers import Fresh

FIELDS = ("at", "who", "action", "what", "outcome", "prev_hash", "hash")
COLUMNS = ("seq", *FIELDS)

#: Text no stored field starts with, short enough for every column (PostgreSQL checks lengths).
FOREIGN = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=7).map("~".__add__)

LENGTHS = st.integers(min_value=1, max_value=6)
TAMPER = settings(max_examples=10, deadline=None)


def stored(fresh: Fresh, seq: int) -> AuditRecord:
    row = fresh.sql(f"SELECT {', '.join(COLUMNS)} FROM {{t}} WHERE seq = :seq", seq=seq).one()
    return AuditRecord(*row)


def insert(fresh: Fresh, record: AuditRecord) -> None:
    names = ", ".join(COLUMNS)
    values = ", ".join(f":{name}" for name in COLUMNS)
    fresh.sql(f"INSERT INTO {{t}} ({names}) VALUES ({values})", **{name: getattr(record, name) for name in COLUMNS})


def forged(seq: int, prev_hash: str) -> AuditRecord:
    """A record nobody wrote through the log, correctly sealed after ``prev_hash``."""
    return Event.of("mallory@example.org", "export", {"chart": "movers", "format": "csv"}).chained(seq, prev_hash)


def broken(fresh: Fresh) -> tuple[bool, int | None, str | None]:
    check = fresh.log.verify()
    assert check.ok == (check.problem is None) and (check.detail == "") == check.ok
    return check.ok, check.broken_at, check.problem


def test_an_untouched_log_verifies(backend):
    with backend.fresh(5) as fresh:
        check = fresh.log.verify()
        assert check.ok and check.checked == 5 and check.head == fresh.log.head()
        assert check.head is not None and check.head.seq == 5


def test_an_empty_log_verifies(backend):
    with backend.fresh() as fresh:
        check = fresh.log.verify()
        assert check.ok and check.checked == 0 and check.head is not None and check.head.hash == GENESIS


@TAMPER
@given(length=LENGTHS, data=st.data())
def test_an_edited_field_is_found_at_its_record(backend, length, data):
    seq = data.draw(st.integers(1, length), label="record")
    field = data.draw(st.sampled_from(FIELDS), label="field")
    value = data.draw(FOREIGN, label="value")
    with backend.fresh(length) as fresh:
        fresh.sql(f"UPDATE {{t}} SET {field} = :value WHERE seq = :seq", value=value, seq=seq)
        assert broken(fresh) == (False, seq, "edited")


@TAMPER
@given(length=LENGTHS, data=st.data())
def test_a_renumbered_record_leaves_a_gap(backend, length, data):
    seq = data.draw(st.integers(1, length), label="record")
    with backend.fresh(length) as fresh:
        fresh.sql("UPDATE {t} SET seq = :new WHERE seq = :seq", new=length + 10, seq=seq)
        assert broken(fresh) == (False, seq, "missing")


@TAMPER
@given(length=st.integers(2, 6), data=st.data())
def test_a_deleted_record_in_the_middle_is_found(backend, length, data):
    seq = data.draw(st.integers(1, length - 1), label="record")
    with backend.fresh(length) as fresh:
        fresh.sql("DELETE FROM {t} WHERE seq = :seq", seq=seq)
        assert broken(fresh) == (False, seq, "missing")


@TAMPER
@given(length=LENGTHS, data=st.data())
def test_deleted_last_records_are_found_by_the_head(backend, length, data):
    deleted = data.draw(st.integers(1, length), label="last records deleted")
    with backend.fresh(length) as fresh:
        fresh.sql("DELETE FROM {t} WHERE seq > :keep", keep=length - deleted)
        assert broken(fresh) == (False, length - deleted + 1, "truncated")


@TAMPER
@given(length=st.integers(2, 6), data=st.data())
def test_two_swapped_records_are_found(backend, length, data):
    first = data.draw(st.integers(1, length - 1), label="first")
    second = data.draw(st.integers(first + 1, length), label="second")
    with backend.fresh(length) as fresh:
        one, other = stored(fresh, first), stored(fresh, second)
        changes = ", ".join(f"{name} = :{name}" for name in FIELDS)
        for seq, record in ((first, other), (second, one)):
            values = {name: getattr(record, name) for name in FIELDS}
            fresh.sql(f"UPDATE {{t}} SET {changes} WHERE seq = :seq", seq=seq, **values)
        assert broken(fresh) == (False, first, "moved")
        assert f"fields of record {second}" in fresh.log.verify().detail


@TAMPER
@given(length=LENGTHS, data=st.data())
def test_a_forged_record_slipped_in_is_found(backend, length, data):
    """The records after the forged one are renumbered to make room; the first of them still
    holds the fields sealed under its old number."""
    after = data.draw(st.integers(0, length - 1), label="forged after record")
    with backend.fresh(length) as fresh:
        for seq in range(length, after, -1):
            fresh.sql("UPDATE {t} SET seq = :new WHERE seq = :seq", new=seq + 1, seq=seq)
        insert(fresh, forged(after + 1, stored(fresh, after).hash if after else GENESIS))
        assert broken(fresh) == (False, after + 2, "moved")


@TAMPER
@given(length=LENGTHS)
def test_a_forged_record_on_the_end_is_found(backend, length):
    with backend.fresh(length) as fresh:
        insert(fresh, forged(length + 1, stored(fresh, length).hash))
        assert broken(fresh) == (False, length + 1, "appended")


def test_a_forged_record_with_a_made_up_hash_is_found(backend):
    with backend.fresh(3) as fresh:
        record = forged(4, stored(fresh, 3).hash)
        insert(fresh, AuditRecord(**{**record.__dict__, "hash": "f" * 64}))
        assert broken(fresh) == (False, 4, "edited")


@TAMPER
@given(length=LENGTHS, data=st.data())
def test_a_record_rewritten_with_a_recomputed_hash_is_found(backend, length, data):
    """Its own hash checks out, so the break shows at the next record's link, or at the head."""
    seq = data.draw(st.integers(1, length), label="record")
    with backend.fresh(length) as fresh:
        original = stored(fresh, seq)
        rewritten = Event("~" + original.at[1:], "mallory@example.org", original.action, original.what, "allowed")
        record = rewritten.chained(seq, original.prev_hash)
        fresh.sql("UPDATE {t} SET at = :at, who = :who, hash = :hash WHERE seq = :seq", **record.__dict__)
        expected = (False, seq + 1, "unlinked") if seq < length else (False, seq, "rewritten")
        assert broken(fresh) == expected


def test_a_removed_head_is_found_and_stops_appends(backend):
    with backend.fresh(2) as fresh:
        fresh.sql("DELETE FROM {t}_head")
        assert broken(fresh) == (False, None, "no_head")
        with pytest.raises(RuntimeError, match="head is missing"):
            fresh.log.record("ana@example.org", "page_view", {"page": "trends"})


def test_limit_a_forger_who_also_moves_the_head_is_not_found(backend):
    """The documented limit: the hashes are not secret, so someone who can write to the database,
    seals a record the way the log does and moves the head as well leaves a valid chain. Only a
    copy of the head (or an export) kept elsewhere shows it."""
    with backend.fresh(3) as fresh:
        record = forged(4, stored(fresh, 3).hash)
        insert(fresh, record)
        fresh.sql("UPDATE {t}_head SET seq = :seq, hash = :hash", seq=record.seq, hash=record.hash)
        assert broken(fresh) == (True, None, None)
