"""Browser tests' kit: Debian's Chromium driven by Playwright, and a web server under test on
127.0.0.1 in an event loop of its own thread.

- `browser` (fixture, one per test): Playwright's Chromium launched from
  /usr/bin/chromium (scripts/ensure-chromium installs it; Playwright never downloads a browser
  here). A missing browser FAILS the test, saying how to install it.
- `LoopThread`: an asyncio loop in a thread, where the store, the bot and uvicorn live while
  the test drives the browser synchronously; `thread.run(coro)` runs a coroutine there.
- `serve(thread, app)`: a WebServer for the ASGI app on a free port; `.url` is its address.
- `Pages`: one browser context per test, JavaScript on or off, a viewport, console errors
  (Content-Security-Policy refusals among them) collected, and `shoot(name)` saving the
  page wide (1280) and narrow (375) into $WAYFINDER_SCREENSHOTS (default tests/screenshots,
  git-ignored).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Response

    from web.app import ASGIApp
    from web.server import WebServer

T = TypeVar("T")
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 375, "height": 812}  # a phone
SCREENSHOTS = Path(os.environ.get("WAYFINDER_SCREENSHOTS", "")
                   or Path(__file__).resolve().parent / "screenshots")
TIMEOUT = 30.0


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's chromium "
                    "(run scripts/ensure-chromium, or apt-get install -y chromium "
                    "chromium-driver)", pytrace=False)


@pytest.fixture
def browser() -> Iterator[Browser]:
    """One per test: Playwright's sync API runs an event loop on this thread while it is
    open, and pytest-asyncio cannot start a test's loop beside it (an async test after a
    browser test of the same module would fail), so it is closed after each test (~0.5 s)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


class LoopThread:
    """An event loop running in a daemon thread until `close`."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="server-under-test",
                                       daemon=True)
        self.thread.start()

    def run(self, coro: Awaitable[T], timeout: float = TIMEOUT) -> T:
        async def wrapped() -> T:
            return await coro

        return asyncio.run_coroutine_threadsafe(wrapped(), self.loop).result(timeout)

    def close(self) -> None:
        async def finish() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.loop.shutdown_asyncgens()

        self.run(finish())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(TIMEOUT)
        self.loop.close()


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    thread = LoopThread()
    try:
        yield thread
    finally:
        thread.close()


def serve(thread: LoopThread, app: ASGIApp) -> WebServer:
    """The app on 127.0.0.1 on a free port, in the thread's loop; stop it with
    `thread.run(server.stop())`."""
    from web.server import WebServer

    server = WebServer(app, "127.0.0.1", 0)
    thread.run(server.start())
    return server


class Pages:
    """A browser context for one test: pages open at the server's URL, console errors kept."""

    def __init__(self, browser: Browser, base: str, javascript: bool = True,
                 viewport: dict[str, int] | None = None) -> None:
        self.base = base
        self.context: BrowserContext = browser.new_context(
            base_url=base, java_script_enabled=javascript, viewport=viewport or WIDE)  # type: ignore[arg-type]
        self.context.set_default_timeout(TIMEOUT * 1000)
        self.errors: list[str] = []
        self.page: Page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error"
                     else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.dialogs: list[str] = []
        self.page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)  # an alert() means a script got in
        dialog.dismiss()

    def open(self, path: str) -> Response:
        response = self.page.goto(path)
        assert response is not None, path
        return response

    def shoot(self, name: str) -> list[Path]:
        """The page as it is, full length, wide and narrow (then the viewport is restored)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        saved = []
        before = self.page.viewport_size
        for label, size in (("wide", WIDE), ("narrow", NARROW)):
            self.page.set_viewport_size(size)  # type: ignore[arg-type]
            path = SCREENSHOTS / f"{name}-{label}.png"
            self.page.screenshot(path=str(path), full_page=True)
            saved.append(path)
        if before is not None:
            self.page.set_viewport_size(before)
        return saved

    def horizontal_overflow(self) -> int:
        """How many pixels the page is wider than its viewport (0: no sideways scrolling)."""
        found = self.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth")
        return int(found)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def pages_for(browser: Browser) -> Iterator[Callable[..., Pages]]:
    """`pages_for(base_url, javascript=True, viewport=None)`: a fresh context, closed after."""
    made: list[Pages] = []

    def make(base: str, javascript: bool = True,
             viewport: dict[str, int] | None = None) -> Pages:
        made.append(Pages(browser, base, javascript, viewport))
        return made[-1]

    try:
        yield make
    finally:
        for pages in made:
            pages.close()
