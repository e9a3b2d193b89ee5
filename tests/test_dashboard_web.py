"""The dashboard in a real browser (Debian's Chromium, tests/browser.py), over the whole bot
with memory adapters: a `!dashboard` link logs in once and never again, an expired one is
refused, people are searched, a forged form is refused, a mentor is refused an organizer's
page, an invite previewed and sent from the web reaches the adapters (progress to 100%),
hostile text stays text, and no page scrolls sideways on a phone. Screenshots of every page,
wide and narrow, land in $WAYFINDER_SCREENSHOTS (default tests/screenshots)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

import web.dashboard
from bot.ports import PermanentSendError
from services.crm import BUILDERS, REPORTS
from services.dashboard import dashboard_site
from services.public import PublicPages
from tests.browser import NARROW, LoopThread, Pages, serve
from tests.harness import FakeClock, Harness, make_config
from tests.test_web import HOSTILE, HOSTILE_TEXT
from web.app import Site, create_app
from web.dashboard import COOKIE

ROLES = {"organizers": ["irc:olga"], "admins": ["matrix:@root:lumen.test"]}
AMARA = "@amara:lumen.test"  # a Pagebot mentor in the demo content
NETWORKS = ("irc", "matrix", "telegram")
# What the bot keeps of the hostile text: bidi controls are dropped where text comes in.
KEPT = HOSTILE_TEXT.replace("\u202e", "")
# Every report of services/crm.py, in its order: its title and its table's first column.
REPORTS_IN_ENGLISH = {"funnel": ("Funnel", "step"), "cohorts": ("Cohorts", "cohort"),
                      "time-to-first-task": ("Time to first task", "by"),
                      "projects": ("By project", "project"),
                      "regions": ("By region", "region"),
                      "networks": ("By network", "network"),
                      "travel": ("Travel support", "region"),
                      "retention": ("Retention after the first task", "first task in")}


@dataclass
class Dash:
    url: str
    bot: Harness
    thread: LoopThread
    clock: FakeClock

    def say(self, who: str, text: str, network: str = "irc") -> str:
        return self.thread.run(self.bot.say(who, text, network))

    def link(self, who: str = "olga", network: str = "irc") -> str:
        """The path of a fresh `!dashboard` link."""
        reply = self.say(who, "!dashboard", network)
        found = re.search(r"https://dash\.example\.org(/login/\S+)", reply)
        assert found is not None, reply
        return found.group(1)


@pytest.fixture
def dash(loop_thread: LoopThread, sqlite_url: str) -> Iterator[Dash]:
    # Broadcasts are stamped with the real time: the bot's clock starts there too.
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    config = make_config(sqlite_url, roles=ROLES, web={"public_url": "https://dash.example.org"},
                         events={"quiet_hours": ""})
    bot = Harness(config, networks=NETWORKS, clock=clock)
    loop_thread.run(bot.start())
    app = bot.running

    def content():  # type: ignore[no-untyped-def]
        return app.engine.content

    site = Site(PublicPages(config, app.store, content, clock),
                dashboard=dashboard_site(config, app.store, content, clock,
                                         app.dispatcher.poke, app.dispatcher.enqueue))
    server = serve(loop_thread, create_app(site))
    try:
        yield Dash(server.url, bot, loop_thread, clock)
    finally:
        loop_thread.run(server.stop())
        loop_thread.run(bot.stop())


def log_in(pages: Pages, path: str) -> None:
    assert pages.open(path).status == 200
    pages.page.get_by_role("button", name="Log in").click()
    pages.page.wait_for_url("**/dashboard")


def assert_every_report_shown(pages: Pages, without_chart: str = "") -> None:
    """The reports page (open) shows every report in order, each under its anchor, listed
    in the contents, with its table and its chart (but `without_chart`'s)."""
    assert list(REPORTS_IN_ENGLISH) == list(REPORTS)
    titles = [title for title, _ in REPORTS_IN_ENGLISH.values()]
    assert pages.page.locator("section.report h2").all_inner_texts() == titles
    contents = pages.page.locator("nav.toc a")
    assert contents.all_inner_texts() == titles
    for n, (name, (_, column)) in enumerate(REPORTS_IN_ENGLISH.items()):
        assert contents.nth(n).get_attribute("href") == f"#report-{name}"
        section = pages.page.locator(f"#report-{name}")
        assert section.locator("thead th").first.inner_text() == column
        images = section.locator("img.chart")
        if name == without_chart:
            assert images.count() == 0
        else:
            assert images.get_attribute("src") == f"/dashboard/charts/{name}.svg?lang=en"


def test_a_login_link_works_once_then_never_again(
        dash: Dash, pages_for: Callable[..., Pages]) -> None:
    path = dash.link()
    pages = pages_for(dash.url)
    # Opening the link (as a chat client's preview would) uses nothing up.
    assert pages.open(path).status == 200
    pages.shoot("dash-login")
    log_in(pages, path)
    assert pages.page.locator("h1").inner_text() == "Dashboard"
    assert "irc:olga" in pages.page.inner_text("main")
    cookie = next(c for c in pages.context.cookies() if c["name"] == COOKIE)
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    pages.shoot("dash-home")
    assert pages.errors == []

    again = pages_for(dash.url)
    assert again.open(path).status == 200
    again.page.get_by_role("button", name="Log in").click()
    assert "isn't valid" in again.page.inner_text("main")
    again.shoot("dash-login-used")
    assert again.open("/dashboard").status == 401
    assert "!dashboard" in again.page.inner_text("main")
    again.shoot("dash-login-needed")

    pages.page.get_by_role("button", name="Log out").click()
    pages.page.wait_for_load_state()
    assert pages.page.locator("h1").inner_text() == "Logged out"
    assert pages.open("/dashboard").status == 401  # the session ended on the server


def test_an_expired_link_is_refused(dash: Dash, pages_for: Callable[..., Pages]) -> None:
    path = dash.link()
    dash.clock.advance(minutes=11)
    pages = pages_for(dash.url)
    pages.open(path)
    pages.page.get_by_role("button", name="Log in").click()
    assert "isn't valid" in pages.page.inner_text("main")
    assert pages.open("/dashboard").status == 401


def test_a_forged_form_is_refused(dash: Dash, pages_for: Callable[..., Pages]) -> None:
    pages = pages_for(dash.url)
    log_in(pages, dash.link())
    # The logout form with another token: refused, and the session goes on.
    pages.page.evaluate("document.querySelector('input[name=csrf]').value = 'forged'")
    pages.page.get_by_role("button", name="Log out").click()
    pages.page.wait_for_load_state()
    assert pages.page.locator("h1").inner_text() == "Form refused"
    assert "did not come from your dashboard session" in pages.page.inner_text("main")
    pages.shoot("dash-csrf-refused")
    assert pages.open("/dashboard").status == 200
    # Another site's form posting with the cookie but without the token: the same.
    cookie = next(c for c in pages.context.cookies() if c["name"] == COOKIE)["value"]
    event = dash.say("olga", "!event new web1 | Web meetup | "
                     f"{(datetime.now(UTC) + timedelta(days=9)):%Y-%m-%d} 18:30 | "
                     "Europe/Berlin | Example Str. 5 | europe | everyone")
    assert "Created web1" in event
    refused = httpx.post(f"{dash.url}/dashboard/events/web1/invite", cookies={COOKIE: cookie},
                         data={"csrf": ""})
    assert refused.status_code == 403
    audit = dash.thread.run(dash.bot.running.store.audit_entries(action="refused"))
    assert [a.action for a in audit] == ["refused:web:csrf", "refused:web:csrf"]
    assert dash.thread.run(dash.bot.running.store.broadcasts_of("web1")) == []


def test_a_mentor_sees_their_cases_and_is_refused_organizer_pages(
        dash: Dash, pages_for: Callable[..., Pages]) -> None:
    dash.thread.run(dash.bot.script("nia", ["!start", "!skip", "!skip", "!skip", "Pagebot",
                                            "done"], "irc"))
    dash.say("nia", f"!stuck {HOSTILE_TEXT}")
    pages = pages_for(dash.url)
    log_in(pages, dash.link(AMARA, "matrix"))
    assert "(mentor)" in pages.page.inner_text("main")
    assert "My cases" in pages.page.inner_text("header")
    assert "People" not in pages.page.inner_text("header")  # the menu shows what they may use
    for path in ("/dashboard/people", "/dashboard/audit", "/dashboard/events",
                 "/dashboard/charts/funnel.svg"):
        assert pages.open(path).status == 403, path
        assert "This page is for organizers" in pages.page.inner_text("main")
    pages.shoot("dash-mentor-refused")
    assert pages.open("/dashboard/cases").status == 200
    assert KEPT in pages.page.inner_text("main")  # shown as text, run as nothing
    assert pages.dialogs == []
    pages.shoot("dash-mentor-cases")
    # Claimed and resolved from the web: the newcomer hears it as from !claim and !resolve.
    code = pages.page.locator("tbody code").first.inner_text()
    pages.page.get_by_role("button", name=f"Claim case {code}").click()
    pages.page.wait_for_load_state()
    assert f"Case {code} is yours." in pages.page.inner_text("main")
    pages.page.get_by_label("Note (optional)").fill("fixed <b>the</b> clone")
    pages.page.get_by_role("button", name=f"Resolve case {code}").click()
    pages.page.wait_for_load_state()
    assert f"Case {code} resolved." in pages.page.inner_text("main")
    pages.shoot("dash-mentor-resolved")
    case = dash.thread.run(dash.bot.running.store.case(code))
    assert case is not None
    assert (case.status, case.claimed_by) == ("resolved", f"matrix:{AMARA}")
    dash.thread.run(dash.bot.running.dispatcher.drain(10))
    told = [s.text for s in dash.bot.adapters["irc"].sent
            if getattr(s.msg.to, "id", "") == "dm:nia"]
    assert any(f"Amara will help you with case {code}" in t for t in told), told
    assert any("Their note: \"fixed <b>the</b> clone\"" in t for t in told), told
    audit = dash.thread.run(dash.bot.running.store.audit_entries(action="web"))
    assert [a.action for a in audit][-2:] == ["web:claim", "web:resolve"]


def test_organizer_pages_search_and_show_hostile_text_as_text(
        dash: Dash, pages_for: Callable[..., Pages]) -> None:
    for name in ("ana", "anabel", "bo"):
        dash.say(name, "!start")
    for hostile in HOSTILE[:6]:
        dash.thread.run(dash.bot.say(hostile, "!start", "telegram"))
    dash.thread.run(dash.bot.script("nia", ["!start", "!skip", "!skip", "!skip", "Pagebot",
                                            "done"], "irc"))
    dash.say("nia", f"!stuck {HOSTILE_TEXT}")
    dash.say("olga", f"!person {HOSTILE_TEXT}")  # audited, with what was typed
    pages = pages_for(dash.url)
    log_in(pages, dash.link())

    pages.open("/dashboard/people")
    pages.page.get_by_label("Search").fill("an")
    pages.page.get_by_role("button", name="Search").click()
    pages.page.wait_for_url("**/dashboard/people?q=an")
    hits = pages.page.locator("ul.hits > li").all_inner_texts()
    assert len(hits) == 2
    assert all("irc:ana" in h for h in hits)  # ana and anabel
    pages.shoot("dash-people-search")
    pages.page.locator("ul.hits a").first.click()
    pages.page.wait_for_url(re.compile(r".*/dashboard/people/\d+$"))
    assert "irc:ana" in pages.page.inner_text("main")
    pages.shoot("dash-person")

    pages.open("/dashboard/people")
    listed = pages.page.inner_text("table")
    for hostile in HOSTILE[:6]:
        assert hostile in listed
    pages.page.get_by_label("Project").select_option("pagebot")
    pages.page.get_by_role("button", name="Filter").click()
    pages.page.wait_for_url("**project=pagebot**")
    assert pages.page.locator("tbody tr").count() == 1
    assert "irc:nia" in pages.page.inner_text("tbody")
    pages.open("/dashboard/people")
    pages.shoot("dash-people")
    pages.page.set_viewport_size(NARROW)  # type: ignore[arg-type]
    assert pages.horizontal_overflow() == 0

    shown = {"/dashboard/reports": "dash-reports", "/dashboard/mentors": "dash-mentors",
             "/dashboard/dead-letters": "dash-dead-letters", "/dashboard/audit": "dash-audit",
             "/dashboard/events": "dash-events"}
    for path, name in shown.items():
        assert pages.open(path).status == 200, path
        assert pages.horizontal_overflow() == 0, path
        pages.shoot(name)
    pages.open("/dashboard/mentors")
    assert KEPT in pages.page.inner_text("main")
    pages.open("/dashboard/audit")
    assert KEPT in pages.page.inner_text("main")
    pages.open("/dashboard/people?q=script")
    pages.page.locator("ul.hits a").first.click()
    pages.page.wait_for_url(re.compile(r".*/dashboard/people/\d+$"))
    assert "telegram:<script>alert(1)</script>" in pages.page.inner_text("main")
    # An event whose title and place say hostile things, in the list and the preview.
    starts = datetime.now(UTC) + timedelta(days=12)
    made = dash.say("olga", f"!event new hostile | {KEPT[:150]} | {starts:%Y-%m-%d} 18:00 | "
                    f"UTC | {KEPT[:150]} | europe | everyone")
    assert "Created hostile" in made, made
    pages.open("/dashboard/events")
    assert KEPT[:150] in pages.page.inner_text("#event-hostile")
    pages.open("/dashboard/events/hostile/invite")
    assert KEPT[:150] in pages.page.inner_text("main")
    pages.shoot("dash-invite-hostile")
    pages.open("/dashboard/reports")
    charts = pages.page.locator("img.chart")
    assert charts.count() == len(REPORTS)
    for n in range(len(REPORTS)):
        assert charts.nth(n).evaluate("img => img.complete && img.naturalWidth") > 0
    assert_every_report_shown(pages)
    assert pages.dialogs == []
    assert pages.errors == []
    assert pages.open("/dashboard/charts/nothing.svg").status == 404


def test_an_invite_previewed_and_sent_from_the_web_reaches_everyone(
        dash: Dash, pages_for: Callable[..., Pages]) -> None:
    for who, region in (("de1", "de"), ("pl1", "pl"), ("ng1", "ng")):
        dash.say(who, f"!region {region}")
        dash.say(who, "!invites on")
    starts = datetime.now(UTC) + timedelta(days=10)
    pages = pages_for(dash.url)
    log_in(pages, dash.link())
    pages.page.get_by_role("navigation").get_by_role("link", name="Invites").click()
    pages.page.wait_for_url("**/dashboard/events")
    pages.page.get_by_role("link", name="Create an event").click()
    form = pages.page
    form.get_by_label("Id (one word").fill("meetup")
    form.get_by_label("Title").fill("Lumen meetup")
    form.get_by_label("Starts").fill(f"{starts:%Y-%m-%d}T18:30")
    form.get_by_label("Time zone").fill("Mars/Olympus")
    form.get_by_label("Place").fill("Example Str. 5")
    form.get_by_label("Regions").fill("europe")
    form.get_by_role("button", name="Create the event").click()
    form.wait_for_load_state()
    assert "problem in timezone" in form.inner_text("#event-problem")  # as !event new says
    assert form.get_by_label("Title").input_value() == "Lumen meetup"  # kept for a retry
    pages.shoot("dash-event-new-problem")
    assert dash.thread.run(dash.bot.running.store.event("meetup")) is None
    assert pages.errors == ["Failed to load resource: the server responded with a status of "
                            "400 (Bad Request)"]  # the refused form, and nothing else
    pages.errors.clear()
    form.get_by_label("Time zone").fill("Europe/Berlin")
    form.get_by_role("button", name="Create the event").click()
    pages.page.wait_for_url("**/dashboard/events/meetup/invite")
    # Changed before its invite goes: the preview shows the new place.
    pages.open("/dashboard/events")
    pages.page.locator("#event-meetup").get_by_role("link", name="Change it").click()
    assert form.get_by_label("Starts").input_value() == f"{starts:%Y-%m-%d}T18:30"
    form.get_by_label("Place").fill("Example Str. 7")
    form.get_by_role("button", name="Save the event").click()
    pages.page.wait_for_url("**/dashboard/events/meetup/invite")
    assert "Where: Example Str. 7" in pages.page.inner_text("main")
    assert "reach 2 people" in pages.page.inner_text("main")
    assert "You're invited: Lumen meetup" in pages.page.inner_text("main")
    pages.shoot("dash-invite-preview")
    irc = dash.bot.adapters["irc"]
    assert not [s for s in irc.sent if s.text.startswith("You're invited")]  # nothing yet
    irc.failures.append(PermanentSendError("the network refused: user blocks the bot"))
    pages.page.get_by_role("button", name="Send the invite now").click()
    pages.page.wait_for_url(re.compile(r".*/dashboard/broadcasts/\d+$"))
    delivery = pages.page.url
    # htmx asks for the progress every second until everything is delivered or given up.
    pages.page.locator("#progress .percent", has_text="100%").wait_for()
    assert pages.page.locator("#progress .delivered").inner_text() == "1"
    assert pages.page.locator("#progress .failed").inner_text() == "1"
    assert "user blocks the bot" in pages.page.inner_text("#progress")
    pages.shoot("dash-delivery")
    assert pages.open("/dashboard/events/meetup/edit").status == 409  # its invite went
    assert "can no longer change" in pages.page.inner_text("main")
    pages.errors.clear()  # that 409

    # The failed one is a dead letter: sent again from the web, it arrives.
    pages.page.get_by_role("navigation").get_by_role("link", name="Dead letters").click()
    pages.page.wait_for_url("**/dashboard/dead-letters")
    assert "user blocks the bot" in pages.page.inner_text("main")
    pages.shoot("dash-dead-letters-one")
    pages.page.get_by_role("button", name=re.compile(r"Send message \d+ again")).click()
    pages.page.wait_for_url("**/dashboard/dead-letters?done=retried*")
    assert "will be sent again" in pages.page.inner_text("main")
    pages.open(delivery)
    pages.page.locator("#progress .delivered", has_text="2").wait_for()
    assert pages.page.locator("#progress .failed").inner_text() == "0"
    invited = [s.msg.to.external_id for s in irc.sent  # type: ignore[union-attr]
               if s.text.startswith("You're invited")]
    assert sorted(invited) == ["de1", "pl1"]  # each once
    # Discarding it now (another organizer's old page) changes nothing.
    retried = dash.thread.run(dash.bot.running.store.audit_entries(action="web:retry"))
    outbox_id = int(retried[-1].detail)
    csrf = pages.page.locator("input[name=csrf]").first.input_value()
    cookie = next(c for c in pages.context.cookies() if c["name"] == COOKIE)["value"]
    again = httpx.post(f"{dash.url}/dashboard/dead-letters/{outbox_id}/discard",
                       cookies={COOKIE: cookie}, data={"csrf": csrf}, follow_redirects=True)
    assert "no dead letter any more" in again.text
    audit = dash.thread.run(dash.bot.running.store.audit_entries(action="web"))
    assert [(a.identity, a.action) for a in audit][-4:] == [
        ("irc:olga", "web:event"), ("irc:olga", "web:event-edit"), ("irc:olga", "web:broadcast"),
        ("irc:olga", "web:retry")]
    assert pages.errors == []


def test_the_dashboard_works_without_javascript(
        dash: Dash, pages_for: Callable[..., Pages]) -> None:
    dash.say("ada", "!start")
    pages = pages_for(dash.url, javascript=False)
    log_in(pages, dash.link())
    pages.open("/dashboard/people")
    pages.page.get_by_label("Search").fill("ada")
    pages.page.keyboard.press("Enter")  # the form submits from the keyboard
    pages.page.wait_for_url("**/dashboard/people?q=ada")
    assert "irc:ada" in pages.page.inner_text("ul.hits")
    pages.page.get_by_role("button", name="Log out").click()
    pages.page.wait_for_load_state()
    assert pages.page.locator("h1").inner_text() == "Logged out"


def test_a_report_without_a_chart_shows_its_table_alone(
        dash: Dash, pages_for: Callable[..., Pages], monkeypatch: pytest.MonkeyPatch) -> None:
    """A report may have no chart (Report.chart is None): the page shows its table and notes,
    no image, and its chart's address is a 404 like an unknown name's."""
    travel = BUILDERS["travel"]

    async def chartless(*args: Any) -> Any:
        return replace(await travel(*args), chart=None)

    monkeypatch.setitem(BUILDERS, "travel", chartless)
    pages = pages_for(dash.url)
    log_in(pages, dash.link())
    assert pages.open("/dashboard/reports").status == 200
    assert_every_report_shown(pages, without_chart="travel")
    assert "travel_through_stage" in pages.page.inner_text("#report-travel")  # its note
    assert pages.page.locator("img.chart").count() == len(REPORTS) - 1
    assert pages.errors == []  # no broken image asked for
    assert pages.open("/dashboard/charts/funnel.svg").status == 200
    assert pages.open("/dashboard/charts/travel.svg").status == 404
    assert pages.open("/dashboard/charts/nothing.svg").status == 404


def test_a_long_report_shows_its_first_rows_and_gives_them_all_as_csv(
        dash: Dash, pages_for: Callable[..., Pages], monkeypatch: pytest.MonkeyPatch) -> None:
    """A table longer than ROWS_SHOWN (the travel report lists every person who made it far
    enough) is cut on the page, which says so; every report's CSV holds its whole table."""
    monkeypatch.setattr(web.dashboard, "ROWS_SHOWN", 2)
    pages = pages_for(dash.url)
    log_in(pages, dash.link())
    assert pages.open("/dashboard/reports").status == 200
    funnel = pages.page.locator("#report-funnel")
    assert funnel.locator("tbody tr").count() == 2  # of its six steps
    assert "The first 2 rows of 6." in funnel.inner_text()
    link = funnel.get_by_role("link", name="The whole table as CSV")
    assert link.get_attribute("href") == "/dashboard/reports/funnel.csv?lang=en"
    got = pages.page.context.request.get(dash.url + "/dashboard/reports/funnel.csv")
    assert got.status == 200
    assert got.headers["content-type"].startswith("text/csv")
    assert 'filename="funnel.csv"' in got.headers["content-disposition"]
    assert got.headers["cache-control"] == "no-store"  # it may name people
    assert got.text().startswith("\ufeff")  # so that a spreadsheet reads it as UTF-8
    lines = got.text().removeprefix("\ufeff").splitlines()
    assert lines[0].startswith("step,people,")
    assert len(lines) == 1 + 6
    cut = [r for r in REPORTS if "The first 2 rows" in pages.page.inner_text(f"#report-{r}")]
    assert "funnel" in cut
    assert pages.page.context.request.get(dash.url + "/dashboard/reports/nothing.csv"
                                          ).status == 404
    pages.page.context.clear_cookies()  # logged out: refused like every organizer page
    assert pages.page.context.request.get(dash.url + "/dashboard/reports/funnel.csv",
                                          max_redirects=0).status in (303, 401, 403)
