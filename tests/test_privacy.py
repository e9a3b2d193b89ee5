"""!mydata and !forget, in conversation: the export as a file where the network carries files
(and how to get it where it can't), erasure of every linked account after a confirmation code,
and a person who stays erased across a restart and a replayed event."""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from adapters.console.client import ConsoleAdapter
from adapters.memory import MemoryAdapter
from bot.model import Capabilities, FileRef, Network, Outbound, RoomRef
from bot.ports import Outcome, TransientSendError
from bot.wiring import ConfigError, load_config
from storage.records import identity_t, inbox_t, outbox_t, person_t, state_t
from tests.harness import FakeClock, Harness, make_config

AMARA = "@amara:lumen.test"  # a Pagebot mentor in the demo content


def _code(reply: str, word: str) -> str:
    found = re.search(rf"!{word} ([A-Z0-9]{{4}}-[A-Z0-9]{{4}})", reply)
    assert found is not None, reply
    return found.group(1)


def _bot(db_url: str, clock: FakeClock | None = None) -> Harness:
    # IRC carries no files; the "matrix" stand-in does, like the real adapter.
    return Harness(make_config(db_url), clock=clock, adapters=[
        MemoryAdapter(Network("irc")),
        MemoryAdapter(Network("matrix"), Capabilities(files=True))])


async def _count(bot: Harness, table: sa.Table) -> int:
    rows = await bot.running.store._all(sa.select(sa.func.count()).select_from(table))
    return int(rows[0][0])


async def test_mydata_sends_a_file_or_says_how_to_get_one(db_url: str) -> None:
    async with _bot(db_url) as bot:
        await bot.script("ana", ["!start", "!skip"], network="irc")
        reply = await bot.say("ana", "!mydata", network="irc")
        assert "This network can't carry files" in reply
        assert "link an account on a network that carries files with !link" in reply
        assert "wayfinder person export irc:ana" in reply
        code = _code(await bot.say("ana", "!link", network="irc"), "link")
        await bot.say("@ana:x", f"!link {code}", network="matrix")
        reply = await bot.say("ana", "!mydata", network="irc")
        assert "send !mydata to me privately on matrix" in reply

        sent = await bot.send(bot.inbound("@ana:x", "!mydata", "matrix"))
        assert len(sent) == 1, sent
        assert sent[0].msg.file is not None
        assert "Here is everything I hold about you (2 linked accounts" in sent[0].text
        assert sent[0].msg.file.name.endswith(".json")
        data = json.loads(sent[0].msg.file.data)
        assert sorted(data["identities"]) == ["irc:ana", "matrix:@ana:x"]
        tables = data["tables"]
        assert {r["external_id"] for r in tables["identity"]} == {"ana", "@ana:x"}
        assert tables["flow_state"]
        assert tables["progress_event"]
        assert any("can't carry files" in r["body"]["text"] for r in tables["outbox"])
        # Asked in a shared room, the file goes to the private chat, never to the room.
        before = len(bot.adapters["matrix"].sent)
        reply = await bot.say("@ana:x", "!mydata", network="matrix", room="!lobby",
                              direct=False)
        assert "Here is" not in reply
        files = [s for s in bot.adapters["matrix"].sent[before:] if s.msg.file is not None]
        assert [s.msg.to for s in files] == [bot.adapters["matrix"].identity("@ana:x")]


async def test_forget_erases_every_linked_account_after_a_confirmation(db_url: str) -> None:
    clock = FakeClock()
    async with _bot(db_url, clock) as bot:
        started = bot.inbound("ana", "!start", "irc")
        await bot.send(started)
        code = _code(await bot.say("ana", "!link", network="irc"), "link")
        await bot.say("@ana:x", f"!link {code}", network="matrix")
        await bot.say("bob", "!start", network="irc")
        # A message to ana queued by someone else's turn, for later.
        bob = await bot.running.store.person_for(bot.adapters["irc"].identity("bob"))
        later = clock() + timedelta(hours=1)
        await bot.running.store.writer.run(lambda conn: conn.execute(sa.insert(outbox_t).values(
            idempotency_key="later:ana", network="irc", person_id=bob, status="deferred",
            body={"to": {"kind": "person", "network": "irc", "id": "ana", "verified": True},
                  "text": "psst", "choices": []},
            created_at=clock(), updated_at=clock(), not_before=later)))

        reply = await bot.say("ana", "!forget", network="irc")
        assert "erases everything I hold about you" in reply
        assert "irc:ana" in reply
        assert "matrix:@ana:x" in reply
        code = _code(reply, "forget confirm")
        reply = await bot.say("ana", "!forget confirm ABCD-EFGH", network="irc")
        assert "doesn't match" in reply
        assert "Nothing was erased" in reply
        reply = await bot.say("ana", "!forget bogus", network="irc")
        assert "has no sub-command 'bogus'" in reply
        assert await _count(bot, identity_t) == 3

        reply = await bot.say("ana", f"!forget confirm {code.lower()}", network="irc")
        assert "I've erased everything I held about you, on every linked account" in reply
        assert await _count(bot, identity_t) == 1  # bob's
        assert await _count(bot, person_t) == 1
        assert await _count(bot, state_t) == 1
        left = await bot.running.store._all(sa.select(outbox_t.c.body))
        assert not [b for b in left if '"ana"' in json.dumps(b.body) and
                    "erased everything" not in json.dumps(b.body)]

        # The replayed first event is a duplicate: it brings no one back.
        assert await bot.adapters["irc"].deliver(started) is Outcome.DUPLICATE
        assert await _count(bot, identity_t) == 1
        await bot.restart()
        assert await bot.adapters["irc"].deliver(started) is Outcome.DUPLICATE
        assert await _count(bot, person_t) == 1
        clock.advance(hours=2)
        before = len(bot.adapters["irc"].sent)
        await bot.tick()
        assert [s.text for s in bot.adapters["irc"].sent[before:]] == []
        # Once delivered, the goodbye goes with the inbox rows of its time.
        gone = await bot.running.store.expire({"inbox": datetime.now(UTC) + timedelta(days=1)})
        assert gone["messages to forgotten people"] == 1
        left = await bot.running.store._all(sa.select(outbox_t.c.body))
        assert not [b for b in left if '"ana"' in json.dumps(b.body)]
        # Writing again starts afresh, as someone new.
        reply = await bot.say("@ana:x", "!status", network="matrix")
        assert "linked" not in reply.lower()
        assert await _count(bot, identity_t) == 2


async def test_forget_codes_expire_and_can_be_cancelled(bot: Harness, clock: FakeClock) -> None:
    reply = await bot.say("ana", "!forget confirm ABCD-EFGH")
    assert "no erasure waiting for confirmation" in reply
    code = _code(await bot.say("ana", "!forget"), "forget confirm")
    assert "Cancelled: nothing was erased" in await bot.say("ana", "!forget cancel")
    assert "no erasure waiting" in await bot.say("ana", f"!forget confirm {code}")
    code = _code(await bot.say("ana", "!forget"), "forget confirm")
    clock.advance(minutes=11)
    assert "no erasure waiting" in await bot.say("ana", f"!forget confirm {code}")
    person = await bot.running.store.person_for(bot.adapters["memory"].identity("ana"))
    assert await bot.running.store.identities(person)


async def test_retention_erases_old_inbox_rows_sent_texts_and_resolved_words(
        db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    # The store stamps inbox and outbox rows with the wall clock: the bot's starts there.
    clock = FakeClock(datetime.now(UTC))
    config = make_config(db_url, roles={"organizers": ["irc:olga"]},
                         retention={"inbox": "3d", "sent_messages": "10d",
                                    "resolved_free_text": "20d"})
    async with Harness(config, networks=("irc", "matrix", "telegram"), clock=clock) as bot:
        await bot.script("ana", ["!start", "!skip", "!skip", "!skip", "Pagebot", "done"], "irc")
        code = re.search(r"case ([A-Z0-9]{5})",
                         await bot.say("ana", "!stuck my secret token leaks", "irc"))
        assert code is not None
        await bot.say(AMARA, "!claim", "matrix")
        await bot.say(AMARA, f"!resolve {code.group(1)} rotate the token", "matrix")
        store = bot.running.store
        stored = await store._all(sa.select(outbox_t.c.body))
        assert any("secret token" in json.dumps(r.body) for r in stored)
        caplog.set_level(logging.INFO, logger="flows.privacy.service")
        await bot.tick()  # the first daily run: nothing is old yet
        assert "retention: removed nothing" in caplog.text
        inbox = await _count(bot, inbox_t)
        assert inbox > 5

        clock.advance(days=4)
        caplog.clear()
        await bot.tick()
        assert re.search(r"retention: removed \d+ inbox rows$", caplog.text.strip()), caplog.text
        assert await _count(bot, inbox_t) == 0
        clock.advance(days=0.5)
        caplog.clear()
        await bot.tick()  # once a day only
        assert "retention" not in caplog.text

        clock.advance(days=7)
        await bot.tick()
        assert re.search(r"removed \d+ texts of sent messages", caplog.text), caplog.text
        stored = await store._all(sa.select(outbox_t.c.body, outbox_t.c.status))
        assert not any("secret token" in json.dumps(r.body) for r in stored)
        case = await store.case(code.group(1))
        assert case is not None
        assert case.subject  # words of a resolved request: kept 20 days
        clock.advance(days=10)
        caplog.clear()
        await bot.tick()
        assert "removed 1 words of resolved help requests" in caplog.text
        case = await store.case(code.group(1))
        assert case is not None
        assert (case.subject, case.reason, case.status) == ("", "", "resolved")


def test_an_inbox_kept_shorter_than_networks_replay_is_refused_by_key(tmp_path: Path) -> None:
    for text, key, why in [('inbox = "1d"', "retention.inbox", "at least 2d"),
                           ('sent_messages = "forever"', "retention.sent_messages", "")]:
        path = tmp_path / "wayfinder.toml"
        path.write_text(f"[retention]\n{text}\n")
        with pytest.raises(ConfigError) as refused:
            load_config(path)
        assert key in str(refused.value)
        assert why in str(refused.value)


async def test_the_console_saves_a_file_for_its_owner_only(tmp_path: Path) -> None:
    out = io.StringIO()
    console = ConsoleAdapter("ana", stdin=io.StringIO(), stdout=out, files_dir=tmp_path / "f")
    assert console.capabilities.files
    msg = Outbound(RoomRef(Network("console"), "ana", "", True), "Here it is",
                   file=FileRef("../../.bashrc/wayfinder mydata.json", "application/json",
                                b'{"a": 1}'))
    await console.send(msg, "k")
    (saved,) = (tmp_path / "f").iterdir()
    assert saved.name == "wayfinder_mydata.json"
    assert saved.read_bytes() == b'{"a": 1}'
    assert saved.stat().st_mode & 0o777 == 0o600
    assert f"(saved as {saved})" in out.getvalue()


def _wayfinder(cwd: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=60)


def test_console_mydata_and_the_organizers_export(tmp_path: Path) -> None:
    chat = _wayfinder(tmp_path, "chat", "--as", "ana", stdin="!start\n!mydata\n")
    assert chat.returncode == 0, chat.stderr
    assert "Here is everything I hold about you" in chat.stdout
    (saved,) = (tmp_path / "wayfinder-files").iterdir()
    assert f"(saved as wayfinder-files/{saved.name})" in chat.stdout
    assert json.loads(saved.read_text())["identities"] == ["console:ana"]

    done = _wayfinder(tmp_path, "person", "export", "console:ana", "-o", "ana.json")
    assert done.returncode == 0, done.stderr
    exported = json.loads((tmp_path / "ana.json").read_text())
    assert exported["identities"] == ["console:ana"]
    assert exported["tables"]["flow_state"]
    assert (tmp_path / "ana.json").stat().st_mode & 0o777 == 0o600
    missing = _wayfinder(tmp_path, "person", "export", "irc:nobody")
    assert missing.returncode == 1
    assert "No one is known as 'irc:nobody'" in missing.stderr


async def test_the_identity_cache_is_bounded_and_an_evicted_person_is_found_again(
        bot: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.engine.IDENTITY_CACHE_SIZE", 3)
    monkeypatch.setattr("storage.repository.FRESH_LIMIT", 3)
    for name in ("a1", "a2", "a3", "a4", "a5"):
        await bot.say(name, "!start")
    engine = bot.running.engine
    assert len(engine._people) <= 3
    assert len(bot.running.store._fresh) <= 3
    reply = await bot.say("a1", "!status")  # evicted: looked up, not created again
    assert "Hi! I'm Wayfinder" not in reply
    assert await _count(bot, person_t) == 5


async def test_messages_queued_or_retrying_are_not_sent_after_forget(sqlite_url: str) -> None:
    config = make_config(sqlite_url, outbox={"first_retry_seconds": 2.0})
    async with Harness(config) as bot:
        memory = bot.adapters["memory"]
        await bot.say("ana", "!start")
        store = bot.running.store
        person = await store.person_for(memory.identity("ana"))
        sent = len(memory.sent)
        memory.failures.append(TransientSendError("the network hiccups"))
        # The reply to !status fails and waits 1-2 s in its lane; the next ones queue behind.
        await memory.deliver(bot.inbound("ana", "!status"))
        await memory.deliver(bot.inbound("ana", "!forget"))
        state = await store.load_state(person)
        assert state is not None
        code = state.data["privacy"]["forget_code"]
        await memory.deliver(bot.inbound("ana", f"!forget confirm {code}"))
        assert await bot.running.dispatcher.drain(10)
        texts = [s.text for s in memory.sent[sent:]]
        # Only the goodbye: neither the !status answer nor the !forget code went out.
        assert len(texts) == 1, texts
        assert "erased everything" in texts[0]


async def test_a_mentor_added_in_chat_who_forgets_loses_the_role_at_once(
        sqlite_url: str) -> None:
    roles = {"organizers": ["irc:olga"], "admins": ["matrix:@root:lumen.test"]}
    async with Harness(make_config(sqlite_url, roles=roles),
                       networks=("irc", "matrix")) as bot:
        await bot.say("@root:lumen.test", "!mentor add lingo irc:kim", "matrix")
        assert "For mentors:" in await bot.say("kim", "!help", "irc")
        code = _code(await bot.say("kim", "!forget", "irc"), "forget confirm")
        await bot.say("kim", f"!forget confirm {code}", "irc")
        assert "For mentors:" not in await bot.say("kim", "!help", "irc")
        # The admin's audit entry names kim no more.
        entries = await bot.running.store.audit_entries()
        assert [(e.identity, e.action, e.detail) for e in entries] == [
            ("matrix:@root:lumen.test", "mentor", "add lingo (forgotten)")]
