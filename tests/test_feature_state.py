"""Each feature's per-person state is a typed model under its own name in the stored state;
migration 0005 converts states stored before (one flat dict) and back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection

from bot.feature import Catalog, CommandClashError, Feature
from bot.model import ExternalId, Identity, Network
from flows.events.state import EventsState
from flows.path.state import PathState
from storage.migrate import alembic_config, upgrade
from storage.repository import SqlStore
from storage.tables import UtcDateTime
from tests.harness import Harness, make_config

MEMORY = Network("memory")
FLAT = {"messages": 9, "last_room": ["memory", "dm:old", "", True], "paused": True,
        "profile": {"interests": ["docs"], "skills": [], "languages": ["python"]},
        "project": "pagebot", "workshops": {"pagebot-get-started": 2}, "nudged": ["x"],
        "expecting": "workshop:pagebot-get-started:s3", "region": "de", "invites": True,
        "timezone": "Europe/Berlin", "left": None}


# flow_state as revision 0004 had it (no version column yet).
OLD_STATE = sa.table("flow_state", sa.column("person_id"), sa.column("flow"), sa.column("step"),
                     sa.column("data", sa.JSON()), sa.column("updated_at", UtcDateTime()))


async def _downgrade(store: SqlStore, revision: str) -> None:
    def run(connection: Connection) -> None:
        command.downgrade(alembic_config(connection), revision)

    await store.db.write(run)


async def test_state_stored_before_the_namespaces_is_converted_and_back(db_url: str) -> None:
    store = SqlStore.open(db_url, durable=False)
    await upgrade(store.db, "0004")
    await store.start(migrate=False)
    person = await store.person_for(Identity(MEMORY, ExternalId("old"), True))
    # Written as that schema had it (the store's own writes need today's columns).
    await store.db.write(lambda conn: conn.execute(sa.insert(OLD_STATE).values(
        person_id=person, flow="workshop", step="step", data=FLAT,
        updated_at=datetime.now(UTC))))
    store._fresh.discard(person)  # it has a state now, though not one the store committed
    await upgrade(store.db)
    state = await store.load_state(person)
    assert state is not None
    assert state.data == {
        "messages": 9, "last_room": ["memory", "dm:old", "", True], "paused": True,
        "path": {"profile": {"interests": ["docs"], "skills": [], "languages": ["python"]},
                 "project": "pagebot", "workshops": {"pagebot-get-started": 2},
                 "nudged": ["x"], "expecting": "workshop:pagebot-get-started:s3"},
        "events": {"region": "de", "invites": True, "timezone": "Europe/Berlin"}}
    assert PathState.of(state.data).workshops == {"pagebot-get-started": 2}
    assert EventsState.of(state.data).timezone == "Europe/Berlin"
    await upgrade(store.db)  # a second run changes nothing
    assert (await store.load_state(person)) == state
    await _downgrade(store, "0004")
    flat = await store.db.read(lambda conn: conn.execute(sa.select(OLD_STATE.c.data).where(
        OLD_STATE.c.person_id == person)).scalar_one())
    assert flat == {k: v for k, v in FLAT.items() if v is not None}
    await upgrade(store.db)
    await store.close()
    async with Harness(make_config(db_url)) as bot:  # the person carries on where they were
        reply = await bot.say("old", "!status")
        assert "[x] 1. Find your project: Pagebot" in reply
        assert "step 3 of" in reply
        assert "You're paused" in reply
        assert "Your region is Germany" in await bot.say("old", "!region")


async def test_each_feature_stores_only_what_differs_under_its_name(sqlite_url: str) -> None:
    async with Harness(make_config(sqlite_url)) as bot:
        await bot.say("ana", "!region de")
        await bot.say("ana", "!invites on")
        await bot.say("ana", "!start")
        app = bot.running
        person = await app.store.person_for(Identity(MEMORY, ExternalId("ana"), True))
        state = await app.store.load_state(person)
        assert state is not None
        assert state.data["events"] == {"region": "de", "invites": True}
        assert "region" not in state.data
        # Of the path, only that the other languages were offered (once) differs from the
        # defaults yet.
        assert state.data["path"] == {"language_offered": True}
        await bot.say("ana", "!invites off")
        await bot.say("ana", "!region none")
        state = await app.store.load_state(person)
        assert state is not None
        assert "events" not in state.data  # back to the defaults: nothing stored


def test_a_features_state_lives_under_the_features_name() -> None:
    class Misplaced(PathState):
        namespace: ClassVar[str] = "elsewhere"

    with pytest.raises(CommandClashError, match="stored under 'elsewhere'"):
        Catalog([Feature("path", state=Misplaced)])
