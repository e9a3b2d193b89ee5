"""`!dashboard` and the web dashboard's access (services/dashboard.py): a one-time link for
verified organizers, admins and mentors, redeemed once for a session, rate-limited, audited."""

from __future__ import annotations

import re

import httpx
import pytest

from services.dashboard import DashboardAccess, Login, Refused, csrf_matches
from tests.harness import FakeClock, Harness, make_config
from tests.serverkit import free_port
from tests.test_mentoring import AMARA, MONDAY_10_BERLIN, NETWORKS
from web.dashboard import COOKIE

ROLES = {"organizers": ["irc:olga"], "admins": ["matrix:@root:lumen.test"]}
WEB = {"public_url": "https://wayfinder.example.org"}


def dashboard_bot(db_url: str, clock: FakeClock | None = None, **web: object) -> Harness:
    config = make_config(db_url, roles=ROLES, web=WEB | web)
    return Harness(config, networks=NETWORKS, clock=clock or FakeClock(MONDAY_10_BERLIN))


def access(bot: Harness) -> DashboardAccess:
    return DashboardAccess(bot.config, bot.running.store, lambda: bot.running.engine.content,
                           clock=bot.clock)


def token_of(reply: str) -> str:
    found = re.search(r"https://wayfinder\.example\.org/login/(\S+)", reply)
    assert found is not None, reply
    return found.group(1)


async def test_an_organizer_logs_in_once_with_the_link(db_url: str) -> None:
    async with dashboard_bot(db_url) as bot:
        reply = await bot.say("olga", "!dashboard", "irc")
        assert "It works once and expires in 10 minutes" in reply
        web = access(bot)
        login = await web.redeem(token_of(reply))
        assert isinstance(login, Login), login
        assert login.roles == {"organizer"}
        assert login.session.identity == "irc:olga"
        session = await web.session(login.cookie)
        assert session is not None
        assert session.identity == "irc:olga"
        assert csrf_matches(session, session.csrf)
        assert not csrf_matches(session, "forged")
        again = await web.redeem(token_of(reply))
        assert isinstance(again, Refused)
        assert "used already or expired" in again.reason
        await web.logout(login.cookie)
        assert await web.session(login.cookie) is None
        actions = [(a.identity, a.action) for a in await bot.running.store.audit_entries()]
        assert ("irc:olga", "dashboard") in actions
        assert ("irc:olga", "web:login") in actions
        assert ("irc:olga", "refused:web:login") in actions
        assert ("irc:olga", "web:logout") in actions


async def test_an_expired_or_altered_link_is_refused(sqlite_url: str) -> None:
    clock = FakeClock(MONDAY_10_BERLIN)
    async with dashboard_bot(sqlite_url, clock) as bot:
        web = access(bot)
        token = token_of(await bot.say("olga", "!dashboard", "irc"))
        assert isinstance(await web.redeem(token[:-2] + "xx"), Refused)
        assert isinstance(await web.redeem("not-a-token"), Refused)
        assert isinstance(await web.redeem(""), Refused)
        clock.advance(minutes=11)
        assert isinstance(await web.redeem(token), Refused)
        assert await web.session("forged.cookie") is None


async def test_a_mentor_and_an_admin_get_links_a_newcomer_does_not(sqlite_url: str) -> None:
    async with dashboard_bot(sqlite_url) as bot:
        web = access(bot)
        mentor = await web.redeem(token_of(await bot.say(AMARA, "!dashboard", "matrix")))
        assert isinstance(mentor, Login)
        assert mentor.roles == {"mentor"}
        admin = await web.redeem(token_of(await bot.say("@root:lumen.test", "!dashboard",
                                                        "matrix")))
        assert isinstance(admin, Login)
        assert admin.roles == {"admin", "organizer"}
        reply = await bot.say("nina", "!dashboard", "irc")
        assert reply == "Sorry, the dashboard is for organizers, admins and mentors only."
        # An organizer's nick without a services account holds no role.
        unverified = bot.inbound("olga", "!dashboard", "irc", verified=False)
        replies = await bot.send(unverified)
        assert "Sorry, the dashboard is for" in replies[0].text
        assert "verified" in replies[0].text
        refused = await bot.running.store.audit_entries(action="refused")
        assert [e.action for e in refused] == ["refused:dashboard", "refused:dashboard"]


async def test_dashboard_links_are_rate_limited_and_private(sqlite_url: str) -> None:
    async with dashboard_bot(sqlite_url) as bot:
        for _ in range(5):
            token_of(await bot.say("olga", "!dashboard", "irc"))
        assert "several dashboard links in the last hour" in await bot.say(
            "olga", "!dashboard", "irc")
        bot.clock.advance(minutes=61)
        token_of(await bot.say("olga", "!dashboard", "irc"))
        # Asked in a channel, the link goes to the private chat; the channel hears only that.
        public = await bot.say("@root:lumen.test", "!dashboard", "matrix", room="!lobby:x",
                               direct=False)
        assert "/login/" not in public
        assert "private message" in public


async def test_no_public_url_no_link(sqlite_url: str) -> None:
    async with dashboard_bot(sqlite_url, public_url="") as bot:
        reply = await bot.say("olga", "!dashboard", "irc")
        assert "isn't set up here" in reply
        assert "/login/" not in reply


@pytest.mark.parametrize("hours", [13])
async def test_a_session_ends_after_its_time(sqlite_url: str, hours: int) -> None:
    clock = FakeClock(MONDAY_10_BERLIN)
    async with dashboard_bot(sqlite_url, clock) as bot:
        web = access(bot)
        login = await web.redeem(token_of(await bot.say("olga", "!dashboard", "irc")))
        assert isinstance(login, Login)
        clock.advance(hours=hours)
        assert await web.session(login.cookie) is None


async def test_wayfinder_run_serves_the_dashboard_on_the_bots_store(sqlite_url: str) -> None:
    """[web] enabled: the bot's own web server logs in with a `!dashboard` link, and a case
    claimed there reaches the newcomer through the bot's dispatcher at once."""
    port = free_port()
    config = make_config(sqlite_url, roles=ROLES,
                         web=WEB | {"enabled": True, "port": port})
    async with Harness(config, networks=NETWORKS, clock=FakeClock(MONDAY_10_BERLIN)) as bot:
        await bot.script("nia", ["!start", "!skip", "!skip", "!skip", "Pagebot", "done"], "irc")
        code = re.search(r"case ([A-Z0-9]{5})", await bot.say("nia", "!stuck help", "irc"))
        assert code is not None
        token = token_of(await bot.say(AMARA, "!dashboard", "matrix"))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as web:
            elsewhere = await web.post("/login", data={"token": token},
                                       headers={"origin": "https://evil.example"})
            assert elsewhere.status_code == 403  # another site can't log anyone in
            login = await web.post("/login", data={"token": token},
                                   headers={"origin": f"http://127.0.0.1:{port}"})
            assert login.status_code == 303
            assert "httponly" in login.headers["set-cookie"].lower()
            assert "secure" in login.headers["set-cookie"].lower()  # public_url is https
            cookie = login.cookies[COOKIE]
            web.cookies.set(COOKIE, cookie)
            mine = await web.get("/dashboard/cases")
            assert mine.status_code == 200
            assert code.group(1) in mine.text
            csrf = re.search(r'name="csrf" value="([^"]+)"', mine.text)
            assert csrf is not None
            assert (await web.get("/dashboard/people")).status_code == 403
            claimed = await web.post(f"/dashboard/cases/{code.group(1)}/claim",
                                     data={"csrf": csrf.group(1)})
            assert f"Case {code.group(1)} is yours." in claimed.text
        await bot.running.dispatcher.drain(10)
        told = [s.text for s in bot.adapters["irc"].sent
                if getattr(s.msg.to, "id", "") == "dm:nia"]
        assert any(f"will help you with case {code.group(1)}" in t for t in told), told
