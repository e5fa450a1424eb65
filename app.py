"""Harm Insights: the Streamlit entry point (navigation and page frame).

Run with ``make run`` (prepares the sample data, then ``streamlit run app.py``).
"""

import streamlit as st

st.set_page_config(page_title="Harm Insights", page_icon="🛡️", layout="wide")

navigation = st.navigation(
    {
        "Leadership": [st.Page("pages/overview.py", title="Overview", icon="📊", default=True)],
    }
)
st.sidebar.caption("Harm Insights · Trust & Safety enforcement analytics")
navigation.run()
