"""Audit log (admins): who signed in, viewed, exported and was refused — listed, checked and exported."""

import datetime as dt

import streamlit as st

from insights.audit import ACTIONS, OUTCOMES
from pages.common import audited
from pages.signin import audit, audit_log, require_scope

scope = require_scope()
st.title("Audit log")
if not scope.admin:
    audit(scope.user, "page_view", {"page": "audit"}, outcome="denied")
    st.warning("The audit log is for administrators.", icon=":material/block:")
    st.stop()
log = audit_log()
st.caption(f"{log.location} · every sign-in, page view (with its filters), export and deck, and every refusal.")

with st.container(border=True):
    check_column, head_column = st.columns([1, 3], vertical_alignment="center")
    if check_column.button("Verify the chain", icon=":material/verified:", type="primary"):
        check = log.verify()
        audit(scope.user, "audit_verify", {"ok": check.ok, "checked": check.checked, "problem": check.problem})
        if check.ok:
            st.success(f"Intact: {check.checked:,} records, each sealed to the one before.", icon=":material/check:")
        else:
            st.error(f"Broken at record {check.broken_at}: {check.detail}", icon=":material/gpp_bad:")
    head = log.head()
    head_column.caption(f"Last record: #{head.seq} · {head.hash}" if head else "No records yet.")

left, middle, right, last = st.columns(4)
who = left.text_input("Who (exact)") or None
action = middle.selectbox("Action", ["any", *ACTIONS])
outcome = right.selectbox("Outcome", ["any", *OUTCOMES])
since = last.date_input("Since", value=dt.date.today() - dt.timedelta(days=30))
shown = log.records(
    since=since,
    who=who,
    action=None if action == "any" else action,
    outcome=None if outcome == "any" else outcome,
    limit=1000,
)
st.dataframe(shown.sort("seq", descending=True), hide_index=True, width="stretch")
st.caption(f"{len(shown):,} records shown (the latest 1,000 that match).")
row = st.container(horizontal=True, gap="small")
for kind, mime in (("csv", "text/csv"), ("jsonl", "application/jsonl")):
    row.download_button(
        kind.upper(),
        data=audited(
            scope, "export", {"table": "audit log", "format": kind}, lambda kind=kind: log.export(kind, since=since)
        ),
        file_name=f"audit-log.{kind}",
        mime=mime,
        on_click="ignore",
        icon=":material/download:",
    )
