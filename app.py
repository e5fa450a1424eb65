"""Harm Insights: the Streamlit entry point (page config, sign-in and navigation).

Run with ``make run`` (prepares the sample data, then ``streamlit run app.py``).

Page files are named ``*_page.py`` and their URL paths set here: Streamlit also registers every
``pages/*.py`` under its file name (the pre-``st.navigation`` convention), and a URL path equal
to a file name would let a rerun run that file without this entry point. Nothing renders before
sign-in when sign-in is configured (``pages.signin``). Every page starts with
``pages.common.start_page()``, which checks the user's scope, loads the data restricted to it and
reads the shared view (kept in the URL), and ends with ``Page.finish()``, which writes the URL,
draws the sidebar filters and offers the deck export.
"""

import streamlit as st

from insights import DataError
from pages.common import question_failed
from pages.signin import account_note, require_scope

st.set_page_config(page_title="Harm Insights", page_icon="🛡️", layout="wide")

scope = require_scope()
PAGES = {
    "Leadership": [
        st.Page(
            "pages/overview_page.py", title="Overview", icon=":material/dashboard:", url_path="overview", default=True
        ),
        st.Page("pages/regional_page.py", title="Regional", icon=":material/public:", url_path="regional"),
    ],
    "Explore": [
        st.Page("pages/trends_page.py", title="Trends", icon=":material/show_chart:", url_path="trends"),
        st.Page("pages/root_cause_page.py", title="Root cause", icon=":material/troubleshoot:", url_path="root_cause"),
        st.Page("pages/impact_page.py", title="Impact", icon=":material/science:", url_path="impact"),
        st.Page(
            "pages/deep_dive_page.py",
            title="Harm area deep dive",
            icon=":material/search_insights:",
            url_path="deep_dive",
        ),
    ],
    "Data": [st.Page("pages/data_page.py", title="Data", icon=":material/database:", url_path="data")],
}
if scope.admin:
    PAGES["Data"].append(st.Page("pages/audit_page.py", title="Audit log", icon=":material/policy:", url_path="audit"))

navigation = st.navigation(PAGES)
st.session_state.update(page_path=navigation.url_path, page_title=navigation.title)
account_note(scope)
try:
    navigation.run()
except DataError as error:  # a query the engine could not answer (a database down, a cancelled query)
    question_failed(error)
