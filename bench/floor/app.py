"""The floor under every page's first chart: a Streamlit app that draws one Plotly line and
nothing else (``bench/browser.py`` times it beside the app's pages, in the same browser)."""

import plotly.graph_objects as go
import streamlit as st

st.set_page_config(page_title="Floor", layout="wide")
st.plotly_chart(go.Figure(go.Scatter(x=list(range(100)), y=list(range(100)), mode="lines")))
