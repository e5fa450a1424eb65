"""Generate deterministic, event-level sample enforcement data with injected stories.

    python sample_data/generate.py                      # about 1M events
    python sample_data/generate.py --events 50000000    # scales; written one quarter at a time
    python sample_data/generate.py --platform large     # a large platform's cardinalities

Writes ``sample_data/generated/events/events-<quarter>.parquet`` (one row per enforcement
action, canonical column names) and follows the stories in ``sample_data/stories.json``.
Next to the events it writes exposure tables (``exposure/``: uploads and views per day ×
country × content type), a labelled stratified random sample of views (``view_sample/``) and
the truth of the generating model (``truth/``: violating views of every cell, true weekly
prevalence per harm area, the realised effect of the program story); ``stories.json``
(``prevalence``) documents their layout and columns. The same seed and event count always
give the same files.

The baseline has weekly seasonality, growth that differs by harm area, 47 countries in every
world region with their languages, and realistic mixes of policies, content types, detection
sources, actions, views before action, time to action, appeals and overturns.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "generated"
STORIES = HERE / "stories.json"
SEED = 20241118

# harm area: (share of actions, yearly growth, proactive share, {policy: share}, content-type tilt)
HARM_AREAS: dict[str, tuple[float, float, float, dict[str, float]]] = {
    "violent_extremism": (
        0.06,
        0.10,
        0.90,
        {"terrorist_content": 0.5, "violent_extremist_organisations": 0.3, "glorification_of_violence": 0.2},
    ),
    "hateful_behavior": (0.12, 0.15, 0.70, {"hate_speech": 0.6, "hateful_ideology": 0.15, "slurs": 0.25}),
    "self_harm": (
        0.07,
        0.20,
        0.85,
        {"suicide_and_self_injury": 0.5, "eating_disorders": 0.3, "dangerous_challenges": 0.2},
    ),
    "human_exploitation": (0.04, 0.25, 0.65, {"human_trafficking": 0.5, "forced_labour": 0.2, "sextortion": 0.3}),
    "bullying_harassment": (0.14, 0.12, 0.55, {"targeted_harassment": 0.6, "doxxing": 0.15, "threats": 0.25}),
    "child_safety": (0.08, 0.18, 0.92, {"child_sexual_exploitation": 0.35, "grooming": 0.2, "underage_users": 0.45}),
    "adult_content": (0.16, 0.08, 0.95, {"nudity": 0.6, "sexual_activity": 0.4}),
    "violent_graphic": (0.08, 0.05, 0.88, {"graphic_violence": 0.8, "animal_cruelty": 0.2}),
    "misinformation": (
        0.06,
        0.30,
        0.60,
        {"harmful_misinformation": 0.6, "election_integrity": 0.25, "synthetic_media": 0.15},
    ),
    "regulated_goods": (0.10, 0.15, 0.93, {"drugs": 0.4, "weapons": 0.25, "fraud_and_scams": 0.35}),
    "spam": (0.09, 0.05, 0.97, {"spam": 0.5, "fake_accounts": 0.3, "fake_engagement": 0.2}),
}

# country: (weight, region, {language: share})
COUNTRIES: dict[str, tuple[float, str, dict[str, float]]] = {
    "US": (16, "Americas", {"en": 0.8, "es": 0.2}),
    "BR": (8, "Americas", {"pt": 1.0}),
    "MX": (5, "Americas", {"es": 1.0}),
    "CA": (2, "Americas", {"en": 0.8, "fr": 0.2}),
    "AR": (2, "Americas", {"es": 1.0}),
    "CO": (2, "Americas", {"es": 1.0}),
    "CL": (1, "Americas", {"es": 1.0}),
    "PE": (1, "Americas", {"es": 1.0}),
    "GB": (4, "Europe", {"en": 1.0}),
    "DE": (3.5, "Europe", {"de": 1.0}),
    "FR": (3.5, "Europe", {"fr": 1.0}),
    "IT": (2.5, "Europe", {"it": 1.0}),
    "ES": (2.5, "Europe", {"es": 1.0}),
    "PL": (1.5, "Europe", {"pl": 1.0}),
    "NL": (1.0, "Europe", {"nl": 1.0}),
    "BE": (0.7, "Europe", {"nl": 0.6, "fr": 0.4}),
    "SE": (0.6, "Europe", {"sv": 1.0}),
    "RO": (0.8, "Europe", {"ro": 1.0}),
    "UA": (1.0, "Europe", {"uk": 0.7, "ru": 0.3}),
    "PT": (0.7, "Europe", {"pt": 1.0}),
    "RU": (2.0, "Europe", {"ru": 1.0}),
    "TR": (3.0, "Asia", {"tr": 1.0}),
    "IN": (9, "Asia", {"hi": 0.5, "en": 0.3, "ta": 0.2}),
    "ID": (5, "Asia", {"id": 1.0}),
    "PH": (3, "Asia", {"tl": 0.6, "en": 0.4}),
    "VN": (2.5, "Asia", {"vi": 1.0}),
    "TH": (2, "Asia", {"th": 1.0}),
    "JP": (2, "Asia", {"ja": 1.0}),
    "KR": (1.2, "Asia", {"ko": 1.0}),
    "PK": (2.5, "Asia", {"ur": 0.7, "en": 0.3}),
    "BD": (1.5, "Asia", {"bn": 1.0}),
    "MY": (1.2, "Asia", {"ms": 0.6, "en": 0.4}),
    "SA": (1.5, "Asia", {"ar": 1.0}),
    "AE": (0.8, "Asia", {"ar": 0.6, "en": 0.4}),
    "IQ": (1.0, "Asia", {"ar": 1.0}),
    "IL": (0.5, "Asia", {"he": 0.8, "ar": 0.2}),
    "EG": (2.0, "Africa", {"ar": 1.0}),
    "NG": (2.5, "Africa", {"en": 1.0}),
    "KE": (1.0, "Africa", {"en": 0.6, "sw": 0.4}),
    "ZA": (1.2, "Africa", {"en": 1.0}),
    "GH": (0.6, "Africa", {"en": 1.0}),
    "ET": (0.6, "Africa", {"am": 1.0}),
    "MA": (0.8, "Africa", {"ar": 0.6, "fr": 0.4}),
    "DZ": (0.8, "Africa", {"ar": 0.7, "fr": 0.3}),
    "TZ": (0.5, "Africa", {"sw": 1.0}),
    "AU": (1.5, "Oceania", {"en": 1.0}),
    "NZ": (0.4, "Oceania", {"en": 1.0}),
}

# The large-platform mode (``--platform large``) adds these countries (each with its language),
# and the taxonomy's remaining policies, so the cube has a big platform's cardinalities: over
# 100 countries, 40 languages and 40 policies. Their weights are small, so every story keeps
# its size in the segments it names.
LARGE_PLATFORM_COUNTRIES: dict[str, tuple[float, str, dict[str, float]]] = {
    code: (weight, region, {language: 1.0})
    for code, weight, region, language in [
        ("GR", 0.5, "Europe", "el"),
        ("CZ", 0.5, "Europe", "cs"),
        ("HU", 0.4, "Europe", "hu"),
        ("DK", 0.3, "Europe", "da"),
        ("FI", 0.3, "Europe", "fi"),
        ("NO", 0.3, "Europe", "no"),
        ("BG", 0.3, "Europe", "bg"),
        ("RS", 0.3, "Europe", "sr"),
        ("HR", 0.2, "Europe", "hr"),
        ("SK", 0.2, "Europe", "sk"),
        ("AT", 0.4, "Europe", "de"),
        ("CH", 0.4, "Europe", "de"),
        ("IE", 0.3, "Europe", "en"),
        ("LT", 0.1, "Europe", "lt"),
        ("LV", 0.1, "Europe", "lv"),
        ("EE", 0.1, "Europe", "et"),
        ("SI", 0.1, "Europe", "sl"),
        ("IR", 1.0, "Asia", "fa"),
        ("KZ", 0.4, "Asia", "kk"),
        ("UZ", 0.4, "Asia", "uz"),
        ("MM", 0.5, "Asia", "my"),
        ("KH", 0.3, "Asia", "km"),
        ("NP", 0.3, "Asia", "ne"),
        ("LK", 0.3, "Asia", "si"),
        ("GE", 0.1, "Asia", "ka"),
        ("AM", 0.1, "Asia", "hy"),
        ("AZ", 0.2, "Asia", "az"),
        ("MN", 0.1, "Asia", "mn"),
        ("SG", 0.3, "Asia", "en"),
        ("TW", 0.6, "Asia", "zh"),
        ("HK", 0.3, "Asia", "zh"),
        ("JO", 0.2, "Asia", "ar"),
        ("LB", 0.2, "Asia", "ar"),
        ("KW", 0.2, "Asia", "ar"),
        ("QA", 0.1, "Asia", "ar"),
        ("OM", 0.1, "Asia", "ar"),
        ("AF", 0.3, "Asia", "ps"),
        ("ZW", 0.2, "Africa", "sn"),
        ("ZM", 0.2, "Africa", "ny"),
        ("UG", 0.3, "Africa", "lg"),
        ("RW", 0.1, "Africa", "rw"),
        ("SN", 0.2, "Africa", "wo"),
        ("CI", 0.2, "Africa", "fr"),
        ("CM", 0.2, "Africa", "fr"),
        ("MG", 0.1, "Africa", "mg"),
        ("SO", 0.1, "Africa", "so"),
        ("TN", 0.2, "Africa", "ar"),
        ("LY", 0.1, "Africa", "ar"),
        ("SD", 0.2, "Africa", "ar"),
        ("AO", 0.2, "Africa", "pt"),
        ("MZ", 0.2, "Africa", "pt"),
        ("VE", 0.6, "Americas", "es"),
        ("EC", 0.4, "Americas", "es"),
        ("BO", 0.2, "Americas", "es"),
        ("PY", 0.2, "Americas", "es"),
        ("UY", 0.2, "Americas", "es"),
        ("GT", 0.3, "Americas", "es"),
        ("HN", 0.2, "Americas", "es"),
        ("SV", 0.2, "Americas", "es"),
        ("NI", 0.1, "Americas", "es"),
        ("CR", 0.1, "Americas", "es"),
        ("PA", 0.1, "Americas", "es"),
        ("DO", 0.3, "Americas", "es"),
        ("CU", 0.2, "Americas", "es"),
        ("PR", 0.2, "Americas", "es"),
        ("JM", 0.1, "Americas", "en"),
        ("HT", 0.1, "Americas", "ht"),
        ("TT", 0.1, "Americas", "en"),
        ("FJ", 0.1, "Oceania", "fj"),
        ("PG", 0.1, "Oceania", "tpi"),
    ]
}
# harm area: the taxonomy's further policies and the share of the harm area's actions they take
LARGE_PLATFORM_POLICIES: dict[str, dict[str, float]] = {
    "violent_extremism": {"public_security_risk": 0.1},
    "human_exploitation": {"sexual_exploitation": 0.15},
    "bullying_harassment": {"cyber_violence_against_women": 0.1},
    "child_safety": {"child_physical_abuse": 0.1, "minors_protection": 0.1},
    "adult_content": {"sexually_suggestive": 0.2},
    "violent_graphic": {"violence_incitement": 0.15},
    "regulated_goods": {
        "gambling": 0.08,
        "regulated_trade": 0.06,
        "unsafe_products": 0.05,
        "consumer_information": 0.04,
        "commercial_disclosure": 0.04,
    },
    "spam": {"unoriginal_content": 0.1},
}
PLATFORMS = ("sample", "large")

CONTENT_TYPES = {
    "video": 0.42,
    "comment": 0.25,
    "live": 0.08,
    "post": 0.11,
    "account": 0.07,
    "ad": 0.03,
    "message": 0.04,
}
PROACTIVE_SOURCES = {"automated": 0.85, "internal_escalation": 0.15}
REACTIVE_SOURCES = {"user_report": 0.8, "trusted_flagger": 0.12, "law_enforcement": 0.08}
ACTIONS_BY_CONTENT = {"remove": 0.72, "restrict": 0.14, "warn": 0.14}
APPEAL_PROBABILITY = {"remove": 0.07, "restrict": 0.04, "warn": 0.02, "account_ban": 0.2}
OVERTURN_PROBABILITY = 0.12
WEEKDAY_FACTOR = np.array([0.95, 0.93, 0.94, 0.97, 1.03, 1.10, 1.08])  # Monday … Sunday


@dataclass
class Vocab:
    """Code lists of the categorical columns, in a fixed order (indices are sampled), and the
    tables they come from (``HARM_AREAS`` and ``COUNTRIES``, extended in the large-platform mode)."""

    harm_area_table: dict[str, tuple[float, float, float, dict[str, float]]]
    country_table: dict[str, tuple[float, str, dict[str, float]]]
    harm_areas: list[str]
    policies: list[str]
    countries: list[str]
    languages: list[str]
    content_types: list[str]
    sources: list[str]
    actions: list[str]


def vocabulary(platform: str = "sample") -> Vocab:
    """The fixed code lists the generator samples from: the sample's, or (``platform="large"``)
    with a large platform's cardinalities."""
    if platform not in PLATFORMS:
        raise ValueError(f"platform must be one of {PLATFORMS}, not {platform!r}")
    harm_areas, countries = HARM_AREAS, COUNTRIES
    if platform == "large":
        countries = {**COUNTRIES, **LARGE_PLATFORM_COUNTRIES}
        harm_areas = {
            area: _with_policies(spec, LARGE_PLATFORM_POLICIES.get(area, {})) for area, spec in HARM_AREAS.items()
        }
    languages = sorted({lang for _, _, langs in countries.values() for lang in langs})
    return Vocab(
        harm_area_table=harm_areas,
        country_table=countries,
        harm_areas=list(harm_areas),
        policies=[p for *_, pols in harm_areas.values() for p in pols],
        countries=list(countries),
        languages=languages,
        content_types=list(CONTENT_TYPES),
        sources=[*PROACTIVE_SOURCES, *REACTIVE_SOURCES],
        actions=[*ACTIONS_BY_CONTENT, "account_ban"],
    )


def _with_policies(
    spec: tuple[float, float, float, dict[str, float]], extra: dict[str, float]
) -> tuple[float, float, float, dict[str, float]]:
    """A harm area's spec with further policies taking their shares from the existing ones."""
    share, growth, proactive, policies = spec
    kept = 1.0 - sum(extra.values())
    return share, growth, proactive, {**{p: s * kept for p, s in policies.items()}, **extra}


def sample_given(rng: np.random.Generator, parent: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """For each row, draw a child index from the probability row of its parent index."""
    cumulative = np.cumsum(probabilities, axis=1)
    cumulative[:, -1] = 1.0
    draws = rng.random(len(parent))
    chunk = 1_000_000  # rows × children comparisons at a time, so memory stays flat at any size
    return np.concatenate(
        [
            (draws[i : i + chunk, None] > cumulative[parent[i : i + chunk]]).sum(axis=1)
            for i in range(0, len(parent), chunk)
        ]
        or [np.zeros(0, dtype=np.int64)]
    )


def conditional_tables(v: Vocab) -> dict[str, np.ndarray]:
    """Probability tables: parent index × child index."""
    policy = np.zeros((len(v.harm_areas), len(v.policies)))
    source = np.zeros((len(v.harm_areas), len(v.sources)))
    for h, (_, _, proactive, pols) in enumerate(v.harm_area_table.values()):
        for p, share in pols.items():
            policy[h, v.policies.index(p)] = share
        for s, share in PROACTIVE_SOURCES.items():
            source[h, v.sources.index(s)] = proactive * share
        for s, share in REACTIVE_SOURCES.items():
            source[h, v.sources.index(s)] = (1 - proactive) * share
    language = np.zeros((len(v.countries), len(v.languages)))
    for c, (_, _, langs) in enumerate(v.country_table.values()):
        for lang, share in langs.items():
            language[c, v.languages.index(lang)] = share
    content = np.tile(np.array(list(CONTENT_TYPES.values())), (len(v.harm_areas), 1))
    tilt = {
        "child_safety": {"message": 3.0, "account": 2.0},
        "spam": {"account": 4.0, "comment": 2.0},
        "regulated_goods": {"ad": 5.0},
        "bullying_harassment": {"comment": 2.0, "message": 2.0},
        "self_harm": {"live": 1.5, "video": 1.3},
    }
    for area, factors in tilt.items():
        for ct, factor in factors.items():
            content[v.harm_areas.index(area), v.content_types.index(ct)] *= factor
    content /= content.sum(axis=1, keepdims=True)
    action = np.zeros((len(v.content_types), len(v.actions)))
    for c, ct in enumerate(v.content_types):
        if ct == "account":
            action[c, v.actions.index("account_ban")] = 1.0
        else:
            for a, share in ACTIONS_BY_CONTENT.items():
                action[c, v.actions.index(a)] = share
    return {"policy": policy, "source": source, "language": language, "content": content, "action": action}


def daily_intensity(days: np.ndarray, start: dt.date, rng: np.random.Generator) -> np.ndarray:
    """Expected actions per day × harm area: growth, weekly seasonality, day-to-day noise."""
    years = (days - days[0]) / 365.25
    growth = np.array([g for _, g, _, _ in HARM_AREAS.values()])
    share = np.array([s for s, _, _, _ in HARM_AREAS.values()])
    weekday = WEEKDAY_FACTOR[(start.weekday() + days) % 7]
    noise = rng.lognormal(0.0, 0.05, size=(len(days), len(share)))
    return share[None, :] * np.power(1 + growth[None, :], years[:, None]) * weekday[:, None] * noise


def baseline_events(
    rng: np.random.Generator, n: int, days: np.ndarray, intensity: np.ndarray, v: Vocab
) -> dict[str, np.ndarray]:
    """Draw ``n`` events over the given days (indices from the period start) and all attributes."""
    tables = conditional_tables(v)
    cells = rng.multinomial(n, (intensity / intensity.sum()).ravel())
    cell = np.repeat(np.arange(cells.size), cells)
    day = days[cell // intensity.shape[1]]
    harm = cell % intensity.shape[1]
    weights = np.array([w for w, _, _ in v.country_table.values()])
    country = rng.choice(len(v.countries), size=n, p=weights / weights.sum())
    events = {
        "day": day,
        "harm_area": harm,
        "policy": sample_given(rng, harm, tables["policy"]),
        "country": country,
        "language": sample_given(rng, country, tables["language"]),
        "content_type": sample_given(rng, harm, tables["content"]),
        "detection_source": sample_given(rng, harm, tables["source"]),
    }
    events["action"] = sample_given(rng, events["content_type"], tables["action"])
    derive_outcomes(rng, events, v)
    return events


def derive_outcomes(rng: np.random.Generator, e: dict[str, np.ndarray], v: Vocab) -> None:
    """Automation, views, time to action, appeals and overturns, given detection and content."""
    n = len(e["day"])
    proactive = np.isin(e["detection_source"], [v.sources.index(s) for s in PROACTIVE_SOURCES])
    live = e["content_type"] == v.content_types.index("live")
    e["proactive"] = proactive
    e["automated"] = rng.random(n) < np.where(e["detection_source"] == v.sources.index("automated"), 0.75, 0.15)
    zero_views = rng.random(n) < np.where(proactive, 0.62, 0.12)
    views = np.ceil(rng.lognormal(np.where(proactive, 2.5, 4.5), 1.4, size=n)).astype(np.int64)
    e["views_before_action"] = np.where(zero_views, 0, views)
    median_hours = np.where(proactive, 0.8, 9.0) * np.where(live, 0.15, 1.0)
    e["tta_hours"] = rng.lognormal(np.log(median_hours), 1.3, size=n)
    appeal_p = np.array([APPEAL_PROBABILITY[a] for a in v.actions])[e["action"]]
    e["appealed"] = rng.random(n) < appeal_p
    e["overturned"] = e["appealed"] & (
        rng.random(n) < np.where(e["automated"], OVERTURN_PROBABILITY * 1.3, OVERTURN_PROBABILITY)
    )
    e["blocked"] = np.zeros(n, dtype=bool)  # set by a program story: blocked at upload, never an action


def categorical(labels: list[str], codes: np.ndarray) -> pl.Series:
    """A Categorical column from code indices into ``labels`` (built without a string per row)."""
    return pl.Series(labels, dtype=pl.Categorical).gather(codes)


def days_after(start: dt.date, days: np.ndarray) -> pl.Series:
    """Dates ``days`` after ``start``, as a Date column."""
    return pl.Series(days.astype(np.int32) + (start - dt.date(1970, 1, 1)).days, dtype=pl.Int32).cast(pl.Date)


def _take(e: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    return {k: a[rows] for k, a in e.items()}


def _concat(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([a[k], b[k]]) for k in a}


def _segment(e: dict[str, np.ndarray], v: Vocab, segment: dict, region_of: dict[str, str]) -> np.ndarray:
    mask = np.ones(len(e["day"]), dtype=bool)
    codes = {
        "harm_area": v.harm_areas,
        "policy": v.policies,
        "country": v.countries,
        "language": v.languages,
        "content_type": v.content_types,
        "detection_source": v.sources,
    }
    for dim, wanted in segment.items():
        wanted = [wanted] if isinstance(wanted, str) else wanted
        if dim == "region":
            mask &= np.isin(e["country"], [i for i, c in enumerate(v.countries) if region_of[c] in wanted])
        else:
            mask &= np.isin(e[dim], [codes[dim].index(w) for w in wanted])
    return mask


def inject_stories(
    rng: np.random.Generator, e: dict[str, np.ndarray], v: Vocab, start: dt.date, stories: list[dict]
) -> dict[str, np.ndarray]:
    """Apply every story of ``stories.json`` to the baseline events of one chunk."""
    region_of = {c: r for c, (_, r, _) in v.country_table.items()}

    def day_of(text):
        return (dt.date.fromisoformat(text) - start).days

    extra: list[dict[str, np.ndarray]] = []
    for story in stories:
        first = day_of(story["start"])
        last = day_of(story["end"]) if story["end"] else 10**9
        in_window = (e["day"] >= first) & (e["day"] <= last)
        size = story["size"]
        area = v.harm_areas.index(story["harm_area"])
        if story["kind"] == "level_shift":
            rows = np.flatnonzero(_segment(e, v, story["segment"], region_of) & in_window)
            copies = rows[rng.random(len(rows)) < size["extra_fraction"]]
            extra.append(_take(e, copies))
        elif story["kind"] == "rate_step":
            rows = (
                in_window
                & (e["harm_area"] == area)
                & (e["detection_source"] == v.sources.index(size["from_detection_source"]))
            )
            switch = rows & (rng.random(len(rows)) < size["converted_fraction"])
            e["detection_source"][switch] = v.sources.index(size["to_detection_source"])
            e["proactive"][switch] = True
            e["automated"][switch] = True
        elif story["kind"] == "spike":
            rows = np.flatnonzero(in_window & (e["harm_area"] == area))
            copies = _take(e, rows[rng.random(len(rows)) < size["extra_fraction_of_harm_area"]])
            seg = story["segment"]
            speakers = [i for i, c in enumerate(v.countries) if seg["language"] in v.country_table[c][2]]
            weights = np.array([v.country_table[v.countries[i]][0] for i in speakers])
            copies["country"] = rng.choice(speakers, size=len(copies["day"]), p=weights / weights.sum())
            copies["language"][:] = v.languages.index(seg["language"])
            copies["content_type"][:] = v.content_types.index(seg["content_type"])
            copies["policy"][:] = v.policies.index(seg["policy"])
            extra.append(copies)
        elif story["kind"] == "rate_window":
            rows = in_window & _segment(e, v, story["segment"], region_of)
            e["appealed"][rows] = rng.random(int(rows.sum())) < size["appeal_probability"]
            appealed = rows & e["appealed"]
            e["overturned"][rows] = False
            e["overturned"][appealed] = rng.random(int(appealed.sum())) < size["overturn_probability"]
        elif story["kind"] == "ramp":
            rows = np.flatnonzero(in_window & (e["harm_area"] == area))
            progress = (e["day"][rows] - first) / max(1, day_of(story["end"]) - first)
            copies = _take(e, rows[rng.random(len(rows)) < size["final_extra_fraction_of_harm_area"] * progress])
            seg = story["segment"]
            african = [i for i, c in enumerate(v.countries) if region_of[c] == seg["region"]]
            weights = np.array([v.country_table[v.countries[i]][0] for i in african])
            copies["country"] = rng.choice(african, size=len(copies["day"]), p=weights / weights.sum())
            tables = conditional_tables(v)
            copies["language"] = sample_given(rng, copies["country"], tables["language"])
            copies["detection_source"][:] = v.sources.index(seg["detection_source"])
            copies["proactive"][:] = False
            extra.append(copies)
        elif story["kind"] == "program":
            rows = in_window & _segment(e, v, story["segment"], region_of)
            e["blocked"] |= rows & (rng.random(len(rows)) < size["blocked_fraction"])
        else:
            raise ValueError(f"stories.json: unknown story kind {story['kind']!r}")
    for copies in extra:
        e = _concat(e, copies)
    return e


def to_frame(
    e: dict[str, np.ndarray], v: Vocab, start: dt.date, first_id: int, rng: np.random.Generator
) -> pl.DataFrame:
    """Events as a Polars frame with canonical columns, ordered by action time (blocked events left out)."""
    seconds = rng.integers(0, 86_400, size=len(e["day"]))
    kept = ~e["blocked"]
    e, seconds = _take(e, kept), seconds[kept]
    actioned = np.datetime64(start, "s") + e["day"].astype("timedelta64[D]") + seconds.astype("timedelta64[s]")
    created = actioned - (e["tta_hours"] * 3600).astype("timedelta64[s]")
    order = np.argsort(actioned, kind="stable")

    def enum(codes, idx):
        return categorical(codes, idx[order])

    return pl.DataFrame(
        {
            "event_id": np.arange(first_id, first_id + len(order), dtype=np.int64),
            "actioned_at": actioned[order].astype("datetime64[us]"),
            "created_at": created[order].astype("datetime64[us]"),
            "harm_area": enum(v.harm_areas, e["harm_area"]),
            "policy": enum(v.policies, e["policy"]),
            "country": enum(v.countries, e["country"]),
            "language": enum(v.languages, e["language"]),
            "content_type": enum(v.content_types, e["content_type"]),
            "detection_source": enum(v.sources, e["detection_source"]),
            "action": enum(v.actions, e["action"]),
            "proactive": e["proactive"][order],
            "automated": e["automated"][order],
            "views_before_action": e["views_before_action"][order],
            "appealed": e["appealed"][order],
            "overturned": e["overturned"][order],
        }
    )


# ---- exposure, views of violating content and the labelled view sample --------------------------

# content type: share of uploads (items created) and of views
UPLOAD_SHARE = {
    "video": 0.10,
    "comment": 0.52,
    "live": 0.01,
    "post": 0.15,
    "account": 0.02,
    "ad": 0.01,
    "message": 0.19,
}
VIEW_SHARE = {"video": 0.55, "comment": 0.12, "live": 0.08, "post": 0.15, "account": 0.03, "ad": 0.04, "message": 0.03}
UPLOADS_PER_ACTION = 150  # uploads per baseline action at the start of the period
VIEWS_PER_UPLOAD = 60
UPLOAD_GROWTH, VIEW_GROWTH = 0.08, 0.12  # yearly
REGIONS = sorted({region for _, region, _ in COUNTRIES.values()})


@dataclass
class Population:
    """The generating model's exposure for a run of days: day × country × content type (× harm area)."""

    days: np.ndarray  # day indices from the period start
    uploads: np.ndarray  # days × countries × content types
    views: np.ndarray  # days × countries × content types, views of violating content included
    violating: np.ndarray  # days × countries × content types × harm areas


def story_cells(segment: dict, v: Vocab) -> tuple[np.ndarray, np.ndarray]:
    """Country and content-type masks of a story's prevalence segment (country, region, content_type)."""

    def listed(value):
        return [value] if isinstance(value, str) else list(value)

    unknown = set(segment) - {"country", "region", "content_type"}
    if unknown:
        raise ValueError(
            f"stories.json: a prevalence segment takes country, region or content_type, not {sorted(unknown)}"
        )
    countries = np.ones(len(v.countries), dtype=bool)
    if "country" in segment:
        countries &= np.isin(v.countries, listed(segment["country"]))
    if "region" in segment:
        countries &= np.isin([v.country_table[c][1] for c in v.countries], listed(segment["region"]))
    content = np.isin(v.content_types, listed(segment.get("content_type", v.content_types)))
    return countries, content


def violating_after_stories(
    expected: np.ndarray, views: np.ndarray, days: np.ndarray, start: dt.date, v: Vocab, stories: list[dict]
) -> np.ndarray:
    """Expected violating views (days × countries × content types × harm areas) once each story's
    ``prevalence`` entry is applied: a factor on its segment, or extra violating views equal to a
    fraction of the harm area's own, spread over the segment by its views."""
    changed = expected.copy()
    for story in stories:
        effect = story.get("prevalence")
        if not effect:
            continue
        first = (dt.date.fromisoformat(story["start"]) - start).days
        last = (dt.date.fromisoformat(story["end"]) - start).days if story["end"] else 10**9
        in_window = (days >= first) & (days <= last)
        if not in_window.any():
            continue
        countries, content = story_cells(effect["segment"], v)
        cells = np.ix_(in_window, countries, content)
        area = v.harm_areas.index(story["harm_area"])
        if "violating_views_factor" in effect:
            changed[..., area][cells] *= effect["violating_views_factor"]
        if "extra_fraction_of_harm_area" in effect:
            extra = effect["extra_fraction_of_harm_area"] * expected[in_window, :, :, area].sum(axis=(1, 2))
            spread = views[cells] / views[cells].sum(axis=(1, 2), keepdims=True)
            changed[..., area][cells] += extra[:, None, None] * spread
    return changed


def population(
    rng: np.random.Generator,
    days: np.ndarray,
    start: dt.date,
    harm_level: np.ndarray,
    actions_per_day: float,
    v: Vocab,
    spec: dict,
) -> Population:
    """Uploads, views and violating views of the given days (indices from the period start).

    Uploads and views grow, follow the weekly pattern and the country weights of the events.
    Violating views of a harm area = views × its baseline prevalence × its content-type mix of
    actions / the content type's share of views × its daily actions level (``harm_level``:
    growth and day-to-day noise of its actions) / the growth of views; then the stories.
    """
    years = days / 365.25
    weekday = WEEKDAY_FACTOR[(start.weekday() + days) % 7]
    weights = np.array([w for w, _, _ in v.country_table.values()])
    country = (weights / weights.sum())[None, :, None]
    level = (actions_per_day * weekday * rng.lognormal(0.0, 0.03, len(days)))[:, None, None]

    def wiggle():
        return rng.lognormal(0.0, 0.03, (len(days), len(weights)))[:, :, None]

    upload_share = np.array([UPLOAD_SHARE[t] for t in v.content_types])[None, None, :]
    view_share = np.array([VIEW_SHARE[t] for t in v.content_types])

    def grows(rate):
        return np.power(1 + rate, years)[:, None, None]

    uploads = rng.poisson(UPLOADS_PER_ACTION * level * grows(UPLOAD_GROWTH) * country * upload_share * wiggle())
    base_views = rng.poisson(
        UPLOADS_PER_ACTION
        * VIEWS_PER_UPLOAD
        * level
        * grows(VIEW_GROWTH)
        * country
        * view_share[None, None, :]
        * wiggle()
    )
    baseline = np.array([spec["prevalence"]["baseline"][area] for area in v.harm_areas])
    by_content = baseline[:, None] * conditional_tables(v)["content"] / view_share[None, :]  # harm area × content type
    trend = harm_level / np.power(1 + VIEW_GROWTH, years)[:, None]  # days × harm areas
    expected = base_views[..., None] * trend[:, None, None, :] * by_content.T[None, None, :, :]
    changed = violating_after_stories(expected, base_views, days, start, v, spec["stories"])
    views = base_views + np.rint((changed - expected).sum(axis=3)).astype(np.int64)
    shares = np.where(views[..., None] > 0, changed / np.maximum(views, 1)[..., None], 0.0)
    rest = np.clip(1.0 - shares.sum(axis=3, keepdims=True), 0.0, 1.0)
    drawn = rng.multinomial(views, np.concatenate([shares, rest], axis=3))
    return Population(days, uploads, views, drawn[..., :-1])


def labelled_views_per_week(events: int, spec: dict) -> int:
    """Labelled views per week: the stated number at the stated scale, × sqrt of the scale, bounded."""
    sample = spec["prevalence"]["view_sample"]
    n = sample["labelled_views_per_week"] * np.sqrt(events / sample["at_events"])
    return int(np.clip(round(n), sample["min_labelled_views_per_week"], sample["max_labelled_views_per_week"]))


def view_sample(
    rng: np.random.Generator, pop: Population, start: dt.date, v: Vocab, per_week: int, min_per_stratum: int
) -> pl.DataFrame:
    """A stratified random sample of views with their labels (one Boolean column per harm area).

    Strata: week (the part inside these days) × region × content type, allocated in proportion to
    the square root of their views; within a stratum, views are drawn in proportion to views
    (day × country) and labelled from the violating share of their cell.
    """
    _, n_countries, n_types = pop.views.shape
    region = np.array([REGIONS.index(v.country_table[c][1]) for c in v.countries])
    drawn = np.zeros(pop.views.shape, dtype=np.int64)
    weight = np.zeros(pop.views.shape)
    stratum = np.zeros(pop.views.shape, dtype=np.int64)
    names: list[str] = []
    week = pop.days // 7  # the period starts on a Monday
    for w in np.unique(week):
        in_week = np.flatnonzero(week == w)
        views = pop.views[in_week]
        totals = np.stack([views[:, region == r, :].sum(axis=(0, 1)) for r in range(len(REGIONS))])  # region × type
        root = np.sqrt(totals)
        size = np.maximum(min_per_stratum, np.rint(per_week * len(in_week) / 7 * root / root.sum())).astype(np.int64)
        first = start + dt.timedelta(days=int(pop.days[in_week[0]]))
        for r, name in enumerate(REGIONS):
            members = np.flatnonzero(region == r)
            for t, content_type in enumerate(v.content_types):
                if totals[r, t] == 0:
                    continue
                cells = np.ix_(in_week, members, [t])
                counts = rng.multinomial(size[r, t], (views[:, members, t] / totals[r, t]).ravel())
                drawn[cells] = counts.reshape(len(in_week), len(members), 1)
                weight[cells] = totals[r, t] / size[r, t]
                stratum[cells] = len(names)
                names.append(f"{first:%Y-%m-%d}/{name}/{content_type}")
    shares = pop.violating / np.maximum(pop.views, 1)[..., None]
    rest = np.clip(1.0 - shares.sum(axis=3, keepdims=True), 0.0, 1.0)
    labels = rng.multinomial(drawn, np.concatenate([shares, rest], axis=3)).reshape(-1, len(v.harm_areas) + 1)
    row = np.repeat(np.arange(labels.size), labels.ravel())
    cell, label = row // labels.shape[1], row % labels.shape[1]
    day, country, content = cell // (n_countries * n_types), (cell // n_types) % n_countries, cell % n_types
    return pl.DataFrame(
        {
            "date": days_after(start, pop.days[day]),
            "country": categorical(v.countries, country),
            "content_type": categorical(v.content_types, content),
            "stratum": categorical(names, stratum.ravel()[cell]),
            "weight": weight.ravel()[cell],
        }
        | {f"violating_{area}": label == h for h, area in enumerate(v.harm_areas)}
    )


def cells_frame(pop: Population, start: dt.date, v: Vocab, by_harm_area: bool = False) -> pl.DataFrame:
    """Exposure (date, country, content type, uploads, views) or, ``by_harm_area``, the violating
    views of every cell and harm area (date, country, content type, harm area, views, violating views)."""
    shape = pop.violating.shape if by_harm_area else pop.views.shape
    index = np.indices(shape).reshape(len(shape), -1)
    columns: dict[str, object] = {
        "date": days_after(start, pop.days[index[0]]),
        "country": categorical(v.countries, index[1]),
        "content_type": categorical(v.content_types, index[2]),
    }
    if by_harm_area:
        columns["harm_area"] = categorical(v.harm_areas, index[3])
        columns["views"] = pop.views[index[0], index[1], index[2]].astype(np.int64)
        columns["violating_views"] = pop.violating.ravel().astype(np.int64)
    else:
        columns["uploads"] = pop.uploads.ravel().astype(np.int64)
        columns["views"] = pop.views.ravel().astype(np.int64)
    return pl.DataFrame(columns)


def weekly_truth(pop: Population, start: dt.date, v: Vocab) -> pl.DataFrame:
    """Views and violating views per week × harm area (partial weeks are summed up later)."""
    week = pop.days // 7
    return pl.DataFrame(
        {
            "week": days_after(start, np.repeat(week * 7, len(v.harm_areas))),
            "harm_area": np.tile(v.harm_areas, len(week)),
            "views": np.repeat(pop.views.sum(axis=(1, 2)), len(v.harm_areas)).astype(np.int64),
            "violating_views": pop.violating.sum(axis=(1, 2)).ravel().astype(np.int64),
        }
    )


def program_weeks(e: dict[str, np.ndarray], v: Vocab, start: dt.date, stories: list[dict]) -> pl.DataFrame:
    """Actions and blocked would-be actions per week and treated country of each program story."""
    frames = []
    for story in stories:
        if story["kind"] != "program":
            continue
        treated = [v.countries.index(c) for c in story["segment"]["country"]]
        rows = (e["harm_area"] == v.harm_areas.index(story["harm_area"])) & np.isin(e["country"], treated)
        frames.append(
            pl.DataFrame(
                {
                    "story": story["id"],
                    "week": days_after(start, e["day"][rows] // 7 * 7),
                    "country": np.array(v.countries)[e["country"][rows]],
                    "blocked": e["blocked"][rows],
                }
            )
            .group_by("story", "week", "country")
            .agg(
                actions=(~pl.col("blocked")).sum().cast(pl.Int64),
                blocked_actions=pl.col("blocked").sum().cast(pl.Int64),
            )
        )
    schema = {
        "story": pl.String,
        "week": pl.Date,
        "country": pl.String,
        "actions": pl.Int64,
        "blocked_actions": pl.Int64,
    }
    return pl.concat(frames) if frames else pl.DataFrame(schema=schema)


def quarters(start: dt.date, end: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    """Calendar quarters covering [start, end], clipped to it: (label, first day, last day)."""
    out = []
    first = start
    while first <= end:
        q_end_month = ((first.month - 1) // 3 + 1) * 3
        next_q = dt.date(first.year + (q_end_month == 12), q_end_month % 12 + 1, 1)
        last = min(end, next_q - dt.timedelta(days=1))
        out.append((f"{first.year}Q{(first.month - 1) // 3 + 1}", first, last))
        first = next_q
    return out


OUTPUTS = ("events", "exposure", "view_sample", "truth")


def generate(events: int = 1_000_000, out: Path = DEFAULT_OUT, seed: int = SEED, platform: str = "sample") -> Path:
    """Write the sample data (about ``events`` baseline events plus the stories) to ``out/events``,
    and the exposure tables, the labelled view sample and the truth next to it (``out/exposure``,
    ``out/view_sample``, ``out/truth``). ``platform="large"`` draws from a large platform's code
    lists (over 100 countries, 40 languages, 40 policies). Returns ``out/events``."""
    spec = json.loads(STORIES.read_text())
    start = dt.date.fromisoformat(spec["period"]["start"])
    end = dt.date.fromisoformat(spec["period"]["end"])
    v = vocabulary(platform)
    all_days = np.arange((end - start).days + 1)
    intensity = daily_intensity(all_days, start, np.random.default_rng(seed))
    per_day = intensity.sum(axis=1)
    share = np.array([s for s, _, _, _ in HARM_AREAS.values()])
    harm_level = intensity / (share[None, :] * WEEKDAY_FACTOR[(start.weekday() + all_days) % 7][:, None])
    actions_per_day = events * share.sum() / intensity.sum()
    per_week = labelled_views_per_week(events, spec)
    min_per_stratum = spec["prevalence"]["view_sample"]["min_per_stratum"]
    folders = {name: out / name for name in OUTPUTS}
    for folder in folders.values():
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
    next_id = 1
    weeks, programs = [], []
    for i, (label, first, last) in enumerate(quarters(start, end)):
        rng = np.random.default_rng([seed, i])
        days = np.arange((first - start).days, (last - start).days + 1)
        n = round(events * per_day[days].sum() / per_day.sum())
        e = baseline_events(rng, n, days, intensity[days], v)
        e = inject_stories(rng, e, v, start, spec["stories"])
        programs.append(program_weeks(e, v, start, spec["stories"]))
        frame = to_frame(e, v, start, next_id, rng)
        next_id += len(frame)
        frame.write_parquet(folders["events"] / f"events-{label}.parquet", statistics=True)
        del e, frame
        pop = population(np.random.default_rng([seed, i, 1]), days, start, harm_level[days], actions_per_day, v, spec)
        cells_frame(pop, start, v).write_parquet(
            folders["exposure"] / f"uploads_views-{label}.parquet", statistics=True
        )
        cells_frame(pop, start, v, by_harm_area=True).write_parquet(folders["truth"] / f"population-{label}.parquet")
        sample = view_sample(np.random.default_rng([seed, i, 2]), pop, start, v, per_week, min_per_stratum)
        sample.write_parquet(folders["view_sample"] / f"views-{label}.parquet", statistics=True)
        weeks.append(weekly_truth(pop, start, v))
    (
        pl.concat(weeks)
        .group_by("week", "harm_area")
        .agg(pl.col("views", "violating_views").sum())
        .with_columns(prevalence=pl.col("violating_views") / pl.col("views"))
        .sort("week", "harm_area")
        .write_parquet(folders["truth"] / "prevalence_weekly.parquet")
    )
    treated = pl.DataFrame(
        [(s["id"], c) for s in spec["stories"] if s["kind"] == "program" for c in s["segment"]["country"]],
        schema={"story": pl.String, "country": pl.String},
        orient="row",
    )
    (
        treated.join(pl.DataFrame({"week": days_after(start, all_days[::7])}), how="cross")
        .join(
            pl.concat(programs).group_by("story", "week", "country").agg(pl.col("actions", "blocked_actions").sum()),
            on=["story", "week", "country"],
            how="left",
        )
        .with_columns(pl.col("actions", "blocked_actions").fill_null(0))
        .select(
            "story",
            "week",
            "country",
            "actions",
            "blocked_actions",
            counterfactual_actions=pl.col("actions") + pl.col("blocked_actions"),
        )
        .sort("story", "week", "country")
        .write_parquet(folders["truth"] / "program_effect.parquet")
    )
    return folders["events"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="baseline events to draw (default 1,000,000)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default sample_data/generated)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--platform", choices=PLATFORMS, default="sample", help="code lists: the sample's, or a large platform's"
    )
    parser.add_argument("--if-missing", action="store_true", help="do nothing when the output already exists")
    args = parser.parse_args(argv)
    if args.if_missing and all((args.out / name).exists() for name in OUTPUTS):
        return 0
    began = time.perf_counter()
    target = generate(args.events, args.out, args.seed, args.platform)
    rows = pl.scan_parquet(target / "*.parquet").select(pl.len()).collect().item()
    sampled = pl.scan_parquet(args.out / "view_sample" / "*.parquet").select(pl.len()).collect().item()
    print(
        f"wrote {rows:,} events to {target}, exposure, {sampled:,} labelled views and the truth to {args.out} "
        f"in {time.perf_counter() - began:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
