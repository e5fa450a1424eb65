"""Sign-in and the signed-in user's scope (wiring only: the policy lives in ``insights.access``).

With an ``[auth]`` section in ``.streamlit/secrets.toml`` the app signs users in with OpenID
Connect (``st.login``) and renders nothing before that; each user then sees what the access
policy (``$HARM_INSIGHTS_ACCESS``) grants them — nothing when it names them nowhere. Without
``[auth]`` the app runs in *local mode*: one person on their own machine, everything visible,
served on this machine's loopback address only.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import streamlit as st

from insights import DataError
from insights.access import POLICY_VARIABLE, Policy, Scope, load_policy
from insights.audit import AuditLog

#: Addresses local mode may serve on: this machine only.
LOOPBACK = {"localhost", "127.0.0.1", "::1"}

T = TypeVar("T")


def auth_configured() -> bool:
    """Whether sign-in is configured (an ``[auth]`` section in Streamlit's secrets)."""
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # no secrets file at all
        return False


@st.cache_resource(show_spinner=False, ttl=60)
def _settings(variable: str, path: str, modified: float, _read: Callable[[str], Any]) -> Any:
    return _read(path)


def settings_file(variable: str, read: Callable[[str], T]) -> T | None:
    """The settings file named by $``variable`` as ``read`` makes it, read once per process and
    again when the file changes (its mtime); None when the variable is not set."""
    path = os.environ.get(variable)
    if not path:
        return None
    try:
        modified = os.stat(path).st_mtime
    except OSError:
        modified = 0.0
    return _settings(variable, path, modified, read)


def _policy() -> Policy | None:
    return settings_file(POLICY_VARIABLE, load_policy)


@st.cache_resource(show_spinner=False)
def audit_log() -> AuditLog:
    """The audit log ($HARM_INSIGHTS_AUDIT_URL, else a SQLite file in the user's state folder)."""
    return AuditLog()


def audit(who: str, action: str, what: dict[str, Any] | None = None, outcome: str = "allowed") -> None:
    """Append one record to the audit log. A log that cannot be written stops the page: the app
    does not serve what it cannot account for."""
    try:
        audit_log().record(who, action, what, outcome=outcome)  # type: ignore[arg-type]
    except Exception as error:  # any failure of the log's database: say so, serve nothing
        st.error(
            f"The audit log cannot be written ({type(error).__name__}), so the app cannot serve this. "
            "An administrator must check $HARM_INSIGHTS_AUDIT_URL.",
            icon=":material/error:",
        )
        _stop()


def audit_once(who: str, action: str, what: dict[str, Any] | None = None, outcome: str = "allowed") -> None:
    """``audit`` unless this session recorded the same thing already (a sign-in, a refusal)."""
    mark = f"_audited_{action}_{outcome}_{who}"
    if not st.session_state.get(mark):
        audit(who, action, what, outcome)
        st.session_state[mark] = True


def require_scope() -> Scope:
    """The scope of whoever is using the app; renders the sign-in (or "no access") screen and
    stops the script when there is none."""
    if not auth_configured():
        return _local_mode()
    if not st.user.get("is_logged_in"):
        _sign_in_screen()
    claims: dict[str, Any] = st.user.to_dict()
    try:
        policy = _policy()
    except DataError as error:
        _refuse(claims, f"The access policy cannot be read: {error}. An administrator must fix it.")
    if policy is None:
        _refuse(claims, f"No access policy is configured (${POLICY_VARIABLE}), so nobody is granted access.")
    scope = policy.scope_for(claims)
    if scope is None:
        _refuse(claims, "Your account is not granted access to any data. Ask your Trust & Safety admin to add you.")
    audit_once(scope.user, "sign_in", {"groups": list(scope.groups)})
    return scope


def account_note(scope: Scope) -> None:
    """Sidebar: who is signed in (with a sign-out button), or that this is local mode."""
    if scope == Scope.local():
        st.sidebar.caption(
            "**Local mode** — for one person on this machine: no sign-in, all data visible. "
            "Configure sign-in before serving others."
        )
        return
    row = st.sidebar.container(horizontal=True, vertical_alignment="center")
    row.caption(f"Signed in as {scope.user}")
    row.button("Sign out", on_click=sign_out, args=(scope,), icon=":material/logout:", key="sign_out", type="tertiary")


def _local_mode() -> Scope:
    address = str(st.get_option("server.address") or "")
    if address not in LOOPBACK:
        _no_navigation()
        st.error(
            "**Sign-in is not configured, so this app serves only its own machine.** Serve it on "
            "localhost (`make run`), or configure sign-in (`[auth]` in `.streamlit/secrets.toml` and "
            f"an access policy in ${POLICY_VARIABLE}; see the README) to serve other people.",
            icon=":material/lock:",
        )
        _stop()
    return Scope.local()


def _sign_in_screen() -> NoReturn:
    _no_navigation()
    st.title("Harm Insights")
    st.write("Trust & Safety enforcement trends, root causes and the regional picture. Sign in to continue.")
    st.button("Sign in", on_click=st.login, type="primary", icon=":material/login:", key="sign_in")
    _stop()


def _refuse(claims: dict[str, Any], message: str) -> NoReturn:
    _no_navigation()
    audit_once(_who(claims), "sign_in", {"reason": message}, outcome="denied")
    st.title("Harm Insights")
    st.warning(message, icon=":material/block:")
    st.caption(f"Signed in as {_who(claims)}.")
    st.button("Sign out", on_click=st.logout, icon=":material/logout:", key="sign_out_denied")
    _stop()


def _who(claims: dict[str, Any]) -> str:
    return str(claims.get("email") or claims.get("sub") or "an unnamed account")


def sign_out(scope: Scope) -> None:
    """Record the sign-out, then sign out."""
    audit(scope.user, "sign_out")
    st.logout()


def _no_navigation() -> None:
    """No page list before sign-in (without this, Streamlit would list the files in pages/)."""
    st.navigation([st.Page(_stop, title="Harm Insights", url_path="welcome")], position="hidden")


def _stop() -> NoReturn:
    st.stop()
    raise AssertionError("st.stop() returns only outside a Streamlit run")
