"""Sources on the server are an administrator's choice: data folders and databases, confined.

A path typed on the Data page may name only a file or folder under one of the data roots
(``HARM_INSIGHTS_DATA_ROOTS``, separated by ``os.pathsep``; none by default, so paths on the
server are off until an administrator lists folders). ``confined_path`` resolves it (``..`` and
links followed) and refuses anything that ends up outside a root, that does not exist, that is a
device, pipe or socket, that is not a file the importers read, or a folder larger than the limits
of ``insights.limits`` (``HARM_INSIGHTS_MAX_SERVER_FILES``, ``HARM_INSIGHTS_MAX_SERVER_MB``) or
holding a link that leads out. A SQL URL may name only a database on the allowlist
(``HARM_INSIGHTS_SQL_ALLOW``, see ``insights.sources.sql_allowlist``).

``load_confined`` is the one way the app loads a source a user typed; ``Confinement.from_env``
reads the configuration.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from insights.cube import Cube
from insights.errors import DataError
from insights.limits import MB, Limits
from insights.sources.registry import load_source
from insights.sources.sql_allowlist import SQL_ALLOW_VARIABLE, AllowedDatabase, load_allowed_sql, parse_allowlist
from insights.sources.tables import CSV_SUFFIXES, PARQUET_SUFFIXES

ROOTS_VARIABLE = "HARM_INSIGHTS_DATA_ROOTS"
TIMEOUT_VARIABLE = "HARM_INSIGHTS_SQL_CONNECT_TIMEOUT"
#: What the importers read: canonical tables, public reports, DSA dump archives.
DATA_SUFFIXES = (*CSV_SUFFIXES, *PARQUET_SUFFIXES, ".zip")
#: Characters of a typed path shown in a message.
SHOWN_CHARACTERS = 120


@dataclass(frozen=True)
class Confinement:
    """Where sources typed in the app may come from: ``data_roots`` (resolved folders; empty: no
    paths on the server), ``sql_allowlist`` (empty: no SQL sources) and ``connect_timeout`` (seconds)."""

    data_roots: tuple[Path, ...] = ()
    sql_allowlist: tuple[AllowedDatabase, ...] = ()
    connect_timeout: int = 5

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Confinement:
        """The configuration in ``HARM_INSIGHTS_DATA_ROOTS``, ``HARM_INSIGHTS_SQL_ALLOW`` and
        ``HARM_INSIGHTS_SQL_CONNECT_TIMEOUT`` (``environ`` defaults to the process environment);
        DataError naming the variable and the entry when one is not usable."""
        env = os.environ if environ is None else environ
        timeout = env.get(TIMEOUT_VARIABLE, str(cls.connect_timeout)).strip()
        if not timeout.isdigit() or int(timeout) < 1:
            raise DataError(f"{TIMEOUT_VARIABLE} is {timeout!r}; expected a whole number of seconds, such as 5")
        return cls(
            data_roots=data_roots(env.get(ROOTS_VARIABLE, "")),
            sql_allowlist=parse_allowlist(env.get(SQL_ALLOW_VARIABLE, "")),
            connect_timeout=int(timeout),
        )


def data_roots(text: str) -> tuple[Path, ...]:
    """The folders of ``HARM_INSIGHTS_DATA_ROOTS`` (``os.pathsep``-separated), resolved; each must be
    an existing folder given by its absolute path."""
    roots = []
    for entry in (e.strip() for e in text.split(os.pathsep)):
        if not entry:
            continue
        resolved = Path(os.path.realpath(entry))
        if not os.path.isabs(entry) or not resolved.is_dir():
            raise DataError(f"{ROOTS_VARIABLE}: {entry!r} is not an existing folder given by its absolute path")
        roots.append(resolved)
    return tuple(roots)


def confined_path(text: str, roots: Sequence[Path], limits: Limits | None = None) -> Path:
    """The resolved file or folder that ``text`` names inside one of ``roots``; DataError otherwise.

    A relative path is looked up under each root in turn. Refused, with a message naming the input
    and what is allowed: no roots configured; a path that resolves outside every root (through
    ``..`` or a link; whether it exists is not said); a path that does not exist; a device, pipe
    or socket; a file the importers do not read (``DATA_SUFFIXES``); a file or folder over the
    ``server_files`` / ``server_bytes`` limits; a folder holding a link that leads out of the
    roots or to nothing, a device, pipe or socket, or a folder named like a data file.
    """
    shown = repr(text if len(text) <= SHOWN_CHARACTERS else text[: SHOWN_CHARACTERS - 1] + "…")
    if not roots:
        raise DataError(
            f"{shown}: loading from a path on the server is disabled. An administrator enables it by listing "
            f"the folders that may be loaded in {ROOTS_VARIABLE} (separated by {os.pathsep!r}), such as "
            f"{ROOTS_VARIABLE}=/srv/enforcement{os.pathsep}/srv/reports, and restarting the app"
        )
    resolved_roots = [Path(os.path.realpath(root)) for root in roots]
    allowed = f"allowed: files and folders under {', '.join(map(str, resolved_roots))} ({ROOTS_VARIABLE})"
    text = text.strip()
    if not text or "\x00" in text:
        raise DataError(f"{shown}: not a path; {allowed}")
    candidates = [Path(text)] if os.path.isabs(text) else [root / text for root in resolved_roots]
    for candidate in candidates:
        path = _inside(candidate, resolved_roots, f"{shown}: outside the data folders; {allowed}")
        found = _stat(path, f"{shown}: cannot be read; {allowed}")
        if found is not None:
            break
    else:
        raise DataError(f"{shown}: no such file or folder; {allowed}")
    budget = _Budget(limits or Limits.from_env(), shown)
    if stat.S_ISDIR(found.st_mode):
        _check_folder(path, resolved_roots, budget, shown, allowed)
    elif not stat.S_ISREG(found.st_mode):
        raise DataError(f"{shown}: is a device, pipe or socket, not a data file; {allowed}")
    elif not path.name.lower().endswith(DATA_SUFFIXES):
        raise DataError(f"{shown}: not a data file; expected a name ending in {', '.join(DATA_SUFFIXES)}")
    else:
        budget.add_file(found.st_size)
    return path


def _inside(candidate: Path, roots: list[Path], refusal: str) -> Path:
    """``candidate`` resolved, when that is inside a root; DataError ``refusal`` otherwise."""
    try:
        path = Path(os.path.realpath(candidate))
    except (OSError, ValueError):  # a name too long, characters the file system cannot take
        raise DataError(refusal) from None
    if not any(path.is_relative_to(root) for root in roots):
        raise DataError(refusal)
    return path


def _stat(path: Path, refusal: str, follow_links: bool = True) -> os.stat_result | None:
    """The type, mode and size of ``path`` (of what a link leads to, unless ``follow_links`` is
    False), None when it does not exist."""
    try:
        return os.stat(path, follow_symlinks=follow_links)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):  # a link loop, a name too long, no permission
        raise DataError(refusal) from None


@dataclass
class _Budget:
    """What a source on the server has spent of its limits so far."""

    limits: Limits
    shown: str
    entries: int = 0
    size: int = 0

    def add_entry(self) -> None:
        self.entries += 1
        if self.entries > self.limits.server_files:
            raise DataError(
                f"{self.shown}: the folder holds more than {self.limits.server_files:,} files and folders "
                "(HARM_INSIGHTS_MAX_SERVER_FILES); give the folder that holds just the data"
            )

    def add_file(self, size: int) -> None:
        self.size += size
        if self.size > self.limits.server_bytes:
            raise DataError(
                f"{self.shown}: its data files add up to more than {self.limits.server_bytes / MB:,.0f} MB "
                "(HARM_INSIGHTS_MAX_SERVER_MB); give a smaller folder, or load it from a database"
            )


def _check_folder(folder: Path, roots: list[Path], budget: _Budget, shown: str, allowed: str) -> None:
    """Walk ``folder`` (not into linked folders, as the importers do not) within ``budget``, refusing
    what an importer must not open: links out of the roots or to nothing, devices, pipes and
    sockets, folders named like data files."""
    pending = [folder]
    while pending:
        current = pending.pop()
        try:
            with os.scandir(current) as listing:
                entries = list(listing)
        except OSError:
            raise DataError(f"{shown}: the folder {current} cannot be read; {allowed}") from None
        for entry in entries:
            budget.add_entry()
            path = Path(entry.path)
            linked = entry.is_symlink()
            if linked:
                _inside(path, roots, f"{shown}: {path} links outside the data folders; {allowed}")
            found = _stat(path, f"{shown}: {path} cannot be read", follow_links=linked)
            if found is None:
                problem = "is a link that leads nowhere; remove it" if linked else "vanished while it was checked"
                raise DataError(f"{shown}: {path} {problem}")
            data_name = entry.name.lower().endswith(DATA_SUFFIXES)
            if stat.S_ISDIR(found.st_mode):
                if data_name:
                    raise DataError(f"{shown}: {path} is a folder named like a data file; rename it")
                if not linked:
                    pending.append(path)
            elif not stat.S_ISREG(found.st_mode):
                raise DataError(f"{shown}: {path} is a device, pipe or socket; a data folder holds files and folders")
            elif data_name:
                budget.add_file(found.st_size)


def load_confined(src: str, confinement: Confinement | None = None, **options: Any) -> Cube:
    """Load a source a user typed in the app: a SQL URL only when the allowlist admits it (read-only,
    see ``insights.sources.sql_allowlist.load_allowed_sql``), anything else only as a path under a
    data root (``confined_path``). ``options`` are ``load_source``'s. ``confinement`` defaults to
    ``Confinement.from_env()``."""
    confinement = confinement or Confinement.from_env()
    if "://" in src:
        return load_allowed_sql(src, confinement.sql_allowlist, confinement.connect_timeout, **options)
    return load_source(confined_path(src, confinement.data_roots), **options)
