"""Data: choose the source, see what was loaded, what was rejected and why, and the caveats.

Everyone may load the bundled sample or a file of their own (for their session only); server
paths and SQL databases are an admin's choice. The source chooser comes before the data is
loaded, so a source that fails (even the one configured at start-up) leaves this page usable.
"""

import polars as pl
import streamlit as st

from insights import DataError
from insights.export import safe_csv
from insights.model import taxonomy_table
from pages.common import SAMPLE, audited, keep_upload, load_cube, source_key, start_page
from pages.signin import require_scope

scope = require_scope()
st.title("Data")
st.caption("Choose the source; the rows read, the rows rejected and why, the caveats.")

with st.container(border=True):
    st.subheader("Source")
    kinds = ["Bundled sample", "Upload a file"] + (["Path on the server", "SQL database"] if scope.admin else [])
    kind = st.radio("Load from", kinds, horizontal=True)
    chosen, options = None, {}
    try:
        if kind == "Bundled sample":
            chosen = str(SAMPLE)
        elif kind == "Upload a file":
            upload = st.file_uploader(
                "CSV or Parquet (event-level or pre-aggregated), or a public report file "
                "(TikTok CGER, Meta CSER, EU DSA); it stays in your session only",
                type=["csv", "parquet", "zip", "gz"],
            )
            if upload is not None:
                chosen = str(keep_upload(upload))
        elif kind == "Path on the server":
            chosen = (
                st.text_input(
                    "File or folder",
                    placeholder="/data/enforcement/events/",
                    help="Under a folder listed in HARM_INSIGHTS_DATA_ROOTS",
                )
                or None
            )
        else:
            chosen = (
                st.text_input(
                    "SQLAlchemy URL",
                    placeholder="postgresql+psycopg://user:password@host/db",
                    type="password",
                    help="A database listed in HARM_INSIGHTS_SQL_ALLOW; read-only sessions",
                )
                or None
            )
            table = st.text_input("Table (or leave empty and give a query)")
            query = st.text_area("Query")
            options = {"table": table} if table else {"query": query} if query else {}
        if kind in ("Path on the server", "SQL database"):
            options["confined"] = True  # under the data roots, or an allowlisted database, read-only
        mapping_text = st.text_area(
            "Column mapping (one `their name = canonical name` per line)",
            placeholder="decided_at = actioned_at\ncategory = policy",
        )
        mapping = dict(line.split("=", 1) for line in mapping_text.splitlines() if "=" in line)
        if mapping:
            options["columns"] = {k.strip(): v.strip() for k, v in mapping.items()}
        if kind != "SQL database":
            engine = st.selectbox(
                "Engine",
                ["auto", "polars", "duckdb", "spark"],
                help="Where questions run: auto picks DuckDB for large Parquet events, else Polars in memory",
            )
            if engine != "auto":
                options["engine"] = engine
        if chosen and st.button("Load", type="primary"):
            load_cube(chosen, source_key(options))
            st.session_state["source"], st.session_state["source_options"] = chosen, options
            st.rerun()
    except DataError as error:
        st.error(str(error), icon=":material/error:")

page = start_page()
data = page.data
provenance = data.provenance
st.subheader("What was loaded")
cols = st.columns(4)
if scope.admin:
    cols[0].metric("Rows read", f"{provenance.rows_read:,}")
    cols[1].metric("Rows rejected", f"{provenance.rows_rejected:,}")
cols[2].metric("Engine", data.engine)
cols[3].metric("Data as of", str(provenance.as_of))
if scope.admin and provenance.conserved is not None:
    accepted = provenance.rows_accepted or 0
    line = (
        f"{provenance.rows_read:,} rows read = {accepted:,} in the cube + {provenance.rows_rejected:,} rejected"
        if provenance.conserved
        else f"{provenance.rows_read:,} rows read, but {accepted:,} in the cube + {provenance.rows_rejected:,} "
        f"rejected = {accepted + provenance.rows_rejected:,}: rows are missing — report this file"
    )
    (st.success if provenance.conserved else st.error)(line, icon=":material/rule:")
st.caption(
    f"Source: {provenance.source if scope.admin else '(hidden)'} · kind: {provenance.kind} · "
    f"loaded {provenance.loaded_at:%Y-%m-%d %H:%M} UTC · dimensions: {', '.join(data.dimensions)} · "
    f"metrics available: {len(data.available_metrics())}"
)
if scope.admin and provenance.rows_rejected:
    st.subheader("Rejected rows")
    reasons = pl.DataFrame(
        {"reason": list(provenance.rejection_reasons), "rows": list(provenance.rejection_reasons.values())}
    )
    st.dataframe(reasons, hide_index=True)
    st.dataframe(provenance.rejected.head(1000), hide_index=True)
    if scope.export:
        st.download_button(
            "Download rejected rows (CSV)",
            data=audited(
                scope, "export", {"table": "rejected rows", "format": "csv"}, lambda: safe_csv(provenance.rejected)
            ),
            file_name="rejected-rows.csv",
            mime="text/csv",
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
