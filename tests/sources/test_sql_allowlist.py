"""SQL sources: only databases on the allowlist, opened read-only, with one message for every
failure to connect and never a password in a message. Real SQLite files (a missing one is never
created), real sockets, and a real PostgreSQL server where there is one (the ``pg_url`` fixture)."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from insights import DataError
from insights.sources.sql_allowlist import (
    SQL_ALLOW_VARIABLE,
    allowed_sql_url,
    connect_allowed,
    load_allowed_sql,
    parse_allowlist,
)
from tests.conftest import unavailable

SECRET = "s3cret-pw"
EVENTS = pl.DataFrame(
    {
        "actioned_at": ["2025-03-01 10:00:00", "2025-03-02 11:00:00", "2025-03-02 12:00:00"],
        "harm_area": ["self_harm", "self_harm", "hateful_behavior"],
        "country": ["FR", "DE", "FR"],
    }
)


def refused(text: str, allowlist, *fragments: str) -> str:
    """The DataError message for ``text``: it names each fragment and never the password."""
    with pytest.raises(DataError) as caught:
        load_allowed_sql(text, allowlist, connect_timeout=2, table="events")
    message = str(caught.value)
    assert SECRET not in message, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} missing from: {message}"
    return message


# ---- the allowlist -----------------------------------------------------------------------------


def test_entries_name_where_a_database_is(tmp_path):
    (tmp_path / "mod.db").touch()
    entries = parse_allowlist(
        f"postgresql://DB.internal/enforcement\n  postgresql+psycopg2://reader@db.internal:6432/enforcement"
        f"?sslmode=require sqlite:///{tmp_path}/ sqlite:///{tmp_path}/mod.db"
    )
    assert [(e.backend, e.driver, e.username, e.host, e.port, e.database) for e in entries] == [
        ("postgresql", None, None, "db.internal", 5432, "enforcement"),
        ("postgresql", "psycopg2", "reader", "db.internal", 6432, "enforcement"),
        ("sqlite", None, None, None, None, str(tmp_path.resolve())),
        ("sqlite", None, None, None, None, str((tmp_path / "mod.db").resolve())),
    ]
    assert entries[1].parameters == (("sslmode", "require"),)
    assert parse_allowlist("") == ()


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ("mysql://db.internal/enforcement", "only PostgreSQL"),
        ("postgresql+asyncpg://db.internal/enforcement", "only PostgreSQL"),
        (f"postgresql://reader:{SECRET}@db.internal/enforcement", "not its password"),
        ("postgresql://db.internal", "name the database"),
        ("sqlite:///relative/dir/", "absolute path"),
        ("sqlite:////no/such/folder/", "absolute path"),
        ("sqlite:////tmp/?mode=rwc", "nothing after it"),
        ("not-a-url", "not a URL"),
    ],
)
def test_entries_that_cannot_be_allowed_are_refused(entry, fragment):
    with pytest.raises(DataError) as caught:
        parse_allowlist(f"sqlite:////tmp/ {entry}")
    message = str(caught.value)
    assert f"{SQL_ALLOW_VARIABLE}, entry 2" in message and fragment in message and SECRET not in message, message


def test_no_allowlist_means_no_sql_sources_and_says_how_to_enable():
    refused("postgresql://u@db.internal/enforcement", (), "disabled", SQL_ALLOW_VARIABLE)


ALLOW = "postgresql://db.internal:5432/enforcement postgresql+psycopg://reader@reports.internal/reports"


@pytest.mark.parametrize(
    "text",
    [
        f"postgresql://u:{SECRET}@db.internal:5433/enforcement",
        f"postgresql://u:{SECRET}@db.internal/other",
        f"postgresql://u:{SECRET}@evil.example/enforcement",
        f"postgresql://u:{SECRET}@127.0.0.1/enforcement",
        f"postgresql+psycopg://writer:{SECRET}@reports.internal/reports",
        f"postgresql+psycopg2://reader:{SECRET}@reports.internal/reports",
        f"postgresql+asyncpg://u:{SECRET}@db.internal/enforcement",
        f"mysql://u:{SECRET}@db.internal/enforcement",
        f"postgresql://u:{SECRET}@db.internal/enforcement?host=evil.example",
        f"postgresql://u:{SECRET}@db.internal/enforcement?options=-c%20default_transaction_read_only%3Doff",
    ],
)
def test_urls_off_the_list_are_refused_before_connecting(text):
    message = refused(text, parse_allowlist(ALLOW), SQL_ALLOW_VARIABLE, "postgresql://db.internal:5432/enforcement")
    assert "***" in message, "the URL is named, its password hidden"


def test_an_unreadable_url_is_not_echoed():
    refused(f"postgresql://u:{SECRET}@db.internal:port/enforcement", parse_allowlist(ALLOW), "cannot be read")
    refused(f"u:{SECRET}@db.internal/enforcement", parse_allowlist(ALLOW), "cannot be read")


def test_an_allowed_url_keeps_its_user_and_password_and_gets_the_entry_parameters():
    allowlist = parse_allowlist("postgresql://db.internal/enforcement?sslmode=require")
    url = allowed_sql_url(f"postgresql://u:{SECRET}@DB.internal:5432/enforcement", allowlist)
    assert (url.drivername, url.username, url.password, url.query) == (
        "postgresql+psycopg",
        "u",
        SECRET,
        {"sslmode": "require"},
    )


# ---- SQLite: existing files under an allowed folder, read-only -------------------------------


@pytest.fixture
def sqlite_folder(tmp_path) -> Path:
    """allowed/events.db (an events table) and outside/secret.db."""
    for folder in ("allowed", "outside"):
        (tmp_path / folder).mkdir()
    for path in (tmp_path / "allowed" / "events.db", tmp_path / "outside" / "secret.db"):
        EVENTS.write_database("events", connection=f"sqlite:///{path}")
    return tmp_path / "allowed"


def test_an_allowed_sqlite_file_loads(sqlite_folder):
    cube = load_allowed_sql(
        f"sqlite:///{sqlite_folder}/events.db", parse_allowlist(f"sqlite:///{sqlite_folder}/"), table="events"
    )
    assert cube.provenance.rows_read == 3
    assert cube.query("actions", by=["harm_area"]).sort("harm_area")["actions"].to_list() == [1, 2]


def test_a_missing_sqlite_file_is_refused_and_never_created(sqlite_folder):
    allowlist = parse_allowlist(f"sqlite:///{sqlite_folder}/")
    before = sorted(sqlite_folder.parent.rglob("*"))
    for missing in ("new.db", "new/deeper.db"):
        refused(f"sqlite:///{sqlite_folder}/{missing}", allowlist, "no such database file", "never created")
    refused(f"sqlite:///{sqlite_folder.parent}/outside/new.db", allowlist, "not a database file an administrator")
    assert sorted(sqlite_folder.parent.rglob("*")) == before


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("sqlite:///{folder}/../outside/secret.db", "not a database file an administrator allowed"),
        ("sqlite:///{folder}/../outside", "not a database file an administrator allowed"),
        ("sqlite:///{folder}/link.db", "not a database file an administrator allowed"),
        ("sqlite:///{folder}", "no such database file"),
        ("sqlite:///{folder}/pipe.db", "no such database file"),
        ("sqlite://", "only for an existing database file"),
        ("sqlite:///:memory:", "only for an existing database file"),
        ("sqlite:///file:{folder}/events.db", "only for an existing database file"),
        ("sqlite:///{folder}/events.db?mode=rwc&uri=true", "parameters after '?'"),
    ],
)
def test_sqlite_escapes_are_refused(sqlite_folder, text, fragment):
    (sqlite_folder / "link.db").symlink_to(sqlite_folder.parent / "outside" / "secret.db")
    os.mkfifo(sqlite_folder / "pipe.db")
    refused(text.format(folder=sqlite_folder), parse_allowlist(f"sqlite:///{sqlite_folder}/"), fragment, "allowed:")


def test_an_entry_naming_one_sqlite_file_allows_only_that_file(sqlite_folder):
    EVENTS.write_database("events", connection=f"sqlite:///{sqlite_folder}/other.db")
    allowlist = parse_allowlist(f"sqlite:///{sqlite_folder}/events.db")
    assert load_allowed_sql(f"sqlite:///{sqlite_folder}/events.db", allowlist, table="events").provenance.rows_read == 3
    refused(f"sqlite:///{sqlite_folder}/other.db", allowlist, "not a database file an administrator allowed")


def test_a_sqlite_session_cannot_write(sqlite_folder):
    url = allowed_sql_url(f"sqlite:///{sqlite_folder}/events.db", parse_allowlist(f"sqlite:///{sqlite_folder}/"))
    assert url.query == {"mode": "ro", "uri": "true"}
    engine = connect_allowed(url)
    with engine.connect() as conn, pytest.raises(sa.exc.OperationalError, match="attempt to write a readonly database"):
        conn.execute(sa.text("CREATE TABLE x (a int)"))
    with engine.connect() as conn, pytest.raises(sa.exc.OperationalError, match="too many attached databases"):
        conn.execute(sa.text("ATTACH DATABASE :path AS other"), {"path": str(sqlite_folder / "created.db")})
    engine.dispose()
    assert not (sqlite_folder / "created.db").exists()


def test_a_query_error_is_a_data_error_with_the_database_words(sqlite_folder):
    allowlist = parse_allowlist(f"sqlite:///{sqlite_folder}/")
    with pytest.raises(DataError, match="the database refused the query: no such table: nowhere"):
        load_allowed_sql(f"sqlite:///{sqlite_folder}/events.db", allowlist, query="SELECT * FROM nowhere")


# ---- connecting: one message whatever answers (or does not) ------------------------------------


def free_port() -> int:
    """A local TCP port nothing listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


@pytest.fixture
def chatty_port() -> Iterator[int]:
    """A port where another service answers (an SSH banner), then hangs up."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)

    def answer() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")

    threading.Thread(target=answer, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


def connect_failure(port: int, user: str = "harm", password: str = SECRET, database: str = "enforcement") -> str:
    """The message for a connection to 127.0.0.1:port, with the URL taken out of it."""
    url = f"postgresql+psycopg://{user}:{password}@127.0.0.1:{port}/{database}"
    message = refused(url, parse_allowlist(f"postgresql://127.0.0.1:{port}/{database}"), "could not connect")
    return message.replace(f"postgresql+psycopg://{user}:***@127.0.0.1:{port}/{database}", "<url>")


def test_closed_silent_and_foreign_ports_fail_alike(silent_port, chatty_port):
    messages = {connect_failure(free_port()), connect_failure(silent_port), connect_failure(chatty_port)}
    assert len(messages) == 1, messages


# ---- PostgreSQL -----------------------------------------------------------------------------------


@pytest.fixture
def pg_events(pg_url) -> Iterator[tuple[sa.URL, str]]:
    """The server's URL and a fresh events table on it (dropped afterwards)."""
    url = sa.engine.make_url(pg_url)
    table = f"confine_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(url)
    EVENTS.write_database(table, connection=engine)
    yield url, table
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE {table}"))
    engine.dispose()


def entry_for(url: sa.URL) -> str:
    return f"postgresql://{url.host}:{url.port or 5432}/{url.database}"


def test_an_allowed_postgres_database_loads_read_only(pg_events):
    url, table = pg_events
    text = url.render_as_string(hide_password=False)
    allowlist = parse_allowlist(entry_for(url))
    cube = load_allowed_sql(text, allowlist, table=table)
    assert cube.provenance.rows_read == 3 and "***" in cube.provenance.source
    engine = connect_allowed(allowed_sql_url(text, allowlist))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SHOW default_transaction_read_only")).scalar_one() == "on"
        with pytest.raises(sa.exc.DBAPIError, match="read-only transaction"):
            conn.execute(sa.text(f"DELETE FROM {table}"))
    engine.dispose()


def test_a_query_reading_server_files_is_refused(pg_events):
    url, table = pg_events
    with pytest.raises(DataError, match="permission denied for function pg_read_file") as caught:
        load_allowed_sql(
            url.render_as_string(hide_password=False),
            parse_allowlist(entry_for(url)),
            query=f"SELECT actioned_at, pg_read_file('/etc/hostname') AS harm_area FROM {table}",
        )
    assert f":{url.password}@" not in str(caught.value)


def test_a_refused_login_fails_like_a_closed_port(pg_url):
    url = sa.engine.make_url(pg_url)
    assert connect_failure(url.port or 5432, database=url.database or "") == connect_failure(free_port())


def test_a_role_that_can_read_server_files_is_refused(pg_url):
    url = sa.engine.make_url(pg_url).set(username="harm_files", password="harm")
    try:
        with sa.create_engine(url, connect_args={"connect_timeout": 3}).connect():
            pass
    except sa.exc.DBAPIError:
        unavailable("no role harm_files (a member of pg_read_server_files) on the test server; .ci/run creates it")
    with pytest.raises(DataError, match="a member of pg_read_server_files") as caught:
        connect_allowed(allowed_sql_url(url.render_as_string(hide_password=False), parse_allowlist(entry_for(url))))
    assert "least-privilege" in str(caught.value) or "only SELECT" in str(caught.value)
