"""A real console for the browser tests: ``automation``'s app under uvicorn in a thread
on a free loopback port, Debian's chromium driven by Playwright, and a page that
records every request off the server and every console error.

Chromium missing: the browser tests skip locally and fail under ``CI=true``
(``.ci/run`` installs ``chromium`` and ``fonts-noto-cjk``). Screenshots go to
``$TEST_ARTIFACTS`` (default ``test-artifacts/`` at the repository's root)/screenshots.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from automation.console.users import create_user
from tests.peers import free_port
from tests.services import UNDER_CI

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"


def artifacts() -> Path:
    """Where the screenshots go."""
    folder = Path(os.environ.get("TEST_ARTIFACTS") or ROOT / "test-artifacts") / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def require_chromium() -> None:
    """Skip (locally) or fail (CI) without chromium and Playwright."""
    problem = None
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        problem = f"no chromium at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "Playwright for Python is not installed (pip install playwright)"
    if problem is None:
        return
    if UNDER_CI:
        pytest.fail(f"{problem}, and CI=true: the browser tests must run", pytrace=False)
    pytest.skip(problem)


@dataclass
class Served:
    """The console under uvicorn: its base URL."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve() -> Served:
    """Start the whole application (API and console) on a free port."""
    from automation.api.app import create_app

    port = free_port()
    config = uvicorn.Config(
        create_app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="console-server", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    give_up = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > give_up or not thread.is_alive():
            raise RuntimeError("the console server did not start")
        time.sleep(0.02)
    return Served(url, server, thread)


@pytest.fixture
def console(postgres_database: str) -> Iterator[Served]:
    """The console on PostgreSQL (migrated, empty), served for this test."""
    from automation.console.pages.signin import forget_failures

    forget_failures()  # an earlier test's failed sign-ins came from the same address
    served = serve()
    try:
        yield served
    finally:
        served.stop()


def person(name: str, role: str) -> str:
    """Create a user with :data:`PASSWORD`; returns the name."""
    create_user(name, role, PASSWORD)
    return name


@dataclass
class Watch:
    """What a browser page did that it must not: requests to another host, console
    errors, uncaught page errors."""

    base: str
    off_host: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        origin = re.match(r"https?://[^/]+", self.base)
        assert origin is not None
        own = origin.group(0)

        def on_request(request: Any) -> None:
            url = request.url
            if not (url.startswith(own + "/") or url == own or url.startswith(("data:", "about:"))):
                self.off_host.append(url)

        def on_console(message: Any) -> None:
            if message.type == "error":
                self.errors.append(message.text)

        page.on("request", on_request)
        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def check(self) -> None:
        assert self.off_host == [], f"requests off the server: {self.off_host}"
        assert self.errors == [], f"console errors: {self.errors}"


@pytest.fixture
def browser() -> Iterator[Any]:
    """Chromium (headless), one per test."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            launched.close()


def open_page(browser: Any, console: Served) -> tuple[Any, Watch]:
    """A new browser context and page on the console, watched."""
    context = browser.new_context(base_url=console.url, locale="ko-KR")
    page = context.new_page()
    page.set_default_timeout(10_000)  # a broken page fails in seconds, not 30
    watch = Watch(console.url)
    watch.attach(page)
    return page, watch


def sign_in(page: Any, name: str, password: str = PASSWORD) -> None:
    """Sign in through the form, as a person would."""
    page.goto("/login")
    page.get_by_label("아이디 User name").fill(name)
    page.get_by_label("비밀번호 Password").fill(password)
    page.get_by_test_id("sign-in").click()
    page.wait_for_load_state("networkidle")


def shot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as ``<artifacts>/<name>.png``."""
    path = artifacts() / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def client(console: Served) -> httpx.Client:
    """A plain HTTP client on the console (no browser): for refusals a form cannot make."""
    return httpx.Client(base_url=console.url, follow_redirects=False, timeout=10)


def signed_in_client(console: Served, name: str) -> tuple[httpx.Client, str]:
    """A client with a session for ``name``, and that session's CSRF token."""
    http = client(console)
    form = http.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    answer = http.post(
        "/login", data={"username": name, "password": PASSWORD, "csrf": token.group(1)}
    )
    assert answer.status_code == 303, answer.text
    home = http.get(answer.headers["location"])
    csrf = re.search(r'name="csrf" value="([^"]+)"', home.text)
    assert csrf is not None
    return http, csrf.group(1)
