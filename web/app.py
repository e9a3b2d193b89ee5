"""The web application: Starlette, server-rendered Jinja2 templates (autoescaped, every one),
htmx served from this package, and security headers on every response.

`create_app(site)` builds it from a `Site`: what the pages read (services' read models) and,
when the bot runs with metrics on, its /metrics, /healthz and /livez. The routes of each
audience live in their own module (web/public.py for everyone); this module only assembles.
Every page is rendered in its visitor's language (web/language.py says which, and how).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from http import HTTPStatus
from typing import Any, Protocol

import jinja2
from markdown_it import MarkdownIt
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from bot.i18n import ENGLISH, N_, Translator
from bot.metrics import OpsReply
from bot.text import strip_bidi
from services.dashboard import DashboardSite
from services.public import PublicPages
from web.language import PageLanguage, page_language, remember
from web.language import context as language_context

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Nothing from elsewhere, no inline script or style, no framing, forms post only here.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'")
SECURITY_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
)


class OpsAnswers(Protocol):
    """/metrics, /healthz and /livez as the running bot answers them (bot/metrics.py Ops)."""

    async def answer(self, path: str) -> OpsReply: ...


@dataclass
class Site:
    """What the pages read. `ops` only inside `wayfinder run` with [metrics] enabled;
    `dashboard` (logins and the organizers' and mentors' pages) when the store can be
    written."""

    public: PublicPages
    ops: OpsAnswers | None = None
    dashboard: DashboardSite | None = None


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every HTTP response, errors and static files included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *(h for h in SECURITY_HEADERS if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, with_headers)


# Babel's date patterns (LDML), themselves messages: a translator may reorder them.
WHEN_PATTERN = N_("EEE d MMM y, HH:mm")
DATE_PATTERN = N_("d MMMM y")


@jinja2.pass_context
def when(context: Mapping[str, Any], value: datetime, style: str = "full") -> str:
    """A time as people read it, in the page's language: "Thu 21 Jan 2027, 18:30 CET",
    "jue 21 ene 2027, 18:30 CET" (or the date alone: "21 January 2027")."""
    tr = _translator(context)
    if style == "date":
        return tr.format_date(value, DATE_PATTERN)
    return f"{tr.format_datetime(value, WHEN_PATTERN)} {value.tzname() or ''}".strip()


@jinja2.pass_context
def cell(context: Mapping[str, Any], value: Any) -> Any:
    """A report's table cell: a time as `when` writes it (the travel report's "through stage
    N on"), anything else as it is."""
    return when(context, value) if isinstance(value, datetime) else value


@jinja2.pass_context
def local(context: Mapping[str, Any], value: Any) -> Any:
    """A content text in the page's language, when its content gives one
    (`summary = { en = "...", es = "..." }`); else as written."""
    return _translator(context).local(value) if isinstance(value, str) else value


@jinja2.pass_context
def number(context: Mapping[str, Any], value: float) -> str:
    """A number as the page's language writes it (1,234 or 1.234)."""
    return _translator(context).format_number(value)


def _translator(context: Mapping[str, Any]) -> Translator:
    language = context.get("language")
    return language.translator if isinstance(language, PageLanguage) else ENGLISH


def shown(value: Any) -> Any:
    """Every value a template prints: bidi controls dropped (a name could otherwise read
    backwards, and turn the text after it around too); escaping is autoescape's."""
    if isinstance(value, Markup):
        return Markup(strip_bidi(str(value)))
    return strip_bidi(value) if isinstance(value, str) else value


@cache
def _markdown() -> MarkdownIt:
    # CommonMark with raw HTML off (it is shown as text) and a line break where one is
    # written; markdown-it refuses javascript: and other unsafe links itself.
    return MarkdownIt("commonmark", {"html": False, "breaks": True})


@lru_cache(maxsize=1024)
def markdown(text: str) -> Markup:
    """Organizers' Markdown (a workshop step) as HTML that holds no HTML of theirs. Kept per
    text: parsing a workshop's steps took longer than the rest of its page."""
    return Markup(_markdown().render(strip_bidi(text)))


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("web", "templates"), extensions=["jinja2.ext.i18n"],
        autoescape=True,  # every template, whatever its name
        undefined=jinja2.StrictUndefined,  # a misspelt name fails the test, not the page
        finalize=shown, trim_blocks=True, lstrip_blocks=True)
    # {% trans %} blocks call gettext(message, **values), which fills and escapes them, and
    # whitespace inside them is collapsed (as bot.catalogs extracts them): web/language.py
    # gives each render its own gettext.
    env.newstyle_gettext = True  # type: ignore[attr-defined]  # added by the extension
    env.policies["ext.i18n.trimmed"] = True
    env.filters["when"] = when
    env.filters["cell"] = cell
    env.filters["local"] = local
    env.filters["number"] = number
    env.filters["markdown"] = markdown
    env.globals["url_for"] = path_for  # before Starlette's: links stay on the visitor's host
    return env


@jinja2.pass_context
def path_for(context: dict[str, Any], name: str, /, **params: Any) -> str:
    """A route's path, without scheme and host: behind a TLS proxy an absolute http:// link
    (uvicorn sees plain HTTP) would be refused as mixed content."""
    request: Request = context["request"]
    return str(request.app.url_path_for(name, **params))


TEMPLATES = Jinja2Templates(env=environment())


def page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    """Render templates/NAME with the site's common context, in the page's language."""
    language = page_language(request)
    response = TEMPLATES.TemplateResponse(
        request, name, {"site": request.app.state.site, **language_context(request, language),
                        **context}, status_code=status)
    remember(response, language)
    return response


def tr(request: Request) -> Translator:
    """The page's language, for the texts the code writes: `tr(request).t("Events")`."""
    return page_language(request).translator


async def not_found(request: Request, exc: Exception) -> Response:
    detail = exc.detail if isinstance(exc, HTTPException) else ""
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    # Starlette's own details ("Not Found", "Method Not Allowed") are English: not shown.
    if detail == HTTPStatus(status).phrase:
        detail = ""
    return page(request, "error.html", status=status,
                title=tr(request).t("Not found") if status == 404 else tr(request).t("Sorry"),
                detail=tr(request).t(detail) if detail else "")


def ops_routes(ops: OpsAnswers) -> list[BaseRoute]:
    async def answer(request: Request) -> Response:
        reply = await ops.answer(request.url.path)
        return Response(reply.body, status_code=reply.status, media_type=reply.content_type)

    return [Route(path, answer) for path in ("/metrics", "/healthz", "/livez")]


def create_app(site: Site, more_routes: list[BaseRoute] | None = None) -> ASGIApp:
    """The whole web application: public pages, static files, the bot's ops answers if
    given, and `more_routes` (the dashboard's), all behind the security headers."""
    from web.dashboard import routes as dashboard_routes
    from web.public import routes as public_routes

    routes: list[BaseRoute] = [
        *public_routes(),
        *(dashboard_routes() if site.dashboard is not None else []),
        *(more_routes or []),
        *(ops_routes(site.ops) if site.ops is not None else []),
        Mount("/static", StaticFiles(packages=[("web", "static")]), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found})
    app.state.site = site
    return SecurityHeaders(app)
