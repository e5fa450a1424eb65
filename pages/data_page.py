"""Data: choose the source, see what was loaded, what was rejected and why, and the caveats."""

import polars as pl
import streamlit as st

from insights import DataError
from insights.model import taxonomy_table
from pages.common import SAMPLE, keep_upload, load_cube, source_key, start_page

page = start_page()
data = page.data
page.header("Data", "Choose the source; the rows read, the rows rejected and why, the caveats.")

with st.container(border=True):
    st.subheader("Source")
    kind = st.radio(
        "Load from", ["Bundled sample", "Upload a file", "Path on the server", "SQL database"], horizontal=True
    )
    chosen, options = None, {}
    if kind == "Bundled sample":
        chosen = str(SAMPLE)
    elif kind == "Upload a file":
        upload = st.file_uploader(
            "CSV or Parquet (event-level or pre-aggregated), or a public report file (TikTok CGER, Meta CSER, EU DSA)",
            type=["csv", "parquet", "zip"],
        )
        if upload is not None:
            chosen = str(keep_upload(upload))
    elif kind == "Path on the server":
        chosen = st.text_input("File or folder", placeholder="/data/enforcement/events/") or None
    else:
        chosen = (
            st.text_input("SQLAlchemy URL", placeholder="postgresql+psycopg://user:password@host/db", type="password")
            or None
        )
        table = st.text_input("Table (or leave empty and give a query)")
        query = st.text_area("Query")
        options = {"table": table} if table else {"query": query} if query else {}
    if kind != "SQL database":
        engine = st.selectbox(
            "Engine",
            ["auto", "polars", "duckdb", "spark"],
            help="Where questions run: auto picks DuckDB for large Parquet events, else Polars in memory",
        )
        if engine != "auto":
            options["engine"] = engine
    mapping_text = st.text_area(
        "Column mapping (one `their name = canonical name` per line)",
        placeholder="decided_at = actioned_at\ncategory = policy",
    )
    mapping = dict(line.split("=", 1) for line in mapping_text.splitlines() if "=" in line)
    if mapping:
        options["columns"] = {k.strip(): v.strip() for k, v in mapping.items()}
    if chosen and st.button("Load", type="primary"):
        try:
            load_cube(chosen, source_key(options))
            st.session_state["source"], st.session_state["source_options"] = chosen, options
            st.rerun()
        except DataError as error:
            st.error(str(error), icon=":material/error:")

provenance = data.provenance
st.subheader("What was loaded")
cols = st.columns(4)
cols[0].metric("Rows read", f"{provenance.rows_read:,}")
cols[1].metric("Rows rejected", f"{provenance.rows_rejected:,}")
cols[2].metric("Engine", data.engine)
cols[3].metric("Data as of", str(provenance.as_of))
st.caption(
    f"Source: {provenance.source} · kind: {provenance.kind} · loaded {provenance.loaded_at:%Y-%m-%d %H:%M} UTC · "
    f"dimensions: {', '.join(data.dimensions)} · metrics available: {len(data.available_metrics())}"
)
if provenance.rows_rejected:
    st.subheader("Rejected rows")
    reasons = pl.DataFrame(
        {"reason": list(provenance.rejection_reasons), "rows": list(provenance.rejection_reasons.values())}
    )
    st.dataframe(reasons, hide_index=True)
    st.dataframe(provenance.rejected.head(1000), hide_index=True)
    st.download_button(
        "Download rejected rows (CSV)",
        data=lambda: provenance.rejected.write_csv().encode(),
        file_name="rejected-rows.csv",
        on_click="ignore",
    )
if provenance.caveats:
    st.subheader("Caveats")
    st.dataframe(
        pl.DataFrame(
            [{"date": c.date, "kind": c.kind, "harm area": c.harm_area, "caveat": c.text} for c in provenance.caveats]
        ),
        hide_index=True,
    )
with st.expander("Harm-area taxonomy"):
    st.dataframe(pl.DataFrame(taxonomy_table()), hide_index=True)
page.finish()
