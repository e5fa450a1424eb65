"""Paths on the server: only files and folders under the data roots, resolved, bounded, readable by
an importer. Real files, real links, a real pipe and a real device; every refusal is a DataError
naming the input and what is allowed, and no string of any shape leads out of the roots."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insights import DataError
from insights.limits import MB, Limits
from insights.sources.confine import ROOTS_VARIABLE, Confinement, confined_path, data_roots, load_confined
from insights.sources.sql_allowlist import parse_allowlist
from tests.sources.hostile import csv_text, valid_lines

EVENTS = csv_text(valid_lines(10))
EVENTS_TABLE = pl.DataFrame({"actioned_at": ["2025-03-01 10:00:00"], "harm_area": ["self_harm"]})


@pytest.fixture
def tree(tmp_path) -> Path:
    """data/ (the root): events.csv, sub/more.csv, notes.md, link_in.csv → events.csv, a link to the
    sub-folder; outside/: secret.csv, secrets/ — and data/../data2 next to it."""
    data, outside = tmp_path / "data", tmp_path / "outside"
    (data / "sub").mkdir(parents=True)
    (outside / "secrets").mkdir(parents=True)
    (tmp_path / "data2").mkdir()
    for path in (data / "events.csv", data / "sub" / "more.csv", outside / "secret.csv", tmp_path / "data2" / "x.csv"):
        path.write_text(EVENTS)
    (outside / "secrets" / "key.csv").write_text("a,b\n1,2\n")
    (data / "notes.md").write_text("# notes\n")
    (data / "link_in.csv").symlink_to(data / "events.csv")
    (data / "link_sub").symlink_to(data / "sub")
    return data


def folder_with(tree: Path, name: str, make) -> Path:
    """A clean folder under the root holding one more thing ``make(path)`` creates."""
    folder = tree / f"case_{name}"
    folder.mkdir()
    (folder / "ok.csv").write_text(EVENTS)
    make(folder / name)
    return folder


def refused(text: str, roots: list[Path], *fragments: str, limits: Limits | None = None) -> str:
    """The DataError message for ``text``, checked to name the input and each fragment."""
    with pytest.raises(DataError) as caught:
        confined_path(text, roots, limits)
    message = str(caught.value)
    assert repr(text)[:60].rstrip("'") in message, f"the message names the input: {message}"
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} missing from: {message}"
    return message


def test_no_roots_means_no_server_paths_and_says_how_to_enable(tree):
    refused(str(tree / "events.csv"), [], "disabled", ROOTS_VARIABLE, os.pathsep)


@pytest.mark.parametrize(
    "text",
    [
        "../outside/secret.csv",
        "sub/../../outside/secret.csv",
        "{root}/../outside/secret.csv",
        "{root}/sub/../../outside",
        "{root}/../data2/x.csv",
        "{root}2/x.csv",
        "{outside}/secret.csv",
        "{outside}/does-not-exist.csv",
        "/",
        "/etc/passwd",
        "/etc/hostname/../passwd",
        "//etc//passwd",
        "link_out.csv",
        "link_out_dir/key.csv",
        "link_out_dir",
        "link_root_parent",
    ],
)
def test_escapes_are_refused_without_saying_whether_the_target_exists(tree, text):
    outside = tree.parent / "outside"
    (tree / "link_out.csv").symlink_to(outside / "secret.csv")
    (tree / "link_out_dir").symlink_to(outside / "secrets")
    (tree / "link_root_parent").symlink_to(tree.parent)
    text = text.format(root=tree, outside=outside)
    message = refused(text, [tree], "outside the data folders", str(tree), ROOTS_VARIABLE)
    assert "no such" not in message


def test_a_missing_path_inside_is_refused(tree):
    refused("missing.csv", [tree], "no such file or folder", str(tree))
    refused(str(tree / "sub" / "nope"), [tree], "no such file or folder", str(tree))


def test_a_pipe_and_a_device_are_refused(tree):
    os.mkfifo(tree / "pipe.csv")
    refused("pipe.csv", [tree], "device, pipe or socket", str(tree))
    refused("/dev/null", [Path("/dev")], "device, pipe or socket", "/dev")


def test_only_files_the_importers_read(tree):
    refused("notes.md", [tree], "not a data file", ".csv", ".parquet", ".zip")


@pytest.mark.parametrize(
    ("name", "make", "fragment"),
    [
        ("link_out.csv", lambda p: p.symlink_to(p.parents[2] / "outside" / "secret.csv"), "links outside"),
        ("link_up", lambda p: p.symlink_to(p.parents[2]), "links outside"),
        ("dangling.csv", lambda p: p.symlink_to(p.parent / "gone.csv"), "leads nowhere"),
        ("pipe.csv", os.mkfifo, "device, pipe or socket"),
        ("pipe", os.mkfifo, "device, pipe or socket"),
        ("folder.csv", Path.mkdir, "folder named like a data file"),
    ],
)
def test_a_folder_is_refused_when_an_importer_would_open_something_it_must_not(tree, name, make, fragment):
    folder = folder_with(tree, name, make)
    message = refused(str(folder), [tree], fragment)
    assert name in message, "the message names the entry at fault"


def test_a_folder_is_bounded_in_files_and_bytes(tree):
    refused(
        str(tree),
        [tree],
        "more than 3 files and folders",
        "HARM_INSIGHTS_MAX_SERVER_FILES",
        limits=Limits(server_files=3),
    )
    tiny = Limits(server_bytes=len(EVENTS) * 2)
    refused(str(tree), [tree], "add up to more than", "HARM_INSIGHTS_MAX_SERVER_MB", limits=tiny)
    refused("events.csv", [tree], "HARM_INSIGHTS_MAX_SERVER_MB", limits=Limits(server_bytes=10))


def test_the_whole_filesystem_is_not_walked(monkeypatch):
    monkeypatch.setenv("HARM_INSIGHTS_MAX_SERVER_FILES", "500")
    message = refused("/", [Path("/")])
    assert "more than 500 files and folders" in message or "cannot be read" in message, message


def test_the_limits_come_from_the_environment(tree, monkeypatch):
    monkeypatch.setenv("HARM_INSIGHTS_MAX_SERVER_MB", str(len(EVENTS) / MB))
    refused(str(tree), [tree], "HARM_INSIGHTS_MAX_SERVER_MB")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("events.csv", "events.csv"),
        ("{root}/events.csv", "events.csv"),
        (" {root}/sub/../events.csv ", "events.csv"),
        ("link_in.csv", "events.csv"),
        ("link_sub/more.csv", "sub/more.csv"),
        ("sub", "sub"),
        ("{root}", "."),
    ],
)
def test_paths_inside_resolve_to_the_real_file_or_folder(tree, text, expected):
    assert confined_path(text.format(root=tree), [tree]) == (tree / expected).resolve()


def test_a_relative_path_is_looked_up_under_each_root(tree):
    second = tree.parent / "data2"
    assert confined_path("x.csv", [tree, second]) == second / "x.csv"


def test_load_confined_loads_only_what_is_inside(tree):
    confinement = Confinement(data_roots=(tree,))
    cube = load_confined("sub", confinement)
    assert cube.provenance.rows_read == 10 and cube.provenance.conserved
    with pytest.raises(DataError, match="outside the data folders"):
        load_confined("../outside/secret.csv", confinement)


def test_load_confined_sends_urls_through_the_allowlist(tmp_path):
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    for path in (allowed / "events.db", tmp_path / "secret.db"):
        EVENTS_TABLE.write_database("events", connection=f"sqlite:///{path}")
    confinement = Confinement(data_roots=(allowed,), sql_allowlist=parse_allowlist(f"sqlite:///{allowed}/"))
    assert load_confined(f"sqlite:///{allowed}/events.db", confinement, table="events").provenance.rows_read == 1
    with pytest.raises(DataError, match="not a database file an administrator allowed"):
        load_confined(f"sqlite:///{allowed}/../secret.db", confinement, table="events")


def test_configuration_from_the_environment(tree, tmp_path):
    second = tmp_path / "data2"
    confinement = Confinement.from_env({ROOTS_VARIABLE: f"{tree}{os.pathsep} {second}{os.pathsep}"})
    assert confinement.data_roots == (tree.resolve(), second.resolve())
    assert Confinement.from_env({}) == Confinement()
    for bad in ("relative/dir", str(tree / "missing"), str(tree / "events.csv")):
        with pytest.raises(DataError, match=ROOTS_VARIABLE):
            data_roots(bad)
    with pytest.raises(DataError, match="HARM_INSIGHTS_SQL_CONNECT_TIMEOUT"):
        Confinement.from_env({"HARM_INSIGHTS_SQL_CONNECT_TIMEOUT": "soon"})


# ---- any string at all -------------------------------------------------------------------------

#: Files and folders of the tree, and segments that lead nowhere or out.
INSIDE = ["events.csv", "sub", "sub/more.csv", "link_in.csv", "link_sub", "link_sub/more.csv"]
NAMES = st.sampled_from(["..", ".", "", "sub", "link_sub", "link_out.csv", "link_out_dir", "outside", "data", "data2"])
ODD = st.sampled_from(["~", "~root", "\x00", "é", "名前.csv", "x" * 300, " ", "%2e%2e", "...", "..\\.."])
SEGMENTS = st.one_of(NAMES, NAMES, NAMES, ODD, st.text(max_size=12))


@st.composite
def path_texts(draw, root: Path) -> str:
    """(Half the time) hostile segments, then (half the time) a file or folder that is inside, then steps that stay
    or leave: relative, absolute, or starting at the root or its parent, with doubled and dotted
    separators."""
    start = draw(st.sampled_from(["", f"{root}/", "/", "//", f"{root.parent}/", "~/", "./"]))
    segments = draw(st.lists(SEGMENTS, max_size=3)) if draw(st.booleans()) else []
    if draw(st.booleans()):
        segments.append(draw(st.sampled_from(INSIDE)))
    segments += draw(st.lists(st.sampled_from([".", "", "sub/..", "link_sub/..", "..", "../data"]), max_size=2))
    return start + draw(st.sampled_from(["/", "//", "/./"])).join(segments)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_string_leads_outside_the_roots_or_raises_anything_but_a_data_error(tree, data):
    outside = tree.parent / "outside"
    if not (tree / "link_out.csv").is_symlink():
        (tree / "link_out.csv").symlink_to(outside / "secret.csv")
        (tree / "link_out_dir").symlink_to(outside / "secrets")
    text = data.draw(path_texts(tree))
    try:
        path = confined_path(text, [tree])
    except DataError:
        return
    assert path == Path(os.path.realpath(path)), "the path handed on is resolved"
    assert path.is_relative_to(tree.resolve()) and path.exists()
    assert path.is_dir() or path.name.endswith((".csv", ".parquet", ".zip"))
