"""A Streamlit app that draws one Plotly line with Streamlit's own Plotly element and nothing
else: the floor under a page's first chart drawn that way (``bench/browser.py`` times it beside
the app's pages, in the same browser; the pages draw theirs with ``pages/chart_element.py``)."""

import plotly.graph_objects as go
import streamlit as st

st.set_page_config(page_title="Floor", layout="wide")
st.plotly_chart(go.Figure(go.Scatter(x=list(range(100)), y=list(range(100)), mode="lines")))
