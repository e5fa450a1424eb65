"""Sign-in end to end: a local OpenID provider (oidc-provider-mock) on 127.0.0.1, the app served
with ``[auth]`` pointing at it and an access policy, and a browser that signs in as a user by
clicking through the provider's page, as a person would."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tests.app.browser import CHROMIUM_ARGS, DRAWN_CHART, chromium_path, free_port, served_process, wait_for_app

#: Users of the test provider: subject → claims (email and any group claims the policy reads).
Users = Mapping[str, Mapping[str, object]]


@contextlib.contextmanager
def identity_provider(users: Users) -> Iterator[str]:
    """An OpenID provider on this machine with these users; yields its issuer URL."""
    from oidc_provider_mock import User, run_server_in_thread

    claims = [User(sub=sub, claims={"email_verified": True, **c}) for sub, c in users.items()]
    with run_server_in_thread(port=free_port(), user_claims=claims) as server:
        yield f"http://localhost:{server.server_port}"


@contextlib.contextmanager
def signed_in_app(
    source: Path | str, users: Users, policy: str, folder: Path
) -> Iterator[tuple[str, subprocess.Popen]]:
    """The app with sign-in through a local provider and ``policy`` (TOML text) as its access
    policy; yields its base URL and the server process."""
    port = free_port()
    with identity_provider(users) as issuer:
        secrets = folder / "secrets.toml"
        secrets.write_text(
            "[auth]\n"
            f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
            'cookie_secret = "a-cookie-secret-for-the-sign-in-tests-only"\n'
            'client_id = "harm-insights"\n'
            'client_secret = "harm-insights-secret"\n'
            f'server_metadata_url = "{issuer}/.well-known/openid-configuration"\n'
        )
        access = folder / "access.toml"
        access.write_text(policy)
        with served_process(
            source,
            env={"HARM_INSIGHTS_ACCESS": str(access)},
            args=["--secrets.files", str(secrets)],
            port=port,
        ) as served:
            yield served


def sign_in(page, url: str, sub: str, timeout: float = 60_000) -> None:
    """Open the app, press *Sign in*, choose ``sub`` on the provider's page and wait for the app."""
    page.goto(url)
    page.get_by_role("button", name="Sign in").click(timeout=timeout)
    page.get_by_role("button", name=sub, exact=True).click(timeout=timeout)
    page.wait_for_url(f"{url}/**", timeout=timeout)
    wait_for_app(page, timeout)


#: Eight users with eight different scopes (the concurrent-sessions test and bench).
SESSION_POLICY = """
[groups.extremism]
harm_areas = ["violent_extremism"]
places = "all"
[groups.hate_europe]
harm_areas = ["hateful_behavior"]
regions = ["Europe"]
[groups.self_harm_americas]
harm_areas = ["self_harm"]
regions = ["Americas"]
[groups.exploitation_asia]
harm_areas = ["human_exploitation"]
regions = ["Asia"]
[groups.africa]
harm_areas = "all"
regions = ["Africa"]
[groups.two_countries]
harm_areas = ["violent_extremism", "hateful_behavior"]
countries = ["BR", "IN"]
[groups.child_safety]
harm_areas = ["child_safety"]
places = "all"
export = true
[groups.admins]
harm_areas = "all"
places = "all"
export = true
admin = true
"""
SESSION_GROUPS = [
    "extremism", "hate_europe", "self_harm_americas", "exploitation_asia",
    "africa", "two_countries", "child_safety", "admins",
]  # fmt: skip
SESSION_USERS = {f"user{i}": {"email": f"user{i}@example.com"} for i in range(len(SESSION_GROUPS))}
SESSION_POLICY += "".join(
    f'[[members]]\nemail = "user{i}@example.com"\ngroups = ["{group}"]\n' for i, group in enumerate(SESSION_GROUPS)
)


@dataclass
class SessionRun:
    """What one signed-in session saw: the first-chart time of each page it opened (seconds), the
    text of each page's main area, and the errors it met."""

    user: str
    first_chart: dict[str, float] = field(default_factory=dict)
    text: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


async def _session(browser, url: str, sub: str, pages: Mapping[str, str], rounds: int) -> SessionRun:
    run = SessionRun(sub)
    context = await browser.new_context(viewport={"width": 1440, "height": 1000})
    page = await context.new_page()
    try:
        await page.goto(url)
        await page.get_by_role("button", name="Sign in").click(timeout=120_000)
        await page.get_by_role("button", name=sub, exact=True).click(timeout=120_000)
        await page.wait_for_selector('[data-testid="stSidebarNav"]', timeout=120_000)
        for round_ in range(rounds):
            for name, path in pages.items():
                started = time.perf_counter()
                await page.goto(f"{url}/{path}?harm_area=all")
                await page.wait_for_selector(DRAWN_CHART, timeout=120_000, state="attached")
                run.first_chart[f"{name}#{round_}"] = time.perf_counter() - started
                await page.wait_for_function(
                    "() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=120_000
                )
                run.text[name] = await page.locator('[data-testid="stMain"]').inner_text()
                if await page.locator('[data-testid="stException"]').count():
                    run.errors.append(f"{name}: exception on screen")
    except Exception as error:  # a timeout or a crash is a result of the run, reported as an error
        run.errors.append(f"{type(error).__name__}: {str(error).splitlines()[0]}")
    finally:
        await context.close()
    return run


def concurrent_sessions(url: str, pages: Mapping[str, str], rounds: int = 1) -> list[SessionRun]:
    """Sign every ``SESSION_USERS`` user in, each in their own browser context, all at once, and
    open ``pages`` (name → URL path) ``rounds`` times each; returns what each session saw."""
    from playwright.async_api import async_playwright

    async def main() -> list[SessionRun]:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            try:
                return list(
                    await asyncio.gather(*(_session(browser, url, sub, pages, rounds) for sub in SESSION_USERS))
                )
            finally:
                await browser.close()

    # A thread of its own: a synchronous Playwright elsewhere in the process owns this thread's loop.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()
