"""Benchmark: eight signed-in sessions at once, each with another scope, in headless Chromium.

    python -m bench.sessions
    python -m bench.sessions --rounds 5 --source PATH

Starts the local OpenID provider and a real `streamlit run` of the app with sign-in, the access
policy of the sign-in tests (``tests/app/signin.py``: eight users, eight scopes) and an audit log
of its own (a SQLite file in a temporary folder, the app's default kind of log). First the
admin's session loads the source (untimed: a server that has been up a while); then each round
signs the eight users in at once, each in a browser context of their own, and opens every page of
``PAGES`` once in each session. Per round and overall: the median and 95th percentile of the time
from opening a page to its first drawn chart, the errors (timeouts, exceptions on screen), the
cross-talk (the name of a harm area or country outside a session's scope found in the text of its
pages; what a scope may see is worked out from the data and ``Scope.admits``, not from the app)
and the server's peak resident memory (the streamlit process and all its children, from
``/proc``, sampled every 0.2 s while the round runs). Then the audit log the sessions wrote: its
records per page opened and whether its chain checks (each page a session opens is a Streamlit
session of its own, so a sign-in record and a page-view record). Exit status 1 on any error or
cross-talk.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import logging
import os
import re
import statistics
import tempfile
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import insights
from insights.access import parse_policy
from insights.audit import AuditLog
from insights.labels import label
from tests.app.browser import chromium, first_chart_visible
from tests.app.signin import (
    SESSION_GROUPS,
    SESSION_POLICY,
    SESSION_USERS,
    SessionRun,
    concurrent_sessions,
    sign_in,
    signed_in_app,
)

ROOT = Path(__file__).resolve().parents[1]
PAGES = {"Overview": "", "Regional": "regional", "Trends": "trends"}
#: Dimensions whose values a scope restricts, and whose names must not show outside it.
GUARDED = ("harm_area", "country")
SAMPLE_SECONDS = 0.2
#: The user whose session loads the source before the rounds (the admin sees all of it).
ADMIN = list(SESSION_USERS)[SESSION_GROUPS.index("admins")]


def tree_rss(pid: int) -> int:
    """Resident memory (bytes) of a process and all its descendants, read from ``/proc``."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, ()))
        with contextlib.suppress(OSError):
            total += int(Path(f"/proc/{current}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return total


@contextlib.contextmanager
def peak_rss(pid: int) -> Iterator[list[int]]:
    """Sample ``tree_rss(pid)`` in a thread while the block runs; yields a one-item list holding
    the peak so far (final when the block ends)."""
    peak = [tree_rss(pid)]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(SAMPLE_SECONDS):
            peak[0] = max(peak[0], tree_rss(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        done.set()
        sampler.join()


def warm_up(url: str, timeout: float = 600_000) -> None:
    """The admin signs in and waits for the first chart: the server has loaded the source, as a
    server that has been up a while has."""
    with chromium() as browser:
        page = browser.new_page()
        sign_in(page, url, ADMIN, timeout)
        first_chart_visible(page, timeout)


def forbidden_names(source: Path) -> dict[str, set[str]]:
    """For each session user, the display names of the harm areas and countries in the data that
    no cell of their scope admits: the names their pages must never show."""
    policy = parse_policy(tomllib.loads(SESSION_POLICY))
    cells = insights.load_source(source).query("actions", by=["harm_area", "region", "country"]).to_dicts()
    out = {}
    for sub, claims in SESSION_USERS.items():
        scope = policy.scope_for({"email_verified": True, **claims})
        assert scope is not None, f"{sub} has no scope in SESSION_POLICY"
        seen = [cell for cell in cells if scope.admits(cell)]
        out[sub] = {
            label(dimension, code)
            for dimension in GUARDED
            for code in {cell[dimension] for cell in cells} - {cell[dimension] for cell in seen}
        }
    return out


def cross_talk(run: SessionRun, forbidden: set[str]) -> list[str]:
    """The forbidden names found (as whole words) in the text of a session's pages."""
    text = "\n".join(run.text.values())
    return sorted(name for name in forbidden if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text))


@dataclass
class Round:
    """One round: every session's run, the cross-talk found in each, the server's peak memory."""

    runs: list[SessionRun]
    leaks: dict[str, list[str]]
    peak_bytes: int

    @property
    def times(self) -> list[float]:
        return [t for run in self.runs for t in run.first_chart.values()]

    @property
    def errors(self) -> list[str]:
        return [f"{run.user}: {error}" for run in self.runs for error in run.errors]


def row(name: str, times: list[float], errors: int, leaks: int, peak_bytes: int, sessions: int) -> str:
    """One line of the table."""
    median = statistics.median(times) if times else float("nan")
    p95 = statistics.quantiles(times, n=20)[-1] if len(times) > 1 else float("nan")
    mb = peak_bytes / 2**20
    return f"{name:<7} {sessions:>8} {len(times):>10} {median:>9.2f} {p95:>7.2f} {errors:>7} {leaks:>11} {mb:>14,.0f}"


HEADER = (
    f"{'round':<7} {'sessions':>8} {'page views':>10} {'median s':>9} {'p95 s':>7} {'errors':>7} "
    f"{'cross-talk':>11} {'server peak MB':>14}"
)


def report(rounds: list[Round], idle_bytes: int) -> tuple[list[str], list[str]]:
    """Print the table (per round, then all rounds); returns the errors and the cross-talk found."""
    print(f"{len(SESSION_USERS)} signed-in sessions at once; pages: {', '.join(PAGES)}")
    print(f"server resident memory with the source loaded, before the rounds: {idle_bytes / 2**20:,.0f} MB\n")
    print(HEADER)
    for number, one in enumerate(rounds, 1):
        leaked = sum(map(bool, one.leaks.values()))
        print(row(str(number), one.times, len(one.errors), leaked, one.peak_bytes, len(one.runs)))
    times = [t for one in rounds for t in one.times]
    errors = [e for one in rounds for e in one.errors]
    leaks = [f"{user}: {', '.join(names)}" for one in rounds for user, names in one.leaks.items() if names]
    peak = max(one.peak_bytes for one in rounds)
    print(row("all", times, len(errors), len(leaks), peak, sum(len(one.runs) for one in rounds)))
    print("first chart: seconds from opening a page to its first drawn chart")
    print("cross-talk: sessions whose pages showed a harm area or country outside their scope")
    for line in errors + [f"cross-talk {leak}" for leak in leaks]:
        print(f"  {line}")
    return errors, leaks


def main(argv: list[str] | None = None) -> int:
    """Run the rounds and print the table and the audit log's count."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of eight sessions (default 3)")
    parser.add_argument("--source", type=Path, default=ROOT / "sample_data" / "generated" / "events")
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the provider's request lines

    forbidden = forbidden_names(args.source)
    rounds = []
    with tempfile.TemporaryDirectory() as folder:
        audit_url = f"sqlite:///{Path(folder) / 'audit.db'}"
        os.environ["HARM_INSIGHTS_AUDIT_URL"] = audit_url  # the server inherits it
        with signed_in_app(args.source, SESSION_USERS, SESSION_POLICY, Path(folder)) as (url, server):
            warm_up(url)
            idle = tree_rss(server.pid)
            began = dt.datetime.now(dt.UTC)
            for _ in range(args.rounds):
                with peak_rss(server.pid) as peak:
                    runs = concurrent_sessions(url, PAGES)
                rounds.append(Round(runs, {r.user: cross_talk(r, forbidden[r.user]) for r in runs}, peak[0]))
        log = AuditLog(audit_url)
        actions = sorted(log.records(since=began)["action"].value_counts().rows())
        chain = log.verify()
        log.close()

    errors, leaks = report(rounds, idle)
    opened = args.rounds * len(SESSION_USERS) * len(PAGES)
    recorded = ", ".join(f"{count} {action}" for action, count in actions)
    print(f"\naudit log during the rounds: {recorded} records; {opened} pages opened after sign-in")
    print(f"(each opening is a new Streamlit session); chain {'verified' if chain.ok else 'BROKEN'}")
    return 1 if errors or leaks or not chain.ok else 0


if __name__ == "__main__":
    raise SystemExit(main())
