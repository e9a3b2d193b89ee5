"""The dashboard, for organizers (and admins) and mentors: logging in with a `!dashboard`
link, then people, reports, events and their broadcasts, mentors' load, dead letters and the
audit log; a mentor sees their own cases.

Every route states the roles it is for (`guarded`): the session is looked up and the roles
read again on every request, whatever the menu shows, and every POST must carry the
session's CSRF token. A refusal is audited. Everything goes through services/dashboard.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.config import ConfigError
from bot.durations import describe
from bot.i18n import N_
from services.crm import REPORTS as REPORTS  # the reports it shows (bench.web asks for each)
from services.dashboard import DashboardSite, Event, Login, Session, csrf_matches
from web.app import Site, page, tr
from web.language import know_stored

COOKIE = "wayfinder_session"
ORGANIZER = ("organizer",)  # admins are organizers too
MENTOR = ("mentor",)
ANYONE = ("organizer", "mentor")
TOKEN_MAX = 400


@dataclass(frozen=True)
class Viewer:
    """Who is looking: their session (identity, CSRF token) and the roles they hold now."""

    session: Session
    roles: frozenset[str]

    @property
    def organizer(self) -> bool:
        return "organizer" in self.roles

    @property
    def mentor(self) -> bool:
        return "mentor" in self.roles


Handler = Callable[[Request, Viewer], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def dashboard(request: Request) -> DashboardSite:
    site: Site = request.app.state.site
    if site.dashboard is None:
        raise HTTPException(404)
    return site.dashboard


def _needs_login(request: Request) -> Response:
    return page(request, "dash/login_needed.html", status=401,
                title=tr(request).t("Please log in"), viewer=None)


# Whom a page is for, as a refusal says it (the roles' own names stay as the config writes
# them: organizer, admin, mentor).
FOR_ROLES = {ORGANIZER: N_("This page is for organizers."),
             MENTOR: N_("This page is for mentors."),
             ANYONE: N_("This page is for organizers or mentors.")}


def guarded(roles: tuple[str, ...]) -> Callable[[Handler], Endpoint]:
    """The route is for a session holding one of `roles`; a POST must carry its CSRF token."""

    def wrap(handler: Handler) -> Endpoint:
        @wraps(handler)
        async def guard(request: Request) -> Response:
            dash = dashboard(request)
            session = await dash.access.session(request.cookies.get(COOKIE, ""))
            if session is None:
                return _needs_login(request)
            know_stored(request, await dash.access.language(session.person_id))
            held = await dash.access.roles(session.identity)
            viewer = Viewer(session, held)
            if not held & set(roles):
                await dash.access.audit(session.identity, "refused:web:page",
                                        request.url.path)
                words = tr(request)
                mine = ", ".join(sorted(held)) or words.t("no dashboard role")
                detail = words.t("{for_whom} You are logged in as {identity} ({roles}).",
                                 for_whom=words.t(FOR_ROLES[roles]),
                                 identity=session.identity, roles=mine)
                return page(request, "dash/refused.html", status=403,
                            title=words.t("Not for you"), viewer=viewer, detail=detail)
            if request.method == "POST":
                form = await request.form()
                sent = form.get("csrf")
                if not isinstance(sent, str) or not csrf_matches(session, sent):
                    await dash.access.audit(session.identity, "refused:web:csrf",
                                            request.url.path)
                    return page(request, "dash/refused.html", status=403,
                                title=tr(request).t("Form refused"), viewer=viewer,
                                detail=tr(request).t(
                                    "This form did not come from your dashboard session (it "
                                    "may be from an old page, or from another site). Nothing "
                                    "was changed. Open the page again and retry."))
            return await handler(request, viewer)

        return guard

    return wrap


# -- logging in and out -------------------------------------------------------------------
async def login_form(request: Request) -> Response:
    """The link from chat opens a page with a button: chat clients fetch links for their
    previews, and that fetch must not use up the one login."""
    dash = dashboard(request)
    token = request.path_params["token"][:TOKEN_MAX]
    return page(request, "dash/login.html", title=tr(request).t("Log in to the dashboard"),
                token=token, viewer=None, problem="",
                ttl=describe(dash.access.settings.link_ttl, tr(request)))


def _same_site(request: Request) -> bool:
    """A form posted from a page of this site (or by a client that names no origin). The
    login form has no session yet to carry a CSRF token: another site must not log a
    visitor in (as someone else) behind their back."""
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host", "")


async def login(request: Request) -> Response:
    dash = dashboard(request)
    if not _same_site(request):
        await dash.access.audit("(unknown)", "refused:web:login", "posted from another site")
        return page(request, "dash/refused.html", status=403,
                    title=tr(request).t("Form refused"), viewer=None,
                    detail=tr(request).t("This login came from another site. Open the link "
                                         "from the bot yourself."))
    form = await request.form()
    token = form.get("token")
    found = await dash.access.redeem(token[:TOKEN_MAX] if isinstance(token, str) else "")
    if not isinstance(found, Login):
        return page(request, "dash/login.html", status=403,
                    title=tr(request).t("Log in to the dashboard"), token="", viewer=None,
                    problem=tr(request).t(found.reason))
    response = RedirectResponse(request.url_for("dashboard"), status_code=303)
    max_age = int((found.session.expires_at - dash.access.clock()).total_seconds())
    response.set_cookie(COOKIE, found.cookie, max_age=max_age, httponly=True, samesite="lax",
                        secure=dash.secure, path="/")
    return response


@guarded(ANYONE)
async def logout(request: Request, viewer: Viewer) -> Response:
    dash = dashboard(request)
    await dash.access.logout(request.cookies.get(COOKIE, ""))
    response = page(request, "dash/logged_out.html", title=tr(request).t("Logged out"),
                    viewer=None)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=dash.secure)
    return response


# -- pages --------------------------------------------------------------------------------
@guarded(ANYONE)
async def home(request: Request, viewer: Viewer) -> Response:
    dash = dashboard(request)
    cases = await dash.pages.cases_of(viewer.session.identity) if viewer.mentor else []
    return page(request, "dash/home.html", title=tr(request).t("Dashboard"), viewer=viewer,
                cases=cases)


@guarded(ORGANIZER)
async def people(request: Request, viewer: Viewer) -> Response:
    pages = dashboard(request).pages
    q = request.query_params
    text, project, region, stage = (q.get(k, "").strip() for k in ("q", "project", "region",
                                                                    "stage"))
    after = int(q["after"]) if q.get("after", "").isdigit() else 0
    hits = await pages.search(text) if text else []
    rows, next_after = ([], 0) if text else await pages.people(project, region, stage, after)
    return page(request, "dash/people.html", title=tr(request).t("People"), viewer=viewer,
                q=text,
                project=project, region=region, stage=stage, hits=hits, rows=rows,
                choices=pages.choices(), next_after=next_after)


@guarded(ORGANIZER)
async def person(request: Request, viewer: Viewer) -> Response:
    lines = await dashboard(request).pages.person(request.path_params["person_id"],
                                                  tr(request))
    if lines is None:
        raise HTTPException(404, N_("No one has that id (any more)."))
    return page(request, "dash/person.html", title=lines[0] if lines else tr(request).t("Person"),
                viewer=viewer, lines=lines)


@guarded(ORGANIZER)
async def reports(request: Request, viewer: Viewer) -> Response:
    """Every report of services/crm.py, in its order (the services' list is the page's), each
    table cut at ROWS_SHOWN rows: the rest are in its CSV (`report_csv`)."""
    pages = dashboard(request).pages
    found = [await pages.report(name, tr(request)) for name in REPORTS]
    return page(request, "dash/reports.html", title=tr(request).t("Reports"), viewer=viewer,
                reports=found, rows_shown=ROWS_SHOWN)


# Rows of a report's table the page shows. The travel report lists every person who made it
# far enough: 6,557 rows with bench.web's 100,000 people, whose page took ~280 ms to write
# (p50) against the dashboard's 50 ms; its CSV has them all.
ROWS_SHOWN = 50


def _report_named(request: Request) -> str:
    """The report a chart's or a CSV's address names: one of REPORTS, else a 404."""
    name = str(request.path_params["name"])
    if name not in REPORTS:
        raise HTTPException(404)
    return name


@guarded(ORGANIZER)
async def report_csv(request: Request, viewer: Viewer) -> Response:
    """A report's whole table as CSV, in the page's language (its columns and fixed cells)."""
    name = _report_named(request)
    found = await dashboard(request).pages.report(name, tr(request))
    # A byte-order mark first: without it a spreadsheet opens the file in its own legacy
    # encoding ("regiÃ³n"). Not kept by the browser: the travel report names people.
    return Response("\ufeff" + found.csv(), media_type="text/csv; charset=utf-8", headers={
        "content-disposition": f'attachment; filename="{name}.csv"',
        "cache-control": "no-store"})


@guarded(ORGANIZER)
async def chart(request: Request, viewer: Viewer) -> Response:
    svg = await dashboard(request).pages.chart(_report_named(request), tr(request))
    if svg is None:  # a report without a chart
        raise HTTPException(404)
    response = Response(svg, media_type="image/svg+xml",
                        headers={"cache-control": "private, max-age=30"})
    response.headers.append("vary", "Accept-Language, Cookie")  # its texts: the page's language
    return response


@guarded(ORGANIZER)
async def events(request: Request, viewer: Viewer) -> Response:
    rows = await dashboard(request).pages.events()
    return page(request, "dash/events.html", title=tr(request).t("Events"), viewer=viewer,
                rows=rows)


EVENT_FIELDS = ("id", "title", "starts", "timezone", "place", "regions", "audience",
                "capacity")


async def _event_form(request: Request, event_id: str = "") -> tuple[dict[str, str], list[str]]:
    """The event form as typed (to show again), and as `!event new`'s fields."""
    form = await request.form()
    values = {k: str(form.get(k) or "")[:300].replace("|", "/") for k in EVENT_FIELDS}
    if event_id:
        values["id"] = event_id
    parts = [values[k] for k in EVENT_FIELDS]
    parts[2] = parts[2].replace("T", " ", 1)  # the browser's datetime-local: 2027-01-20T18:30
    return values, parts


@guarded(ORGANIZER)
async def event_form(request: Request, viewer: Viewer) -> Response:
    values = dict.fromkeys(EVENT_FIELDS, "") | {"timezone": "UTC", "audience": "everyone"}
    return page(request, "dash/event_new.html", title=tr(request).t("New event"),
                viewer=viewer, values=values, problem="", editing="")


@guarded(ORGANIZER)
async def event_create(request: Request, viewer: Viewer) -> Response:
    values, parts = await _event_form(request)
    made = await dashboard(request).pages.create_event(parts, viewer.session.identity,
                                                       tr(request))
    if isinstance(made, str):
        # The first line: what is wrong (the rest is the chat command's usage).
        return page(request, "dash/event_new.html", status=400,
                    title=tr(request).t("New event"), viewer=viewer, values=values,
                    problem=made.split("\n", 1)[0], editing="")
    return RedirectResponse(request.url_for("preview", event_id=made.id), status_code=303)


def _event_values(event: Event) -> dict[str, str]:
    local = event.starts_at.astimezone(ZoneInfo(event.timezone))
    audience = (f"project:{event.project}" if event.project else
                f"workshop:{event.workshop}" if event.workshop else event.audience)
    return {"id": event.id, "title": event.title, "starts": f"{local:%Y-%m-%dT%H:%M}",
            "timezone": event.timezone, "place": event.place,
            "regions": ", ".join(event.regions), "audience": audience,
            "capacity": "" if event.capacity is None else str(event.capacity)}


@guarded(ORGANIZER)
async def event_edit_form(request: Request, viewer: Viewer) -> Response:
    found = await dashboard(request).pages.editable(request.path_params["event_id"],
                                                    tr(request))
    if isinstance(found, str):
        return page(request, "dash/refused.html", status=409,
                    title=tr(request).t("It can't change here"), viewer=viewer, detail=found)
    return page(request, "dash/event_new.html",
                title=tr(request).t("Change {title}", title=found.title), viewer=viewer,
                values=_event_values(found), problem="", editing=found.id)


@guarded(ORGANIZER)
async def event_edit(request: Request, viewer: Viewer) -> Response:
    event_id = request.path_params["event_id"]
    values, parts = await _event_form(request, event_id)
    made = await dashboard(request).pages.update_event(event_id, parts,
                                                       viewer.session.identity, tr(request))
    if isinstance(made, str):
        return page(request, "dash/event_new.html", status=400,
                    title=tr(request).t("Change the event"), viewer=viewer, values=values,
                    problem=made.split("\n", 1)[0], editing=event_id)
    return RedirectResponse(request.url_for("preview", event_id=made.id), status_code=303)


@guarded(ORGANIZER)
async def preview(request: Request, viewer: Viewer) -> Response:
    event_id = request.path_params["event_id"]
    try:
        found = await dashboard(request).pages.preview(event_id, tr(request))
    except ConfigError:  # no such event
        raise HTTPException(404, N_("There is no event by that id.")) from None
    return page(request, "dash/preview.html",
                title=tr(request).t("Invite: {title}", title=found.event.title),
                viewer=viewer, preview=found)


@guarded(ORGANIZER)
async def broadcast(request: Request, viewer: Viewer) -> Response:
    invite = await dashboard(request).pages.broadcast(request.path_params["event_id"],
                                                      viewer.session.identity)
    return RedirectResponse(request.url_for("delivery", broadcast_id=invite.id),
                            status_code=303)


async def _progress(request: Request, broadcast_id: int) -> dict[str, Any]:
    counts = await dashboard(request).pages.delivery(broadcast_id)
    total = sum(counts.by_status.values())
    waiting = counts.count("pending") + counts.count("sending")  # as `!event status` counts
    done = total - waiting
    return {"counts": counts, "total": total, "waiting": waiting,
            "percent": 100 if total == 0 else int(100 * done / total),
            "finished": waiting == 0, "broadcast_id": broadcast_id}


@guarded(ORGANIZER)
async def delivery(request: Request, viewer: Viewer) -> Response:
    found = await _progress(request, request.path_params["broadcast_id"])
    return page(request, "dash/delivery.html", title=tr(request).t("Delivery"), viewer=viewer,
                **found)


@guarded(ORGANIZER)
async def delivery_progress(request: Request, viewer: Viewer) -> Response:
    """The progress block alone, which htmx asks for every second until all is done."""
    found = await _progress(request, request.path_params["broadcast_id"])
    return page(request, "dash/progress.html", title=tr(request).t("Delivery"), viewer=viewer,
                **found)


@guarded(ORGANIZER)
async def mentors(request: Request, viewer: Viewer) -> Response:
    pages = dashboard(request).pages
    return page(request, "dash/mentors.html", title=tr(request).t("Mentors and open cases"),
                viewer=viewer,
                loads=await pages.mentor_loads(), cases=await pages.open_cases())


DONE = {"retried": N_("Message {id} will be sent again."),
        "discarded": N_("Message {id} was discarded."),
        "gone": N_("Message {id} is no dead letter any more (someone acted on it already).")}


@guarded(ORGANIZER)
async def dead_letters(request: Request, viewer: Viewer) -> Response:
    rows = await dashboard(request).pages.dead_letters()
    done, _, which = request.query_params.get("done", "").partition(":")
    notice = (tr(request).t(DONE[done], id=which) if done in DONE and which.isdigit()
              else "")
    return page(request, "dash/dead_letters.html", title=tr(request).t("Dead letters"),
                viewer=viewer, rows=rows[-200:], notice=notice)


def _dead_letter_action(retry: bool) -> Endpoint:
    @guarded(ORGANIZER)
    async def act(request: Request, viewer: Viewer) -> Response:
        pages = dashboard(request).pages
        outbox_id = request.path_params["outbox_id"]
        do = pages.retry if retry else pages.discard
        done = await do(outbox_id, viewer.session.identity)
        word = ("retried" if retry else "discarded") if done else "gone"
        url = request.url_for("dead_letters").include_query_params(done=f"{word}:{outbox_id}")
        return RedirectResponse(url.path + "?" + url.query, status_code=303)

    return act


@guarded(ORGANIZER)
async def audit(request: Request, viewer: Viewer) -> Response:
    who = request.query_params.get("who", "").strip()
    action = request.query_params.get("action", "").strip()
    rows = await dashboard(request).pages.audit(who, action)
    return page(request, "dash/audit.html", title=tr(request).t("Audit log"), viewer=viewer,
                rows=rows, who=who, action=action)


@guarded(MENTOR)
async def my_cases(request: Request, viewer: Viewer) -> Response:
    cases = await dashboard(request).pages.cases_of(viewer.session.identity)
    return page(request, "dash/cases.html", title=tr(request).t("My cases"), viewer=viewer,
                cases=cases, notice="", done=False)


def _case_action(resolve: bool) -> Endpoint:
    @guarded(MENTOR)
    async def act(request: Request, viewer: Viewer) -> Response:
        form = await request.form()
        note = form.get("note")
        pages = dashboard(request).pages
        done, said = await pages.act_on_case(
            viewer.session.person_id, viewer.session.identity, request.path_params["code"],
            resolve, note if isinstance(note, str) else "", tr(request))
        # The page again, with what happened (a reload asks before posting again, and the
        # case's new state refuses a second claim).
        cases = await pages.cases_of(viewer.session.identity)
        return page(request, "dash/cases.html", status=200 if done else 409,
                    title=tr(request).t("My cases"), viewer=viewer, cases=cases, notice=said,
                    done=done)

    return act


def routes() -> list[BaseRoute]:
    return [
        Route("/login/{token}", login_form, name="login_form"),
        Route("/login", login, methods=["POST"], name="login"),
        Route("/logout", logout, methods=["POST"], name="logout"),
        Route("/dashboard", home, name="dashboard"),
        Route("/dashboard/people", people, name="people"),
        Route("/dashboard/people/{person_id:int}", person, name="person"),
        Route("/dashboard/reports", reports, name="reports"),
        Route("/dashboard/charts/{name}.svg", chart, name="chart"),
        Route("/dashboard/reports/{name}.csv", report_csv, name="report_csv"),
        Route("/dashboard/events", events, name="dash_events"),
        Route("/dashboard/events/new", event_form, name="event_form"),
        Route("/dashboard/events/new", event_create, methods=["POST"], name="event_create"),
        Route("/dashboard/events/{event_id}/edit", event_edit_form, name="event_edit_form"),
        Route("/dashboard/events/{event_id}/edit", event_edit, methods=["POST"],
              name="event_edit"),
        Route("/dashboard/events/{event_id}/invite", preview, name="preview"),
        Route("/dashboard/events/{event_id}/invite", broadcast, methods=["POST"],
              name="broadcast"),
        Route("/dashboard/broadcasts/{broadcast_id:int}", delivery, name="delivery"),
        Route("/dashboard/broadcasts/{broadcast_id:int}/progress", delivery_progress,
              name="delivery_progress"),
        Route("/dashboard/mentors", mentors, name="mentors"),
        Route("/dashboard/dead-letters", dead_letters, name="dead_letters"),
        Route("/dashboard/dead-letters/{outbox_id:int}/retry", _dead_letter_action(True),
              methods=["POST"], name="retry"),
        Route("/dashboard/dead-letters/{outbox_id:int}/discard", _dead_letter_action(False),
              methods=["POST"], name="discard"),
        Route("/dashboard/audit", audit, name="audit"),
        Route("/dashboard/cases", my_cases, name="my_cases"),
        Route("/dashboard/cases/{code}/claim", _case_action(False), methods=["POST"],
              name="claim"),
        Route("/dashboard/cases/{code}/resolve", _case_action(True), methods=["POST"],
              name="resolve"),
    ]
