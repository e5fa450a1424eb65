"""The databases an administrator allows as sources, and the gate in front of connecting to them.

``HARM_INSIGHTS_SQL_ALLOW`` lists them, separated by spaces or new lines, one SQLAlchemy URL
each, naming *where*, never a secret:

- ``postgresql://db.internal:5432/enforcement`` — that database on that server (any user, the
  default driver psycopg); ``postgresql+psycopg2://reader@db.internal/enforcement`` — only as the
  user ``reader``, only through psycopg2. Parameters after ``?`` (``sslmode=require``) are the
  entry's and are added to every connection; a URL typed on the page may not carry any.
- ``sqlite:////srv/data/`` — any existing database file under that folder (resolved, links
  followed); ``sqlite:////srv/data/mod.db`` — that file only.

PostgreSQL and SQLite are the backends whose sessions can be made read-only and whose connection
time can be bounded, so they are the ones that can be allowed. A URL passes ``allowed_sql_url``
when backend, driver, user (where the entry names one), host, port and database match an entry;
``connect_allowed`` then opens it read-only with a short connect timeout, tells every failure to
connect in one message (a refused, closed, filtered or timed-out port and a refused login look
the same), and refuses a PostgreSQL role that can read or write the server's files. Passwords
never appear in a message: URLs are shown with ``render_as_string(hide_password=True)``.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa

from insights.cube import Cube
from insights.errors import DataError
from insights.sources.registry import load_source

SQL_ALLOW_VARIABLE = "HARM_INSIGHTS_SQL_ALLOW"
#: The drivers of each backend that can be allowed (their sessions can be made read-only), default first.
DRIVERS = {"postgresql": ("psycopg", "psycopg2"), "sqlite": ("pysqlite",)}
DEFAULT_PORTS = {"postgresql": 5432}
#: PostgreSQL roles that reach past the database (pg_read_file, COPY … FROM PROGRAM, …).
SERVER_FILE_ROLES = ("pg_read_server_files", "pg_write_server_files", "pg_execute_server_program")
EXAMPLE = "postgresql+psycopg://user:password@host:5432/database"


@dataclass(frozen=True)
class AllowedDatabase:
    """One allowlist entry. For a server: backend, driver (None: any allowed one), user (None: any),
    host, port (the backend's default filled in) and database. For SQLite: ``database`` is the
    resolved folder (any database file under it) or file. ``parameters`` are the entry's own
    connection parameters; ``shown`` is the entry as written."""

    backend: str
    driver: str | None
    username: str | None
    host: str | None
    port: int | None
    database: str
    parameters: tuple[tuple[str, str | tuple[str, ...]], ...]
    shown: str

    def admits(self, url: sa.URL) -> bool:
        """True when the server URL ``url`` names this entry's database (SQLite URLs are checked by path)."""
        backend, driver = _backend_driver(url)
        return (
            backend == self.backend
            and driver in (None, *DRIVERS[backend])
            and (driver is None or self.driver is None or driver == self.driver)
            and (self.username is None or url.username == self.username)
            and (url.host or "").lower() == (self.host or "")
            and (url.port or DEFAULT_PORTS.get(backend)) == self.port
            and url.database == self.database
        )


def parse_allowlist(text: str) -> tuple[AllowedDatabase, ...]:
    """The entries of ``HARM_INSIGHTS_SQL_ALLOW`` (see the module docstring); DataError naming the
    entry and what is expected when one cannot be allowed."""
    return tuple(_entry(number, entry) for number, entry in enumerate(text.split(), start=1))


def _entry(number: int, text: str) -> AllowedDatabase:
    where = f"{SQL_ALLOW_VARIABLE}, entry {number}"
    try:
        url = sa.engine.make_url(text)
    except (sa.exc.ArgumentError, ValueError):
        raise DataError(
            f"{where}: not a URL; expected one such as postgresql://db.internal:5432/enforcement or sqlite:////srv/data/"
        ) from None
    shown = url.render_as_string(hide_password=True)
    backend, driver = _backend_driver(url)
    if backend not in DRIVERS or (driver is not None and driver not in DRIVERS[backend]):
        raise DataError(
            f"{where} ({shown}): only PostgreSQL (drivers {', '.join(DRIVERS['postgresql'])}) and SQLite can be "
            "allowed: their sessions can be made read-only and their connections bounded in time"
        )
    if url.password is not None:
        raise DataError(f"{where} ({shown}): an entry names where a database is, not its password; remove it")
    if not url.database:
        raise DataError(f"{where} ({shown}): name the database (or for SQLite the folder or file)")
    parameters = tuple(sorted(url.query.items()))
    if backend == "sqlite":
        place = Path(url.database)
        resolved = Path(os.path.realpath(place))
        if not place.is_absolute() or not (resolved.is_dir() or resolved.is_file()) or url.host or parameters:
            raise DataError(
                f"{where} ({shown}): a SQLite entry names an existing folder or database file by its absolute "
                "path, with four slashes and nothing after it: sqlite:////srv/data/"
            )
        return AllowedDatabase(backend, driver, None, None, None, str(resolved), (), shown)
    return AllowedDatabase(
        backend,
        driver,
        url.username,
        (url.host or "").lower() or None,
        url.port or DEFAULT_PORTS[backend],
        url.database,
        parameters,
        shown,
    )


def _backend_driver(url: sa.URL) -> tuple[str, str | None]:
    """(backend, driver or None) as written in the URL (no dialect is loaded)."""
    backend, _, driver = url.drivername.partition("+")
    return backend, driver or None


def allowed_sql_url(text: str, allowlist: tuple[AllowedDatabase, ...]) -> sa.URL:
    """The SQLAlchemy URL to connect to for ``text``, when an allowlist entry admits it; DataError
    naming the URL (password hidden) and what is allowed otherwise.

    Parameters after ``?`` are refused (``host=`` or ``options=`` could lead elsewhere or undo
    read-only); the entry's own parameters are added. SQLite is admitted only for an existing
    regular file under an allowed folder, returned as a read-only URI (``file:…?mode=ro`` with
    ``uri=true``), so nothing is ever created.
    """
    if not allowlist:
        raise DataError(
            "SQL sources are disabled on this server: an administrator lists the databases that may be "
            f"loaded in {SQL_ALLOW_VARIABLE}, such as postgresql://db.internal:5432/enforcement (see the README)"
        )
    try:
        url = sa.engine.make_url(text.strip())
    except (sa.exc.ArgumentError, ValueError):
        raise DataError(f"the SQL URL cannot be read; expected one such as {EXAMPLE}") from None
    shown = url.render_as_string(hide_password=True)
    allowed = f"allowed: {' '.join(entry.shown for entry in allowlist)} ({SQL_ALLOW_VARIABLE})"
    if url.query:
        raise DataError(
            f"{shown}: parameters after '?' are not accepted here; an administrator sets them in the "
            f"allowlist entry ({allowed})"
        )
    backend, driver = _backend_driver(url)
    if backend == "sqlite":
        return _sqlite_url(url, shown, [e for e in allowlist if e.backend == "sqlite"], allowed)
    for entry in allowlist:
        if entry.admits(url):
            chosen = driver or entry.driver or DRIVERS[backend][0]
            return url.set(drivername=f"{backend}+{chosen}", query=dict(entry.parameters))
    raise DataError(f"{shown}: not a database an administrator allowed; {allowed}")


def _sqlite_url(url: sa.URL, shown: str, entries: list[AllowedDatabase], allowed: str) -> sa.URL:
    """A read-only URI for an existing SQLite file under an allowed folder (or an allowed file)."""
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise DataError(f"{shown}: SQLite is allowed only for an existing database file; {allowed}")
    try:
        path = Path(os.path.realpath(url.database))
    except (OSError, ValueError):
        raise DataError(f"{shown}: not a file path; {allowed}") from None
    if not any(path == Path(e.database) or path.is_relative_to(e.database) for e in entries):
        raise DataError(f"{shown}: not a database file an administrator allowed; {allowed}")
    try:
        regular = stat.S_ISREG(os.stat(path).st_mode)
    except FileNotFoundError:
        regular = False
    except OSError:
        raise DataError(f"{shown}: the database file cannot be read; {allowed}") from None
    if not regular:
        raise DataError(f"{shown}: no such database file (it is never created); {allowed}")
    return sa.URL.create("sqlite+pysqlite", database=f"file:{quote(str(path))}", query={"mode": "ro", "uri": "true"})


def connect_allowed(url: sa.URL, connect_timeout: int = 5) -> sa.Engine:
    """An engine for an allowed URL (from ``allowed_sql_url``), its connection tried once.

    Sessions are read-only: PostgreSQL's ``default_transaction_read_only=on`` (added to the
    entry's ``options``), SQLite's read-only open plus ``PRAGMA query_only`` and no ATTACH. Connecting gives up
    after ``connect_timeout`` seconds, and any failure to connect is one message that does not
    tell a refused, closed or silent port or a refused login apart. A PostgreSQL role that is a
    superuser or a member of a role reading or writing the server's files (``pg_read_file``,
    ``COPY … FROM PROGRAM``) is refused: connect as a least-privilege role (see the README).
    """
    shown = url.render_as_string(hide_password=True)
    backend, driver = _backend_driver(url)
    connect_args: dict[str, Any] = {}
    if backend == "postgresql":
        given = url.query.get("options") or ()
        options = " ".join([*([given] if isinstance(given, str) else given), "-c default_transaction_read_only=on"])
        connect_args = {"connect_timeout": max(2, connect_timeout), "options": options}
    try:
        engine = sa.create_engine(url, connect_args=connect_args)
    except ImportError:
        raise DataError(f"{shown}: the {driver} driver is not installed on this server") from None
    if backend == "sqlite":
        sa.event.listen(engine, "connect", _query_only)
    try:
        with engine.connect() as conn:
            too_powerful = _server_file_roles(conn) if backend == "postgresql" else []
    except (sa.exc.DBAPIError, OSError):
        engine.dispose()
        raise DataError(
            f"could not connect to {shown}: no connection was made within {connect_timeout} s or the login was "
            "refused; check the address, that the server is up and reachable from here, and the user and password"
        ) from None
    if too_powerful:
        engine.dispose()
        raise DataError(
            f"{shown}: the user {url.username or '(default)'} is {' and '.join(too_powerful)}, so a query could "
            "read or write the server's files; connect as a role that may only SELECT the enforcement tables "
            "(see the README)"
        )
    return engine


def _query_only(dbapi_connection: Any, _record: Any) -> None:
    """SQLite: refuse any write on this connection, on top of the read-only open, and any ATTACH
    (which would open, or create, another file)."""
    dbapi_connection.execute("PRAGMA query_only = ON")
    dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)


def _server_file_roles(conn: sa.Connection) -> list[str]:
    """'a superuser' and the server-file roles the session's user holds (empty for a least-privilege role)."""
    superuser = conn.execute(sa.text("SELECT current_setting('is_superuser')")).scalar_one() == "on"
    held = conn.execute(
        sa.text("SELECT r FROM unnest(CAST(:roles AS text[])) AS r WHERE pg_has_role(current_user, r, 'MEMBER')"),
        {"roles": list(SERVER_FILE_ROLES)},
    ).scalars()
    return (["a superuser"] if superuser else []) + [f"a member of {r}" for r in held]


def load_allowed_sql(
    text: str, allowlist: tuple[AllowedDatabase, ...], connect_timeout: int = 5, **options: Any
) -> Cube:
    """Load a SQL source typed by a user, only when the allowlist admits it, read-only.

    ``options`` are the SQL source's (``table=`` or ``query=``, ``columns=``, ``schema=``); the
    query is built and run by the SQL importer as usual. A database error (a query calling a
    function the role may not use, say) is a DataError with the database's own words and the URL
    without its password.
    """
    engine = connect_allowed(allowed_sql_url(text, allowlist), connect_timeout)
    shown = engine.url.render_as_string(hide_password=True)
    try:
        return load_source(engine, kind="sql", **options)
    except sa.exc.DBAPIError as error:
        reason = (str(error.orig).strip().splitlines() or [type(error.orig).__name__])[0]
        raise DataError(f"{shown}: the database refused the query: {reason}") from None
    finally:
        engine.dispose()
