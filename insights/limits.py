"""Limits on what one input may cost before it is parsed: bytes uploaded, bytes once decompressed,
columns in a header, files and bytes of a source on the server. Past a limit the input is refused
with a ``DataError`` naming the limit and the setting that raises it, so a crafted file (a zip
bomb, a million-column header) or a careless path (a whole disk) cannot take the server's memory
or time.

Each limit is read from the environment (``HARM_INSIGHTS_MAX_UPLOAD_MB``,
``HARM_INSIGHTS_MAX_DECOMPRESSED_MB``, ``HARM_INSIGHTS_MAX_COLUMNS``,
``HARM_INSIGHTS_MAX_SERVER_FILES``, ``HARM_INSIGHTS_MAX_SERVER_MB``) when it is checked.
"""

from __future__ import annotations

import gzip
import io
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from insights.errors import DataError

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one input may cost: ``upload_bytes`` as sent, ``decompressed_bytes`` once unpacked
    (per file and for all parts of an archive together), ``columns`` in a header, and for a
    file or folder on the server ``server_files`` (the entries walked: files and sub-folders)
    and ``server_bytes`` (its data files' sizes added up)."""

    upload_bytes: int = 200 * MB
    decompressed_bytes: int = 2048 * MB
    columns: int = 500
    server_files: int = 10_000
    server_bytes: int = 20_480 * MB

    @classmethod
    def from_env(cls) -> Limits:
        """The limits as configured (defaults where a variable is not set)."""
        default = cls()
        return cls(
            upload_bytes=_megabytes("HARM_INSIGHTS_MAX_UPLOAD_MB", default.upload_bytes),
            decompressed_bytes=_megabytes("HARM_INSIGHTS_MAX_DECOMPRESSED_MB", default.decompressed_bytes),
            columns=int(os.environ.get("HARM_INSIGHTS_MAX_COLUMNS", default.columns)),
            server_files=int(os.environ.get("HARM_INSIGHTS_MAX_SERVER_FILES", default.server_files)),
            server_bytes=_megabytes("HARM_INSIGHTS_MAX_SERVER_MB", default.server_bytes),
        )


def _megabytes(variable: str, default: int) -> int:
    value = os.environ.get(variable)
    return default if value is None else int(float(value) * MB)


def check_upload(name: str, size: int, limits: Limits | None = None) -> None:
    """Refuse an upload larger than the configured limit."""
    limit = (limits or Limits.from_env()).upload_bytes
    if size > limit:
        raise DataError(
            f"{name}: the file is {size / MB:,.1f} MB, more than the {limit / MB:,.0f} MB an upload may be "
            "(HARM_INSIGHTS_MAX_UPLOAD_MB); load it from a data folder or a database instead"
        )


def check_columns(name: str, count: int, limits: Limits | None = None) -> None:
    """Refuse a header with more columns than the configured limit (before the file is parsed)."""
    limit = (limits or Limits.from_env()).columns
    if count > limit:
        raise DataError(
            f"{name}: the header has {count:,} columns, more than the {limit:,} a table may have "
            "(HARM_INSIGHTS_MAX_COLUMNS); expected the columns of the canonical model"
        )


def _refuse_decompressed(name: str, limit: int) -> DataError:
    return DataError(
        f"{name}: unpacks to more than {limit / MB:,.0f} MB (HARM_INSIGHTS_MAX_DECOMPRESSED_MB); "
        "a compressed file this large is refused before it is read"
    )


def gunzip(name: str, data: bytes, limits: Limits | None = None) -> bytes:
    """A gzip file's content, read in chunks and refused as soon as it passes the limit."""
    limit = (limits or Limits.from_env()).decompressed_bytes
    out = io.BytesIO()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            while chunk := stream.read(MB):
                out.write(chunk)
                if out.tell() > limit:
                    raise _refuse_decompressed(name, limit)
    except (OSError, EOFError) as exc:
        raise DataError(f"{name}: not a readable gzip file ({exc})") from None
    return out.getvalue()


def zip_members(name: str, data: bytes, budget: list[int], limits: Limits | None = None) -> Iterator[tuple[str, bytes]]:
    """The files of a zip archive as (name, bytes), in name order, one at a time, each read in
    chunks; ``budget`` (one mutable number shared by nested archives) is what may still be
    unpacked in all."""
    limit = (limits or Limits.from_env()).decompressed_bytes
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise DataError(f"{name}: not a readable zip archive ({exc})") from None
    with archive:
        for member in sorted(archive.infolist(), key=lambda m: m.filename):
            if member.is_dir():
                continue
            out = io.BytesIO()
            try:
                with archive.open(member) as stream:
                    while chunk := stream.read(MB):
                        out.write(chunk)
                        budget[0] -= len(chunk)
                        if budget[0] < 0:
                            raise _refuse_decompressed(name, limit)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise DataError(f"{name}: {member.filename} cannot be unpacked ({exc})") from None
            yield member.filename, out.getvalue()


def unpack_budget(limits: Limits | None = None) -> list[int]:
    """A fresh budget for ``zip_members``: what one archive, nested parts included, may unpack to."""
    return [(limits or Limits.from_env()).decompressed_bytes]
