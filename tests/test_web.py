"""The public web pages in a real browser (Debian's Chromium, tests/browser.py): the hub shows
every project of the demo content, certificates verify (valid, revoked, unknown), the events
form works without JavaScript, a phone-width page never scrolls sideways, hostile text is
shown as text, and every response carries the security headers. Screenshots of every page,
wide and narrow, land in $WAYFINDER_SCREENSHOTS (default tests/screenshots)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot.config import Config
from bot.content import Content
from bot.model import ExternalId, Identity, Network, PersonId
from bot.ports import UnitOfWork
from bot.wiring import load_content
from flows.events.records import CreateEvent, Event
from flows.path.api import PathContent
from flows.path.records import Certificate, RevokeCertificate
from flows.tracker.records import LiveTask, SourceStanding
from services.public import PublicPages
from storage.repository import SqlStore
from tests.browser import NARROW, LoopThread, Pages, serve
from tests.harness import CONTENT, make_config
from web.app import SECURITY_HEADERS, Site, create_app
from web.server import WebServer

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
# The hostile strings the adapters' tests push through Matrix HTML (tests/test_matrix_*.py).
HOSTILE = ["<script>alert(1)</script>", "<a href=\"javascript:alert(1)\">x</a>",
           "<img src=x onerror=alert(1)>", "&lt;b&gt;", "&amp;", "]]>", "<!--", "-->",
           "\"'><", "<ol><li>", "{{x}}", "${x}", "<p style=x>", "&#60;", "&#x3c;",
           "<a href=https://matrix.to/#/@room>", "\u202eevil", "ünï 🙂"]
HOSTILE_TEXT = "".join(HOSTILE)


@dataclass
class Served:
    url: str
    config: Config
    content: Content
    server: WebServer


async def seed(config: Config, hostile: bool) -> None:
    """Certificates (one revoked), an event made in chat, a tracker's open task."""
    store = SqlStore.open(config.storage.url, config.storage.durable)
    await store.start()
    try:
        people = [await store.person_for(Identity(Network("memory"), ExternalId(n), True))
                  for n in ("ana", "bo")]
        name = HOSTILE_TEXT if hostile else "Ana Lima"
        title = HOSTILE_TEXT if hostile else "Get started with Pagebot"
        await store.commit(UnitOfWork(people[0], records=[
            Certificate("GOOD-2345", people[0], name, "pagebot-get-started", title,
                        NOW - timedelta(days=3))]))
        await store.commit(UnitOfWork(people[1], records=[
            Certificate("GONE-6789", people[1], "Bo Chen", "first-task:pwb-typo",
                        "Fix a typo", NOW - timedelta(days=30))]))
        await store.commit(UnitOfWork(PersonId(0), records=[
            RevokeCertificate("GONE-6789", "issued by mistake", "cli:root", NOW)]))
        event_title = HOSTILE_TEXT if hostile else "Lumen meetup in Lagos"
        await store.commit(UnitOfWork(PersonId(0), records=[CreateEvent(Event(
            "lagos-meetup", event_title, NOW + timedelta(days=20), "Africa/Lagos",
            HOSTILE_TEXT if hostile else "Yaba tech hub", ("africa",), "everyone"), NOW)]))
        task_title = HOSTILE_TEXT if hostile else "Document the search options"
        await store.replace_live_tasks(
            SourceStanding("pagebot/gh", "pagebot", "github", NOW, NOW, "", None, 1),
            [LiveTask("pagebot-gh-7", "pagebot/gh", "pagebot", "7", task_title,
                      "javascript:alert(1)" if hostile else "https://example.org/issues/7",
                      ("docs",), 0)])
    finally:
        await store.close()


@pytest.fixture
def served(loop_thread: LoopThread, sqlite_url: str, tmp_path: Path,
           request: pytest.FixtureRequest) -> Iterator[Served]:
    """The public pages of the demo content (or, marked hostile, a copy whose first project
    says hostile things) over a seeded store, served on a free port."""
    hostile = request.node.get_closest_marker("hostile") is not None
    folder = CONTENT
    if hostile:
        folder = tmp_path / "content"
        shutil.copytree(CONTENT, folder)
        project = folder / "projects" / "pagebot.toml"
        text = project.read_text(encoding="utf-8")
        escaped = HOSTILE_TEXT.replace("\\", "\\\\").replace('"', '\\"')
        text = re.sub(r'(?m)^summary = .*$', f'summary = "{escaped}"', text, count=1)
        text = re.sub(r'(?m)^docs = .*$', 'docs = "javascript:alert(1)"', text, count=1)
        text = re.sub(r'(?m)^url = .*$', 'url = "JavaScript:alert(1)"', text, count=1)
        project.write_text(text, encoding="utf-8")
        workshop = folder / "workshops" / "pagebot-get-started.toml"
        text = workshop.read_text(encoding="utf-8")
        text = text.replace('title = "Install Python and Git"\nbody = """',
                            f'title = "{escaped}"\nbody = """[x](javascript:alert(1)) {escaped}\n')
        workshop.write_text(text, encoding="utf-8")
    config = make_config(sqlite_url, content={"path": str(folder)},
                         adapters={"telegram": {"username": "lumen_wayfinder_bot"},
                                   "irc": {"webchat_url": "https://web.example.org/#{channel}"}})
    content = load_content(folder)
    loop_thread.run(seed(config, hostile))
    store = SqlStore.open(config.storage.url, config.storage.durable)
    loop_thread.run(store.migrate())
    site = Site(PublicPages(config, store, lambda: content, lambda: NOW))
    server = serve(loop_thread, create_app(site))
    try:
        yield Served(server.url, config, content, server)
    finally:
        loop_thread.run(server.stop())
        loop_thread.run(store.db.dispose())


def test_the_hub_shows_every_project_of_the_demo_content(
        served: Served, pages_for: Callable[..., Pages]) -> None:
    pages = pages_for(served.url)
    assert pages.open("/").status == 200
    projects = served.content.of(PathContent).projects
    assert len(projects) >= 4
    cards = pages.page.locator("ul.cards > li.card")
    assert cards.count() == len([p for p in projects.values() if p.featured])
    for project in projects.values():
        card = pages.page.locator(f"#project-{project.id}")
        assert card.locator("h3").inner_text() == project.name
        assert project.summary[:40] in card.inner_text()
    # Start-in-chat links for every network: Matrix by matrix.to, IRC's web chat, Telegram's
    # deep link with the project's group as the payload (the bot offers that project).
    pagebot = pages.page.locator("#project-pagebot")
    links = [pagebot.locator("a").nth(i).get_attribute("href")
             for i in range(pagebot.locator("a").count())]
    assert "https://matrix.to/#/%23pagebot%3Alumen.test" in links
    assert "https://web.example.org/#%23pagebot" in links
    assert "https://t.me/lumen_wayfinder_bot?start=lumen_pagebot" in links
    assert "Document the search options" in pages.page.inner_text("main")  # the tracker's
    assert "Amara" in pagebot.inner_text() or "Tomasz" in pagebot.inner_text()
    assert "lumen.test" not in pages.page.locator(".mentors").all_inner_texts()[0]
    pages.shoot("hub")
    # Keyboard: the skip link comes first, then the header's links; a project card opens.
    pages.page.keyboard.press("Tab")
    assert pages.page.evaluate("document.activeElement.className") == "skip"
    pages.page.locator("#project-pagebot h3 a").focus()
    pages.page.keyboard.press("Enter")
    pages.page.wait_for_url("**/projects/pagebot")
    assert pages.page.locator("h1").inner_text() == "Pagebot"
    assert pages.page.locator("ol.steps > li").count() >= 2
    for project in projects.values():
        assert pages.open(f"/projects/{project.id}").status == 200
        pages.shoot(f"project-{project.id}")
    assert pages.errors == []  # no script or style refused by the CSP, no script error
    assert pages.open("/projects/no-such-project").status == 404
    assert "no project" in pages.page.inner_text("main")
    pages.shoot("not-found")


def test_certificates_verify_valid_revoked_and_unknown(
        served: Served, pages_for: Callable[..., Pages]) -> None:
    pages = pages_for(served.url)
    assert pages.open("/certificates").status == 200
    pages.shoot("certificate-form")
    pages.page.get_by_label("Certificate code").fill("good-2345")
    pages.page.keyboard.press("Enter")  # the form submits from the keyboard
    pages.page.wait_for_url("**/certificates/good-2345")
    main = pages.page.inner_text("main")
    assert "Valid" in main
    assert "Ana Lima" in main
    assert "Get started with Pagebot" in main
    assert "26 November 2026" in main
    pages.shoot("certificate-valid")

    assert pages.open("/certificates/GONE-6789").status == 200
    main = pages.page.inner_text("main")
    assert "Revoked on 29 November 2026" in main
    assert "Bo Chen" in main
    assert "a first task: Fix a typo" in main
    assert "mistake" not in main  # the reason is the organizers' business
    pages.shoot("certificate-revoked")

    assert pages.errors == []
    assert pages.open("/certificates/ZZZZ-0000").status == 404
    assert "Certificate not found" in pages.page.inner_text("h1")
    pages.shoot("certificate-unknown")
    assert pages.open("/certificates?code=%3Cscript%3E").status == 400
    assert "only letters, digits and dashes" in pages.page.inner_text("main")


def test_the_events_form_works_without_javascript(
        served: Served, pages_for: Callable[..., Pages]) -> None:
    pages = pages_for(served.url, javascript=False)
    assert pages.open("/events").status == 200
    assert pages.page.locator(".events > li").count() == 3  # two in content, one from chat
    pages.page.get_by_label("Region").select_option("ng")  # Nigeria, under Africa
    pages.page.get_by_label("Show times in").select_option("Asia/Tokyo")
    pages.page.get_by_role("button", name="Show").click()
    pages.page.wait_for_url("**/events?region=ng&tz=Asia%2FTokyo")
    listed = pages.page.locator(".events > li").all_inner_texts()
    assert any("Lumen meetup in Lagos" in item for item in listed)
    assert not any("Berlin" in item for item in listed)
    assert all("JST" in item for item in listed)
    pages.shoot("events")


def test_the_events_list_follows_the_form_with_javascript(
        served: Served, pages_for: Callable[..., Pages]) -> None:
    pages = pages_for(served.url)
    pages.open("/events")
    pages.page.get_by_label("Show times in").select_option("America/Sao_Paulo")
    pages.page.wait_for_url("**/events?*tz=America%2FSao_Paulo*")
    pages.page.locator(".events time", has_text="-03").first.wait_for()
    assert pages.page.locator("form.filters").count() == 1  # swapped the list, not the page
    assert pages.errors == []


def test_a_phone_never_scrolls_sideways_and_every_field_is_labelled(served: Served,
                                        pages_for: Callable[..., Pages]) -> None:
    pages = pages_for(served.url, viewport=NARROW)
    for path in ("/", "/projects/pagebot", "/events", "/certificates",
                 "/certificates/GOOD-2345", "/certificates/NOPE-0000"):
        pages.open(path)
        assert pages.horizontal_overflow() == 0, path
        unlabelled = pages.page.evaluate(
            "[...document.querySelectorAll('input, select, textarea')]"
            ".filter(e => e.labels.length === 0).map(e => e.name)")
        assert unlabelled == [], path  # every field has a label
    pages.open("/")
    card = pages.page.locator("ul.cards > li.card").first.bounding_box()
    assert card is not None
    assert card["width"] > 300


@pytest.mark.hostile
def test_hostile_text_is_shown_as_text_on_every_page(
        served: Served, pages_for: Callable[..., Pages]) -> None:
    """The holder's chosen name, a title, an event made in chat, a tracker's task title and
    the content's own words: every page that shows them shows them as typed."""
    pages = pages_for(served.url)
    for path in ("/", "/projects/pagebot", "/events", "/certificates/GOOD-2345"):
        assert pages.open(path).status == 200
        text = pages.page.inner_text("main")
        assert "<script>alert(1)</script>" in text, path
        assert "<img src=x onerror=alert(1)>" in text, path
        assert "\u202e" not in text, path  # it would turn the text after it around
        assert pages.page.locator("main script, main img, main ol ol, main [style]"
                                  ).count() == 0, path
        assert pages.page.locator("main a[href*='script:' i]").count() == 0, path
        pages.shoot("hostile" + (path.replace("/", "-").rstrip("-") or "-hub"))
    assert pages.dialogs == []
    assert pages.errors == []


def test_every_response_carries_the_security_headers(served: Served) -> None:
    with httpx.Client(base_url=served.url) as client:
        for path in ("/", "/projects/pagebot", "/events", "/certificates",
                     "/certificates/NOPE-0000", "/no/such/page", "/static/style.css",
                     "/static/htmx.min.js"):
            response = client.get(path)
            for name, value in SECURITY_HEADERS:
                assert response.headers.get(name.decode()) == value.decode(), (path, name)
        assert "script-src 'self';" in client.get("/").headers["content-security-policy"]
        assert client.post("/").status_code == 405


def test_wayfinder_web_serves_the_pages_alone_until_told_to_stop(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    from tests.serverkit import free_port

    port = free_port()
    (tmp_path / "wayfinder.toml").write_text(
        f'[storage]\nurl = "sqlite+aiosqlite:///{tmp_path / "w.db"}"\n'
        f'[content]\npath = "{CONTENT}"\n[web]\nport = {port}\n', encoding="utf-8")
    child = subprocess.Popen([sys.executable, "-m", "bot", "web"], cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        status = 0
        while time.monotonic() < deadline and child.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert status == 200, child.communicate()[1] if child.poll() is not None else "silent"
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 0, err
    assert f"web pages on http://127.0.0.1:{port}/" in err


async def test_the_pages_alone_follow_content_edits(sqlite_url: str, tmp_path: Path) -> None:
    """`wayfinder web` without the bot loads the content folder again when it changes, as
    the bot does; a folder with problems leaves the pages on the last good content."""
    import asyncio

    from web.server import alone

    folder = tmp_path / "content"
    shutil.copytree(CONTENT, folder)
    config = make_config(sqlite_url, content={"path": str(folder), "watch_seconds": 0.05})
    project = folder / "projects" / "pagebot.toml"
    async with alone(config) as app, httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://hub") as client:
        assert "Pagebot" in (await client.get("/")).text
        project.write_text(project.read_text(encoding="utf-8").replace(
            'name = "Pagebot"', 'name = "Pagebot Next"'), encoding="utf-8")
        for _ in range(100):
            if "Pagebot Next" in (await client.get("/")).text:
                break
            await asyncio.sleep(0.05)
        assert "Pagebot Next" in (await client.get("/")).text
        project.write_text("name = ", encoding="utf-8")  # broken: not loaded
        await asyncio.sleep(0.5)
        assert "Pagebot Next" in (await client.get("/")).text


def test_bad_addresses_and_fields_get_a_page_not_an_error(served: Served) -> None:
    """Whatever is typed into an address or a field: a page that says what went wrong (or
    falls back), never a server error, and nothing of it runs."""
    with httpx.Client(base_url=served.url) as client:
        for tz in ("America", "America/", "../../etc/passwd", "Europe/Berlin\x00", "x" * 500,
                   "posixrules", "<script>"):
            response = client.get("/events", params={"tz": tz, "region": "<b>x</b>"})
            assert response.status_code == 200, tz
            assert 'selected>UTC</option>' in response.text, tz
        assert client.get("/certificates/" + "A" * 300).status_code == 404
        assert client.get("/certificates/%00%0A").status_code == 404
        assert client.get("/certificates", params={"code": "x" * 300}).status_code == 400
        assert client.get("/projects/%3Cscript%3E").status_code == 404
        assert client.get("/projects/" + "p" * 1000).status_code == 404
        assert "<script>" not in client.get("/projects/%3Cscript%3E").text


def test_start_in_chat_links_for_every_network(sqlite_url: str) -> None:
    """Matrix through matrix.to; IRC's channel with its web chat; Telegram's deep link with
    the project's public group as the payload the bot reads, or the bot alone when the
    project has no such group; nothing for a network the project does not list."""
    from flows.path.api import Project

    config = make_config(sqlite_url,
                         adapters={"telegram": {"username": "lumen_wayfinder_bot"},
                                   "irc": {"webchat_url": "https://web.example.org/?c={channel}"}})
    pages = PublicPages(config, None, lambda: load_content(CONTENT))  # type: ignore[arg-type]

    def links(**channels: str) -> list[tuple[str, str, str, str]]:
        project = Project(id="p", name="P", summary="S", channels=channels)
        return [(c.network, c.label, c.url, c.start_url) for c in pages.chat_links(project)]

    assert links(matrix="#p:example.org", irc="#p", telegram="https://t.me/p_group") == [
        ("matrix", "#p:example.org", "https://matrix.to/#/%23p%3Aexample.org", ""),
        ("irc", "#p", "https://web.example.org/?c=%23p", ""),
        ("telegram", "@p_group", "https://t.me/p_group",
         "https://t.me/lumen_wayfinder_bot?start=p_group")]
    assert links(irc="#p") == [("irc", "#p", "https://web.example.org/?c=%23p", ""),
                                ("telegram", "", "", "https://t.me/lumen_wayfinder_bot")]
    # An invite link is no payload the bot reads: the link is shown, the bot starts plainly.
    assert links(telegram="https://t.me/+AbCdEf") == [
        ("telegram", "https://t.me/+AbCdEf", "https://t.me/+AbCdEf",
         "https://t.me/lumen_wayfinder_bot")]


def test_a_report_cell_holding_a_time_reads_as_a_time_in_the_page_language() -> None:
    """The travel report's "through stage N on" is a time: the dashboard writes it as people
    read one, in the page's language; other cells stay as they are."""
    from bot.i18n import translator
    from web.app import environment
    from web.language import PageLanguage

    template = environment().from_string("{{ v|cell }}")
    at = datetime(2027, 1, 21, 18, 30, tzinfo=UTC)
    assert template.render(v=at) == "Thu 21 Jan 2027, 18:30 UTC"
    spanish = PageLanguage("es", translator("es"))
    assert template.render(v=at, language=spanish).startswith("jue 21 ene 2027, 18:30")
    assert template.render(v=7) == "7"
    assert template.render(v="(no region)") == "(no region)"
