"""Harm area deep dive: policies, detection sources, content types, time to action, appeals and overturns."""

from insights import charts
from insights.labels import label
from pages.common import chart_columns, start_page

page = start_page()
data, view = page.data, page.view
areas = ", ".join(label("harm_area", h) for h in view.harm_areas) or "all harm areas"
page.header(f"Deep dive: {areas}", "Policies, detection sources, content types, time to action, appeals and overturns.")
if not page.has_data():
    page.stop()
window = {"filters": view.filters, "start": view.start, "end": view.end}

left, right = chart_columns("deep_dive_policies")
with left:
    if "policy" in data.dimensions:
        page.show(
            charts.breakdown(data.query("actions", by=["policy"], **window), "policy", "actions", key="deep_policies"),
            drill="policy",
        )
with right:
    if "detection_source" in data.dimensions:
        page.show(
            charts.breakdown(
                data.query("actions", by=["detection_source"], **window),
                "detection_source",
                "actions",
                key="deep_sources",
            ),
            drill="detection_source",
        )
left, right = chart_columns("deep_dive_content")
with left:
    if "content_type" in data.dimensions:
        page.show(
            charts.breakdown(
                data.query("actions", by=["content_type"], **window), "content_type", "actions", key="deep_content"
            ),
            drill="content_type",
        )
with right:
    speed = [m for m in ("within_1h_rate", "within_24h_rate", "within_7d_rate") if m in data.available_metrics()]
    if speed:
        shares = data.query(speed, by=["harm_area"], **window)
        page.show(charts.time_to_action(shares, speed, key="deep_time_to_action"), drill="harm_area")
events = page.events(view.start, view.end)
for name in [m for m in ("appeal_rate", "overturn_rate") if m in data.available_metrics()]:
    series = data.query(name, by=["harm_area"], grain=view.grain, **window)
    page.show(
        charts.trend(series, name, by="harm_area", events=events, caveats=data.provenance.caveats, key=f"deep_{name}")
    )
page.caveats()
page.finish()
