"""Nothing is lost on any input: every hostile or careless file gives a clear ``DataError`` naming
the file, or a load in which rows read = the records in the file = rows rejected + rows accepted,
and the cube counts exactly the accepted rows. Random damage to a valid CSV keeps that true."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import insights
from insights import DataError
from tests.sources.hostile import CORPUS, csv_text, valid_lines

#: The bombs unpack to 1 GiB; the limit in these tests is a quarter of that.
LIMIT_MB = "256"


def records(path: Path) -> int:
    """Data records of a CSV/Parquet file or folder, counted independently of the importer."""
    if path.is_dir():
        return sum(records(p) for p in sorted(path.iterdir()))
    if path.suffix == ".parquet":
        return pl.read_parquet(path).height
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    delimiter = max(",;\t|", key=text.split("\n", 1)[0].count)
    rows = [r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if any(field.strip() for field in r)]
    return max(0, len(rows) - 1)


def check_conserved(cube: insights.Cube, path: Path) -> None:
    """Rows read are the file's records; each was either rejected or counted in the cube once."""
    p = cube.provenance
    assert p.rows_read == records(path), (p.rows_read, records(path))
    assert p.conserved, (p.rows_read, p.rows_rejected, p.rows_accepted)
    if p.kind == "events":
        counted = cube.query("actions")["actions"].item() or 0
        assert counted == p.rows_accepted, (counted, p.rows_accepted)
    rejected_rows = p.rejected.select("_source", "_row").unique().height
    assert rejected_rows == p.rows_rejected, "every rejected row is kept, once, with its reason"


@pytest.mark.parametrize("name", list(CORPUS))
def test_every_hostile_input_is_a_clear_error_or_a_conserved_load(tmp_path, monkeypatch, name):
    monkeypatch.setenv("HARM_INSIGHTS_MAX_DECOMPRESSED_MB", LIMIT_MB)
    path = CORPUS[name](tmp_path)
    try:
        cube = insights.load_source(path)
    except DataError as error:
        assert path.name in str(error) or str(path) in str(error), f"the message names the file: {error}"
        return
    check_conserved(cube, path)


def test_the_corpus_is_large_enough():
    assert len(CORPUS) >= 40


def test_an_empty_country_is_kept_when_another_is_invalid(tmp_path):
    cube = insights.load_source(CORPUS["empty country beside an invalid one"](tmp_path))
    assert cube.provenance.rows_accepted == 6 and cube.provenance.rows_rejected == 1
    assert cube.provenance.rejection_reasons == {
        "country XX is not a country: expected an ISO 3166-1 alpha-2 code such as US": 1
    }


def test_blank_lines_are_not_records(tmp_path):
    cube = insights.load_source(CORPUS["blank lines between and after records"](tmp_path))
    assert (cube.provenance.rows_read, cube.provenance.rows_rejected) == (6, 0)


def test_1_5_is_not_15(tmp_path):
    cube = insights.load_source(CORPUS["'1,5' as views"](tmp_path))
    assert cube.provenance.rejection_reasons == {"views_before_action is 1,5: expected a whole number": 1}
    thousands = insights.load_source(CORPUS["thousands separators in views"](tmp_path))
    views = thousands.sums("mean_views_before_action")["numerator"].item()
    assert views == sum(i % 7 for i in range(5)) + 1500


def test_a_float_flag_of_one_is_an_appeal_and_half_is_rejected(tmp_path):
    cube = insights.load_source(CORPUS["Parquet: appealed as floats 1.0, 0.0 and 0.5"](tmp_path))
    assert cube.query("appeals")["appeals"].item() == 2, "1.0 counts as an appeal: never a fake 0"
    assert cube.provenance.rows_rejected == 1


def test_fractional_and_non_finite_counts_are_rejected_not_truncated(tmp_path):
    cube = insights.load_source(CORPUS["pre-aggregated with fractional, negative, NaN and huge counts"](tmp_path))
    assert cube.query("actions")["actions"].item() == 10 + 7 + 5
    reasons = " ".join(cube.provenance.rejection_reasons)
    assert "2.5" in reasons and "NaN" in reasons and "1e308" in reasons and "≥ 0" in reasons


@st.composite
def damaged_csv(draw) -> str:
    """A valid event CSV with random damage: fields blanked or replaced, lines cut, joined,
    doubled or emptied, stray quotes and delimiters, odd line endings."""
    lines = valid_lines(draw(st.integers(3, 25)))
    junk = st.one_of(
        st.sampled_from(
            ["", " ", "NaN", "-1", "1,5", "2.5", "1e308", "yes", "maybe", "XX", "=cmd", '"', "é", "2025-02-30"]
        ),
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=6),
    )
    for _ in range(draw(st.integers(0, 12))):
        i = draw(st.integers(0, len(lines) - 1))
        fields = lines[i].split(",")
        action = draw(st.sampled_from(["field", "cut", "join", "double", "blank", "quote"]))
        if action == "field":
            fields[draw(st.integers(0, len(fields) - 1))] = draw(junk).replace("\n", " ")
            lines[i] = ",".join(fields)
        elif action == "cut":
            lines[i] = ",".join(fields[: draw(st.integers(1, len(fields)))])
        elif action == "join" and i + 1 < len(lines):
            lines[i : i + 2] = [lines[i] + "," + lines[i + 1]]
        elif action == "double":
            lines.insert(i, lines[i])
        elif action == "blank":
            lines.insert(i, "")
        elif action == "quote":
            lines[i] = lines[i].replace(",", ',"', 1)
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return csv_text(lines).replace("\n", ending)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=damaged_csv())
@example(text=csv_text(["e0,2025-03-01 10:00:00"]).replace("\n", "\n,\n", 1))  # a record of empty fields
def test_random_damage_never_loses_a_row(tmp_path, text):
    path = tmp_path / "damaged.csv"
    path.write_text(text, encoding="utf-8")
    try:
        cube = insights.load_source(path)
    except DataError as error:
        assert "damaged.csv" in str(error)
        return
    check_conserved(cube, path)
