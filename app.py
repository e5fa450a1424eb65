"""Harm Insights: the Streamlit entry point (page config and navigation).

Run with ``make run`` (prepares the sample data, then ``streamlit run app.py``). Every page
starts with ``pages.common.current()``, which draws the shared sidebar filters (state kept in
the URL) and ends with ``pages.common.finish()``, which offers the deck export.
"""

import streamlit as st

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
st.session_state.update(page_path=navigation.url_path, page_title=navigation.title)
navigation.run()
