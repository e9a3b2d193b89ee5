"""Serving the web application with uvicorn on the running event loop: started and stopped
with the bot (`wayfinder run` with [web] enabled) or alone (`wayfinder web`).

uvicorn's own `serve()` takes over the process's signals; here only its startup, main loop
and shutdown run, so the bot keeps its signal handling and its shutdown order."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime

from bot.config import Config, ConfigError
from bot.content import Content
from bot.ports import OutboxRow
from services.dashboard import Store, dashboard_alone, dashboard_site
from services.public import CACHE_SECONDS, PublicPages, public_pages
from web.app import ASGIApp, OpsAnswers, Site, create_app

log = logging.getLogger(__name__)


class WebServer:
    """One uvicorn server on host:port, in a task of the running loop."""

    def __init__(self, app: ASGIApp, host: str, port: int, source: str = "(web)") -> None:
        import uvicorn

        self.host, self.port, self.source = host, port, source
        self.config = uvicorn.Config(app, host=host, port=port, lifespan="off",
                                     log_config=None, access_log=False, server_header=False,
                                     proxy_headers=True, timeout_graceful_shutdown=2)
        self.server = uvicorn.Server(self.config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.config.load()
        self.server.lifespan = self.config.lifespan_class(self.config)
        try:
            await self.server.startup()
        except SystemExit:  # uvicorn exits the process when it cannot bind: not ours
            raise ConfigError(self.source, "web", f"cannot listen on {self.host}:{self.port} "
                              "(the port is in use, or the host is not an address of this "
                              "machine); change [web] host or port") from None
        if self.port == 0:  # tests ask for any free port: learn which
            self.port = self.server.servers[0].sockets[0].getsockname()[1]
        self._task = asyncio.create_task(self.server.main_loop(), name="web")
        log.info("web pages on http://%s:%d/", self.host, self.port)

    async def stop(self) -> None:
        if self._task is None:
            return
        self.server.should_exit = True
        await asyncio.gather(self._task, return_exceptions=True)
        self._task = None
        await self.server.shutdown()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def bot_web(config: Config, store: Store, content: Callable[[], Content],
            clock: Callable[[], datetime], ops: OpsAnswers | None,
            poke: Callable[[], None] = lambda: None,
            hand_over: Callable[[Sequence[OutboxRow]], None] = lambda rows: None) -> WebServer:
    """The web server inside the running bot: its store, its content of the moment (reloads
    included), its /metrics, /healthz and /livez, and the dashboard on the same store (what
    it queues goes to the bot's dispatcher: `poke`, `hand_over`)."""
    site = Site(PublicPages(config, store, content, clock), ops,
                dashboard_site(config, store, content, clock, poke, hand_over))
    return WebServer(create_app(site), config.web.host, config.web.port, config.source)


@asynccontextmanager
async def alone(config: Config, cache_seconds: float = CACHE_SECONDS) -> AsyncIterator[ASGIApp]:
    """The web application without the bot, on its own store connections (`wayfinder web`,
    python -m bench.web): the dashboard's is started (logins and invites are written)."""
    async with public_pages(config, cache_seconds) as pages, dashboard_alone(config) as dash:
        yield create_app(Site(pages, dashboard=dash))


async def serve_alone(config: Config, host: str | None = None, port: int | None = None,
                      ready: Callable[[WebServer], None] | None = None) -> None:
    """`wayfinder web`: the pages alone, on their own store connection, until cancelled or
    interrupted."""
    import signal

    async with alone(config) as app:
        server = WebServer(app, host or config.web.host,
                           config.web.port if port is None else port, config.source)
        await server.start()
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        try:
            if ready is not None:
                ready(server)
            await stopping.wait()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            await server.stop()
