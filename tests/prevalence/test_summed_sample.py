"""A view sample summed per day × stratum × its columns gives exactly the sample's own estimates."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from insights.prevalence import estimate_prevalence, summarise_sample


def random_sample(seed: int, rows: int) -> pl.DataFrame:
    """Sampled views over 60 days, 3 countries, 2 content types, strata of week × content type,
    unequal weights and two rare labels."""
    rng = np.random.default_rng(seed)
    days = rng.integers(0, 60, rows)
    content = rng.choice(["video", "comment"], rows)
    return pl.DataFrame(
        {
            "date": [dt.date(2026, 1, 5) + dt.timedelta(days=int(d)) for d in days],
            "country": rng.choice(["BR", "FR", "NG"], rows),
            "content_type": content,
            "stratum": [f"{d // 7}/{c}" for d, c in zip(days, content, strict=True)],
            "weight": rng.lognormal(7, 1, rows),
            "violating_self_harm": rng.random(rows) < 0.01,
            "violating_spam": rng.random(rows) < 0.03,
        }
    )


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    rows=st.integers(200, 3_000),
    grain=st.sampled_from(["day", "week", "month", "quarter", "all"]),
    filters=st.sampled_from([None, {"country": ["BR"]}, {"region": "Europe"}, {"content_type": ["video"]}]),
    by=st.sampled_from([[], ["country"], ["content_type"]]),
    bounds=st.sampled_from([(None, None), ("2026-01-20", "2026-02-20")]),
)
def test_summed_sample_gives_the_samples_estimates(seed, rows, grain, filters, by, bounds):
    sample = random_sample(seed, rows)
    options = {"filters": filters, "by": by, "start": bounds[0], "end": bounds[1], "min_sample_size": 50}
    want = estimate_prevalence(sample, grain, **options)
    got = estimate_prevalence(summarise_sample(sample), grain, **options)
    assert_frame_equal(got, want, rel_tol=1e-9, abs_tol=1e-15)
