"""EU DSA Transparency Database statements of reasons (row level) → Cube.

Every online platform operating in the EU sends a statement of reasons (SoR) per moderation
decision to the Commission's Transparency Database, which publishes them as daily dumps: a zip
of zips of CSV parts (``sor-global-2024-03-14-full.zip`` → ``…-00000.csv.zip`` →
``…-00000-00000.csv``). Schema v1 has 37 columns; v2 (from 2025-03) adds ``content_id_ean``.
List fields are JSON arrays inside the CSV, Yes/No fields are the strings ``Yes``/``No``.

Each SoR becomes one enforcement event: the decision's application date is the action time,
the content date its creation time (so time to action = the DSA moderation delay); the
category, refined by the first keyword with a harm area, gives harm area and policy
(``definitions/dsa_categories.csv``, both category versions); the territorial scope gives the
country (one country, or ``EU`` / ``EEA`` for the whole union or area); the source type gives
the detection source (own initiative detected by automated means → automated); a fully
automated decision is automated. Events are then aggregated like any event-level input.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl

from insights.cube import Caveat, Cube
from insights.errors import DataError
from insights.limits import unpack_budget, zip_members
from insights.sources.aggregation import aggregate_events
from insights.sources.rejections import as_rejections, combine
from insights.sources.reports import claims_csv, definitions_csv, header_of, known_caveats, read_bytes
from insights.sources.tables import is_uploaded_file
from insights.sources.tabular import CATEGORICAL, _created_after_action, finish_raw_cube

KIND = "dsa_tdb"
STATEMENTS_KIND = "dsa_statements"

#: Columns the importer reads (present in both schema versions).
REQUIRED = (
    "uuid",
    "decision_visibility",
    "decision_monetary",
    "decision_provision",
    "decision_account",
    "category",
    "category_specification",
    "content_type",
    "content_language",
    "content_date",
    "territorial_scope",
    "application_date",
    "source_type",
    "automated_detection",
    "automated_decision",
    "platform_name",
    "created_at",
)
LIST_FIELDS = ("decision_visibility", "category_specification", "content_type", "territorial_scope")

EU27 = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    ]
)
EEA_ONLY = frozenset({"IS", "LI", "NO"})

DUMP_DATE = re.compile(r"sor-[\w.-]*?(\d{4}-\d{2}-\d{2})")


def mapping() -> pl.DataFrame:
    """DSA statement categories and keywords (schema v1 and v2) → harm area and policy."""
    return definitions_csv("dsa_categories.csv")


def harm_codes() -> tuple[dict[str, str], dict[str, str]]:
    """Category or keyword → harm area, and → policy (codes without a harm area are left out)."""
    rows = mapping().filter(pl.col("harm_area").is_not_null())
    return dict(zip(rows["code"], rows["harm_area"], strict=True)), {
        code: policy for code, policy in zip(rows["code"], rows["policy"], strict=True) if policy
    }


def scope_country(scope: pl.Expr) -> pl.Expr:
    """A territorial scope (list of ISO codes) as one country: the country itself, ``EU`` for
    exactly the 27 member states, ``EEA`` for any other list of several EU/EEA countries."""
    codes = scope.list.unique()
    whole_eu = (codes.list.set_intersection(list(EU27)).list.len() == len(EU27)) & (codes.list.len() == len(EU27))
    return (
        pl.when(codes.list.len() == 1)
        .then(codes.list.first())
        .when(whole_eu)
        .then(pl.lit("EU"))
        .when(codes.list.len() > 1)
        .then(pl.lit("EEA"))
    )


def is_statement_header(header: list[str]) -> bool:
    """True for the header of a statements-of-reasons CSV (either schema version)."""
    return header[:2] == ["uuid", "decision_visibility"] and "platform_name" in header


def is_dump_name(name: str) -> bool:
    """True for the file name of a Transparency Database dump (``sor-<platform>-<date>-….zip``)."""
    return name.lower().startswith("sor-") and name.lower().endswith(".zip")


def _unzip(name: str, data: bytes, budget: list[int] | None = None) -> Iterator[tuple[str, bytes]]:
    """The CSV parts of a dump zip, opening zips nested inside it, one at a time; the parts of one
    dump together may unpack to at most the configured limit (``insights.limits``)."""
    budget = unpack_budget() if budget is None else budget
    for member, content in zip_members(name, data, budget):
        inner = f"{name}/{member}"
        if member.lower().endswith(".zip"):
            yield from _unzip(inner, content, budget)
        elif member.lower().endswith(".csv"):
            yield inner, content


def statement_files(src: Any) -> Iterator[tuple[str, bytes]]:
    """(name, CSV bytes) of every statements part in a CSV, a dump zip, a folder or an upload,
    read one file and one part at a time."""
    if is_uploaded_file(src):
        named = [(Path(src.name).name, src)]
    elif isinstance(src, (str, Path)) and Path(src).is_dir():
        named = [(str(p), p) for p in sorted(Path(src).rglob("*")) if p.suffix.lower() in (".csv", ".zip")]
    elif isinstance(src, (str, Path)) and Path(src).is_file():
        named = [(str(src), Path(src))]
    else:
        raise DataError(f"{src}: no such file or folder")
    for name, source in named:
        data = read_bytes(source)
        for part, content in _unzip(name, data) if name.lower().endswith(".zip") else [(name, data)]:
            if is_statement_header(header_of(io.BytesIO(content))):
                yield part, content


def read_statements(name: str, data: bytes) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One CSV part as text columns with ``_row``, and its ragged lines (rejected, not dropped).

    The database's quoting is not always RFC 4180 (backslash-escaped quotes inside quoted text
    trip the fast reader); such parts are read record by record with Python's csv module.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{name}: not valid UTF-8 at byte offset {exc.start}") from None
    try:
        frame, ragged = pl.read_csv(io.StringIO(text), infer_schema=False), []
    except pl.exceptions.PolarsError:
        header, *records = [r for r in csv.reader(io.StringIO(text)) if r]
        ragged = [(row, len(r)) for row, r in enumerate(records, start=1) if len(r) != len(header)]
        frame = pl.DataFrame(
            [r if len(r) == len(header) else [None] * len(header) for r in records], schema=header, orient="row"
        )
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise DataError(f"{name}: not a DSA statements-of-reasons CSV; missing columns {missing}")
    frame = frame.with_row_index("_row", offset=1)
    bad = pl.DataFrame(
        {
            "_row": [r for r, _ in ragged],
            "_reason": [f"line has {n} fields, the header has {frame.width - 1}" for _, n in ragged],
        },
        schema={"_row": pl.UInt32, "_reason": pl.String},
    )
    rejected = as_rejections(bad, pl.col("_reason"), source=name)
    return frame.join(bad, on="_row", how="anti"), rejected


def to_events(frame: pl.DataFrame, name: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Statements as canonical enforcement events, and the statements that cannot be events."""
    harm_area, policy = harm_codes()
    blank = {c: pl.when(pl.col(c).str.strip_chars() != "").then(pl.col(c).str.strip_chars()) for c in REQUIRED}
    lists = {c: blank[c].str.json_decode(pl.List(pl.String)) for c in LIST_FIELDS}
    keyword = (
        lists["category_specification"].list.eval(pl.element().filter(pl.element().is_in(list(harm_area)))).list.first()
    )
    code = pl.coalesce(keyword, blank["category"])
    timestamp = "%Y-%m-%d %H:%M:%S"
    own_initiative = blank["source_type"] == "SOURCE_VOLUNTARY"
    detected = blank["automated_detection"] == "Yes"
    typed = frame.select(
        "_row",
        pl.lit(name).alias("_source"),
        event_id=blank["uuid"],
        actioned_at=blank["application_date"].str.to_datetime(timestamp, strict=False),
        created_at=blank["content_date"].str.to_datetime(timestamp, strict=False),
        received_at=blank["created_at"].str.to_datetime(timestamp, strict=False),
        harm_area=code.replace_strict(harm_area, default=None),
        policy=code.replace_strict(policy, default=None),
        category=blank["category"],
        country=scope_country(lists["territorial_scope"]),
        scope_size=lists["territorial_scope"].list.len(),
        language=blank["content_language"],
        content_type=lists["content_type"].list.first(),
        content_types=lists["content_type"].list.len(),
        detection_source=pl.when(own_initiative & detected).then(pl.lit("automated")).otherwise(blank["source_type"]),
        action=pl.coalesce(
            lists["decision_visibility"].list.first(),
            blank["decision_account"],
            blank["decision_provision"],
            blank["decision_monetary"],
        ),
        platform=blank["platform_name"],
        proactive=pl.when(blank["source_type"].is_not_null()).then(own_initiative),
        automated=pl.when(blank["automated_decision"].is_not_null()).then(
            blank["automated_decision"] == "AUTOMATED_DECISION_FULLY"
        ),
    )
    problems = (
        pl.when(pl.col("event_id").is_null())
        .then(pl.lit("uuid is empty"))
        .when(pl.col("actioned_at").is_null())
        .then(pl.lit("application_date is empty or not a YYYY-MM-DD HH:MM:SS time"))
        .when(pl.col("harm_area").is_null())
        .then(pl.format("category {} is not a DSA statement category", pl.col("category")))
    )
    checked = typed.with_columns(_problem=problems)
    bad = checked.filter(pl.col("_problem").is_not_null())
    rejected = as_rejections(bad.drop("_source"), pl.col("_problem"), source=name)
    later, created_late = _created_after_action(checked.filter(pl.col("_problem").is_null()), name)
    events = checked.filter(pl.col("_problem").is_null()).filter(~later).drop("_problem")
    return events, combine(rejected, created_late)


def _drop_copies(events: pl.DataFrame, seen: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Keep the first copy of every uuid, across the parts read so far (``seen``: uuid → where).

    Returns the kept events, the copies as rejections, and ``seen`` with this part's uuids.
    """
    here = pl.format("{} row {}", "_source", "_row")
    tagged = events.join(seen, on="event_id", how="left").with_columns(
        _first=pl.coalesce("_first", here.first().over("event_id"))
    )
    copy = pl.col("_first") != here
    copies = as_rejections(
        tagged.filter(copy), pl.format("duplicate uuid {} (first seen at {})", "event_id", "_first"), "uuid"
    )
    kept = tagged.filter(~copy).drop("_first")
    return kept, copies, pl.concat([seen, kept.select("event_id", _first=here)])


def _part_notes(events: pl.DataFrame) -> pl.DataFrame:
    """Per part: statements folded into EEA, with several content types, received on another day."""
    dump = pl.col("_source").str.extract(DUMP_DATE.pattern, 1).str.to_date(strict=False)
    received = pl.col("received_at").dt.date()
    return events.group_by(dump=dump, received=pl.when(received != dump).then(received)).agg(
        folded=((pl.col("country") == "EEA") & (pl.col("scope_size") != len(EU27) + len(EEA_ONLY))).sum(),
        several=(pl.col("content_types") > 1).sum(),
        statements=pl.len(),
    )


def _notes(stats: pl.DataFrame, versions: dict[str, int]) -> list[Caveat]:
    """What the statements themselves show: schema versions, folded scopes, odd receipt dates."""
    notes = [Caveat(f"Statements read per schema version: {versions}.", kind="validation")]
    folded, several = stats["folded"].sum(), stats["several"].sum()
    if folded:
        notes.append(
            Caveat(
                f"{folded:,} statements apply to several EU/EEA countries but not to the whole EU or EEA; they are "
                f"counted once, under EEA, not once per country.",
                kind="methodology",
            )
        )
    if several:
        notes.append(
            Caveat(
                f"{several:,} statements list several content types; each is counted once, under the first one.",
                kind="methodology",
            )
        )
    strays = stats.filter(pl.col("received").is_not_null()).group_by("dump", "received").agg(pl.col("statements").sum())
    for dump, received, n in strays.sort("dump", "received").iter_rows():
        notes.append(
            Caveat(
                f"{n} statements in the dump of {dump} were received on {received}, not on the dump's day.",
                kind="defect",
                date=received,
            )
        )
    return notes


def load(src: Any) -> Cube:
    """Load statements of reasons (CSV parts, daily dump zips, a folder of them, or an upload).

    Parts are read, checked and aggregated one at a time, so memory is bounded by the largest
    part (plus the uuids seen, to reject repeated statements across parts).
    """
    raws: list[pl.DataFrame] = []
    rejected: list[pl.DataFrame] = []
    stats: list[pl.DataFrame] = []
    versions: dict[str, int] = {}
    rows_read = 0
    seen = pl.DataFrame(schema={"event_id": pl.String, "_first": pl.String})
    for name, data in statement_files(src):
        frame, ragged = read_statements(name, data)
        events, bad = to_events(frame, name)
        events, copies, seen = _drop_copies(events, seen)
        version = "v2 (38 columns)" if "content_id_ean" in frame.columns else "v1 (37 columns)"
        versions[version] = versions.get(version, 0) + len(frame) + len(ragged)
        rows_read += len(frame) + len(ragged)
        dims = [d for d in CATEGORICAL if d in events.columns]
        raws.append(aggregate_events(events.lazy(), dims).collect())
        stats.append(_part_notes(events))
        rejected += [ragged, bad, copies]
    if not raws:
        raise DataError(f"{src}: no DSA statements-of-reasons CSV found (expected sor-*.csv parts or sor-*.zip dumps)")
    kept = combine(*rejected)
    rejected_rows = kept.select(pl.struct("_source", "_row").n_unique()).item() if len(kept) else 0
    name = str(getattr(src, "name", None) or src)
    notes = known_caveats(KIND) + _notes(pl.concat(stats), versions)
    raw = pl.concat(raws, how="diagonal_relaxed")
    return finish_raw_cube(
        raw, STATEMENTS_KIND, name, rows_read, [kept], notes, rejected_rows, proactive_known=True, regroup=True
    )


class DsaStatementsImporter:
    """EU DSA Transparency Database statements of reasons: CSV parts, daily dump zips, folders, uploads."""

    kind = STATEMENTS_KIND
    engines: tuple[str, ...] = ("polars",)
    description = "EU DSA Transparency Database statements of reasons (transparency.dsa.ec.europa.eu daily dumps)"

    def claims(self, src: Any, **options: Any) -> bool:
        """A sor-*.zip dump (or a folder of them), or a CSV (or folder) whose first file has the statements header."""
        if is_uploaded_file(src) or (isinstance(src, (str, Path)) and Path(src).is_file()):
            return is_dump_name(Path(getattr(src, "name", src)).name) or claims_csv(src, is_statement_header)
        if isinstance(src, (str, Path)) and Path(src).is_dir():
            return any(is_dump_name(p.name) for p in Path(src).rglob("*.zip")) or claims_csv(src, is_statement_header)
        return False

    def load(self, src: Any, **options: Any) -> Cube:
        """Load; the statements importer takes no options."""
        if options:
            raise DataError(f"the DSA statements importer takes no options, not {sorted(options)}")
        return load(src)
