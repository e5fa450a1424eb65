"""The ``harm-insights`` command: serve the app, load a source and say what was loaded, run benchmarks.

    harm-insights serve [--port 8501] [--address localhost]
    harm-insights load PATH_OR_URL [--kind KIND] [--engine ENGINE]
        [--table T | --query SQL] [--map THEIRS=CANONICAL ...]
    harm-insights bench [NAME ...]          # the benchmark scripts in bench/ (default: cube, tcpd, rca)
    harm-insights digest --as-of DATE ...    # render (and with --send deliver) the due digests
    harm-insights schedule ...               # stay up and send digests when their cadences are due

``serve`` and ``bench`` run from a checkout of the project (where ``app.py`` and ``bench/`` are);
``load`` works wherever the package is installed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from insights.errors import DataError

#: Benchmarks ``harm-insights bench`` runs when none is named.
DEFAULT_BENCHMARKS = ("cube", "tcpd", "rca")


def checkout() -> Path | None:
    """The current folder, or the checkout this package runs from, if it holds ``app.py`` and ``pages/``."""
    for folder in (Path.cwd(), Path(__file__).resolve().parents[1]):
        if (folder / "app.py").is_file() and (folder / "pages").is_dir():
            return folder
    return None


def _need_checkout() -> Path:
    root = checkout()
    if root is None:
        raise SystemExit("harm-insights: run this from a checkout of the project (a folder with app.py and pages/)")
    return root


def serve(args: argparse.Namespace) -> int:
    """Run the Streamlit app (the same as ``make run`` once the sample data exists)."""
    root = _need_checkout()
    command = [
        sys.executable, "-m", "streamlit", "run", str(root / "app.py"),
        "--server.port", str(args.port), "--server.address", args.address,
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    return subprocess.call(command, cwd=root)


def load(args: argparse.Namespace) -> int:
    """Load a source and print its provenance as JSON (rows read, rejected and why, caveats)."""
    from insights.sources.registry import load_source

    options: dict[str, Any] = {}
    if args.table:
        options["table"] = args.table
    if args.query:
        options["query"] = args.query
    if args.map:
        options["columns"] = dict(pair.split("=", 1) for pair in args.map)
    try:
        cube = load_source(args.source, kind=args.kind, engine=args.engine, **options)
    except DataError as error:
        print(f"harm-insights: {error}", file=sys.stderr)
        return 1
    provenance = cube.provenance
    print(
        json.dumps(
            {
                "source": provenance.source,
                "kind": provenance.kind,
                "as_of": provenance.as_of.isoformat() if provenance.as_of else None,
                "rows_read": provenance.rows_read,
                "rows_rejected": provenance.rows_rejected,
                "rejection_reasons": provenance.rejection_reasons,
                "dimensions": list(cube.dimensions),
                "metrics": cube.available_metrics(),
                "caveats": [
                    {"date": c.date.isoformat() if c.date else None, "kind": c.kind, "text": c.text}
                    for c in provenance.caveats
                ],
            },
            indent=2,
        )
    )
    return 0


def bench(args: argparse.Namespace) -> int:
    """Run benchmark scripts (``python -m bench.<name>``) and pass their exit status on."""
    root = _need_checkout()
    names = args.names or list(DEFAULT_BENCHMARKS)
    unknown = [n for n in names if not (root / "bench" / f"{n}.py").is_file()]
    if unknown:
        known = sorted(p.stem for p in (root / "bench").glob("*.py") if not p.stem.startswith("_"))
        print(f"harm-insights: no benchmark {unknown}; known: {known}", file=sys.stderr)
        return 2
    status = 0
    for name in names:
        status = status or subprocess.call([sys.executable, "-m", f"bench.{name}"], cwd=root)
    return status


def parser() -> argparse.ArgumentParser:
    """The command line of ``harm-insights``."""
    top = argparse.ArgumentParser(prog="harm-insights", description=__doc__.splitlines()[0] if __doc__ else None)
    commands = top.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="serve the app")
    run.add_argument("--port", type=int, default=8501)
    run.add_argument("--address", default="localhost", help="address to bind (default: localhost only)")
    run.set_defaults(handler=serve)
    source = commands.add_parser("load", help="load a source and print what was loaded and rejected")
    source.add_argument("source", help="a file, a folder of files or a SQLAlchemy URL")
    source.add_argument("--kind", help="force an importer (e.g. tiktok_cger, meta_cser, dsa_statements)")
    source.add_argument("--engine", help="where questions run: polars, duckdb, spark (default: by size and source)")
    source.add_argument("--table", help="SQL: the table to read")
    source.add_argument("--query", help="SQL: the query to read")
    source.add_argument("--map", nargs="*", metavar="THEIRS=CANONICAL", help="map column names")
    source.set_defaults(handler=load)
    benchmarks = commands.add_parser("bench", help="run benchmarks and print their tables")
    benchmarks.add_argument("names", nargs="*", help=f"benchmark names (default: {' '.join(DEFAULT_BENCHMARKS)})")
    benchmarks.set_defaults(handler=bench)
    for name, text in DIGEST_COMMANDS.items():
        commands.add_parser(name, help=text, add_help=False)  # their own parsers read the rest
    return top


#: Commands with a parser of their own in ``insights.digest.cli``.
DIGEST_COMMANDS = {
    "digest": "render (and with --send deliver) every due digest; --help for its options",
    "schedule": "run until stopped, sending digests when their cadences are due; --help for its options",
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``harm-insights`` console script."""
    words = list(sys.argv[1:] if argv is None else argv)
    if words and words[0] in DIGEST_COMMANDS:
        from insights.digest.cli import digest_command, schedule_command

        command = digest_command if words[0] == "digest" else schedule_command
        return command(words[1:])
    args = parser().parse_args(words)
    status: int = args.handler(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
