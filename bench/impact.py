"""Benchmark: ``insights.impact`` on the three synthetic-control studies, against the published
figures and pysyncon.

    python -m bench.impact                      # data from ../shared/benchmarks/impact
    python -m bench.impact --data DIR --no-pysyncon

Reads the replication files described in ``shared/benchmarks/impact/README.md`` (not copied into
the project) and prints one row per study and estimator: the average effect over the study's
window with its conformal interval, the last year's gap, the pre-period RMSPE, the treated unit's
rank by post/pre RMSPE ratio among all units (placebo in space), the three heaviest donors and
the run time. "ours, outcomes" fits the weights on every pre-launch outcome; "ours, predictors"
uses the papers' predictors (the nested fit of Abadie et al.; for the Basque Country, as Abadie &
Gardeazabal, education as shares of the working-age population and the fit on 1960–1969).
pysyncon (``Synth``, Nelder-Mead, the same predictors) is run in the same process when it is
installed, else its figures from the README are shown. Targets (from the issue) are checked at the end.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from insights.impact import ImpactEstimate, Predictor, estimate_panel_impact, panel_from_frame

ROOT = Path(__file__).resolve().parents[1]


DATA = ROOT.parent / "shared" / "benchmarks" / "impact"


@dataclass(frozen=True)
class Study:
    """One paper's design: the file, its columns, the treated unit, launch, window and predictors."""

    name: str
    file: str
    unit: str
    outcome: str
    treated: str
    launch: int
    window: tuple[int, int]
    predictors: tuple[Predictor, ...]
    exclude: tuple[str, ...] = ()
    first_year: int | None = None
    shares: tuple[str, ...] = ()
    published: str = ""
    readme_pysyncon: str = ""


STUDIES = (
    Study(
        "Proposition 99",
        "smoking.csv",
        "state",
        "cigsale",
        "California",
        1989,
        (1989, 2000),
        (
            Predictor("lnincome", 1980, 1988),
            Predictor("retprice", 1980, 1988),
            Predictor("age15to24", 1980, 1988),
            Predictor("beer", 1984, 1988),
            Predictor("cigsale", 1988, 1988),
            Predictor("cigsale", 1980, 1980),
            Predictor("cigsale", 1975, 1975),
        ),
        published="≈ −20 avg; −26 in 2000; rank 1/39 (p = 0.026)",
        readme_pysyncon="−19.9 (se 2.0); −27.7 in 2000",
    ),
    Study(
        "German reunification",
        "germany.csv",
        "country",
        "gdp",
        "West Germany",
        1990,
        (1990, 2003),
        (
            Predictor("gdp", 1981, 1990),
            Predictor("trade", 1981, 1990),
            Predictor("infrate", 1981, 1990),
            Predictor("industry", 1981, 1990),
            Predictor("schooling", 1980, 1985),
            Predictor("invest80", 1980, 1980),
        ),
        published="≈ −1,600 USD per year avg",
        readme_pysyncon="−1,395 (se 287)",
    ),
    Study(
        "Basque Country",
        "basque.csv",
        "regionname",
        "gdpcap",
        "Basque Country (Pais Vasco)",
        1970,
        (1975, 1997),
        (
            Predictor("share.illit", 1964, 1969),
            Predictor("share.prim", 1964, 1969),
            Predictor("share.med", 1964, 1969),
            Predictor("share.high", 1964, 1969),
            Predictor("share.post.high", 1964, 1969),
            Predictor("invest", 1964, 1969),
            Predictor("gdpcap", 1960, 1969),
            Predictor("sec.agriculture", 1961, 1969),
            Predictor("sec.energy", 1961, 1969),
            Predictor("sec.industry", 1961, 1969),
            Predictor("sec.construction", 1961, 1969),
            Predictor("sec.services.venta", 1961, 1969),
            Predictor("sec.services.nonventa", 1961, 1969),
            Predictor("popdens", 1969, 1969),
        ),
        exclude=("Spain (Espana)",),
        first_year=1960,
        shares=("school.illit", "school.prim", "school.med", "school.high", "school.post.high"),
        published="≈ −10 % over the 1980s–1990s",
        readme_pysyncon="−0.58 (se 0.07)",
    ),
)


@dataclass(frozen=True)
class Row:
    """One estimator's answer on one study."""

    study: str
    estimator: str
    average: float
    lower: float | None
    upper: float | None
    last_gap: float
    pre_rmspe: float | None
    rank: str
    donors: str
    seconds: float | None


def read(study: Study, data: Path) -> pl.DataFrame:
    frame = pl.read_csv(data / study.file, null_values="NA", infer_schema_length=10_000)
    frame = frame.with_columns(pl.col("year").cast(pl.Int64))
    if study.shares:  # the paper's human capital is each education level's share of the working-age population
        total = pl.sum_horizontal(list(study.shares))
        frame = frame.with_columns(
            [(pl.col(c) / total * 100).alias(c.replace("school.", "share.")) for c in study.shares]
        )
    if study.first_year is not None:
        frame = frame.filter(pl.col("year") >= study.first_year)
    return frame.filter(~pl.col(study.unit).is_in(list(study.exclude)))


def window_effect(estimate: ImpactEstimate, window: tuple[int, int]) -> float:
    """The mean gap over the study's window (which may start after the launch)."""
    rows = estimate.series.filter(pl.col("period").is_between(*window))
    return float(rows["effect"].mean())  # type: ignore[arg-type]


def ours(study: Study, frame: pl.DataFrame, with_predictors: bool) -> tuple[Row, ImpactEstimate]:
    panel = panel_from_frame(
        frame,
        unit=study.unit,
        time="year",
        outcome=study.outcome,
        treated=study.treated,
        launch=study.launch,
        predictors=study.predictors if with_predictors else (),
    )
    start = time.perf_counter()
    estimate = estimate_panel_impact(panel, method="synthetic", level=0.9, metric=study.outcome)
    seconds = time.perf_counter() - start
    whole_post = study.window[0] == study.launch
    space = estimate.placebo_space
    assert space is not None
    top = estimate.weights.sort("weight", descending=True).head(3)
    row = Row(
        study=study.name,
        estimator="ours, predictors" if with_predictors else "ours, outcomes",
        average=window_effect(estimate, study.window),
        lower=estimate.average.lower if whole_post else None,
        upper=estimate.average.upper if whole_post else None,
        last_gap=float(estimate.series["effect"][-1]),
        pre_rmspe=estimate.fit.rmspe,
        rank=f"{space.rank}/{len(space.results)}",
        donors=", ".join(f"{d} {w:.2f}" for d, w in top.iter_rows()),
        seconds=seconds,
    )
    return row, estimate


def pysyncon_row(study: Study, frame: pl.DataFrame) -> Row | None:
    """pysyncon's Synth with the same predictors, or None when it is not installed."""
    try:
        from pysyncon import Dataprep, Synth
    except ImportError:
        return None
    years = sorted(frame["year"].unique().to_list())
    pre = [y for y in years if y < study.launch]
    controls = sorted(u for u in frame[study.unit].unique().to_list() if u != study.treated)
    special = [(p.column, list(range(int(p.start), int(p.end) + 1)), "mean") for p in study.predictors]  # type: ignore[arg-type]
    prep = Dataprep(
        foo=frame.to_pandas(),
        predictors=[],
        predictors_op="mean",
        dependent=study.outcome,
        unit_variable=study.unit,
        time_variable="year",
        treatment_identifier=study.treated,
        controls_identifier=controls,
        time_predictors_prior=pre,
        time_optimize_ssr=pre,
        special_predictors=special,
    )
    start = time.perf_counter()
    synth = Synth()
    synth.fit(dataprep=prep, optim_method="Nelder-Mead", optim_initial="equal")
    seconds = time.perf_counter() - start
    window = [y for y in years if study.window[0] <= y <= study.window[1]]
    att = synth.att(time_period=window)
    z0, z1 = prep.make_outcome_mats(time_period=years)
    gaps = synth._gaps(Z0=z0, Z1=z1)
    pre_gaps = np.asarray(gaps.loc[pre], dtype=float)
    weights = synth.weights(round=2).sort_values(ascending=False).head(3)
    return Row(
        study=study.name,
        estimator="pysyncon 1.7.0",
        average=att["att"],
        lower=att["att"] - 1.645 * att["se"],
        upper=att["att"] + 1.645 * att["se"],
        last_gap=float(gaps.iloc[-1]),
        pre_rmspe=float(np.sqrt(np.mean(pre_gaps**2))),
        rank="–",
        donors=", ".join(f"{d} {w:.2f}" for d, w in weights.items()),
        seconds=seconds,
    )


def fmt(value: float | None, digits: int = 2) -> str:
    if value is None or not np.isfinite(value):
        return "–" if value is None else ("−∞" if value < 0 else "∞")
    return f"{value:,.{digits}f}".replace("-", "−")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA, help="folder with smoking.csv, germany.csv, basque.csv")
    parser.add_argument(
        "--no-pysyncon", action="store_true", help="show the README's pysyncon figures instead of running it"
    )
    args = parser.parse_args()
    rows: list[Row] = []
    answers: dict[str, ImpactEstimate] = {}
    for study in STUDIES:
        frame = read(study, args.data)
        for with_predictors in (False, True):
            row, estimate = ours(study, frame, with_predictors)
            rows.append(row)
            if with_predictors:
                answers[study.name] = estimate
        measured = None if args.no_pysyncon else pysyncon_row(study, frame)
        if measured is not None:
            rows.append(measured)
        else:
            rows.append(
                Row(
                    study.name,
                    "pysyncon (README)",
                    float("nan"),
                    None,
                    None,
                    float("nan"),
                    None,
                    "–",
                    study.readme_pysyncon,
                    None,
                )
            )
        rows.append(
            Row(study.name, "published", float("nan"), None, None, float("nan"), None, "–", study.published, None)
        )
    header = (
        f"{'study':<21} {'estimator':<18} {'avg effect':>11} {'90% interval':>22} {'last gap':>9} "
        f"{'pre RMSPE':>9} {'rank':>6} {'s':>6}  heaviest donors / figures"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        interval = f"[{fmt(r.lower)}, {fmt(r.upper)}]" if r.lower is not None else "–"
        average = fmt(r.average) if np.isfinite(r.average) else "–"
        gap = fmt(r.last_gap) if np.isfinite(r.last_gap) else "–"
        seconds = f"{r.seconds:.1f}" if r.seconds is not None else "–"
        print(
            f"{r.study:<21} {r.estimator:<18} {average:>11} {interval:>22} {gap:>9} {fmt(r.pre_rmspe):>9} "
            f"{r.rank:>6} {seconds:>6}  {r.donors}"
        )
    print()
    print(
        "Window: Proposition 99 1989–2000, German reunification 1990–2003, Basque Country 1975–1997 (fit before 1970)."
    )
    print("Intervals: ours conformal (constant effect over the post-launch period; only where the window is the whole")
    print("post-launch period); pysyncon ± 1.645 se of the mean gap.")
    print()
    checks = target_checks(rows, answers)
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")


def target_checks(rows: list[Row], answers: dict[str, ImpactEstimate]) -> list[tuple[str, bool]]:
    """The issue's targets, on the predictor-based estimate (the papers' design)."""
    by = {(r.study, r.estimator): r for r in rows}
    prop = by[("Proposition 99", "ours, predictors")]
    germany = by[("German reunification", "ours, predictors")]
    basque = by[("Basque Country", "ours, predictors")]
    return [
        (f"Proposition 99 average 1989–2000 {prop.average:.1f} within ±3 of −20", abs(prop.average + 20) <= 3),
        (f"Proposition 99 gap in 2000 {prop.last_gap:.1f} within ±4 of −26", abs(prop.last_gap + 26) <= 4),
        (f"California ranked {prop.rank} by post/pre RMSPE ratio (first of 39)", prop.rank == "1/39"),
        (
            f"German reunification average 1990–2003 {germany.average:,.0f} within ±400 of −1,500",
            abs(germany.average + 1500) <= 400,
        ),
        (
            f"Basque Country average 1975–1997 {basque.average:.2f} negative and within ±0.25 of −0.6",
            basque.average < 0 and abs(basque.average + 0.6) <= 0.25,
        ),
    ]


if __name__ == "__main__":
    main()
