"""A feature's migrations live in its own folder (storage/migrations/<feature>/), a branch
that depends on the shared chain 0001..0006; `upgrade` goes to every head, and the start
without alembic knows a database with one row per branch is current, or one branch behind."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
import threading
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection

from bot.app import App
from storage.database import Database, open_database
from storage.migrate import (
    MIGRATIONS,
    alembic_config,
    current_revisions,
    is_current,
    script_heads,
    stored_heads,
    upgrade,
    version_folders,
)
from tests.harness import make_config
from tests.processes import greeted_bot


async def _downgrade(db: Database, revision: str) -> None:
    await db.write(lambda conn: command.downgrade(alembic_config(conn), revision))


def _rsvp_indexes(conn: Connection) -> set[str]:
    return {str(ix["name"]) for ix in sa.inspect(conn).get_indexes("rsvp")}


def test_each_feature_folder_is_a_version_location_beside_the_shared_chain() -> None:
    from alembic.script import ScriptDirectory

    assert version_folders()[0] == MIGRATIONS / "versions"
    assert MIGRATIONS / "events" in version_folders()
    script = ScriptDirectory.from_config(alembic_config())
    events = script.get_revision("events@head")
    assert events is not None
    assert Path(events.path).parent == MIGRATIONS / "events"
    first = script.get_revision("events_0001")
    assert first is not None
    assert first.branch_labels == {"events"}
    assert (first.down_revision, first.dependencies) == (None, "0006")
    # The shared history is unchanged: 0001..0006, one chain, still resolvable by its ids.
    assert [script.get_revision(f"000{n}").down_revision
            for n in range(1, 7)] == [None, "0001", "0002", "0003", "0004", "0005"]


async def test_a_fresh_database_upgrades_to_every_head(db_url: str) -> None:
    db = open_database(db_url)
    try:
        assert not await is_current(db)
        await upgrade(db)
        # What alembic itself stores is what the start without alembic expects.
        assert await current_revisions(db) == await db.read(stored_heads) == script_heads()
        assert await is_current(db)
        assert "ix_rsvp_person_id" in await db.read(_rsvp_indexes)
    finally:
        await db.dispose()


async def test_a_database_stopped_at_0006_upgrades_to_every_head(db_url: str) -> None:
    db = open_database(db_url)
    try:
        await upgrade(db, "0006")  # the last shared revision: what databases hold today
        assert await db.read(stored_heads) == {"0006"}
        assert not await is_current(db)
        assert "ix_rsvp_person_id" not in await db.read(_rsvp_indexes)
        await upgrade(db)
        assert await db.read(stored_heads) == script_heads()
        assert await is_current(db)
        assert "ix_rsvp_person_id" in await db.read(_rsvp_indexes)
    finally:
        await db.dispose()


async def test_the_events_branch_downgrades_alone_and_then_counts_as_behind(db_url: str) -> None:
    db = open_database(db_url)
    try:
        await upgrade(db)
        await _downgrade(db, "events@base")
        # The other branches (and the shared chain under them) stay where they were.
        others = {h for h in script_heads() if not h.startswith("events_")}
        assert await db.read(stored_heads) == (others or {"0006"})
        assert "ix_rsvp_person_id" not in await db.read(_rsvp_indexes)
        assert not await is_current(db)  # one branch behind: the start migrates
        await upgrade(db)
        assert await is_current(db)
        assert "ix_rsvp_person_id" in await db.read(_rsvp_indexes)
    finally:
        await db.dispose()


def test_the_heads_read_without_alembic_are_the_rows_alembic_keeps(tmp_path: Path) -> None:
    """alembic lists 0006 as a head too, but a branch that depends on it takes its row."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    needed = {dep for rev in script.walk_revisions() if rev.dependencies
              for dep in ([rev.dependencies] if isinstance(rev.dependencies, str)
                          else rev.dependencies)}
    assert script_heads() == set(script.get_heads()) - needed


def test_an_index_for_forgetting_a_person_serves_the_rsvp_lookup(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'w.db'}"

    async def migrate() -> None:
        db = open_database(url)
        await upgrade(db)
        await db.dispose()

    asyncio.run(migrate())
    with sqlite3.connect(tmp_path / "w.db") as conn:
        plan = " ".join(str(r[-1]) for r in conn.execute(
            "EXPLAIN QUERY PLAN DELETE FROM rsvp WHERE person_id = 1"))
    assert "ix_rsvp_person_id" in plan, plan


def test_run_migrates_a_database_with_one_branch_behind(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'wayfinder.db'}"  # the default config's store

    async def behind() -> None:
        db = open_database(url)
        await upgrade(db)
        await _downgrade(db, "events@base")
        await db.dispose()

    async def heads() -> set[str]:
        db = open_database(url)
        try:
            return await db.read(stored_heads)
        finally:
            await db.dispose()

    asyncio.run(behind())
    assert not any(h.startswith("events_") for h in asyncio.run(heads()))
    with greeted_bot([sys.executable, "-m", "bot", "run"], tmp_path) as proc:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
    assert asyncio.run(heads()) == script_heads()


async def test_the_start_runs_a_schema_upgrade_off_the_event_loop(sqlite_url: str) -> None:
    """`wayfinder run` migrates in a child process it waits for (bot/cli.py): the event loop
    is not held meanwhile."""
    ran_on: list[int] = []
    app = App(make_config(sqlite_url), [],
              upgrade=lambda: ran_on.append(threading.get_ident()))
    await app.start(tick=False)  # a new file: its schema is behind, so the upgrade runs
    try:
        assert len(ran_on) == 1
        assert ran_on[0] != threading.get_ident()
    finally:
        await app.close()


def _identity_rows(conn: Connection) -> set[tuple[str, str, bool]]:
    rows = conn.execute(sa.text("SELECT network, external_id, verified FROM identity"))
    return {(str(r[0]), str(r[1]), bool(r[2])) for r in rows}


async def test_an_unverified_irc_nick_stored_before_moves_out_of_the_account_id_space(
        db_url: str) -> None:
    """Regression: the nick "ana" without a login was stored as irc:ana, the id of the
    services account ana, so whoever took the nick was her. Stored nicks become irc:~ana."""
    db = open_database(db_url)
    try:
        await upgrade(db, "0006")

        def seed(conn: Connection) -> None:
            conn.execute(sa.text("INSERT INTO person (id, created_at) VALUES "
                                 "(1, CURRENT_TIMESTAMP), (2, CURRENT_TIMESTAMP), "
                                 "(3, CURRENT_TIMESTAMP)"))
            conn.execute(sa.text(
                "INSERT INTO identity (network, external_id, person_id, verified, created_at) "
                "VALUES ('irc', 'bo', 1, :no, CURRENT_TIMESTAMP), "
                "('irc', 'ana', 2, :yes, CURRENT_TIMESTAMP), "
                "('matrix', '@cy:x.test', 3, :no, CURRENT_TIMESTAMP)"),
                {"no": False, "yes": True})

        await db.write(seed)
        await upgrade(db)
        assert await db.read(_identity_rows) == {
            ("irc", "~bo", False), ("irc", "ana", True), ("matrix", "@cy:x.test", False)}
        await _downgrade(db, "identities@base")
        assert ("irc", "bo", False) in await db.read(_identity_rows)
    finally:
        await db.dispose()


def _certificate_columns(conn: Connection) -> set[str]:
    return {c["name"] for c in sa.inspect(conn).get_columns("certificate")}


async def test_the_path_branch_downgrades_alone_and_comes_back(db_url: str) -> None:
    db = open_database(db_url)
    try:
        await upgrade(db)
        assert {"revoked_at", "revoked_reason", "revoked_by"} <= await db.read(
            _certificate_columns)
        await _downgrade(db, "path@base")
        assert "revoked_at" not in await db.read(_certificate_columns)
        assert "feedback" not in await db.read(lambda c: set(sa.inspect(c).get_table_names()))
        assert not await is_current(db)
        await upgrade(db)
        assert await is_current(db)
        assert "revoked_by" in await db.read(_certificate_columns)
    finally:
        await db.dispose()


def _standing_locales(conn: Connection) -> dict[int, str | None]:
    rows = conn.execute(sa.text("SELECT person_id, locale FROM person_standing")).all()
    return {int(r[0]): r[1] for r in rows}


async def test_people_stored_before_the_standing_locale_get_their_stated_language(
        db_url: str) -> None:
    """events_0010: a standing row from before events_0008 (locale NULL) takes the language the
    person's stored state names: the one they chose, else their client's; none stays NULL,
    and so does a code that is no language tag. A row a turn already wrote is left alone."""
    db = open_database(db_url)
    try:
        await upgrade(db, "events_0009")
        locales = {1: {"chosen": "es", "client": "en"}, 2: {"client": "pt_BR"}, 3: None,
                   4: {"chosen": "", "client": "pt-BR"}, 5: {"chosen": "x'); DROP --"},
                   6: {"chosen": 5, "client": "d"}, 7: {"chosen": "es"}}

        def seed(conn: Connection) -> None:
            for person, locale in locales.items():
                data = {"messages": 3, **({"locale": locale} if locale is not None else {})}
                conn.execute(sa.text("INSERT INTO person (id, created_at) "
                                     "VALUES (:p, CURRENT_TIMESTAMP)"), {"p": person})
                conn.execute(
                    sa.text("INSERT INTO flow_state (person_id, data, updated_at) "
                            "VALUES (:p, :d, CURRENT_TIMESTAMP)")
                    .bindparams(sa.bindparam("d", type_=sa.JSON)), {"p": person, "d": data})
                conn.execute(sa.text("INSERT INTO person_standing (person_id, locale) "
                                     "VALUES (:p, :l)"),
                             {"p": person, "l": "pt_BR" if person == 7 else None})

        await db.write(seed)
        await upgrade(db)
        assert await db.read(_standing_locales) == {
            1: "es", 2: "pt_BR", 3: None, 4: "pt-BR", 5: None, 6: None, 7: "pt_BR"}
        # Nothing to undo: events_0009's schema keeps the languages.
        await _downgrade(db, "events_0009")
        assert (await db.read(_standing_locales))[1] == "es"
    finally:
        await db.dispose()
