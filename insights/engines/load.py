"""Loading events that stay in an engine: what the source holds, checked where it lies.

Three scans at load, none of which brings events back: the distinct raw values of each
dimension with their counts (the code maps are built from them, as for files); the totals —
rows read, rows rejected for each reason, the days covered; and, when rows were rejected, a
sample of them with their reasons. Every rejection condition is NULL-safe (an unknown
``created_at`` or view count is not a reason to drop a row, and never drops it silently); rows
accepted are counted on their own, so rows read = rows rejected + rows accepted is checked
(``Provenance.conserved``), not assumed; the accepted rows are what every later query reads.
Event ids repeated in the source are found (proved unique cheaply where possible) and every
copy after the first is rejected.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import polars as pl
from sqlglot import exp, parse_one

from insights.cube import Cube, Provenance
from insights.engines.aggregates import Aggregates
from insights.engines.compile import RELATION, EventColumns, column, compile_aggregate, count_if, text
from insights.engines.connections import Connection, DuckDBConnection
from insights.engines.store import EngineStore
from insights.errors import DataError
from insights.geo import region_of
from insights.model import DIMENSIONS, policy_harm_areas, proactive_sources
from insights.sources import codes
from insights.sources.aggregation import countable_measures
from insights.sources.rejections import as_rejections, combine

CATEGORICAL = [d for d in DIMENSIONS if d not in ("date", "region")]
#: Rejected rows kept as a sample (the count covers all of them).
REJECTED_SAMPLE = 1000
#: The row number a ranked copy of an event id gets (1: the first, kept).
COPY = "__harm_insights_copy"


@dataclass
class EventSource:
    """Where the events are: a relation on a connection and how to tell its version.

    ``row_columns`` names the file and row-number columns of a file scan (rejected rows then
    say where they are); ``hidden`` lists such bookkeeping columns; ``ids_unique`` proves event
    ids unique without a scan where it can (sorted files, a primary key), else returns False.
    """

    connection: Connection
    relation: str
    name: str
    version: Callable[[], str]
    local: DuckDBConnection
    row_columns: tuple[str, str] | None = None
    hidden: tuple[str, ...] = ()
    ids_unique: Callable[[str], bool] = lambda column: False


@dataclass
class Rejection:
    """A reason to reject an event row and the (NULL-safe) condition that finds such rows."""

    column: str
    reason: str
    condition: exp.Expr


def load_events(source: EventSource, columns: Mapping[str, str] | None = None) -> Cube:
    """A cube over events that stay in ``source``'s engine (see the module docstring)."""
    canonical = _canonical_columns(source, columns)
    if "actioned_at" not in canonical:
        raise DataError(
            f"{source.name}: needs event rows with an 'actioned_at' column; columns are {list(canonical)}. "
            f"Map your names with columns={{'your name': 'actioned_at'}}."
        )
    dims = [d for d in CATEGORICAL if d in canonical]
    if "harm_area" not in dims and "policy" not in dims:
        raise DataError(
            f"{source.name}: has neither a 'harm_area' nor a 'policy' column; every action must belong to a harm area"
        )
    raw_values = _raw_values(source, canonical, dims)
    maps = codes.code_maps({d: [v for v in values if v is not None] for d, values in raw_values.items()})
    events = _event_columns(source.connection.dialect, canonical, maps, raw_values)
    relation = source.relation
    if (
        "event_id" in canonical
        and not source.ids_unique(canonical["event_id"])
        and _repeated_ids(source, canonical["event_id"])
    ):
        relation = _ranked_copies(source, canonical)
    rejections = _rejections(events, canonical, maps, raw_values, relation != source.relation)
    totals = _totals(source.connection, relation, events, rejections)
    found = [r for r, n in zip(rejections, totals["per_reason"], strict=True) if n]
    events.rejected = [r.condition for r in found]
    rejected = _rejected_sample(source, relation, found, totals["per_reason"], canonical)
    if totals["read"] == totals["rejected"]:
        reasons = [r.reason.replace("{} ", "") for r in found][:5]
        raise DataError(f"{source.name}: every row was rejected; reasons: {reasons}")
    dimensions = tuple(d for d in DIMENSIONS if d in [*dims, "harm_area"] or (d == "region" and "country" in dims))
    dimensions = tuple(d for d in dimensions if d != "date")
    regions = {c: r for c in maps.maps.get("country", {}).values() if c and (r := region_of(c))}
    prefix = "agg_" + hashlib.sha256(f"{source.name}|{source.version()}".encode()).hexdigest()[:12]
    aggregates = Aggregates(
        source.local,
        source.connection,
        lambda dims_: compile_aggregate(events, dims_, list(events.counts), relation),
        tuple(d for d in dimensions if d != "region"),
        prefix,
    )
    store = EngineStore(
        source.connection, events, relation, dimensions, totals["dates"], regions, aggregates, source.version
    )
    counts = {(d, raw): n for d, values in raw_values.items() for raw, n in values.items() if raw is not None}
    provenance = Provenance(
        source=source.name,
        kind="events",
        rows_read=totals["read"],
        rows_rejected=totals["rejected"],
        rows_accepted=totals["accepted"],
        as_of=totals["dates"][1] if totals["dates"] else None,
        rejected=rejected,
        caveats=codes.unknown_code_caveats(maps, counts),
    )
    return Cube(store, provenance)


def _canonical_columns(source: EventSource, columns: Mapping[str, str] | None) -> dict[str, str]:
    """Canonical column name → the source's column name."""
    names = [c for c in source.connection.columns(source.relation) if c not in source.hidden]
    mapping = dict(columns or {})
    missing = [c for c in mapping if c not in names]
    if missing:
        raise DataError(
            f"{source.name}: the column mapping names {missing}, which are not columns; columns are {names}"
        )
    return {mapping.get(c, c.strip().lower().replace(" ", "_")): c for c in names}


def _raw_values(source: EventSource, canonical: dict[str, str], dims: list[str]) -> dict[str, dict[str | None, int]]:
    """Each dimension's distinct raw values (as text; None for empty) and their row counts, in one scan."""
    dialect = source.connection.dialect
    as_text = {d: exp.cast(column(canonical[d]), exp.DataType.build("VARCHAR")) for d in dims}
    if dialect == "sqlite":  # no GROUPING SETS: one small GROUP BY per dimension
        parts = [
            exp.select(
                exp.alias_(text(d), "dimension"),
                exp.alias_(as_text[d], "value"),
                exp.alias_(exp.Count(this=exp.Star()), "n"),
            )
            .from_(exp.to_table(RELATION))
            .group_by(column(canonical[d]))
            for d in dims
        ]
        query: exp.Expr = parts[0]
        for part in parts[1:]:
            query = exp.union(query, part, distinct=False)
        frame = source.connection.run(query.sql(dialect=dialect).replace(RELATION, source.relation))
        rows = frame.iter_rows()
    else:
        grouping = [exp.alias_(exp.func("GROUPING", column(canonical[d])), f"g_{d}") for d in dims]
        sets = ", ".join(f"({column(canonical[d]).sql(dialect)})" for d in dims)
        select = exp.select(
            *[exp.alias_(as_text[d], d) for d in dims], *grouping, exp.alias_(exp.Count(this=exp.Star()), "n")
        ).from_(exp.to_table(RELATION))
        sql = f"{select.sql(dialect=dialect)} GROUP BY GROUPING SETS ({sets})".replace(RELATION, source.relation)
        frame = source.connection.run(sql)
        rows = ((d, row[d], row["n"]) for row in frame.iter_rows(named=True) for d in dims if row[f"g_{d}"] == 0)
    values: dict[str, dict[str | None, int]] = {d: {} for d in dims}
    for dimension, value, n in rows:
        values[dimension][value] = int(n)
    return values


def _event_columns(
    dialect: str, canonical: dict[str, str], maps: codes.CodeMaps, raw_values: dict[str, dict[str | None, int]]
) -> EventColumns:
    """The events under canonical names and codes, with every measure their columns allow."""
    changed = {d: m for d, m in maps.maps.items() if any(raw != code for raw, code in m.items())}
    derived = list(canonical)
    proactive_raw = None
    if "proactive" not in canonical and "detection_source" in canonical:
        proactive_raw = sorted(
            r for r, code in maps.maps.get("detection_source", {}).items() if code in proactive_sources()
        )
        derived.append("proactive")
    if "created_at" in canonical:
        derived.append("time_to_action_hours")
    areas: dict[str, str] = {}
    if "policy" in canonical and ("harm_area" not in canonical or None in raw_values.get("harm_area", {})):
        areas = {
            raw: policy_harm_areas()[code]
            for raw, code in maps.maps.get("policy", {}).items()
            if code in policy_harm_areas()
        }
    return EventColumns(
        dialect=dialect,
        columns=canonical,
        counts=countable_measures(derived),
        maps=changed,
        harm_area_of_policy=areas,
        proactive_sources=proactive_raw,
    )


def _rejections(
    events: EventColumns,
    canonical: dict[str, str],
    maps: codes.CodeMaps,
    raw_values: dict[str, dict[str | None, int]],
    ranked: bool,
) -> list[Rejection]:
    """Every reason a row may be rejected here, each condition TRUE only for such rows (never NULL)."""

    def known(condition: exp.Expr) -> exp.Expr:
        return exp.func("COALESCE", condition, exp.false())

    actioned = events.source("actioned_at")
    found = [Rejection("actioned_at", "actioned_at is empty", exp.Is(this=actioned, expression=exp.Null()))]
    if "views_before_action" in canonical:
        negative = exp.LT(this=events.source("views_before_action"), expression=exp.Literal.number(0))
        found.append(
            Rejection("views_before_action", "views_before_action is negative: expected a number ≥ 0", known(negative))
        )
    if "created_at" in canonical:
        later = exp.GT(this=events.source("created_at"), expression=actioned.copy())
        reason = "created_at is after actioned_at: content cannot be actioned before it exists"
        found.append(Rejection("created_at", reason, known(later)))
    if maps.bad_countries:
        bad = events.source("country").isin(*[text(c) for c in maps.bad_countries])
        reason = "country {} is not a country: expected an ISO 3166-1 alpha-2 code such as US"
        found.append(Rejection("country", reason, known(bad)))
    if "harm_area" not in canonical or None in raw_values.get("harm_area", {}):
        reason = "no harm area: harm_area is empty and the policy is not in the taxonomy"
        found.append(Rejection("harm_area", reason, exp.Is(this=events.dimension("harm_area"), expression=exp.Null())))
    if ranked:
        copy = exp.GT(this=column(COPY), expression=exp.Literal.number(1))
        found.append(Rejection("event_id", "duplicate event_id: an earlier row has the same id", known(copy)))
    return found


def _totals(connection: Connection, relation: str, events: EventColumns, rejections: list[Rejection]) -> dict:
    """Rows read, rows rejected (each reason, and any), rows accepted (counted on their own, by the
    condition the store's questions filter with, so read = rejected + accepted is a check, not an
    identity), first and last day of the accepted rows."""
    any_reason = exp.or_(*[r.condition for r in rejections])
    accepted_day = exp.case().when(exp.Not(this=exp.paren(any_reason.copy())), events.day())
    select = exp.select(
        exp.alias_(exp.Count(this=exp.Star()), "rows_read"),
        exp.alias_(count_if(any_reason), "rejected"),
        exp.alias_(count_if(exp.Not(this=exp.paren(any_reason.copy()))), "accepted"),
        *[exp.alias_(count_if(r.condition.copy()), f"reason_{i}") for i, r in enumerate(rejections)],
        exp.alias_(exp.func("MIN", accepted_day), "first_day"),
        exp.alias_(exp.func("MAX", accepted_day.copy()), "last_day"),
    ).from_(exp.to_table(RELATION))
    row = connection.run(select.sql(dialect=events.dialect).replace(RELATION, relation)).row(0, named=True)
    first, last = (_day(row["first_day"]), _day(row["last_day"]))
    return {
        "read": int(row["rows_read"]),
        "rejected": int(row["rejected"] or 0),
        "accepted": int(row["accepted"] or 0),
        "per_reason": [int(row[f"reason_{i}"] or 0) for i in range(len(rejections))],
        "dates": (first, last) if first is not None and last is not None else None,
    }


def _day(value: object) -> dt.date | None:
    """A day as a driver returned it (a date, a timestamp or ISO text)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _rejected_sample(
    source: EventSource, relation: str, found: list[Rejection], counts: list[int], canonical: dict[str, str]
) -> pl.DataFrame:
    """Up to ``REJECTED_SAMPLE`` rejected rows in all, shared among the reasons, with where they are."""
    frames = []
    nonzero = [n for n in counts if n]
    for rejection, n in zip(found, nonzero, strict=True):
        limit = max(1, REJECTED_SAMPLE // len(found))
        select = exp.select(exp.Star()).from_(exp.to_table(RELATION)).where(rejection.condition.copy()).limit(limit)
        rows = source.connection.run(select.sql(dialect=source.connection.dialect).replace(RELATION, relation))
        if source.row_columns:
            file_column, row_column = source.row_columns
            rows = rows.with_columns(_source=pl.col(file_column), _row=pl.col(row_column) + 1)
        else:
            rows = rows.with_columns(_source=pl.lit(source.name), _row=pl.lit(None, dtype=pl.Int64))
        rows = rows.drop([c for c in (*source.hidden, COPY) if c in rows.columns])
        shown = f" ({n:,} rows; first {min(n, limit):,} shown)"
        reason: pl.Expr | str = rejection.reason + shown
        if "{}" in rejection.reason:  # the row's own value in the reason
            reason = pl.format(rejection.reason + shown, pl.col(canonical[rejection.column]).cast(pl.String))
        frames.append(as_rejections(rows, reason, rejection.column))
    return combine(*frames)


def _repeated_ids(source: EventSource, id_column: str) -> bool:
    """True when some event id occurs more than once (one scan of the id column)."""
    quoted = column(id_column)
    select = exp.select(
        exp.alias_(exp.Count(this=exp.Star()) - exp.Count(this=exp.Distinct(expressions=[quoted])), "copies")
    ).from_(exp.to_table(RELATION))
    row = source.connection.run(select.sql(dialect=source.connection.dialect).replace(RELATION, source.relation))
    return bool(row["copies"][0])


def _ranked_copies(source: EventSource, canonical: dict[str, str]) -> str:
    """The relation with each row's rank among the rows of its event id (first actioned first)."""
    dialect = source.connection.dialect
    rank = parse_one("ROW_NUMBER() OVER (PARTITION BY i ORDER BY a)", read="duckdb").transform(
        lambda node: (
            column(canonical["event_id"] if node.name == "i" else canonical["actioned_at"])
            if isinstance(node, exp.Column)
            else node
        )
    )
    inner = exp.select(exp.Star(), exp.alias_(rank, COPY, quoted=True)).from_(exp.to_table(RELATION))
    return f"({inner.sql(dialect=dialect).replace(RELATION, source.relation)}) AS ranked"
