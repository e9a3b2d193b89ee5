"""The public pages, for anyone, without login and without personal data: the newcomer hub,
a project's page, upcoming events in a chosen time zone, and certificate verification.

Every page reads through services/public.py and works without JavaScript: the events form is
a plain GET form (htmx only refreshes the list in place when it is there)."""

from __future__ import annotations

import re

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.i18n import N_
from services.public import PublicPages, visitor_zone, zone_names
from web.app import Site, page, tr

CODE = re.compile(r"^[A-Za-z0-9-]{1,64}$")
UPCOMING_ON_HUB = 3


def public(request: Request) -> PublicPages:
    site: Site = request.app.state.site
    return site.public


async def hub(request: Request) -> Response:
    pages = public(request)
    found = await pages.hub()
    events = await pages.events("", visitor_zone("UTC"))
    return page(request, "hub.html", title=found.community, hub=found,
                events=events[:UPCOMING_ON_HUB], more_events=len(events) > UPCOMING_ON_HUB)


async def project(request: Request) -> Response:
    found = await public(request).project(request.path_params["project_id"])
    if found is None:
        raise HTTPException(404, N_("There is no project by that name here."))
    return page(request, "project.html", title=found.name, project=found)


async def events(request: Request) -> Response:
    pages = public(request)
    regions = pages.regions()
    region = request.query_params.get("region", "")
    if region not in {r.code for r in regions}:
        region = ""
    zone = visitor_zone(request.query_params.get("tz", ""))
    found = await pages.events(region, zone)
    # htmx asks for the list alone when the form changes; without JavaScript the whole page.
    name = "events_list.html" if request.headers.get("hx-request") == "true" else "events.html"
    return page(request, name, title=tr(request).t("Upcoming events"), events=found,
                regions=regions, region=region, zone=zone.key, zones=zone_names())


async def certificate_form(request: Request) -> Response:
    code = request.query_params.get("code", "").strip()
    if code:
        if CODE.match(code):
            return RedirectResponse(request.url_for("certificate", code=code), status_code=303)
        return page(request, "certificate_form.html", status=400,
                    title=tr(request).t("Verify a certificate"),
                    problem=tr(request).t("A certificate code has only letters, digits "
                                            "and dashes, like the one printed under the QR code."),
                    code=code)
    return page(request, "certificate_form.html", title=tr(request).t("Verify a certificate"),
                problem="", code="")


async def certificate(request: Request) -> Response:
    code = request.path_params["code"]
    found = await public(request).certificate(code) if CODE.match(code) else None
    if found is None:
        return page(request, "certificate.html", status=404,
                    title=tr(request).t("Certificate not found"), certificate=None, code=code)
    return page(request, "certificate.html",
                title=tr(request).t("Certificate {code}", code=found.code),
                certificate=found, code=found.code)


def routes() -> list[BaseRoute]:
    return [
        Route("/", hub, name="hub"),
        Route("/projects/{project_id}", project, name="project"),
        Route("/events", events, name="events"),
        Route("/certificates", certificate_form, name="certificate_form"),
        Route("/certificates/{code}", certificate, name="certificate"),
    ]
