"""Benchmark: prevalence of each core harm area in the last complete quarter of a generated
sample, estimated from its labelled view sample, against the truth the generator wrote.

    python -m bench.prevalence_truth                          # the bundled sample (sample_data/generated)
    python -m bench.prevalence_truth --data bench/out/events-10000000

The truth is the population's own share of violating views in the quarter (``truth/
population-<quarter>.parquet``: views and violating views per day × country × content type ×
harm area), not a sample's: the estimate should fall within its interval about 95 % of the time.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
CORE = ["violent_extremism", "hateful_behavior", "self_harm", "human_exploitation"]


def table(folder: Path) -> pl.DataFrame:
    """Per core harm area: the estimate, its interval and how it is reported, and the truth."""
    import insights
    from insights.periods import latest_complete_period

    cube = insights.load_source(folder)
    assert cube.provenance.as_of is not None
    quarter = latest_complete_period(cube.provenance.as_of, "quarter")
    estimated = cube.prevalence("all", start=quarter.start, end=quarter.end, harm_areas=CORE)
    name = f"{quarter.start.year}Q{(quarter.start.month - 1) // 3 + 1}"
    truth = (
        pl.scan_parquet(folder / "truth" / f"population-{name}.parquet")
        .filter(pl.col("harm_area").cast(pl.String).is_in(CORE))
        .group_by(pl.col("harm_area").cast(pl.String))
        .agg(truth=pl.col("violating_views").sum() / pl.col("views").sum())
        .collect()
    )
    return (
        estimated.join(truth, on="harm_area")
        .select(
            pl.lit(name).alias("quarter"),
            "harm_area",
            "estimate",
            "lower",
            "upper",
            "truth",
            covered=(pl.col("lower") <= pl.col("truth")) & (pl.col("truth") <= pl.col("upper")),
            error_pct=(pl.col("estimate") / pl.col("truth") - 1) * 100,
            sampled=pl.col("sample_size"),
            violating=pl.col("violating_sampled"),
            reported=pl.col("reported"),
        )
        .sort("harm_area")
    )


def coverage(folder: Path, grains: tuple[str, ...] = ("week", "month", "quarter")) -> pl.DataFrame:
    """Over every complete period and harm area of the sample (each week's view sample is drawn
    afresh, so periods are independent samples): the share of intervals covering the truth, and
    of upper bounds at or above it."""
    import insights
    from insights.periods import period_start

    cube = insights.load_source(folder)
    span = cube.date_range
    assert span is not None
    population = pl.scan_parquet(folder / "truth" / "population-*.parquet")
    rows = []
    for grain in grains:
        truth = (
            population.group_by(
                period=period_start(pl.col("date"), grain), harm_area=pl.col("harm_area").cast(pl.String)
            )
            .agg(truth=pl.col("violating_views").sum() / pl.col("views").sum(), days=pl.col("date").n_unique())
            .collect()
        )
        full = (
            truth.group_by("period")
            .agg(pl.col("days").max())
            .filter(
                pl.col("days") == pl.col("days").max()
                if grain == "week"
                else pl.col("period").is_between(pl.col("period").min(), pl.col("period").max(), closed="none")
            )
        )
        found = cube.prevalence(grain).join(truth, on=["period", "harm_area"]).join(full.select("period"), on="period")
        estimates = found.filter(pl.col("status") == "estimate")
        bounds = found.filter(pl.col("status") == "upper_bound")
        rows.append(
            {
                "grain": grain,
                "estimates": estimates.height,
                "covered": estimates.select(pl.col("truth").is_between(pl.col("lower"), pl.col("upper")).mean()).item(),
                "bounds": bounds.height,
                "bound_holds": bounds.select((pl.col("truth") <= pl.col("upper")).mean()).item()
                if bounds.height
                else 1.0,
            }
        )
    return pl.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "sample_data" / "generated")
    args = parser.parse_args(argv)
    result = table(args.data)
    print(f"\n## {args.data}: last complete quarter, {result['quarter'][0]}\n")
    print("| harm area | estimate | 95 % interval | truth | covered | error | sampled views | violating | reported |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in result.iter_rows(named=True):
        interval = f"{row['lower'] * 100:.4f}–{row['upper'] * 100:.4f} %"
        cells = [
            row["harm_area"],
            f"{row['estimate'] * 100:.4f} %",
            interval,
            f"{row['truth'] * 100:.4f} %",
            "yes" if row["covered"] else "no",
            f"{row['error_pct']:+.1f} %",
            f"{row['sampled']:,}",
            f"{row['violating']:,}",
            row["reported"],
        ]
        print("| " + " | ".join(cells) + " |")
    print(
        "\n| grain | periods × harm areas with an estimate | interval covers the truth | upper bounds | bound holds |"
    )
    print("|---|---|---|---|---|")
    for row in coverage(args.data).iter_rows(named=True):
        print(
            f"| {row['grain']} | {row['estimates']:,} | {row['covered']:.3f} | {row['bounds']:,} "
            f"| {row['bound_holds']:.3f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
