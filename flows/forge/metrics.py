"""Contributor metrics of linked, verified forge accounts: changes merged, reviews given and
tasks closed over the last 4 and 52 weeks, read from each forge's public REST API by a due job
(never while someone waits for a reply) and cached with the link; `!me` and the reports read
the cache.

How each forge counts (one request per number; the 4-week and 52-week windows are asked
apart, so a count is the forge's own total, not a page of it):
- GitHub, the issue search (`total_count`): merged `type:pr author:U is:merged merged:>=D`;
  reviews `type:pr reviewed-by:U -author:U updated:>=D` (the search has no review date: a pull
  request they reviewed that moved since D); closed `type:issue assignee:U is:closed
  closed:>=D`.
- GitLab, the listings' `X-Total` header (scope=all): merge requests `state=merged` by
  `author_username`, merge requests with `reviewer_username`, issues `state=closed` with
  `assignee_username`, each `updated_after` D.
- Gerrit, the change query (`n` at most 500, `_more_changes` beyond): `owner:U status:merged
  after:D`; `reviewedby:U -owner:U after:D`. Gerrit has no tasks: closed stays unknown.
- Phabricator (Phorge), Conduit with the API token, counted page by page (100 a page, at most
  PHAB_PAGES): differential.revision.search `authorPHIDs` + `statuses: published`, and with
  `reviewerPHIDs` (their own revisions left out), `modifiedStart` D; maniphest.search
  `assigned` + `statuses: resolved`, `modifiedStart` D.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode

from bot.charts import Chart, draw
from bot.config import Config
from bot.flow import Due, Handler, Transition, Turn
from bot.i18n import ENGLISH, N_, Translator
from bot.model import FileRef
from bot.ports import Reads
from flows.forge.clients import (
    NAMES,
    ForgeError,
    RefusedError,
    UnavailableError,
    conduit,
    fetch_json,
    fetch_with_headers,
    phabricator_user,
)
from flows.forge.reads import reads_of
from flows.forge.records import METRICS, WINDOWS, ForgeLink, ForgeMetrics
from flows.forge.settings import ForgeConfig, ForgeHost

GERRIT_LIMIT = 500
PHAB_PAGES = 5  # Conduit pages of 100 counted at most: "500" means 500 or more
Counts = dict[str, int | None]


async def _github(host: ForgeHost, user: str, metric: str, since: datetime,
                  seconds: float) -> int | None:
    day = f"{since:%Y-%m-%d}"
    query = {"merged": f"type:pr author:{user} is:merged merged:>={day}",
             "reviews": f"type:pr reviewed-by:{user} -author:{user} updated:>={day}",
             "closed": f"type:issue assignee:{user} is:closed closed:>={day}"}[metric]
    found = await fetch_json(host, "/search/issues?" + urlencode({"q": query, "per_page": 1}),
                             seconds)
    total = found.get("total_count") if isinstance(found, dict) else None
    if not isinstance(total, int):
        raise UnavailableError("GitHub answered in a shape I don't understand")
    return total


async def _gitlab(host: ForgeHost, user: str, metric: str, since: datetime,
                  seconds: float) -> int | None:
    path, wanted = {"merged": ("/merge_requests", {"state": "merged", "author_username": user}),
                    "reviews": ("/merge_requests", {"reviewer_username": user}),
                    "closed": ("/issues", {"state": "closed", "assignee_username": user})}[metric]
    params = {"scope": "all", **wanted, "updated_after": since.isoformat(), "per_page": "1"}
    _, headers = await fetch_with_headers(host, f"{path}?{urlencode(params)}", seconds)
    total = headers.get("x-total", "")
    if not total.isdigit():  # GitLab leaves it out above 10,000 results
        return None
    return int(total)


async def _gerrit(host: ForgeHost, user: str, metric: str, since: datetime,
                  seconds: float) -> int | None:
    after = f'after:"{since:%Y-%m-%d %H:%M:%S}"'
    query = {"merged": f"owner:{user} status:merged {after}",
             "reviews": f"reviewedby:{user} -owner:{user} {after}"}.get(metric)
    if query is None:
        return None  # Gerrit keeps no tasks
    found = await fetch_json(host, f"/changes/?q={quote(query)}&n={GERRIT_LIMIT}", seconds)
    if not isinstance(found, list):
        raise UnavailableError("Gerrit answered in a shape I don't understand")
    return len(found)


async def _conduit_count(host: ForgeHost, method: str, constraints: dict[str, object],
                         seconds: float, not_by: str = "") -> int:
    count, after = 0, None
    for _ in range(PHAB_PAGES):
        params: dict[str, object] = {"constraints": constraints, "limit": 100}
        if after is not None:
            params["after"] = after
        found = await conduit(host, method, params, seconds)
        if not isinstance(found, dict) or not isinstance(found.get("data"), list):
            raise UnavailableError("Phabricator answered in a shape I don't understand")
        count += sum(1 for item in found["data"] if not not_by or (
            (item.get("fields") or {}).get("authorPHID") != not_by))
        after = (found.get("cursor") or {}).get("after")
        if after is None:
            break
    return count


async def _phabricator_counts(host: ForgeHost, username: str, now: datetime,
                              seconds: float) -> Counts:
    phid = await phabricator_user(host, username, seconds)
    counts: Counts = {}
    for weeks in WINDOWS:
        since = int((now - timedelta(weeks=weeks)).timestamp())
        counts[f"merged_{weeks}"] = await _conduit_count(
            host, "differential.revision.search", {"authorPHIDs": [phid],
                                                   "statuses": ["published"],
                                                   "modifiedStart": since}, seconds)
        counts[f"reviews_{weeks}"] = await _conduit_count(
            host, "differential.revision.search", {"reviewerPHIDs": [phid],
                                                   "modifiedStart": since}, seconds, phid)
        counts[f"closed_{weeks}"] = await _conduit_count(
            host, "maniphest.search", {"assigned": [phid], "statuses": ["resolved"],
                                       "modifiedStart": since}, seconds)
    return counts


async def read_counts(host: ForgeHost, username: str, now: datetime,
                      seconds: float) -> Counts:
    """Every number of one account (ForgeError if any could not be read: all or none)."""
    if host.kind == "phabricator":
        return await _phabricator_counts(host, username, now, seconds)
    ask = {"github": _github, "gitlab": _gitlab, "gerrit": _gerrit}[host.kind]
    counts: Counts = {}
    for metric in METRICS:
        for weeks in WINDOWS:
            counts[f"{metric}_{weeks}"] = await ask(host, username, metric,
                                                    now - timedelta(weeks=weeks), seconds)
    return counts


def _apply(record: ForgeMetrics) -> Handler:
    async def keep(turn: Turn) -> Transition:
        turn.record(record)
        return None

    return keep


async def refreshes(reads: Reads, now: datetime, config: Config) -> list[Due]:
    """Linked accounts whose numbers are due: the forges are asked first (a few accounts at
    a time, each request with the short timeout), then each person's turn keeps the answer.
    A forge that cannot answer keeps the last good numbers and is asked again later."""
    settings = config.settings_of(ForgeConfig)
    links = await reads_of(reads).due_forge_metrics(now, settings.metrics_per_tick)
    if not links:
        return []
    gate = asyncio.Semaphore(settings.concurrency)
    # A forge that refused one request (its rate limit used up: GitHub's search allows 10 a
    # minute without a token) is asked nothing more in this scan; its accounts wait too.
    refused: dict[str, str] = {}

    async def ask(link: ForgeLink) -> ForgeMetrics:
        host = settings.hosts.get(link.forge)
        if host is None or host.kind != link.kind:
            return ForgeMetrics(link.person_id, link.forge, link.username, None, now,
                                now + settings.metrics_interval, "the forge is not set up")
        async with gate:
            if link.forge in refused:
                return ForgeMetrics(link.person_id, link.forge, link.username, None, now,
                                    now + settings.metrics_retry_after, refused[link.forge])
            try:
                counts = await read_counts(host, link.username, now, settings.timeout_seconds)
            except RefusedError as exc:
                refused[link.forge] = str(exc)
                return ForgeMetrics(link.person_id, link.forge, link.username, None, now,
                                    now + settings.metrics_retry_after, str(exc))
            except ForgeError as exc:
                return ForgeMetrics(link.person_id, link.forge, link.username, None, now,
                                    now + settings.metrics_retry_after, str(exc))
        return ForgeMetrics(link.person_id, link.forge, link.username, counts, now,
                            now + settings.metrics_interval)

    answers = await asyncio.gather(*(ask(k) for k in links))
    return _dues(links, answers)


def _dues(links: list[ForgeLink], answers: list[ForgeMetrics]) -> list[Due]:
    return [Due(k.person_id, f"forge-metrics:{k.person_id}:{k.forge}:"
                f"{k.metrics_next_at.isoformat() if k.metrics_next_at else ''}", _apply(a))
            for k, a in zip(links, answers, strict=True)]


def metric_lines(links: list[ForgeLink], tr: Translator = ENGLISH) -> list[str]:
    """What `!me` says of the person's forges."""
    from flows.forge.accounts import describe_link

    lines = []
    for link in links:
        if link.verified_at is None:
            lines.append(f"  {describe_link(link, tr)}")
            continue
        head = describe_link(link, tr)
        if link.metrics_at is None:
            lines.append(f"  {head}: " + tr.t("numbers not read yet") + (
                f" ({link.metrics_error})" if link.metrics_error else ""))
            continue
        parts = []
        for metric, words in WORDS:
            four, year = link.count(metric, 4), link.count(metric, 52)
            if four is None and year is None:
                continue
            parts.append(tr.t("{what} {four} (4 weeks), {year} (52 weeks)", what=tr.t(words),
                              four=_n(four), year=_n(year)))
        day = f"{link.metrics_at:%Y-%m-%d}"
        lines.append(f"  {head}: " + "; ".join(parts) + " " + tr.t("(as of {day})", day=day))
    return lines


def _n(value: int | None) -> str:
    return "?" if value is None else str(value)


WORDS = (("merged", N_("changes merged")), ("reviews", N_("reviews given")),
         ("closed", N_("tasks closed")))


def metrics_chart(links: list[ForgeLink], tr: Translator = ENGLISH) -> Chart | None:
    """The person's numbers as bars: each forge's metrics, the last 4 and 52 weeks side by
    side (None: nothing read yet); its title, axis, bars and legend in `tr`'s language."""
    read = [k for k in links if k.verified_at is not None and k.metrics_at is not None]
    if not read:
        return None
    labels: list[str] = []
    four: list[float] = []
    year: list[float] = []
    for link in read:
        for metric, words in WORDS:
            if link.count(metric, 4) is None and link.count(metric, 52) is None:
                continue
            label = tr.t(words)
            labels.append(label if len(read) == 1 else f"{NAMES[link.kind]}: {label}")
            four.append(float(link.count(metric, 4) or 0))
            year.append(float(link.count(metric, 52) or 0))
    who = ", ".join(f"{NAMES[k.kind]} {k.username}" for k in read)
    return Chart(tr.t("My contributions ({who})", who=who), "", tr.t("count"), labels,
                 {tr.t("last 4 weeks"): four, tr.t("last 52 weeks"): year},
                 empty=tr.t("(none)"))


async def me_section(turn: Turn) -> tuple[list[str], FileRef | None]:
    """`!me`'s part about forges: each linked account with its cached numbers, and a chart
    where the network carries files. Reads the cache only: no forge is asked here."""
    links = await reads_of(turn.reads).forge_links(turn.person_id)
    if not links:
        return [turn.t("Forges: none linked (!forge github NAME links your account, and your "
                       "contributions there show here)")], None
    lines = [turn.t("Forges:"), *metric_lines(links, turn.translator)]
    chart = metrics_chart(links, turn.translator) if turn.carries_files() else None
    if chart is None:
        return lines, None
    data, _ = await asyncio.to_thread(draw, chart, "png", 7.0)
    return lines, FileRef("my-contributions.png", "image/png", data)
