"""One contract for the Store port, run against SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

import storage.path
from bot.model import ExternalId, Identity, Network, PersonId
from bot.ports import CommitResult, ConflictError, OutboxItem, PersonState, UnitOfWork
from flows.account.records import LinkCode, MergePersons, UseLinkCode
from flows.path.records import Certificate, ClaimTask, EndClaim
from storage.database import sqlite_execute, sqlite_savepoint
from storage.events import rsvp_t
from storage.migrate import current_revisions, script_heads, upgrade
from storage.path import claim_t
from storage.records import move_rows
from storage.repository import SqlStore

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
IRC = Network("irc")


def ident(name: str, verified: bool = True, network: Network = IRC) -> Identity:
    return Identity(network, ExternalId(name), verified)


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[SqlStore]:
    async with SqlStore.open(db_url, durable=False) as opened:
        yield opened


async def test_migrations_are_idempotent(store: SqlStore) -> None:
    await upgrade(store.db)
    assert await current_revisions(store.db) == script_heads()


async def test_person_for_is_stable_and_verification_only_upgrades(store: SqlStore) -> None:
    first = await store.person_for(ident("ana", verified=False))
    assert await store.person_for(ident("ana", verified=False)) == first
    assert await store.person_for(ident("ana", verified=True)) == first
    assert (await store.identities(first))[0].verified is True
    assert await store.person_for(ident("bob")) != first


async def test_concurrent_person_creation_makes_one_person(store: SqlStore) -> None:
    ids = await asyncio.gather(*(store.person_for(ident("same")) for _ in range(20)))
    assert len(set(ids)) == 1


async def test_commit_writes_state_events_and_outbox_once(store: SqlStore) -> None:
    person = await store.person_for(ident("cy"))
    unit = UnitOfWork(person, inbox=(IRC, "e1"),
                      state=PersonState(person, "workshop", "step", {"k": [1, "ü"]}),
                      outbox=[OutboxItem("irc:e1:0", IRC, {"text": "hi"}),
                              OutboxItem("irc:e1:1", IRC, {"text": "there"})],
                      events=[("step_done", {"step": "install"})])
    result = await store.commit(unit)
    assert not result.duplicate
    assert [r.body["text"] for r in result.outbox] == ["hi", "there"]
    state = await store.load_state(person)
    assert state == PersonState(person, "workshop", "step", {"k": [1, "ü"]})
    assert await store.events_since(person, "step_done", NOW - timedelta(days=3650)) == 1
    again = await store.commit(unit)
    assert again.duplicate
    assert again.outbox == ()
    assert len(await store.pending_outbox()) == 2


async def test_same_event_twice_in_one_batch_is_recorded_once(store: SqlStore) -> None:
    person = await store.person_for(ident("dee"))

    def unit(n: int) -> UnitOfWork:
        return UnitOfWork(person, inbox=(IRC, "dup"), outbox=[
            OutboxItem(f"k{n}", IRC, {"text": str(n)})])

    results = await asyncio.gather(store.commit(unit(1)), store.commit(unit(2)))
    assert sorted(r.duplicate for r in results) == [False, True]
    assert len(await store.pending_outbox()) == 1


async def test_a_task_is_claimed_by_one_person_only(store: SqlStore) -> None:
    people = [await store.person_for(ident(f"p{n}")) for n in range(5)]
    units = [UnitOfWork(p, inbox=(IRC, f"claim-{p}"),
                        records=[ClaimTask("t1", "proj", p, NOW)]) for p in people]
    results = await asyncio.gather(*(store.commit(u) for u in units), return_exceptions=True)
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, ConflictError) for r in results if isinstance(r, BaseException))
    assert await store.claimed_task_ids() == {"t1"}
    # the losers' inbox rows were rolled back, so their retried handling is not a "duplicate"
    loser = next(u for u, r in zip(units, results, strict=True) if isinstance(r, BaseException))
    assert not (await store.commit(UnitOfWork(loser.person_id, inbox=loser.inbox))).duplicate


async def test_a_conflicting_unit_is_undone_and_the_rest_of_its_batch_commits(
        store: SqlStore, caplog: pytest.LogCaptureFixture) -> None:
    """One unit's uniqueness conflict (its second record) undoes that unit's records and
    inbox row only, in its savepoint (on SQLite the driver's, not SQLAlchemy's): the
    others' records, states and outbox rows commit in the same batch, no one-by-one retry."""
    people = [await store.person_for(ident(f"s{n}")) for n in range(6)]
    taken = Certificate("TAKE-2345", people[0], "", "w0", "Zero", NOW)
    await store.commit(UnitOfWork(people[0], records=[taken]))
    bad = people[3]

    def unit(p: PersonId) -> UnitOfWork:
        code = f"CODE-{int(p):04d}"
        records = ([ClaimTask("t-bad", "proj", p, NOW), taken] if p == bad else
                   [ClaimTask(f"t-{p}", "proj", p, NOW),
                    Certificate(code, p, "", "w1", "One", NOW)])
        return UnitOfWork(p, inbox=(IRC, f"s-{p}"), records=records,
                          state=PersonState(p, None, None, {"messages": 1}),
                          outbox=[OutboxItem(f"s-{p}:0", IRC, {"text": "hi"})])

    caplog.set_level(logging.WARNING, "storage.writer")
    batches = store.writer.batches
    results = await asyncio.gather(*(store.commit(unit(p)) for p in people[1:]),
                                   return_exceptions=True)
    assert store.writer.batches - batches == 1
    assert "failed" not in caplog.text
    outcome = dict(zip(people[1:], results, strict=True))
    assert isinstance(outcome.pop(bad), ConflictError)
    assert all(isinstance(r, CommitResult) and len(r.outbox) == 1 for r in outcome.values())
    assert await store.claimed_task_ids() == {f"t-{p}" for p in outcome}
    for p in outcome:
        assert [c.code for c in await store.certificates_of(p)] == [f"CODE-{int(p):04d}"]
    assert await store.certificates_of(bad) == []
    assert sorted(r.idempotency_key for r in await store.pending_outbox()) == sorted(
        f"s-{p}:0" for p in outcome)
    assert await store.load_state(bad) is None
    assert not (await store.commit(UnitOfWork(bad, inbox=(IRC, f"s-{bad}")))).duplicate


async def test_the_sqlite_savepoint_undoes_its_writes_and_passes_errors_on(
        sqlite_url: str) -> None:
    """storage.database.sqlite_savepoint: a driver error surfaces as SQLAlchemy's, any other
    error propagates after its writes are undone, and an error that ended the whole
    transaction (SQLite rolls back on a full disk), or whose undoing fails, is reported, not
    the lost savepoint."""
    def insert(conn: Connection, *keys: str, then: Exception | None = None) -> None:
        with sqlite_savepoint(conn):
            for key in keys:
                sqlite_execute(conn, "INSERT INTO t VALUES (?)", (key,))
            if then is not None:
                raise then

    def ended(conn: Connection) -> None:
        with sqlite_savepoint(conn):
            sqlite_execute(conn, "ROLLBACK")
            raise LookupError

    def lost(conn: Connection) -> None:
        with sqlite_savepoint(conn):
            sqlite_execute(conn, "RELEASE unit")  # undoing it will fail: no such savepoint
            raise LookupError

    async with SqlStore.open(sqlite_url, durable=False) as opened:
        def run(conn: Connection) -> list[str]:
            sqlite_execute(conn, "CREATE TABLE t (k TEXT PRIMARY KEY)")
            insert(conn, "kept")
            with pytest.raises(IntegrityError):
                insert(conn, "undone", "kept")
            with pytest.raises(LookupError):
                insert(conn, "undone", then=LookupError())
            with pytest.raises(LookupError):  # the error inside, not the failed undoing
                lost(conn)
            return [r[0] for r in sqlite_execute(conn, "SELECT k FROM t")]

        assert await opened.db.write(run) == ["kept"]
        with pytest.raises(LookupError):
            await opened.db.write(ended)


async def test_one_active_claim_per_person_and_release(store: SqlStore) -> None:
    person = await store.person_for(ident("eli"))
    await store.commit(UnitOfWork(person, records=[ClaimTask("t1", "p", person, NOW)]))
    with pytest.raises(ConflictError):
        await store.commit(UnitOfWork(person, records=[ClaimTask("t2", "p", person, NOW)]))
    await store.commit(UnitOfWork(person, records=[EndClaim(person, "t1", "done", NOW)]))
    assert await store.active_claim(person) is None
    assert await store.finished_task_ids(person) == {"t1"}
    await store.commit(UnitOfWork(person, records=[ClaimTask("t2", "p", person, NOW)]))
    claim = await store.active_claim(person)
    assert claim is not None
    assert claim.task_id == "t2"
    assert claim.claimed_at == NOW
    assert [c.task_id for c in await store.idle_claims(NOW + timedelta(seconds=1))] == ["t2"]
    assert await store.idle_claims(NOW) == []


async def test_task_hand_outs_are_held_and_finished_tasks_read_together(
        store: SqlStore) -> None:
    people = [await store.person_for(ident(f"h{n}")) for n in range(3)]
    for person, task in zip(people, ("held", "finished", "given-back"), strict=True):
        await store.commit(UnitOfWork(person, records=[ClaimTask(task, "p", person, NOW)]))
    await store.commit(UnitOfWork(people[1], records=[
        EndClaim(people[1], "finished", "done", NOW),
        ClaimTask("held-later", "p", people[1], NOW)]))
    await store.commit(UnitOfWork(people[2], records=[
        EndClaim(people[2], "given-back", "released", NOW)]))
    outs = await store.task_hand_outs()
    assert outs.claimed == {"held", "held-later"}
    assert outs.done == {"finished"}
    elsewhere = await store.person_for(ident("h3"))
    await store.commit(UnitOfWork(elsewhere, records=[ClaimTask("other", "q", elsewhere, NOW)]))
    assert (await store.task_hand_outs()).claimed == {"held", "held-later", "other"}
    mine = await store.task_hand_outs("p")
    assert mine.claimed == {"held", "held-later"}
    assert mine.done == {"finished"}
    assert (await store.task_hand_outs("q")).claimed == {"other"}


async def _claim_behind_the_store(store: SqlStore, person: PersonId, task: str) -> None:
    """A claim written as another process would: not through this store's `commit`."""
    await store.db.write(lambda conn: conn.execute(sa.insert(claim_t).values(
        task_id=task, project_id="p", person_id=person, claimed_at=NOW, last_activity_at=NOW,
        outcome="")))


async def test_hand_outs_are_kept_on_sqlite_until_this_store_writes_a_claim(
        store: SqlStore) -> None:
    people = [await store.person_for(ident(f"k{n}")) for n in range(3)]
    await store.commit(UnitOfWork(people[0], records=[ClaimTask("a", "p", people[0], NOW)]))
    assert (await store.task_hand_outs("p")).claimed == {"a"}
    await _claim_behind_the_store(store, people[1], "sneaky")
    # One process owns a SQLite file: its answer is kept. PostgreSQL is read every time.
    kept = {"a"} if store.db.is_sqlite else {"a", "sneaky"}
    assert (await store.task_hand_outs("p")).claimed == kept
    await store.commit(UnitOfWork(people[2], records=[ClaimTask("b", "p", people[2], NOW)]))
    assert (await store.task_hand_outs("p")).claimed == {"a", "sneaky", "b"}
    await store.commit(UnitOfWork(people[2], records=[EndClaim(people[2], "b", "done", NOW)]))
    outs = await store.task_hand_outs("p")
    assert outs.claimed == {"a", "sneaky"}
    assert outs.done == {"b"}


async def test_a_refused_claim_drops_the_kept_hand_outs(sqlite_url: str) -> None:
    async with SqlStore.open(sqlite_url, durable=False) as store:
        me, other = await store.person_for(ident("me")), await store.person_for(ident("other"))
        assert (await store.task_hand_outs("p")).claimed == set()
        await _claim_behind_the_store(store, other, "x")  # claimed elsewhere meanwhile
        with pytest.raises(ConflictError):  # so offered here, and refused by the store
            await store.commit(UnitOfWork(me, records=[ClaimTask("x", "p", me, NOW)]))
        # The handler's retry sees the claim, and offers another task.
        assert (await store.task_hand_outs("p")).claimed == {"x"}


async def test_kept_hand_outs_are_trusted_for_a_while_only(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async with SqlStore.open(sqlite_url, durable=False) as store:
        other = await store.person_for(ident("other"))
        assert (await store.task_hand_outs("p")).claimed == set()
        await _claim_behind_the_store(store, other, "x")  # a command-line run, say
        monkeypatch.setattr(storage.path, "HAND_OUTS_TRUSTED", 0.0)
        assert (await store.task_hand_outs("p")).claimed == {"x"}


async def test_hand_outs_read_while_a_claim_commits_are_not_kept(sqlite_url: str) -> None:
    async with SqlStore.open(sqlite_url, durable=False) as store:
        me = await store.person_for(ident("me"))
        read = store.db.read

        async def read_then_claim(fn: Any) -> Any:
            rows = await read(fn)  # the answer of before the claim below
            await store.commit(UnitOfWork(me, records=[ClaimTask("t", "p", me, NOW)]))
            return rows

        store.db.read = read_then_claim  # type: ignore[method-assign]
        assert (await store.task_hand_outs("p")).claimed == set()
        store.db.read = read  # type: ignore[method-assign]
        assert (await store.task_hand_outs("p")).claimed == {"t"}


async def test_a_claim_written_after_its_turn_gave_up_still_drops_the_kept_hand_outs(
        sqlite_url: str) -> None:
    """A turn cancelled while its unit waits in the group writer (a shutdown, a timeout):
    the unit is still written, and the hand-outs are dropped then, not when the turn ended."""
    async with SqlStore.open(sqlite_url, durable=False) as store:
        me, other = await store.person_for(ident("me")), await store.person_for(ident("other"))
        assert (await store.task_hand_outs("p")).claimed == set()
        write, go = store.db.write, asyncio.Event()

        async def held(fn: Any) -> Any:
            await go.wait()
            return await write(fn)

        store.db.write = held  # type: ignore[method-assign]
        turn = asyncio.create_task(store.commit(
            UnitOfWork(me, records=[ClaimTask("t", "p", me, NOW)])))
        await asyncio.sleep(0.01)  # queued, its batch held
        turn.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await turn
        assert (await store.task_hand_outs("p")).claimed == set()  # not written yet
        go.set()
        await store.commit(UnitOfWork(other))  # after the held batch
        assert (await store.task_hand_outs("p")).claimed == {"t"}


async def test_certificates_round_trip(store: SqlStore) -> None:
    person = await store.person_for(ident("fay"))
    cert = Certificate("ABCD-2345", person, "irc:fay", "w1", "Workshop one", NOW)
    await store.commit(UnitOfWork(person, records=[cert]))
    assert await store.certificate("abcd2345") == cert
    assert await store.certificate("ZZZZ-ZZZZ") is None
    assert await store.certificates_of(person) == [cert]


async def test_link_codes_are_single_use_and_merge_moves_everything(store: SqlStore) -> None:
    source = await store.person_for(ident("gus", network=Network("matrix")))
    target = await store.person_for(ident("gus"))
    await store.commit(UnitOfWork(target, records=[
        LinkCode("LINK-2345", target, NOW, NOW + timedelta(minutes=10), False)]))
    await store.commit(UnitOfWork(source, records=[ClaimTask("t9", "p", source, NOW)],
                                  state=PersonState(source, "discovery", "skills", {})))
    assert await store.link_codes_since(target, NOW - timedelta(hours=1)) == 1
    await store.commit(UnitOfWork(target, records=[
        UseLinkCode("LINK-2345"), MergePersons(source=source, target=target)],
        state=PersonState(target, "discovery", "skills", {"merged": True})))
    link = await store.link_code("LINK-2345")
    assert link is not None
    assert link.used
    assert {i.key for i in await store.identities(target)} == {"irc:gus", "matrix:gus"}
    assert await store.person_for(ident("gus", network=Network("matrix"))) == target
    assert (await store.active_claim(target)) is not None
    assert await store.load_state(source) is None
    with pytest.raises(ConflictError):
        await store.commit(UnitOfWork(target, records=[UseLinkCode("LINK-2345")]))


async def test_outbox_marks(store: SqlStore) -> None:
    person = await store.person_for(ident("hal"))
    result = await store.commit(UnitOfWork(person, outbox=[
        OutboxItem(f"k{n}", IRC, {"text": str(n)}) for n in range(3)]))
    ids = [r.id for r in result.outbox]
    await store.mark_sent([ids[0]])
    await store.mark_retry(ids[1], "timeout")
    await store.mark_dead(ids[2], "blocked")
    pending = await store.pending_outbox()
    assert [(r.id, r.attempts) for r in pending] == [(ids[1], 1)]
    assert [r.id for r in await store.dead_letters()] == [ids[2]]
    assert await store.outbox_counts() == {"sent": 1, "pending": 1, "dead": 1}


async def test_group_commit_batches_concurrent_units(store: SqlStore) -> None:
    people = [await store.person_for(ident(f"b{n}")) for n in range(50)]
    batches_before = store.writer.batches
    await asyncio.gather(*(store.commit(UnitOfWork(
        p, inbox=(IRC, f"b-{p}"), state=PersonState(p, None, None, {"messages": 1})))
        for p in people))
    assert store.writer.batches - batches_before < 50
    counts = await store.message_counts()
    assert all(counts[PersonId(p)] == 1 for p in people)


async def test_the_migrations_match_the_tables(store: SqlStore) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    def diff(conn: Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(conn), SQLModel.metadata))

    assert await store.db.read(diff) == []


async def test_a_cancelled_writer_does_not_fail_the_rest_of_its_batch(store: SqlStore) -> None:
    ids = [Identity(Network("memory"), ExternalId(f"w{n}"), True) for n in range(6)]
    tasks = [asyncio.create_task(store.person_for(i)) for i in ids]
    await asyncio.sleep(0)  # all six are queued for one batch
    tasks[0].cancel()
    done = await asyncio.gather(*tasks[1:])
    assert len(set(done)) == 5  # the others got their people; none saw the cancellation
    assert tasks[0].cancelled()


async def test_one_bad_unit_fails_only_its_own_caller_in_a_full_batch(
        store: SqlStore, caplog: pytest.LogCaptureFixture) -> None:
    people = [await store.person_for(ident(f"g{n}")) for n in range(64)]
    bad = people[17]

    def unit(p: PersonId) -> UnitOfWork:
        events: list[tuple[str, dict[str, object]]] = [("said", {"n": int(p)})]
        person = p
        if p == bad:
            if store.db.is_sqlite:  # SQLite does not bound VARCHAR: break a foreign key
                person = PersonId(10_000_000)
            else:  # progress_event.kind is VARCHAR(64)
                events = [("k" * 65, {})]
        return UnitOfWork(person, inbox=(IRC, f"g-{p}"),
                          state=PersonState(person, None, None, {"messages": 1}),
                          outbox=[OutboxItem(f"g-{p}:0", IRC, {"text": f"hi {p}"})],
                          events=events)

    caplog.set_level(logging.WARNING, "storage.writer")
    results = await asyncio.gather(*(store.commit(unit(p)) for p in people),
                                   return_exceptions=True)
    assert "write batch of 64 failed" in caplog.text  # all 64 went into one batch
    failed = [p for p, r in zip(people, results, strict=True) if isinstance(r, BaseException)]
    assert failed == [bad]
    assert isinstance(results[17], IntegrityError if store.db.is_sqlite else DBAPIError)
    assert ("FOREIGN KEY" if store.db.is_sqlite else "value too long") in str(results[17])
    for result in results[:17] + results[18:]:
        assert isinstance(result, CommitResult)
        assert not result.duplicate
        assert len(result.outbox) == 1
    pending = await store.pending_outbox()
    assert sorted(r.idempotency_key for r in pending) == sorted(
        f"g-{p}:0" for p in people if p != bad)
    counts = await store.message_counts()
    assert {p for p in people if counts.get(PersonId(p)) == 1} == set(people) - {bad}
    # nothing of the bad unit was kept: its retried handling is not taken for a duplicate
    assert not (await store.commit(UnitOfWork(bad, inbox=(IRC, f"g-{bad}")))).duplicate


async def test_a_merge_moves_the_sources_rows_and_keeps_the_targets_where_both_have_one(
        store: SqlStore) -> None:
    """storage.records.move_rows, as the features' merges use it: by a key (an answer to the
    same event), and without one (one row per person at most)."""
    source = await store.person_for(ident("hal", network=Network("matrix")))
    target = await store.person_for(ident("hal"))
    other = await store.person_for(ident("ivy"))
    rows = [("meetup", source, "no"), ("sprint", source, "yes"), ("meetup", target, "yes"),
            ("meetup", other, "maybe"), ("sprint", other, "no")]

    def answers(conn: sa.Connection) -> set[tuple[str, int, str]]:
        return {(r.event_id, r.person_id, r.answer) for r in conn.execute(
            sa.select(rsvp_t.c.event_id, rsvp_t.c.person_id, rsvp_t.c.answer))}

    def by_key(conn: sa.Connection) -> set[tuple[str, int, str]]:
        conn.execute(sa.insert(rsvp_t), [{"event_id": e, "person_id": p, "answer": a,
                                          "at": NOW} for e, p, a in rows])
        move_rows(conn, rsvp_t, source, target, key="event_id")
        return answers(conn)

    assert await store.db.write(by_key) == {
        ("meetup", target, "yes"), ("sprint", target, "yes"),  # the target's own stands
        ("meetup", other, "maybe"), ("sprint", other, "no")}    # nobody else's moves

    def without_key(conn: sa.Connection) -> set[tuple[str, int, str]]:
        conn.execute(sa.delete(rsvp_t))
        conn.execute(sa.insert(rsvp_t), [{"event_id": e, "person_id": p, "answer": a,
                                          "at": NOW} for e, p, a in rows])
        move_rows(conn, rsvp_t, other, source)  # the source has rows: theirs stand, all
        move_rows(conn, rsvp_t, target, other)  # nobody's left for `other`: the rows move
        return answers(conn)

    assert await store.db.write(without_key) == {
        ("meetup", source, "no"), ("sprint", source, "yes"), ("meetup", other, "yes")}
