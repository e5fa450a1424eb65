"""Harm Insights: the Streamlit entry point (navigation, shared filters, deck export).

Run with ``make run`` (prepares the sample data, then ``streamlit run app.py``).
"""

import streamlit as st

from insights import DataError
from pages import common

st.set_page_config(page_title="Harm Insights", page_icon="🛡️", layout="wide")

PAGES = {
    "Leadership": [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("pages/regional.py", title="Regional", icon=":material/public:"),
    ],
    "Explore": [
        st.Page("pages/trends.py", title="Trends", icon=":material/show_chart:"),
        st.Page("pages/root_cause.py", title="Root cause", icon=":material/troubleshoot:"),
        st.Page("pages/deep_dive.py", title="Harm area deep dive", icon=":material/search_insights:"),
    ],
    "Data": [st.Page("pages/data.py", title="Data", icon=":material/database:")],
}

navigation = st.navigation(PAGES)
st.session_state["page_path"] = navigation.url_path
st.session_state.update(deck_charts={}, deck_kpis=[], deck_narrative="", page_title=navigation.title)
try:
    data = common.cube()
except DataError as error:
    st.error(f"The data source could not be loaded: {error}", icon=":material/error:")
    st.session_state.pop("source", None)
    st.page_link("pages/data.py", label="Choose another source on the Data page")
    st.stop()
st.session_state["view"] = common.sidebar_filters(data)
navigation.run()
common.deck_export(data, st.session_state["view"])
