"""Benchmark the app in a real headless Chromium against `streamlit run` (sample data, 1M events).

    python -m bench.browser [--repeats 7] [--before PATH]

Prints one table: time to the first Plotly chart drawn after opening each page in a new tab
(with the app's static files already in the browser cache, and with an empty cache; KPI numbers
do not count), filter change → updated chart (median), page switch → first chart of the new page
(median), and deck export (the browser's download of a review deck collected from several pages,
at least 8 charts, median; and a deck of 8 charts built in-process).

``--before PATH`` serves a second checkout (e.g. ``git worktree add /tmp/before <commit>``) on
the same data and measures both in the same run, each measure taken on both apps in turn, with
the change in % beside them. For reference, a Streamlit app that draws one chart with
Streamlit's own Plotly element and nothing else is timed too (``bench/floor/app.py``): the floor
the pages had before they drew their charts with their own element (``pages/chart_element.py``).
Targets: first chart ≤ 2.5 s; filter change ≤ 0.35 s median; page switch ≤ 1 s; deck with 8
charts ≤ 5 s; no page more than 10 % slower than before.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

from tests.app.browser import (
    add_to_review_deck,
    chromium,
    first_chart_visible,
    navigate,
    served_app,
    wait_for_app,
    warm_up,
)

ROOT = Path(__file__).resolve().parents[1]

PAGES = {
    "Overview": "",
    "Regional": "regional",
    "Trends": "trends",
    "Root cause": "root_cause",
    "Harm area deep dive": "deep_dive",
}


def chart_title_contains(page, text: str, timeout: float = 30_000) -> None:
    """Wait until some chart title on the page contains ``text`` (in the figure, as older versions
    draw it, or written above it), with the chart drawn."""
    page.wait_for_function(
        "(t) => document.querySelector('.js-plotly-plot g.trace path') && ("
        "[...document.querySelectorAll('.js-plotly-plot .gtitle')].some(e => e.textContent.includes(t))"
        " || [...document.querySelectorAll('[data-testid=stMarkdownContainer] strong')]"
        ".some(e => e.textContent.includes(t)))",
        arg=text,
        timeout=timeout,
        polling="raf",
    )


def first_chart_times(
    browser, urls: dict[str, str], repeats: int, cached: bool, pages: dict[str, str] = PAGES
) -> dict[str, dict[str, float]]:
    """Seconds from opening a page in a new tab (a new Streamlit session) to its first drawn
    chart, median per app and page; the apps take turns on every repeat, so a change in the
    machine's load falls on all of them alike. ``cached``: the browser has the app's static files
    from an earlier visit (someone opening a shared link); otherwise every tab starts with an
    empty cache."""
    viewport = {"width": 1440, "height": 1000}
    shared = {name: browser.new_context(viewport=viewport) for name in urls} if cached else {}
    for name, context in shared.items():
        warm = context.new_page()
        warm.goto(urls[name])
        first_chart_visible(warm)
        warm.close()
    out: dict[str, dict[str, float]] = {name: {} for name in urls}
    for title, path in pages.items():
        times: dict[str, list[float]] = {name: [] for name in urls}
        for _ in range(repeats):
            for name, url in urls.items():
                context = shared.get(name) or browser.new_context(viewport=viewport)
                page = context.new_page()
                start = time.perf_counter()
                page.goto(f"{url}/{path}")
                first_chart_visible(page)
                times[name].append(time.perf_counter() - start)
                page.close()
                if name not in shared:
                    context.close()
        for name, seconds in times.items():
            out[name][title] = statistics.median(seconds)
    for context in shared.values():
        context.close()
    return out


def alternating_times(browser, url: str, repeats: int, steps: list[tuple[str, str, str]]) -> list[float]:
    """Open the Trends page, then click through ``steps`` (where: sidebar test id, text to
    click, chart-title text that shows the click took effect) ``repeats`` times each: seconds
    from each click to the redrawn chart."""
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.goto(f"{url}/trends")
    wait_for_app(page)
    chart_title_contains(page, "per week")
    times = []
    for index in range(repeats * len(steps)):
        where, text, marker = steps[index % len(steps)]
        start = time.perf_counter()
        page.locator(f"[data-testid={where}]").get_by_text(text, exact=True).click()
        chart_title_contains(page, marker)
        times.append(time.perf_counter() - start)
        wait_for_app(page)
    page.close()
    return times


#: The reference: a Streamlit app with one chart in Streamlit's Plotly element (``bench/floor/app.py``).
FLOOR = "one chart in Streamlit's Plotly element"
#: Filter change: the grain, week ↔ month, on the Trends page.
GRAIN_CHANGES = [("stSidebar", "Month", "per month"), ("stSidebar", "Week", "per week")]
#: Page switch: Trends ↔ Regional through the sidebar navigation.
PAGE_SWITCHES = [("stSidebarNav", "Regional", "by country"), ("stSidebarNav", "Trends", "per week")]


def browser_deck_seconds(browser, url: str, at_least: int = 8) -> tuple[float, int]:
    """Add views to the review deck page by page (Regional, Overview, Trends…, moving through the
    sidebar navigation, as a user would) until it holds at least ``at_least`` charts, then click
    "Export review deck" and wait for the download."""
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    page.goto(f"{url}/regional")
    wait_for_app(page)
    charts = 0
    for title, path in (
        ("Regional", "regional"),
        ("Overview", ""),
        ("Trends", "trends"),
        ("Harm area deep dive", "deep_dive"),
    ):
        navigate(page, title, path)
        first_chart_visible(page)
        add_to_review_deck(page)
        button = page.get_by_role("button", name="Export review deck")
        charts = int(button.inner_text().split(", ")[1].split()[0])
        if charts >= at_least:
            break
    start = time.perf_counter()
    with page.expect_download(timeout=60_000) as download:
        button.click()
    download.value.path()
    page.close()
    return time.perf_counter() - start, charts


def deck_times(browser, urls: dict[str, str], repeats: int) -> dict[str, float]:
    """Median seconds of the review deck's export in the browser per app, the apps taking turns on
    every repeat (a server's first export also starts its image renderer: one run of one was
    mostly that)."""
    times: dict[str, list[float]] = {name: [] for name in urls}
    for _ in range(repeats):
        for name, url in urls.items():
            times[name].append(browser_deck_seconds(browser, url)[0])
    return {name: statistics.median(seconds) for name, seconds in times.items()}


def in_process_deck_seconds(source: Path) -> float:
    """Build a deck of 8 charts (4 native line/bar, 4 images incl. a map) in-process."""

    import insights
    from insights import charts, export
    from insights.regional import choropleth_frame

    cube = insights.load_source(source)
    trend = charts.trend(cube.query("actions", by=["harm_area"], grain="week"), "actions", by="harm_area", key="t")
    bars = charts.breakdown(cube.query("actions", by=["country"]), "country", "actions", key="b")
    world = charts.choropleth(choropleth_frame(cube, "actions"), "actions", key="m")
    multiples = charts.small_multiples(
        cube.query("actions", by=["region"], grain="month"), "actions", "region", key="s"
    )
    section = export.Section("Bench", [trend, bars, world, multiples] * 2, [export.Kpi("Actions", "1")])
    deck = export.Deck("Bench", "8 charts", [section])
    export.image_bytes(bars, "png")  # the app keeps kaleido warm; so does this
    start = time.perf_counter()
    export.build_deck(deck)
    return time.perf_counter() - start


def measures(repeats: int) -> list[tuple[str, float, object]]:
    """(name, target seconds, function of a browser and an app's URL giving seconds), in order."""
    found: list[tuple[str, float, object]] = []
    for cached, how in ((True, "cached"), (False, "empty cache")):
        for title in PAGES:
            found.append((f"first chart ({how}): {title}", 2.5, (cached, title)))
    found.append(("filter change → updated chart (median)", 0.35, GRAIN_CHANGES))
    found.append(("page switch → first chart (median)", 1.0, PAGE_SWITCHES))
    found.append(("review deck export in the browser (≥ 8 charts)", 5.0, "deck"))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--source", type=Path, default=ROOT / "sample_data" / "generated" / "events")
    parser.add_argument("--before", type=Path, help="a checkout of an earlier version, measured side by side")
    args = parser.parse_args(argv)
    apps = {"after": ROOT, **({"before": args.before.resolve()} if args.before else {})}
    results: dict[str, dict[str, float]] = {}
    with contextlib.ExitStack() as stack, chromium() as browser:
        urls = {name: stack.enter_context(served_app(args.source, root=root)) for name, root in apps.items()}
        for url in urls.values():
            warm_up(browser, url)
        first_charts = {
            (name, cached): seconds
            for cached in (True, False)
            for name, seconds in first_chart_times(browser, urls, args.repeats, cached).items()
        }
        floor_url = stack.enter_context(served_app(args.source, root=ROOT / "bench" / "floor"))
        floors = {
            cached: first_chart_times(browser, {"floor": floor_url}, args.repeats, cached, {FLOOR: ""})["floor"][FLOOR]
            for cached in (True, False)
        }
        for label, _, how in measures(args.repeats):
            row = results.setdefault(label, {})
            if how == "deck":
                row.update(deck_times(browser, urls, args.repeats))
                continue
            for name, url in urls.items():
                if isinstance(how, tuple):
                    row[name] = first_charts[(name, how[0])][how[1]]
                else:
                    row[name] = statistics.median(alternating_times(browser, url, args.repeats, how))
    targets = {label: target for label, target, _ in measures(args.repeats)}
    for cached, how in ((True, "cached"), (False, "empty cache")):
        label = f"first chart ({how}): {FLOOR}"
        results[label], targets[label] = {"after": floors[cached]}, 2.5
    results["deck export in-process (8 charts, 4 as images)"] = {"after": in_process_deck_seconds(args.source)}
    targets["deck export in-process (8 charts, 4 as images)"] = 5.0
    before = "before" in apps
    header = (
        f"{'measure':<52} {'before':>8} {'after':>8} {'change':>8} {'target':>7}  ok"
        if before
        else (f"{'measure':<52} {'seconds':>8} {'target':>7}  ok")
    )
    print(header)
    for label, row in results.items():
        after, target = row["after"], targets[label]
        ok = "yes" if after <= target else "NO"
        if before and "before" in row:
            change = (after - row["before"]) / row["before"]
            print(f"{label:<52} {row['before']:>8.3f} {after:>8.3f} {change:>+8.1%} {target:>7.2f}  {ok}")
        elif before:
            print(f"{label:<52} {'':>8} {after:>8.3f} {'':>8} {target:>7.2f}  {ok}")
        else:
            print(f"{label:<52} {after:>8.3f} {target:>7.2f}  {ok}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
