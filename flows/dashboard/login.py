"""`!dashboard`: a verified organizer, admin or mentor gets a one-time link to the web
dashboard, in a private chat."""

from __future__ import annotations

from datetime import timedelta

from bot.durations import describe
from bot.flow import Transition, Turn
from bot.records import Audit
from flows.dashboard.reads import reads_of
from flows.dashboard.records import LoginLink
from flows.dashboard.settings import DashboardConfig
from flows.dashboard.tokens import LOGIN_SALT, new_nonce, nonce_hash, sign

# The roles the dashboard has pages for (the pages check them again on every request).
ROLES = ("admin", "organizer", "mentor")


def may_use(turn: Turn) -> bool:
    directory = turn.directory
    return (directory.is_admin(turn.sender) or directory.is_organizer(turn.sender)
            or directory.holds("mentor", turn.sender))


async def dashboard(turn: Turn) -> Transition:
    """Issue a link: a signed nonce whose hash is stored, used once, expiring soon."""
    if not may_use(turn):
        turn.record(Audit(turn.sender.key, "refused:dashboard", "", turn.now))
        why = "" if turn.sender.verified else (
            " " + (turn.inbound.why_unverified or turn.t(
                "Your account on this network isn't verified (log in to its services), so I "
                "can't tell that it's really you.")))
        turn.say(turn.t("Sorry, the dashboard is for organizers, admins and mentors only.") +
                 why)
        return None
    url = turn.config.web.link("/login/")
    if not url:
        turn.say(turn.t("The web dashboard isn't set up here: an admin sets [web] public_url "
                        "(and enabled = true) in the bot's config."))
        return None
    settings = turn.settings_of(DashboardConfig)
    reads = reads_of(turn.reads)
    if await reads.login_links_since(turn.person_id, turn.now - timedelta(hours=1)) >= \
            settings.login_links_per_hour:
        turn.say(turn.t("You've asked for several dashboard links in the last hour. Please use "
                        "one of those, or try again later."))
        return None
    nonce = new_nonce()
    ttl = settings.link_ttl
    turn.record(LoginLink(nonce_hash(nonce), turn.person_id, turn.sender.key, turn.now,
                          turn.now + ttl))
    turn.record(Audit(turn.sender.key, "dashboard", "login link issued", turn.now))
    token = sign(await reads.dashboard_key(), LOGIN_SALT, nonce)
    turn.say(turn.t("Your dashboard link: {link}\nIt works once and expires in {ttl}. Don't "
                    "share it: it logs in as you.", link=url + token,
                    ttl=describe(ttl, turn.translator)))
    return None
