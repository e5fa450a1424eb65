"""A corpus of hostile and careless inputs, built on the fly: each entry writes one file (or a
folder) and names what it tries. Used by tests/sources/test_hostile_inputs.py."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import polars as pl

HEADER = (
    "event_id,actioned_at,created_at,harm_area,policy,country,language,content_type,"
    "detection_source,action,views_before_action,appealed,overturned"
)


def row(i: int, **overrides: object) -> str:
    """One valid event line (overrides replace columns by name)."""
    values = {
        "event_id": f"e{i}",
        "actioned_at": f"2025-03-{1 + i % 28:02d} 10:00:00",
        "created_at": f"2025-03-{1 + i % 28:02d} 08:00:00",
        "harm_area": "hateful_behavior",
        "policy": "hate_speech",
        "country": "FR",
        "language": "fr",
        "content_type": "video",
        "detection_source": "automated",
        "action": "remove",
        "views_before_action": str(i % 7),
        "appealed": "false",
        "overturned": "false",
    }
    values.update({k: str(v) for k, v in overrides.items()})
    return ",".join(values[c] for c in HEADER.split(","))


def csv_text(lines: list[str], header: str = HEADER) -> str:
    return "\n".join([header, *lines]) + "\n"


def valid_lines(n: int = 20) -> list[str]:
    return [row(i) for i in range(n)]


Builder = Callable[[Path], Path]
CORPUS: dict[str, Builder] = {}


def entry(name: str) -> Callable[[Builder], Builder]:
    def register(build: Builder) -> Builder:
        CORPUS[name] = build
        return build

    return register


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


# ---- CSV: silent loss reported by the security review ------------------------------------------


@entry("empty country beside an invalid one")
def _(d: Path) -> Path:
    return write(d, "countries.csv", csv_text([*valid_lines(5), row(90, country=""), row(91, country="XX")]))


@entry("neither harm area nor policy")
def _(d: Path) -> Path:
    return write(d, "unplaced.csv", csv_text([*valid_lines(5), row(90, harm_area="", policy="")]))


@entry("blank lines between and after records")
def _(d: Path) -> Path:
    lines = valid_lines(6)
    return write(
        d,
        "blank.csv",
        HEADER + "\n" + lines[0] + "\n\n" + "\n".join(lines[1:4]) + "\n \n" + "\n".join(lines[4:]) + "\n\n\n",
    )


@entry("'1,5' as views")
def _(d: Path) -> Path:
    return write(d, "comma.csv", csv_text([*valid_lines(5), row(90, views_before_action='"1,5"')]))


@entry("thousands separators in views")
def _(d: Path) -> Path:
    return write(d, "thousands.csv", csv_text([*valid_lines(5), row(90, views_before_action='"1,500"')]))


@entry("duplicated header name")
def _(d: Path) -> Path:
    return write(d, "dupheader.csv", csv_text(valid_lines(3), header=HEADER.replace("overturned", "appealed")))


@entry("harm_area and Harm_Area")
def _(d: Path) -> Path:
    return write(d, "case.csv", csv_text(valid_lines(3), header=HEADER.replace("language", "Harm_Area")))


@entry("CR-only line endings")
def _(d: Path) -> Path:
    return write(d, "cr.csv", csv_text(valid_lines(8)).replace("\n", "\r"))


@entry("CRLF line endings")
def _(d: Path) -> Path:
    return write(d, "crlf.csv", csv_text(valid_lines(8)).replace("\n", "\r\n"))


@entry("negative views")
def _(d: Path) -> Path:
    return write(d, "negative.csv", csv_text([*valid_lines(5), row(90, views_before_action="-3")]))


@entry("fractional views")
def _(d: Path) -> Path:
    return write(d, "fraction.csv", csv_text([*valid_lines(5), row(90, views_before_action="2.5")]))


@entry("views NaN and inf")
def _(d: Path) -> Path:
    return write(
        d,
        "nan.csv",
        csv_text([*valid_lines(5), row(90, views_before_action="NaN"), row(91, views_before_action="inf")]),
    )


@entry("views 1e308")
def _(d: Path) -> Path:
    return write(d, "huge.csv", csv_text([*valid_lines(5), row(90, views_before_action="1e308")]))


@entry("created after actioned, and an empty created_at")
def _(d: Path) -> Path:
    lines = [
        *valid_lines(5),
        row(90, created_at="2025-03-30 10:00:00", actioned_at="2025-03-01 10:00:00"),
        row(91, created_at=""),
    ]
    return write(d, "created.csv", csv_text(lines))


@entry("impossible and empty timestamps")
def _(d: Path) -> Path:
    lines = [
        *valid_lines(5),
        row(90, actioned_at="2025-02-30 10:00:00"),
        row(91, actioned_at=""),
        row(92, actioned_at="yesterday"),
    ]
    return write(d, "dates.csv", csv_text(lines))


@entry("time zones mixed")
def _(d: Path) -> Path:
    lines = [
        *valid_lines(3),
        row(90, actioned_at="2025-03-02T10:00:00+02:00"),
        row(91, actioned_at="2025-03-02T10:00:00Z"),
    ]
    return write(d, "tz.csv", csv_text(lines))


@entry("flags as words, numbers and nonsense")
def _(d: Path) -> Path:
    lines = [
        *valid_lines(3),
        row(90, appealed="1.0"),
        row(91, appealed="yes", overturned="no"),
        row(92, appealed="maybe"),
    ]
    return write(d, "flags.csv", csv_text(lines))


@entry("duplicate event ids")
def _(d: Path) -> Path:
    return write(d, "dupids.csv", csv_text([*valid_lines(5), row(2), row(3)]))


@entry("empty event id")
def _(d: Path) -> Path:
    return write(d, "noid.csv", csv_text([*valid_lines(5), row(90, event_id="")]))


@entry("ragged lines")
def _(d: Path) -> Path:
    return write(
        d, "ragged.csv", csv_text([*valid_lines(5), "e90,2025-03-01 10:00:00,hateful_behavior", row(91) + ",extra"])
    )


@entry("quoted fields with line breaks and commas")
def _(d: Path) -> Path:
    return write(d, "quoted.csv", csv_text([*valid_lines(4), row(90, policy='"hate\nspeech, new"')]))


@entry("an unterminated quote")
def _(d: Path) -> Path:
    return write(d, "unterminated.csv", csv_text([*valid_lines(4), row(90, policy='"hate_speech')]))


@entry("semicolons")
def _(d: Path) -> Path:
    return write(d, "semi.csv", csv_text(valid_lines(6)).replace(",", ";"))


@entry("NUL bytes")
def _(d: Path) -> Path:
    return write(d, "nul.csv", csv_text([*valid_lines(4), row(90, policy="hate\x00speech")]))


@entry("a one-megabyte field")
def _(d: Path) -> Path:
    return write(d, "longfield.csv", csv_text([*valid_lines(4), row(90, policy="x" * 1_000_000)]))


@entry("formula injection values")
def _(d: Path) -> Path:
    lines = [
        *valid_lines(4),
        row(90, policy='"=HYPERLINK(""http://evil.example"",""x"")"'),
        row(91, language="@SUM(A1)"),
        row(92, action="+cmd|' /C calc'!A0"),
    ]
    return write(d, "formula.csv", csv_text(lines))


@entry("markdown and HTML in codes")
def _(d: Path) -> Path:
    lines = [
        *valid_lines(4),
        row(90, policy="[Session expired](http://evil.example)"),
        row(91, content_type="<a href='http://evil.example'>x</a>"),
    ]
    return write(d, "markup.csv", csv_text(lines))


@entry("latin-1 bytes in a UTF-8 file")
def _(d: Path) -> Path:
    return write(d, "latin1.csv", csv_text([*valid_lines(3), row(90, policy="haine_é")]).encode("latin-1"))


@entry("a byte-order mark")
def _(d: Path) -> Path:
    return write(d, "bom.csv", "\ufeff" + csv_text(valid_lines(4)))


@entry("only a header")
def _(d: Path) -> Path:
    return write(d, "header.csv", HEADER + "\n")


@entry("an empty file")
def _(d: Path) -> Path:
    return write(d, "empty.csv", "")


@entry("a blank first line")
def _(d: Path) -> Path:
    return write(d, "blankheader.csv", "\n" + csv_text(valid_lines(3)))


@entry("a million columns")
def _(d: Path) -> Path:
    return write(
        d,
        "wide.csv",
        ",".join(f"c{i}" for i in range(1_000_000)) + "\n" + ",".join("1" for _ in range(1_000_000)) + "\n",
    )


@entry("gzip CSV")
def _(d: Path) -> Path:
    return write(d, "events.csv.gz", gzip.compress(csv_text(valid_lines(10)).encode()))


#: How much a bomb unpacks to, in MiB (set above HARM_INSIGHTS_MAX_DECOMPRESSED_MB in the tests).
BOMB_MB = 1024


@entry("gzip bomb")
def _(d: Path) -> Path:
    path = d / "bomb.csv.gz"
    chunk = b"0" * (16 * 1024 * 1024)
    with gzip.open(path, "wb", compresslevel=1) as stream:
        stream.write(HEADER.encode() + b"\n")
        for _ in range(BOMB_MB // 16):
            stream.write(chunk)
    return path


@entry("zip bomb named like a DSA dump")
def _(d: Path) -> Path:
    buffer = io.BytesIO()
    chunk = b"0" * (16 * 1024 * 1024)
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
        archive.open("sor-global-2024-03-14-full-00000.csv", "w", force_zip64=True) as part,
    ):
        for _ in range(BOMB_MB // 16):
            part.write(chunk)
    return write(d, "sor-global-2024-03-14-full.zip", buffer.getvalue())


@entry("not a CSV at all")
def _(d: Path) -> Path:
    return write(d, "binary.csv", bytes(range(256)) * 40)


@entry("pre-aggregated with fractional, negative, NaN and huge counts")
def _(d: Path) -> Path:
    text = (
        "date,harm_area,country,actions,appeals\n"
        + "\n".join(
            [
                "2025-03-01,hateful_behavior,FR,10,1",
                "2025-03-02,hateful_behavior,FR,2.5,0",
                "2025-03-03,hateful_behavior,FR,-4,0",
                "2025-03-04,hateful_behavior,FR,NaN,0",
                "2025-03-05,hateful_behavior,FR,1e308,0",
                "2025-03-06,hateful_behavior,,7,",
                "2025-03-07,self_harm,DE,5,1",
            ]
        )
        + "\n"
    )
    return write(d, "aggregate.csv", text)


# ---- Parquet ---------------------------------------------------------------------------------


def _events_frame(n: int = 12) -> pl.DataFrame:
    return pl.read_csv(io.StringIO(csv_text(valid_lines(n))), infer_schema=False)


@entry("Parquet: appealed as floats 1.0, 0.0 and 0.5")
def _(d: Path) -> Path:
    frame = _events_frame(6).with_columns(appealed=pl.Series([1.0, 0.0, 0.5, None, 1.0, 0.0]))
    frame.write_parquet(d / "floatflags.parquet")
    return d / "floatflags.parquet"


@entry("Parquet: views as floats with NaN and a fraction")
def _(d: Path) -> Path:
    frame = _events_frame(5).with_columns(views_before_action=pl.Series([1.0, float("nan"), 2.5, None, 3.0]))
    frame.write_parquet(d / "floatviews.parquet")
    return d / "floatviews.parquet"


@entry("Parquet: a list column")
def _(d: Path) -> Path:
    frame = _events_frame(3).with_columns(policy=pl.Series([["hate_speech"], ["slurs", "x"], []]))
    frame.write_parquet(d / "list.parquet")
    return d / "list.parquet"


@entry("Parquet: a struct column")
def _(d: Path) -> Path:
    frame = _events_frame(3).with_columns(country=pl.Series([{"iso": "FR"}, {"iso": "DE"}, {"iso": None}]))
    frame.write_parquet(d / "struct.parquet")
    return d / "struct.parquet"


@entry("Parquet: truncated (corrupted pages)")
def _(d: Path) -> Path:
    buffer = io.BytesIO()
    _events_frame(2000).write_parquet(buffer, compression="uncompressed")
    data = buffer.getvalue()
    damaged = data[:100] + bytes(b ^ 0xFF for b in data[100:4000]) + data[4000:]
    return write(d, "corrupt.parquet", damaged)


@entry("Parquet: no rows")
def _(d: Path) -> Path:
    _events_frame(3).head(0).write_parquet(d / "norows.parquet")
    return d / "norows.parquet"


@entry("Parquet: timestamps with a time zone and actioned_at as integers")
def _(d: Path) -> Path:
    frame = _events_frame(4).with_columns(
        actioned_at=pl.Series([dt.datetime(2025, 3, 1, 10, tzinfo=dt.UTC)] * 4),
        created_at=pl.Series([1, 2, 3, 4]),
    )
    frame.write_parquet(d / "tz.parquet")
    return d / "tz.parquet"


@entry("Parquet: huge unsigned views")
def _(d: Path) -> Path:
    frame = _events_frame(3).with_columns(views_before_action=pl.Series([1, 2**63 + 5, 3], dtype=pl.UInt64))
    frame.write_parquet(d / "uint.parquet")
    return d / "uint.parquet"


@entry("Parquet: categorical columns and decimal views")
def _(d: Path) -> Path:
    frame = _events_frame(4).with_columns(
        pl.col("harm_area", "country").cast(pl.Categorical),
        views_before_action=pl.Series([1, 2, 3, 4]).cast(pl.Decimal(10, 2)),
    )
    frame.write_parquet(d / "categorical.parquet")
    return d / "categorical.parquet"


@entry("a folder mixing CSV and Parquet with a duplicate id across files")
def _(d: Path) -> Path:
    folder = d / "mixed"
    folder.mkdir()
    write(folder, "a.csv", csv_text(valid_lines(5)))
    _events_frame(3).write_parquet(folder / "b.parquet")  # ids e0..e2 again
    return folder
