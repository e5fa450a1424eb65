"""The malformed-input corpus: every file gives a clear DataError or a load that keeps its rejects.

Each case says what a data owner must be told: the file, the column, the row and what was
expected. Nothing may surface as a traceback, and no row may vanish without a reason.
"""

from pathlib import Path

import polars as pl
import pytest

import insights
from insights import DataError

CORPUS = Path(__file__).resolve().parents[1] / "data" / "malformed"

# file → fragments the DataError message must contain
ERRORS = {
    "missing_columns.csv": ["missing_columns.csv", "actioned_at", "columns={"],
    "empty.csv": ["empty.csv", "empty", "header row"],
    "latin1.csv": ["latin1.csv", "line 3", "UTF-8", "encoding="],
    "header_only.csv": ["header_only.csv", "no data rows"],
    "all_rows_rejected.csv": ["all_rows_rejected.csv", "every row was rejected", "actioned_at is never"],
    "not_parquet.parquet": ["not_parquet.parquet", "not a readable Parquet file"],
    "no_harm_columns.csv": ["no_harm_columns.csv", "harm_area", "policy"],
    "aggregate_without_measures.csv": ["aggregate_without_measures.csv", "'date' column plus measure columns"],
}

# file → (rows loaded as actions, {(row, column): reason fragment} of the rejected rows)
REJECTS = {
    "wrong_types.csv": (1, {(2, "views_before_action"): "views_before_action is lots: expected a whole number"}),
    "unparseable_dates.csv": (2, {(2, "actioned_at"): "actioned_at is 31/02/2024 25:00: expected a timestamp"}),
    "negative_counts.csv": (1, {(1, "views_before_action"): "expected a number ≥ 0"}),
    "unknown_country.csv": (2, {(1, "country"): "country XZ is not a country"}),
    "duplicate_ids.csv": (2, {(3, "event_id"): "duplicate event_id 7 (first seen at"}),
    "ragged_line.csv": (
        2,
        {(2, None): "line has 15 fields, the header has 13", (3, None): "line has 4 fields, the header has 13"},
    ),
    "bad_booleans.csv": (1, {(1, "appealed"): "appealed is maybe: expected true or false"}),
    "created_after_action.csv": (1, {(1, "created_at"): "created_at is after actioned_at"}),
    "no_harm_area.csv": (1, {(1, "harm_area"): "no harm area"}),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_unusable_input_raises_a_clear_data_error(name):
    with pytest.raises(DataError) as caught:
        insights.load_source(CORPUS / name)
    for fragment in ERRORS[name]:
        assert fragment in str(caught.value), f"{fragment!r} missing from: {caught.value}"


@pytest.mark.parametrize("name", sorted(REJECTS))
def test_bad_rows_are_rejected_counted_and_kept(name):
    cube = insights.load_source(CORPUS / name)
    loaded, expected = REJECTS[name]
    assert cube.query("actions")["actions"].item() == loaded
    rejected = cube.provenance.rejected
    assert cube.provenance.rows_rejected == len(expected)
    assert cube.provenance.rows_read == loaded + len(expected)
    for (row, column), fragment in expected.items():
        match = rejected.filter((pl.col("_row") == row) & (pl.col("_column").eq_missing(column)))
        assert len(match) == 1, rejected
        assert fragment in match["_reason"].item()
        assert match["_source"].item().endswith(name)


def test_rejected_rows_keep_their_original_values():
    rejected = insights.load_source(CORPUS / "wrong_types.csv").provenance.rejected
    assert rejected["views_before_action"].to_list() == ["lots"]
    assert rejected["event_id"].to_list() == ["2"]


def test_wrong_delimiter_is_detected_and_noted():
    cube = insights.load_source(CORPUS / "wrong_delimiter.csv")
    assert cube.query("actions", by=["country"]).rows() == [("DE", 2)]
    assert any("';'" in c.text for c in cube.provenance.caveats)


def test_latin1_file_loads_when_the_encoding_is_given():
    cube = insights.load_source(CORPUS / "latin1.csv", encoding="latin-1")
    assert sorted(cube.values("language")) == ["fr", "français"]


def test_unknown_harm_area_is_kept_and_reported_not_dropped():
    cube = insights.load_source(CORPUS / "unknown_harm_area.csv")
    assert dict(cube.query("actions", by=["harm_area"]).rows()) == {"crypto_scams": 1, "hateful_behavior": 1}
    notes = [c.text for c in cube.provenance.caveats]
    assert any("'Crypto Scams' is not in the taxonomy" in n and "1 actions" in n for n in notes), notes


def test_country_names_are_mapped_to_iso_codes():
    cube = insights.load_source(CORPUS / "unknown_country.csv")
    assert cube.query("actions", by=["country"]).rows() == [("NG", 2)]
    assert cube.query("actions", by=["region"]).rows() == [("Africa", 2)]


def test_aggregate_input_rejects_negative_counts_and_bad_dates():
    cube = insights.load_source(CORPUS / "aggregate_negative_count.csv")
    assert cube.provenance.kind == "aggregate"
    assert cube.query("actions", by=["country"]).rows() == [("US", 220)]
    assert "expected a count ≥ 0" in cube.provenance.rejected["_reason"].item()
    dated = insights.load_source(CORPUS / "aggregate_bad_date.csv")
    assert dated.query("actions")["actions"].item() == 10
    assert "date is 2024-13-01: expected a date" in dated.provenance.rejected["_reason"].item()


def test_timezone_aware_timestamps_are_converted_to_utc_dates():
    cube = insights.load_source(CORPUS / "unparseable_dates.csv")
    assert cube.query("actions", by=[], grain="day")["period"].cast(pl.String).to_list() == ["2024-05-01", "2024-05-02"]


def test_column_mapping_names_that_do_not_exist_are_an_error():
    with pytest.raises(DataError, match="the column mapping names \\['nope'\\]"):
        insights.load_source(CORPUS / "wrong_types.csv", columns={"nope": "actioned_at"})


def test_column_mapping_makes_a_foreign_file_loadable():
    cube = insights.load_source(
        CORPUS / "missing_columns.csv", columns={"when": "actioned_at", "harm": "harm_area", "id": "event_id"}
    )
    assert cube.query("actions", by=["harm_area"]).rows() == [("hateful_behavior", 1)]


class Upload:
    """What Streamlit's file uploader hands over: a name and the bytes."""

    def __init__(self, path: Path):
        self.name = path.name
        self._data = path.read_bytes()

    def read(self) -> bytes:
        return self._data

    def getvalue(self) -> bytes:
        return self._data


def test_uploaded_file_objects_load_like_paths():
    upload = insights.load_source(Upload(CORPUS / "duplicate_ids.csv"))
    from_path = insights.load_source(CORPUS / "duplicate_ids.csv")
    assert upload.data.equals(from_path.data)
    assert upload.provenance.rejected["_source"].to_list() == ["duplicate_ids.csv"]


def test_unknown_source_is_a_clear_error():
    with pytest.raises(DataError, match=r"expected a \.csv or \.parquet file"):
        insights.load_source(CORPUS / "nothing.xlsx")
    with pytest.raises(DataError, match="no such file or folder"):
        insights.load_source(CORPUS / "missing.csv")
