"""Browser fixtures (shared by every browser test): Debian's Chromium driven by Playwright.

``browser`` is launched once per session from ``/usr/bin/chromium`` (no Playwright browser
download); ``new_page`` opens a fresh context (own cookies and storage) per call, closed after the
test. Tests serve the hub with the root conftest's ``client`` fixture (aiohttp's test server in the
same event loop) and point pages at ``hub_url``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("BERRY_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
# The docs' screenshots are refreshed only on request (BERRY_UPDATE_SCREENSHOTS=1), so an ordinary
# test run does not rewrite tracked files; otherwise they go to a temporary folder.
SCREENSHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "img"
    if os.environ.get("BERRY_UPDATE_SCREENSHOTS")
    else Path(tempfile.gettempdir()) / "berry-screenshots"
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    if not Path(CHROMIUM).exists():  # noqa: ASYNC240  once per session, before the browser starts
        pytest.fail(f"{CHROMIUM} missing: run scripts/setup (scripts/setup.d/20-browser.sh)")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        await chromium.close()


@pytest.fixture
async def new_page(browser: Any) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """``await new_page(width=1280, height=800)`` → a page in its own browser context."""
    contexts: list[Any] = []

    async def make(width: int = 1280, height: int = 800, **options: Any) -> Any:
        context = await browser.new_context(viewport={"width": width, "height": height}, **options)
        contexts.append(context)
        page = await context.new_page()
        # generous: CI shares two cores; latency checks pass their own timeouts
        page.set_default_timeout(15000)
        page.errors = []  # type: ignore[attr-defined]
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))  # type: ignore[attr-defined]
        return page

    yield make
    for context in contexts:
        for page in context.pages:  # leave the page first: its websockets close cleanly
            await page.goto("about:blank")
        await context.close()


@pytest.fixture(scope="module")
def hub_settings_extra() -> dict[str, Any]:
    """Override in a test module to give the module's hub more settings (e.g. a Twilio stand-in)."""
    return {}


@pytest.fixture(scope="module")
async def hub(mongodb_url: str, tmp_path_factory: pytest.TempPathFactory,
              hub_settings_extra: dict[str, Any]) -> AsyncIterator[Any]:
    """The whole hub served on a free port, shared by the tests of one module (an app start and
    stop costs seconds; each test makes its own users and conversations)."""
    from hub.app import create_app
    from hub.models import new_id
    from hub.settings import Settings
    from tests.conftest import drop_database, running

    db = f"b_{new_id()}"
    options: dict[str, Any] = {"bot_engine": "off", "inline_worker": False, **hub_settings_extra}
    settings = Settings(
        mongodb_url=mongodb_url,
        mongodb_db=db,
        var_dir=tmp_path_factory.mktemp("hub") / "var",
        _env_file=None,
        **options,
    )  # type: ignore[call-arg]
    app = create_app(settings)
    async with running(app) as client:  # bounded shutdown: a stuck cleanup is reported
        yield client
    await drop_database(mongodb_url, db)  # once the app and its background tasks have stopped


@pytest.fixture
def hub_url(hub: Any) -> str:
    return str(hub.make_url("/")).rstrip("/")


async def screenshot(page: Any, name: str) -> Path:
    """Save a screenshot of the page (into docs/img/ with BERRY_UPDATE_SCREENSHOTS=1)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path))
    return path
