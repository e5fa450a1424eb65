"""The audit log: sign-ins, page views with their filters, exports and decks — who, when, what,
allowed or denied — appended to a hash chain in SQLite (default) or PostgreSQL, so an edited,
deleted, reordered or forged record is found by :meth:`AuditLog.verify`::

    from insights.audit import AuditLog

    log = AuditLog()  # $HARM_INSIGHTS_AUDIT_URL, else ~/.local/state/harm-insights/audit.db
    log.record("ana@example.org", "page_view", {"page": "trends", "filters": {"harm_area": ["self_harm"]}})
    log.record("eve@example.org", "export", {"chart": "movers", "format": "csv"}, outcome="denied")
    log.verify().ok
    log.records(since=dt.date(2026, 3, 1), action="export")  # a Polars frame
    log.export("jsonl")
"""

from insights.audit.chain import ChainCheck, Head, Problem, check_chain
from insights.audit.log import URL_VARIABLE, AuditLog, ExportFormat, default_url
from insights.audit.record import ACTIONS, LOCAL, OUTCOMES, AuditRecord, Event, Outcome, hide_passwords

__all__ = [
    "ACTIONS",
    "LOCAL",
    "OUTCOMES",
    "URL_VARIABLE",
    "AuditLog",
    "AuditRecord",
    "ChainCheck",
    "Event",
    "ExportFormat",
    "Head",
    "Outcome",
    "Problem",
    "check_chain",
    "default_url",
    "hide_passwords",
]
