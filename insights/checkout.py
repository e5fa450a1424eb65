"""Where the app's files are: a checkout of the project (``app.py`` and ``pages/``), which the
command line serves and the digests link and read the sample from."""

from __future__ import annotations

from pathlib import Path


def checkout() -> Path | None:
    """The current folder, or the checkout this package runs from, if it holds ``app.py`` and ``pages/``."""
    for folder in (Path.cwd(), Path(__file__).resolve().parents[1]):
        if (folder / "app.py").is_file() and (folder / "pages").is_dir():
            return folder
    return None
