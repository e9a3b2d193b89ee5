"""The person record (CRM): `!person NAME` for organizers, `!me` for everyone, and
`wayfinder people` / `wayfinder person` over the same store, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json

from flows.crm.records import PeopleFilter
from services import crm
from tests.harness import Harness, make_config

LINGO = ["!start", "!skip", "!skip", "!skip", "Lingo"]
ORGANIZER = {"roles": {"organizers": ["memory:olga"]}}


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
