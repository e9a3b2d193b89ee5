"""The web pages in each visitor's language (issue 20): a `?lang=` link chosen (and kept in a
cookie), else the browser's Accept-Language, else [i18n] default; hostile values pick
nothing; `<html lang dir>` says which; dates in that language; content texts with
translations in it. One page in Chromium at phone width, Spanish, screenshot included."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import Config
from bot.i18n import LocalizedStr
from bot.wiring import load_content
from flows.path.api import PathContent
from services.crm import REPORTS
from services.public import PublicPages
from storage.repository import SqlStore
from tests.browser import NARROW, LoopThread, Pages, serve
from tests.harness import CONTENT, make_config
from web.app import Site, create_app
from web.language import COOKIE, accepted, choose

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
OFFERED = ("en", "es", "pt_BR")
# Every report of services/crm.py, in its order, in Spanish: its title and its table's first
# column.
SPANISH_REPORTS = {"funnel": ("Embudo", "paso"), "cohorts": ("Cohortes", "cohorte"),
                   "time-to-first-task": ("Tiempo hasta la primera tarea", "por"),
                   "projects": ("Por proyecto", "proyecto"),
                   "regions": ("Por región", "región"),
                   "networks": ("Por red", "red"),
                   "travel": ("Ayuda para viajes", "región"),
                   "retention": ("Retención tras la primera tarea", "primera tarea en")}


async def _client(config: Config, store: SqlStore) -> httpx.AsyncClient:
    content = load_content(CONTENT)
    site = Site(PublicPages(config, store, lambda: content, lambda: NOW))
    transport = httpx.ASGITransport(app=create_app(site))
    return httpx.AsyncClient(transport=transport, base_url="http://hub.test")


@pytest.fixture
async def web(sqlite_url: str) -> AsyncIterator[Callable[..., Any]]:
    """`await web(**i18n)`: a client of the public pages, [i18n] as given."""
    stores: list[SqlStore] = []
    clients: list[httpx.AsyncClient] = []

    async def make(**i18n: Any) -> httpx.AsyncClient:
        config = make_config(sqlite_url, i18n=i18n)
        store = SqlStore.open(config.storage.url, config.storage.durable)
        await store.migrate()
        stores.append(store)
        clients.append(await _client(config, store))
        return clients[-1]

    try:
        yield make
    finally:
        for client in clients:
            await client.aclose()
        for store in stores:
            await store.db.dispose()


def _html_lang(text: str) -> tuple[str, str]:
    found = re.search(r'<html lang="([^"]*)" dir="([^"]*)">', text)
    assert found is not None
    return found.group(1), found.group(2)


async def test_accept_language_gives_a_spanish_hub(web: Callable[..., Any]) -> None:
    client = await web()
    page = await client.get("/", headers={"accept-language": "es-MX,es;q=0.9,en;q=0.5"})
    assert page.status_code == 200
    assert _html_lang(page.text) == ("es", "ltr")
    assert "Proyectos" in page.text
    assert "Próximos eventos" in page.text
    assert "Encuentra tu camino en" in page.text
    assert "Upcoming events" not in page.text
    assert "accept-language" in page.headers["vary"].lower()
    assert COOKIE not in page.headers.get("set-cookie", "")  # only a chosen one is kept
    # Every page of the hub, and its errors, in Spanish too.
    spanish = {"accept-language": "es"}
    assert "Verificar un certificado" in (await client.get("/certificates",
                                                           headers=spanish)).text
    events = await client.get("/events", headers=spanish)
    assert "Mostrar las horas en" in events.text
    assert "En todas partes" in events.text
    missing = await client.get("/certificates/ZZZZ-0000", headers=spanish)
    assert missing.status_code == 404
    assert "Certificado no encontrado" in missing.text
    nowhere = await client.get("/projects/no-such-project", headers=spanish)
    assert nowhere.status_code == 404
    assert "Aquí no hay ningún proyecto con ese nombre." in nowhere.text
    assert "No encontrado" in nowhere.text
    bad = await client.get("/certificates", params={"code": "<b>"}, headers=spanish)
    assert bad.status_code == 400
    assert "solo tiene letras, dígitos y guiones" in bad.text
    project = await client.get("/projects/pagebot", headers=spanish)
    assert "Empezar en el chat" in project.text
    assert "Primeras tareas" in project.text
    # A q=0 language is one the browser refuses.
    refused = await client.get("/", headers={"accept-language": "es;q=0, pt-BR;q=0.4"})
    assert _html_lang(refused.text) == ("pt-BR", "ltr")


async def test_a_lang_link_sets_the_cookie_and_the_cookie_is_kept(
        web: Callable[..., Any]) -> None:
    client = await web()
    page = await client.get("/events?lang=pt_BR&tz=Asia/Tokyo",
                            headers={"accept-language": "es"})
    assert _html_lang(page.text) == ("pt-BR", "ltr")
    assert "Próximos eventos" in page.text
    assert "Mostrar os horários em" in page.text
    cookie = page.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=pt_BR;")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    # The links to the other languages keep the page's query, each named in its language.
    assert 'href="/events?tz=Asia%2FTokyo&amp;lang=es"' in page.text
    assert 'lang="es">español</a>' in page.text
    assert 'aria-current="true">português do Brasil</a>' in page.text
    # The cookie wins over the browser's language from then on.
    again = await client.get("/certificates", headers={"accept-language": "es"})
    assert _html_lang(again.text) == ("pt-BR", "ltr")
    assert "Verificar um certificado" in again.text
    assert "set-cookie" not in again.headers
    # Language alone, or any case and separator, names an offered language.
    assert _html_lang((await client.get("/?lang=ES")).text)[0] == "es"
    assert _html_lang((await client.get("/?lang=pt")).text)[0] == "pt-BR"


async def test_an_unknown_language_falls_back_to_the_default(web: Callable[..., Any]) -> None:
    client = await web()
    page = await client.get("/?lang=fr", headers={"accept-language": "de, fr;q=0.8"})
    assert _html_lang(page.text) == ("en", "ltr")
    assert "Upcoming events" in page.text
    assert "set-cookie" not in page.headers
    spanish = await web(default="es")
    page = await spanish.get("/", headers={"accept-language": "de"})
    assert _html_lang(page.text) == ("es", "ltr")
    # A language the community does not offer is not chosen, even one the bot ships.
    only = await web(default="en", languages=["en", "es"])
    page = await only.get("/?lang=pt_BR", headers={"accept-language": "pt-BR"})
    assert _html_lang(page.text) == ("en", "ltr")
    assert "português" not in page.text
    assert "español" in page.text


@pytest.mark.parametrize("hostile", [
    "<script>alert(1)</script>", "es\r\nSet-Cookie: x=1", "../../etc/passwd", "es%00",
    "e" * 5000, "pt_BR<b>", "\u202ees", "' onmouseover='x", ""])
async def test_hostile_lang_values_are_ignored(web: Callable[..., Any], hostile: str) -> None:
    client = await web()
    header = hostile.replace("\r\n", " ").encode("ascii", "replace").decode() or "x"
    page = await client.get("/", params={"lang": hostile},
                            headers={"accept-language": header})
    assert page.status_code == 200
    assert _html_lang(page.text) == ("en", "ltr")
    assert "set-cookie" not in page.headers
    client.cookies.set(COOKIE, header.replace(" ", "")[:4000])
    page = await client.get("/")
    assert page.status_code == 200
    assert _html_lang(page.text) == ("en", "ltr")


def test_choosing_reads_only_what_is_offered() -> None:
    assert accepted("da, en-gb;q=0.8, en;q=0.7, *;q=0.5") == ["da", "en-gb", "en", "*"]
    assert accepted("es;q=0, pt;q=x, fr") == ["fr"]
    assert accepted("") == []
    assert choose("", "", "de-DE,pt-PT;q=0.8", OFFERED, "en") == ("pt_BR", False)
    assert choose("es", "pt_BR", "pt", OFFERED, "en") == ("es", True)
    assert choose("xx", "pt_BR", "es", OFFERED, "en") == ("pt_BR", False)
    assert choose("xx", "<x>", "*", OFFERED, "es") == ("es", False)


async def test_dates_and_content_translations_in_the_pages_language(
        web: Callable[..., Any], sqlite_url: str) -> None:
    """Babel writes the dates; a content text given in Spanish is shown in Spanish."""
    content = load_content(CONTENT)
    pagebot = content.of(PathContent).projects["pagebot"]
    object.__setattr__(pagebot, "summary", LocalizedStr(
        "Summary in English.", {"en": "Summary in English.", "es": "Resumen en español."}))
    config = make_config(sqlite_url)
    store = SqlStore.open(config.storage.url, config.storage.durable)
    await store.migrate()
    site = Site(PublicPages(config, store, lambda: content, lambda: NOW))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(site)),
                                     base_url="http://hub.test") as client:
            spanish = (await client.get("/projects/pagebot?lang=es")).text
            english = (await client.get("/projects/pagebot?lang=en")).text
            events = (await client.get("/events?lang=es&tz=Europe/Madrid")).text
    finally:
        await store.db.dispose()
    assert "Resumen en español." in spanish
    assert "Summary in English." not in spanish
    assert "Summary in English." in english
    # Spanish day and month names ("mié 20 ene 2027, 18:30 CET"), and "allí" for there.
    assert re.search(r"(lun|mar|mié|jue|vie|sáb|dom) \d{1,2} [a-z]{3,4}\.? 20\d\d, \d\d:\d\d",
                     events), events
    assert "allí" in events


@pytest.fixture
def spanish_site(loop_thread: LoopThread, sqlite_url: str) -> Iterator[str]:
    config = make_config(sqlite_url)
    content = load_content(CONTENT)
    store = SqlStore.open(config.storage.url, config.storage.durable)
    loop_thread.run(store.migrate())
    server = serve(loop_thread, create_app(Site(PublicPages(config, store, lambda: content,
                                                            lambda: NOW))))
    try:
        yield server.url
    finally:
        loop_thread.run(server.stop())
        loop_thread.run(store.db.dispose())


def test_a_spanish_page_in_chromium_at_phone_width(
        spanish_site: str, pages_for: Callable[..., Pages]) -> None:
    pages = pages_for(spanish_site, viewport=NARROW)
    assert pages.open("/?lang=es").status == 200  # Chromium asks for en-US itself
    assert pages.page.locator("html").get_attribute("lang") == "es"
    assert "Proyectos" in pages.page.locator("header nav").first.inner_text()
    assert pages.horizontal_overflow() == 0
    shots: list[Path] = pages.shoot("hub-es")
    assert all(p.stat().st_size > 0 for p in shots)
    # The language links work, and the choice stays on the next page.
    pages.page.locator("nav.langs a[hreflang=pt-BR]").click()
    pages.page.wait_for_url("**/?lang=pt_BR")
    assert pages.page.locator("html").get_attribute("lang") == "pt-BR"
    assert pages.open("/events").status == 200
    assert "Próximos eventos" in pages.page.inner_text("h1")
    assert "Mostrar os horários em" in pages.page.inner_text("main")
    assert pages.horizontal_overflow() == 0
    pages.shoot("events-pt_BR")
    assert pages.errors == []  # nothing refused by the Content-Security-Policy


def test_the_pages_translations_fill_the_fields_their_message_has() -> None:
    """A template's message fills %(name)s fields; a translation naming another one would
    fail the page (Babel's own catalog check says which)."""
    from bot import catalogs

    for code in catalogs.languages():
        catalog = catalogs.read(catalogs.po_path(code), code)
        problems = [(message.id, [str(e) for e in errors])
                    for message, errors in catalog.check()
                    if any(where.startswith("web/") for where, _ in message.locations)]
        assert problems == [], code


async def test_the_dashboards_pages_in_the_visitors_language(sqlite_url: str) -> None:
    """The dashboard chooses its language as the public pages do: the login link's page in
    Portuguese (the link's lifetime too), the page asking to log in in Spanish."""
    from services.dashboard import dashboard_alone

    config = make_config(sqlite_url)
    store = SqlStore.open(config.storage.url, config.storage.durable)
    await store.migrate()
    content = load_content(CONTENT)
    try:
        async with dashboard_alone(config) as dash:
            site = Site(PublicPages(config, store, lambda: content, lambda: NOW), dashboard=dash)
            transport = httpx.ASGITransport(app=create_app(site))
            async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as web:
                needed = await web.get("/dashboard", headers={"accept-language": "es"})
                login = await web.get("/login/abc?lang=pt_BR")
                refused = await web.post("/login", data={"token": "abc"},
                                         headers={"origin": "https://elsewhere.example"})
                bad_link = await web.post("/login", data={"token": "abc"})
    finally:
        await store.db.dispose()
    assert _html_lang(login.text) == ("pt-BR", "ltr")
    assert "Entrar no painel" in login.text
    assert re.search(r"expira \d+ minutos depois", login.text), login.text
    assert needed.status_code == 401
    assert "Inicia sesión" in needed.text
    assert "<code>!dashboard</code> en un chat privado" in needed.text
    # The cookie the login link set keeps the next page in Portuguese.
    assert refused.status_code == 403
    assert "Formulário recusado" in refused.text
    # Why the services refused the login, in the page's language too (it was English): the
    # cookie keeps Portuguese.
    assert bad_link.status_code == 403
    assert "Este link de login não é válido" in bad_link.text
    assert "isn't valid" not in bad_link.text


async def test_a_logged_in_person_reads_the_dashboard_in_their_bot_language(
        sqlite_url: str) -> None:
    """An organizer who chose Spanish with !language gets Spanish dashboard pages whatever
    their browser says; a ?lang= link (and its cookie) still wins."""
    from tests.harness import FakeClock, Harness
    from tests.serverkit import free_port
    from tests.test_dashboard_login import ROLES, WEB, token_of
    from tests.test_mentoring import MONDAY_10_BERLIN, NETWORKS
    from web.dashboard import COOKIE as SESSION

    port = free_port()
    config = make_config(sqlite_url, roles=ROLES, web=WEB | {"enabled": True, "port": port})
    async with Harness(config, networks=NETWORKS, clock=FakeClock(MONDAY_10_BERLIN)) as bot:
        await bot.say("olga", "!language es", "irc")
        token = token_of(await bot.say("olga", "!dashboard", "irc"))
        english = {"accept-language": "en-US,en;q=0.9"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as web:
            login = await web.post("/login", data={"token": token},
                                   headers={"origin": f"http://127.0.0.1:{port}", **english})
            assert login.status_code == 303
            web.cookies.set(SESSION, login.cookies[SESSION])
            home = await web.get("/dashboard", headers=english)
            assert _html_lang(home.text) == ("es", "ltr")
            assert "Sesión iniciada como <strong>irc:olga</strong>" in home.text
            assert "Registro de auditoría" in home.text
            refused = await web.get("/dashboard/cases", headers=english)
            assert refused.status_code == 403
            assert "Esta página es para mentores." in refused.text
            chosen = await web.get("/dashboard?lang=pt_BR", headers=english)
            assert _html_lang(chosen.text) == ("pt-BR", "ltr")
            assert "Registro de auditoria" in chosen.text
            again = await web.get("/dashboard/people", headers=english)
            assert _html_lang(again.text) == ("pt-BR", "ltr")
            assert "Pessoas" in again.text
            # What the services answer is in the page's language too: why an event from a
            # content file can't change on the web.
            fixed = await web.get("/dashboard/events/berlin-hack-evening/edit", headers=english)
            assert fixed.status_code == 409
            assert "Este evento vem de um arquivo de conteúdo" in fixed.text
            assert "comes from a content file" not in fixed.text
            # A person's record, written by the services, in the page's language too.
            found = await web.get("/dashboard/people?q=olga", headers=english)
            person_id = re.findall(r"/dashboard/people/(\d+)", found.text)[0]
            record = await web.get(f"/dashboard/people/{person_id}", headers=english)
            assert f"Pessoa {person_id}: irc:olga" in record.text
            assert "Vista pela primeira vez" in record.text
            assert "First seen" not in record.text
            # The invite's preview too.
            preview = await web.get("/dashboard/events/berlin-hack-evening/invite",
                                    headers=english)
            assert preview.status_code == 200
            assert "do convite para berlin-hack-evening" in preview.text
            assert "Preview of the invite" not in preview.text
            # The reports the dashboard shows, their tables and charts.
            shown = await web.get("/dashboard/reports", headers=english)
            assert "<h2>Funil</h2>" in shown.text
            assert "primeira tarefa feita" in shown.text
            assert "desistência desde o anterior" in shown.text
            assert "Turmas" in shown.text
            assert "drop-off" not in shown.text
            chart = await web.get("/dashboard/charts/funnel.svg", headers=english)
            assert "Funil: até onde chegam os recém-chegados" in chart.text
            # Every report, in Spanish: in the contents, its title, its table, its chart
            # (asked for in the page's language).
            spanish = (await web.get("/dashboard/reports?lang=es", headers=english)).text
            assert "<h2 id=\"toc-title\">Contenido</h2>" in spanish
            assert list(SPANISH_REPORTS) == list(REPORTS)
            for name, (title, column) in SPANISH_REPORTS.items():
                assert f'<a href="#report-{name}">{title}</a>' in spanish
                section = spanish.split(f'<section class="report" id="report-{name}">')[1]
                section = section.split("</section>")[0]
                assert section.startswith(f"\n<h2>{title}</h2>")
                assert f'<th scope="col">{column}</th>' in section
                assert f'src="/dashboard/charts/{name}.svg?lang=es"' in section
                assert "gráfico de la tabla de abajo" in section
                assert "Volver al contenido" in section
                assert f'href="/dashboard/reports/{name}.csv?lang=es" download>' \
                       "La tabla entera en CSV</a>" in section
                drawn = await web.get(f"/dashboard/charts/{name}.svg?lang=es", headers=english)
                assert drawn.status_code == 200, name
                assert drawn.headers["content-type"] == "image/svg+xml"
            # Nothing counted yet: the empty table and the empty chart say so in Spanish.
            assert "Todavía no se ha contado a nadie aquí." in spanish
            travel = await web.get("/dashboard/charts/travel.svg", headers=english)
            assert "Ayuda para viajes" in travel.text
            assert "(nadie)" in travel.text
            assert "(no one)" not in travel.text
            unknown = await web.get("/dashboard/charts/nothing.svg", headers=english)
            assert unknown.status_code == 404
            # A report's CSV: the whole table, its columns in the language asked for.
            table = await web.get("/dashboard/reports/funnel.csv?lang=es", headers=english)
            assert table.status_code == 200
            assert table.text.startswith("\ufeffpaso,personas,")


def test_numbers_and_dates_are_written_as_the_pages_language_writes_them() -> None:
    from bot.i18n import translator
    from web.app import TEMPLATES
    from web.language import PageLanguage

    template = TEMPLATES.env.from_string("{{ 12345 | number }} {{ at | when('date') }}")
    at = datetime(2027, 1, 20, 18, 30, tzinfo=UTC)
    assert template.render(language=PageLanguage("en", translator("en")), at=at) == (
        "12,345 20 January 2027")
    assert template.render(language=PageLanguage("es", translator("es")), at=at) == (
        "12.345 20 de enero de 2027")
    assert template.render(language=PageLanguage("pt_BR", translator("pt_BR")), at=at) == (
        "12.345 20 de janeiro de 2027")
