"""Who may see what: the access policy as data, and cubes restricted to a user's scope.

The policy is a TOML file (named by ``$HARM_INSIGHTS_ACCESS``) with groups — the harm areas
and places a group may see, whether it may export, whether it administers the app — and
membership rules that give groups to users by email, email domain or an identity-provider
claim. Deny by default: a user no rule names gets no scope at all, and a group that does not
name its harm areas or places sees none.

A scope is enforced on the data, not on the widgets: ``restrict`` returns a cube holding only
the cells the user may see, so every total, "other" row, drill, narrative, root-cause
contributor, map, export and deck built on it is built from in-scope data alone, and
totals are totals of what the user may see. A user in several groups sees the union of their
grants (a grant is harm areas × places, so two grants need not form a rectangle).

Example (the README documents every key)::

    [groups.leadership]
    harm_areas = "all"
    places = "all"
    export = true

    [groups.extremism_europe]
    harm_areas = ["violent_extremism"]
    regions = ["Europe"]

    [[members]]
    email = "head-of-ts@example.com"
    groups = ["leadership"]

    [[members]]
    domain = "example.com"
    groups = ["extremism_europe"]
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import polars as pl

from insights.cube import Cube, Store, empty_rejections
from insights.engines.layer import StoreOver
from insights.engines.memory import known_sum
from insights.engines.request import Request
from insights.errors import DataError
from insights.exposed import ExposedCube, ScopedPrevalence
from insights.geo import region_of
from insights.metrics import Metric

#: The value meaning "every harm area" / "every place" in the policy file.
EVERY = "all"
#: The environment variable that names the policy file.
POLICY_VARIABLE = "HARM_INSIGHTS_ACCESS"

Names = frozenset[str] | None  # None: every value


@dataclass(frozen=True)
class Grant:
    """Harm areas × places: the cells one group may see. ``None`` means every value. Places are
    region names and ISO country codes: a cell is in place when its region or its country is
    named."""

    harm_areas: Names
    places: Names

    @property
    def everything(self) -> bool:
        """True when the grant covers every cell."""
        return self.harm_areas is None and self.places is None

    def admits(self, record: Mapping[str, Any]) -> bool:
        """True when a record (an annotated event, a caveat) with these fields is inside the grant.
        Fields the record leaves empty are not restricted (a platform-wide event is everyone's)."""
        area, region, country = (record.get(k) for k in ("harm_area", "region", "country"))
        if self.harm_areas is not None and area is not None and str(area) not in self.harm_areas:
            return False
        if self.places is None or (region is None and country is None):
            return True
        return str(region) in self.places or str(country) in self.places


@dataclass(frozen=True)
class Scope:
    """What one user may do: the grants of their groups, export and admin rights."""

    user: str
    groups: tuple[str, ...]
    grants: tuple[Grant, ...]
    export: bool = False
    admin: bool = False

    @classmethod
    def local(cls) -> Scope:
        """The scope of local mode: one person on their own machine sees and may do everything."""
        return cls(user="local", groups=("local",), grants=(Grant(None, None),), export=True, admin=True)

    @property
    def key(self) -> str:
        """What the scope sees, as canonical text (equal scopes, equal keys; the user's name and
        groups left out): a cache key for the cube restricted to it."""
        grants = sorted({json.dumps([_sorted(g.harm_areas), _sorted(g.places)]) for g in self.grants})
        return json.dumps({"admin": self.admin, "grants": grants})

    @property
    def everything(self) -> bool:
        """True when the scope covers every cell (nothing to restrict)."""
        return any(g.everything for g in self.grants)

    def harm_areas(self) -> Names:
        """The harm areas the scope reaches (None: every harm area)."""
        if any(g.harm_areas is None for g in self.grants):
            return None
        return frozenset().union(*(g.harm_areas or () for g in self.grants))

    def admits(self, record: Mapping[str, Any]) -> bool:
        """True when a record (an annotated event, a caveat) is inside one of the scope's grants."""
        return any(g.admits(record) for g in self.grants)


def _sorted(names: Names) -> list[str] | None:
    return None if names is None else sorted(names)


def restrict(cube: Cube, scope: Scope) -> Cube:
    """The cube as the scope sees it: every question answered over in-scope cells only (its
    store wrapped by ``ScopedStore``, whatever the engine); caveats of other harm areas removed;
    rejected rows (raw input of every harm area) kept for admins with an unrestricted scope only.
    The source's row counts stay (they describe the file, not its cells). A suppressing cube stays
    suppressing: its answers are suppressed after the scope made them, so the cells withheld are
    those of what the user may see."""
    if scope.everything and scope.admin:
        return cube
    if isinstance(cube, ExposedCube):
        return _restrict_exposed(cube, scope)
    provenance = replace(
        cube.provenance,
        caveats=[c for c in cube.provenance.caveats if scope.admits({"harm_area": c.harm_area})],
        rejected=empty_rejections(),
    )
    store = cube.store if scope.everything else ScopedStore(cube.store, blocks(cube, scope))
    return Cube(store, provenance, cube.time_grain).with_suppression(cube.suppression)


def _restrict_exposed(cube: ExposedCube, scope: Scope) -> ExposedCube:
    """An exposed cube as the scope sees it. The enforcement cube is restricted as any cube. The
    exposure (uploads and views of *all* content, with no harm area) is restricted to the places
    the scope reaches — it says how much people used the platform there, nothing about harm — so a
    per-exposure rate's denominator never counts views outside the user's places (a slice spanning
    grants with different places is per views of all of them). Prevalence is estimated per harm
    area over the countries the scope gives that harm area only (``ScopedPrevalence``)."""
    inner = restrict(cube.cube, scope)
    exposure = cube.exposure
    if exposure is not None and not scope.everything:
        places = replace(scope, grants=tuple(Grant(None, g.places) for g in scope.grants))
        exposure = Cube(ScopedStore(exposure.store, blocks(exposure, places)), exposure.provenance, exposure.time_grain)
    prevalence = cube.prevalence_source
    if prevalence is not None and not scope.everything:
        notes = [c for c in prevalence.caveats if scope.admits({"harm_area": c.harm_area})]
        prevalence = ScopedPrevalence(prevalence, blocks(cube.cube, scope), notes)
    return ExposedCube(inner, exposure, prevalence)


#: A block of cells a scope may see: harm areas × countries (None: every value of the dimension).
Block = tuple[tuple[str, ...] | None, tuple[str, ...] | None]


def blocks(cube: Cube, scope: Scope) -> list[Block]:
    """The scope over this cube's data as disjoint blocks (harm areas × countries): for each harm
    area the countries any grant gives it (regions resolved to the data's countries), harm areas
    with the same countries in one block. A grant restricting a dimension the cube lacks gives
    nothing (deny by default)."""
    areas = cube.values("harm_area") if "harm_area" in cube.dimensions else None
    countries = cube.values("country") if "country" in cube.dimensions else None
    regions = {c: region_of(c) for c in countries or []}
    reach: dict[str | None, frozenset[str] | None] = {}
    for grant in scope.grants:
        if (grant.harm_areas is not None and areas is None) or (grant.places is not None and countries is None):
            continue
        places = (
            None
            if grant.places is None
            else frozenset(c for c in countries or [] if c in grant.places or regions[c] in grant.places)
        )
        everywhere: list[str | None] = [None]
        given: list[str | None] = (list(areas) if areas else everywhere) if grant.harm_areas is None else []
        given += sorted(grant.harm_areas & set(areas or [])) if grant.harm_areas is not None else []
        for area in given:
            before = reach.get(area, frozenset())
            reach[area] = None if before is None or places is None else before | places
    grouped: dict[frozenset[str] | None, list[str | None]] = {}
    for area, reached in reach.items():
        if reached is None or reached:
            grouped.setdefault(reached, []).append(area)
    every_area = areas is None or sum(len(group) for group in grouped.values()) == len(areas)
    return [
        (
            None if areas is None or (every_area and len(grouped) == 1) else tuple(sorted(a for a in group if a)),
            None if reached is None else tuple(sorted(reached)),
        )
        for reached, group in grouped.items()
    ]


#: A value no dimension holds: a question outside every block asks for it, so it finds no cells.
NOTHING = "(outside your access)"


class ScopedStore(StoreOver):
    """A store that answers every request over a scope's blocks only: each block is one request
    to the store underneath (the request's own filters narrowed to the block), and the blocks'
    sums are added (they are disjoint). Works the same over every engine."""

    def __init__(self, inner: Store, scope_blocks: list[Block]):
        super().__init__(inner)
        self.blocks = scope_blocks

    def sums(self, request: Request) -> pl.DataFrame:
        """The request's sums over in-scope cells."""
        narrowed = [r for r in (_narrow(request, block) for block in self.blocks) if r is not None]
        if not narrowed:  # outside every block: the store's own answer to a slice with no cells
            if not self.dimensions:
                return self.inner.sums(request).clear()
            nothing = {**dict(request.filters), self.dimensions[0]: (NOTHING,)}
            return self.inner.sums(replace(request, filters=tuple(sorted(nothing.items()))))
        if len(narrowed) == 1:
            return self.inner.sums(narrowed[0])
        parts = pl.concat([self.inner.sums(r) for r in narrowed], how="vertical_relaxed")
        keys = request.keys
        sums = [known_sum(c) for c in parts.columns if c not in keys]
        return parts.group_by(keys).agg(sums) if keys else parts.select(sums)

    def date_range(self) -> tuple[dt.date, dt.date] | None:
        """First and last day with in-scope cells."""
        measure = "actions" if "actions" in self.measures else self.measures[0]
        weight = Metric(measure, measure, measure, None, "count", None, "")
        days = self.sums(Request.of([weight], (), None, "day"))["period"]
        return (days.min(), days.max()) if len(days) else None  # type: ignore[return-value]


def _narrow(request: Request, block: Block) -> Request | None:
    """The request over one block (its filters intersected with the block's); None when the two
    share no cell."""
    filters = dict(request.filters)
    for dimension, allowed in zip(("harm_area", "country"), block, strict=True):
        if allowed is None:
            continue
        wanted = filters.get(dimension)
        kept = allowed if wanted is None else tuple(v for v in wanted if v in allowed)
        if not kept:
            return None
        filters[dimension] = kept
    return replace(request, filters=tuple(sorted(filters.items())))


@dataclass(frozen=True)
class Member:
    """A membership rule: users it matches (by exact email, email domain, or a claim's value)
    get its groups."""

    groups: tuple[str, ...]
    email: str | None = None
    domain: str | None = None
    claim: tuple[str, str] | None = None

    def matches(self, user: Mapping[str, Any]) -> bool:
        """True when the signed-in user's claims match this rule (emails only when verified,
        where the provider says)."""
        email = str(user.get("email") or "").strip().lower()
        if (self.email or self.domain) and (not email or user.get("email_verified") is False):
            return False
        if self.email is not None:
            return email == self.email
        if self.domain is not None:
            return email.rpartition("@")[2] == self.domain
        assert self.claim is not None
        name, wanted = self.claim
        value = user.get(name)
        return wanted in value if isinstance(value, list | tuple) else str(value) == wanted


@dataclass(frozen=True)
class Group:
    """A named set of rights."""

    name: str
    grant: Grant
    export: bool = False
    admin: bool = False


@dataclass(frozen=True)
class Policy:
    """Groups and the rules that give them to users."""

    groups: Mapping[str, Group]
    members: tuple[Member, ...]

    def scope_for(self, user: Mapping[str, Any]) -> Scope | None:
        """The scope of a signed-in user (their claims: email, email_verified, and any other), or
        None when no rule names them — deny by default."""
        names = tuple(dict.fromkeys(g for m in self.members if m.matches(user) for g in m.groups))
        if not names:
            return None
        groups = [self.groups[n] for n in names]
        return Scope(
            user=str(user.get("email") or user.get("sub") or "unknown"),
            groups=names,
            grants=tuple(g.grant for g in groups),
            export=any(g.export for g in groups),
            admin=any(g.admin for g in groups),
        )


def load_policy(path: str | os.PathLike[str] | None = None) -> Policy | None:
    """The access policy from a TOML file (``$HARM_INSIGHTS_ACCESS`` when no path is given), or
    None when none is configured. Raises ``DataError`` naming the file and key for a bad policy."""
    path = path or os.environ.get(POLICY_VARIABLE)
    if not path:
        return None
    file = Path(path)
    try:
        document = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as error:
        raise DataError(f"access policy {file}: cannot read it ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise DataError(f"access policy {file}: not valid TOML ({error})") from None
    return parse_policy(document, str(file))


def parse_policy(document: Mapping[str, Any], where: str = "access policy") -> Policy:
    """A policy from its parsed TOML (see the module docstring); every fault names its key."""
    unknown = set(document) - {"groups", "members"}
    if unknown:
        raise DataError(f"{where}: unknown top-level keys {sorted(unknown)}; expected [groups.<name>] and [[members]]")
    groups = {name: _group(name, spec, where) for name, spec in _table(document, "groups", where).items()}
    members = tuple(_member(i, spec, groups, where) for i, spec in enumerate(document.get("members", []), 1))
    return Policy(groups=groups, members=members)


GROUP_KEYS = {"harm_areas", "places", "regions", "countries", "export", "admin"}


def _group(name: str, spec: Any, where: str) -> Group:
    if not isinstance(spec, dict):
        raise DataError(f"{where}: [groups.{name}] must be a table")
    unknown = set(spec) - GROUP_KEYS
    if unknown:
        raise DataError(f"{where}: [groups.{name}] has unknown keys {sorted(unknown)}; expected {sorted(GROUP_KEYS)}")
    if spec.get("places") not in (None, EVERY):
        raise DataError(f'{where}: [groups.{name}] places must be "all" (or use regions / countries lists)')
    everywhere = spec.get("places") == EVERY
    if everywhere and ("regions" in spec or "countries" in spec):
        raise DataError(f'{where}: [groups.{name}] gives places = "all" and a list of regions or countries')
    places: Names = None
    if not everywhere:
        regions = _names(spec.get("regions", []), f"[groups.{name}] regions", where, every=False) or frozenset()
        countries = _names(spec.get("countries", []), f"[groups.{name}] countries", where, every=False) or frozenset()
        places = regions | {c.upper() for c in countries}
    return Group(
        name=name,
        grant=Grant(harm_areas=_names(spec.get("harm_areas", []), f"[groups.{name}] harm_areas", where), places=places),
        export=_flag(spec, "export", name, where),
        admin=_flag(spec, "admin", name, where),
    )


def _names(value: Any, key: str, where: str, every: bool = True) -> Names:
    if every and value == EVERY:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        expected = '"all" or a list of names' if every else 'a list of names (places = "all" means everywhere)'
        raise DataError(f"{where}: {key} must be {expected}")
    return frozenset(value)


def _flag(spec: Mapping[str, Any], key: str, group: str, where: str) -> bool:
    value = spec.get(key, False)
    if not isinstance(value, bool):
        raise DataError(f"{where}: [groups.{group}] {key} must be true or false")
    return value


def _member(index: int, spec: Any, groups: Mapping[str, Group], where: str) -> Member:
    at = f"[[members]] #{index}"
    if not isinstance(spec, dict):
        raise DataError(f"{where}: {at} must be a table")
    ways = [k for k in ("email", "domain", "claim") if k in spec]
    if len(ways) != 1 or set(spec) - {"email", "domain", "claim", "groups"}:
        raise DataError(f"{where}: {at} needs exactly one of email, domain or claim, and groups")
    names = spec.get("groups")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise DataError(f"{where}: {at} groups must be a non-empty list of group names")
    missing = [n for n in names if n not in groups]
    if missing:
        raise DataError(f"{where}: {at} names groups {missing} that [groups] does not define")
    claim = spec.get("claim")
    if claim is not None and not (
        isinstance(claim, dict) and set(claim) == {"name", "value"} and all(isinstance(v, str) for v in claim.values())
    ):
        raise DataError(f'{where}: {at} claim must be {{ name = "…", value = "…" }}')
    text = {k: str(spec[k]).strip().lower().lstrip("@") for k in ("email", "domain") if k in spec}
    return Member(
        groups=tuple(names),
        email=text.get("email"),
        domain=text.get("domain"),
        claim=(claim["name"], claim["value"]) if claim else None,
    )


def _table(document: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = document.get(key, {})
    if not isinstance(value, dict):
        raise DataError(f"{where}: [{key}] must be a table")
    return value
