"""The person record (CRM): `!person NAME` for organizers, `!me` for everyone, and
`wayfinder people` / `wayfinder person` over the same store, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from bot.wiring import load_content
from flows.crm.profile import stage_of
from flows.crm.records import PeopleFilter
from services import crm, dashboard_views
from storage.records import person_t, state_t
from storage.repository import SqlStore
from tests.harness import Harness, make_config

LINGO = ["!start", "!skip", "!skip", "!skip", "Lingo"]
ORGANIZER = {"roles": {"organizers": ["memory:olga"]}}


async def test_me_and_person_in_the_persons_language(db_url: str) -> None:
    """Regression (issue 20): the record's lines were English whatever !language said."""
    async with Harness(make_config(db_url)) as bot:
        await bot.script("ada", [*LINGO, "!task", "!done"])
        await bot.say("ada", "!language es")
        reply = await bot.say("ada", "!me")
        assert "en Lingo, 0 días en el camino" in reply
        assert "empezó el camino" in reply
        assert "eligió un proyecto: Lingo" in reply
        assert "hecha (según la persona)" in reply
        assert "days on the path" not in reply
        assert "started the path" not in reply


async def test_me_shows_steps_tasks_and_whats_next(db_url: str) -> None:
    async with Harness(make_config(db_url)) as bot:
        reply = await bot.say("ada", "!me")
        assert "Nothing to show yet: type !start" in reply
        await bot.script("ada", [*LINGO, "!task", "!done"])
        reply = await bot.say("ada", "!me")
        assert reply.startswith("Your contributor metrics:")
        # the path's own stage: Lingo's workshop is not done yet (as !status says)
        assert "Stage 2. Get started in Lingo, 0 days on the path" in reply
        assert "started the path" in reply
        assert "chose a project: Lingo" in reply
        assert ("Document how plural forms work for translators, with two examples: done "
                "(self-reported)") in reply
        assert "Certificates: none yet" in reply
        assert "Next: finish the workshop" in reply
        # organizers' lines (accounts, region) are not in one's own metrics
        assert "memory:ada" not in reply


async def test_person_is_for_organizers_in_private(db_url: str) -> None:
    async with Harness(make_config(db_url, **ORGANIZER)) as bot:
        await bot.script("ada", [*LINGO, "!task"])
        await bot.script("adam", ["!start"])
        reply = await bot.say("ada", "!person ada")
        assert "Person" not in reply  # not an organizer: refused
        reply = await bot.say("olga", "!person memory:ada")
        assert "Person " in reply
        assert ": memory:ada" in reply
        assert "Stage 2. Get started in Lingo" in reply
        assert "cohort 20" in reply
        assert "Region: not given" in reply
        assert "took a task: Document how plural forms work" in reply
        assert "working on it" in reply
        # a part of a name matching several people lists them
        reply = await bot.say("olga", "!person ad")
        assert "2 people match \"ad\"" in reply
        assert "memory:adam" in reply
        assert "No one matches \"zed\"" in await bot.say("olga", "!person zed")
        assert "Usage: !person NAME" in await bot.say("olga", "!person")
        # asked in a shared room, the answer goes privately
        reply = await bot.say("olga", "!person ada", room="#lobby", direct=False)
        assert "Stage 2" not in reply


async def test_people_lists_filters_and_exports(db_url: str) -> None:
    config = make_config(db_url)
    async with Harness(config) as bot:
        await bot.script("ada", [*LINGO, "!task", "!done"])
        await bot.script("bea", ["!start"])
        await bot.say("bea", "!region de")
    rows = await crm.people(config)
    assert [r["accounts"] for r in rows] == ["memory:ada", "memory:bea"]
    assert rows[0]["stage"] == "2. Get started"
    assert rows[0]["project"] == "lingo"
    assert rows[1]["stage"] == "1. Find your project"
    assert rows[0]["cohort"] == rows[0]["first_seen"].strftime("%Y-%m")
    assert [r["accounts"] for r in await crm.people(config, project="lingo")] == ["memory:ada"]
    assert [r["accounts"] for r in await crm.people(config, "1")] == ["memory:bea"]
    assert [r["accounts"] for r in await crm.people(config, "1", limit=1)] == ["memory:bea"]
    assert [r["accounts"] for r in await crm.people(config, limit=1)] == ["memory:ada"]
    assert [r["accounts"] for r in await crm.people(config, region="de")] == ["memory:bea"]
    assert await crm.people(config, network="irc") == []
    assert len(await crm.people(config, network="memory")) == 2
    assert len(await crm.people(config, cohort=rows[0]["cohort"])) == 2
    assert await crm.people(config, cohort="1999-01") == []
    exported = list(csv.DictReader(io.StringIO(crm.people_csv(rows))))
    assert exported[0]["accounts"] == "memory:ada"
    assert exported[0]["stage"] == "2. Get started"
    assert json.loads(crm.people_json(rows))[1]["accounts"] == "memory:bea"
    lines = await crm.person_lines(config, "memory:ada", rows[0]["first_seen"])
    assert isinstance(lines[0], str)
    assert lines[0].endswith("memory:ada")
    assert await crm.person_lines(config, "nobody", rows[0]["first_seen"]) == []
    assert PeopleFilter().limit == 1000


# Path states at every stage and on its edges: no project, one gone from the content, another
# project's workshop done, a workshop id that merely starts like the project's, tasks done
# without the workshop (still stage 2, as !status says).
STATES: list[dict[str, Any]] = [
    {}, {"path": {"project": ""}}, {"path": {"project": "gone", "tasks_done": 4}},
    {"path": {"project": "lingo"}},
    {"path": {"project": "lingo", "completed_workshops": ["pagebot-get-started"]}},
    {"path": {"project": "lingo", "completed_workshops": ["lingo-get-started-2"]}},
    {"path": {"project": "lingo", "tasks_done": 4}},
    {"path": {"project": "lingo", "completed_workshops": ["lingo-get-started"]}},
    {"path": {"project": "pagebot", "completed_workshops": ["x", "pagebot-get-started"],
              "tasks_done": 1}},
    {"path": {"project": "pagebot", "completed_workshops": ["pagebot-get-started"],
              "tasks_done": 2}},
    {"path": {"project": "lingo", "completed_workshops": ["lingo-get-started"],
              "tasks_done": 3}},
    {"path": {"project": "lingo", "completed_workshops": ["lingo-get-started"],
              "tasks_done": 7}},
]


async def test_people_by_stage_in_sql_match_the_paths_stage(db_url: str,
                                                           monkeypatch: Any) -> None:
    """The stage filter runs in SQL (profile.stage_where); it selects exactly the people
    whose stage, worked out from their state as `!status` does, is the one asked for, on the
    CLI's list and on the dashboard's pages (a window of SCAN people per page)."""
    config = make_config(db_url)
    content = load_content(config.content_path())
    store = SqlStore.open(db_url, durable=False)
    await store.migrate()
    now = datetime.now(UTC)
    ids = list(range(1, len(STATES) + 1))

    def write(conn: sa.Connection) -> None:
        conn.execute(sa.insert(person_t), [{"id": i, "created_at": now} for i in ids])
        conn.execute(sa.insert(state_t), [{"person_id": i, "data": data, "updated_at": now}
                                          for i, data in zip(ids, STATES, strict=True)])

    await store.db.write(write)
    expected = {n: [i for i, data in zip(ids, STATES, strict=True)
                    if stage_of(data, content) == n - 1] for n in range(1, 6)}
    assert all(expected.values())  # every stage has someone
    for n in range(1, 6):
        rows = await crm.people_in(store, content, PeopleFilter(), str(n))
        assert [r["id"] for r in rows] == expected[n], n
        assert all(r["stage"].startswith(f"{n}.") for r in rows)
        lingo = await crm.people_in(store, content, PeopleFilter(project="lingo"), str(n))
        assert [r["id"] for r in lingo] == [i for i in expected[n]
                                            if STATES[i - 1].get("path", {}).get("project")
                                            == "lingo"]
    assert await crm.people_in(store, content, PeopleFilter(), "9") == []
    # the dashboard pages through windows of people: every one at the stage, once, in order
    monkeypatch.setattr(dashboard_views, "SCAN", 3)
    monkeypatch.setattr(dashboard_views, "PAGE", 2)
    pages = dashboard_views.DashboardPages(config, store, lambda: content)
    for n in range(1, 6):
        seen: list[int] = []
        after = 0
        for _ in range(len(STATES)):
            rows, after = await pages.people(stage=str(n), after=after)
            assert len(rows) <= 2
            seen += [r["id"] for r in rows]
            if not after:
                break
        assert seen == expected[n], n
    # and by project alone, in windows too
    seen, after = [], 0
    for _ in range(len(STATES)):
        rows, after = await pages.people(project="lingo", after=after)
        seen += [r["id"] for r in rows]
        if not after:
            break
    assert seen == [i for i, data in zip(ids, STATES, strict=True)
                    if data.get("path", {}).get("project") == "lingo"]
    await store.close()
