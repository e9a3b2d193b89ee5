"""The events feature's audience read model (person_standing): projected from a person's
state when a turn commits (Feature.project), written only when it changed; migration
events_0002 moves it out of the core's flow_state columns and back."""

from __future__ import annotations

import json
from dataclasses import replace

import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection

from bot.content import Content
from bot.model import ExternalId, Identity, Network
from bot.ports import CommitResult, OutboxItem, PersonState, UnitOfWork
from flows.events.content import AUDIENCES
from flows.events.records import Audience, Standing
from flows.path.content import PathContent
from storage.migrate import alembic_config, upgrade
from storage.repository import SqlStore
from tests.harness import Harness, make_config


def committed_units(store: SqlStore) -> list[UnitOfWork]:
    """Every unit of work `store` commits from now on, in order (the commits still happen)."""
    commit = store.commit
    units: list[UnitOfWork] = []

    async def spy(unit: UnitOfWork) -> CommitResult:
        units.append(unit)
        return await commit(unit)

    store.commit = spy  # type: ignore[method-assign]
    return units

MEMORY = Network("memory")
OLD_COLUMNS = ("region", "timezone", "invites", "milestone", "reach")


async def test_the_standing_is_written_only_when_a_turn_changes_it(db_url: str) -> None:
    async with Harness(make_config(db_url)) as h:
        store = h.running.store
        units = committed_units(store)
        await h.say("ana", "!region de")
        await h.say("ana", "!invites on")
        written = [r for u in units for r in u.records if isinstance(r, Standing)]
        assert [(s.region, s.invites) for s in written] == [("de", False), ("de", True)]
        assert written[-1].reach == "memory"
        units.clear()
        await h.say("ana", "!status")
        await h.say("ana", "!help")
        assert units
        assert not [r for u in units for r in u.records if isinstance(r, Standing)]
        assert await store.audience_counts(Audience(("de",))) == [("memory", "de", 1)]
        await h.say("ana", "!invites off")
        assert await store.audience_counts(Audience(("de",))) == []


async def _downgrade(store: SqlStore, revision: str) -> None:
    def run(connection: Connection) -> None:
        command.downgrade(alembic_config(connection), revision)

    await store.db.write(run)


async def test_standing_columns_move_to_the_events_table_and_back(db_url: str) -> None:
    store = SqlStore.open(db_url, durable=False)
    await upgrade(store.db, "events_0001")  # flow_state has the columns
    await upgrade(store.db, "0008")  # what the store's own writes need (versions, leases)
    await store.start(migrate=False)
    people = [await store.person_for(Identity(MEMORY, ExternalId(n), True))
              for n in ("de1", "pl1", "shy")]
    for person in people:  # only de1's data says what the columns say: it speaks again below
        data = {"events": {"region": "de", "invites": True, "timezone": "Europe/Berlin"},
                "last_room": ["memory", "dm:de1", "", True]} if person == people[0] else {}
        await store.commit(UnitOfWork(person, state=PersonState(person, None, None, data)))
    invite = {"to": "queued", "text": "You're invited", "quiet_tz": "Europe/Berlin"}
    await store.commit(UnitOfWork(people[0], outbox=[OutboxItem("invite:x", MEMORY, invite)]))

    def bodies(conn: Connection) -> list[object]:
        return [r[0] for r in conn.execute(sa.text("SELECT body FROM outbox")).all()]

    def decoded(rows: list[object]) -> list[dict[str, object]]:
        return [r if isinstance(r, dict) else json.loads(str(r)) for r in rows]
    old = {people[0]: ("de", "Europe/Berlin", True, 2, "memory"),
           people[1]: ("pl", "", True, 0, "memory"),
           people[2]: ("de", "", False, 1, "")}

    def fill(conn: Connection) -> None:
        for person, values in old.items():
            conn.execute(sa.text(
                "UPDATE flow_state SET region = :r, timezone = :t, invites = :i, "
                "milestone = :m, reach = :n WHERE person_id = :p"),
                dict(zip("rtimn", values, strict=True), p=person))

    await store.db.write(fill)
    await upgrade(store.db)

    def standing(conn: Connection) -> dict[int, tuple[object, ...]]:
        rows = conn.execute(sa.text(f"SELECT person_id, {', '.join(OLD_COLUMNS)} "
                                    "FROM person_standing")).all()
        return {r[0]: (r[1], r[2], bool(r[3]), r[4], r[5]) for r in rows}

    def columns(conn: Connection, table: str) -> set[str]:
        return {c["name"] for c in sa.inspect(conn).get_columns(table)}

    assert await store.db.read(standing) == old
    renamed = {"to": "queued", "text": "You're invited", "defer": "Europe/Berlin"}
    assert decoded(await store.db.read(bodies)) == [renamed]  # the outbox's neutral key
    assert not set(OLD_COLUMNS) & await store.db.read(lambda c: columns(c, "flow_state"))
    everyone = Audience(("de", "pl"))
    assert await store.audience_counts(everyone) == [("memory", "de", 1), ("memory", "pl", 1)]
    assert await store.audience_counts(Audience(("de",), 2)) == [("memory", "de", 1)]

    await _downgrade(store, "events_0001")

    def flow_state(conn: Connection) -> dict[int, tuple[object, ...]]:
        rows = conn.execute(sa.text(f"SELECT person_id, {', '.join(OLD_COLUMNS)} "
                                    "FROM flow_state")).all()
        return {r[0]: (r[1], r[2], bool(r[3]), r[4], r[5]) for r in rows}

    assert await store.db.read(flow_state) == old
    assert decoded(await store.db.read(bodies)) == [invite]
    tables = await store.db.read(lambda c: set(sa.inspect(c).get_table_names()))
    assert "person_standing" not in tables
    await upgrade(store.db)
    assert await store.db.read(standing) == old
    await store.close()
    async with Harness(make_config(db_url)) as h:  # they carry on: still invited, still there
        await h.say("de1", "!status")
        assert await h.running.store.audience_counts(Audience(("de",))) == [
            ("memory", "de", 1)]


async def test_a_content_reload_makes_the_standing_anew_though_the_state_did_not_change(
        sqlite_url: str) -> None:
    """An unchanged state reuses the standing it was made into; a reload that removes the
    chosen project must still lower the milestone on the person's next turn."""
    async with Harness(make_config(sqlite_url)) as h:
        units = committed_units(h.running.store)
        await h.script("ana", ["!start", "!skip", "!skip", "!skip", "Handbook"])
        standing = [r for u in units for r in u.records if isinstance(r, Standing)]
        assert standing[-1].milestone == AUDIENCES["project"]
        units.clear()
        await h.say("ana", "!help")  # nothing the standing is made of changed
        assert not [r for u in units for r in u.records if isinstance(r, Standing)]
        engine = h.running.engine
        path = engine.content.of(PathContent)
        engine.use_content(Content({**engine.content.parts,
                                    PathContent: replace(path, projects={})}))
        await h.say("ana", "!help")
        standing = [r for u in units for r in u.records if isinstance(r, Standing)]
        assert [s.milestone for s in standing] == [AUDIENCES["everyone"]]
