"""The engine asks a feature's projection (Feature.project) only on a turn that may have
changed something it is made of (Feature.project_inputs): a typed state, another part of the
person's data, their language, or the sender and the roles they hold. Otherwise the record
the turn started from stays."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import bot.engine
from bench.core import SCRIPT
from bot.engine import Projection
from bot.flow import Turn
from bot.i18n import LOCALE_KEY
from bot.records import Record
from flows.digest.records import Reader
from flows.events.records import Standing
from flows.pairing.records import PairStanding
from tests.harness import Harness, make_config
from tests.test_standing import committed_units


def counted(projection: Projection, asked: list[str]) -> Projection:
    """The projection, noting its name in `asked` each time the engine asks it."""
    project = projection.project

    def asking(turn: Turn) -> Record | None:
        asked.append(projection.name)
        return project(turn)

    return replace(projection, project=asking)


async def test_a_projection_is_asked_only_when_what_it_reads_changed(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Counted here: the suite's check of skipped projections (conftest) would ask them too.
    monkeypatch.setattr(bot.engine, "CHECK_SKIPPED_PROJECTIONS", None)
    async with Harness(make_config(sqlite_url, roles={"admins": ["memory:root"]})) as h:
        engine = h.running.engine
        asked: list[str] = []
        engine.projections = [counted(p, asked) for p in engine.projections]
        units = committed_units(h.running.store)

        async def asked_by(text: str, **kw: object) -> list[str]:
            asked.clear()
            await h.say("mia", text, "memory", **kw)
            return sorted(asked)

        everything = ["digest", "events", "pairing"]
        assert await asked_by("!help") == everything  # a state loaded: no records to keep
        assert await asked_by("!help") == []  # nothing any of them reads changed
        assert await asked_by("!region de") == ["events"]  # its typed state
        assert await asked_by("!pair off") == []  # read, but it stays as it was
        await h.say("mia", "!start")
        assert await asked_by("!skip") == []  # a field of the path none of them reads
        assert await asked_by("!skip") == []
        assert await asked_by("python, testing") == []
        assert await asked_by("!skip") == []
        assert await asked_by("Handbook") == ["events", "pairing"]  # the project chosen
        assert await asked_by("!help", room="#lobby") == ["events", "pairing"]  # last_room
        assert await asked_by("!help", room="#lobby") == []
        assert await asked_by("!language es", room="#lobby") == ["events"]  # the locale
        assert await asked_by("!help", room="#lobby", language="pt_BR") == ["events"]  # heard
        assert await asked_by("!help", room="#lobby", language="pt_BR") == []
        assert await asked_by("!help", room="#lobby") == []  # stated: as the network said
        assert await asked_by("!help", room="#lobby", verified=False) == ["digest"]  # sender
        assert await asked_by("!help", room="#lobby") == ["digest"]
        assert await asked_by("!help", room="#lobby") == []

        # A role granted changes no state of hers, but what the digest is made of.
        await h.say("root", "!mentor add lingo memory:mia")
        units.clear()
        assert await asked_by("!help", room="#lobby") == ["digest"]
        readers = [r for u in units for r in u.records if isinstance(r, Reader)]
        assert [(r.identity_key, r.roles) for r in readers] == [("memory:mia", "mentor")]
        assert not [r for u in units for r in u.records if isinstance(r, Standing)]
        assert await asked_by("!help", room="#lobby") == []
        # The records kept are the ones the turn started from.
        assert engine._states[units[-1].person_id].projected["digest"] == readers[0]


async def projected_records(url: str, ask_always: bool) -> list[list[Record]]:
    """The projections' records each turn of one script commits."""
    async with Harness(make_config(url, roles={"admins": ["memory:root"]})) as h:
        engine = h.running.engine
        if ask_always:
            engine.projections = [replace(p, inputs=None) for p in engine.projections]
        units = committed_units(h.running.store)
        script: list[tuple[str, str, dict[str, object]]] = [
            ("mia", "!help", {}), ("mia", "!start", {}), ("mia", "!skip", {}),
            ("mia", "!region de", {"room": "#lobby"}), ("mia", "!invites on", {}),
            ("mia", "!language es", {}), ("mia", "!help", {"language": "pt_BR"}),
            ("mia", "!help", {}), ("mia", "!help", {"verified": False}),
            ("root", "!mentor add lingo memory:mia", {}), ("mia", "!help", {}),
            ("root", "!mentor remove lingo memory:mia", {}), ("mia", "!help", {}),
            ("mia", "!help", {"room": "#lobby"}), ("mia", "!language en", {}),
        ]
        script += [("mia", line, {}) for line in SCRIPT]  # a project, a workshop, a task
        for who, text, kw in script:
            await h.say(who, text, "memory", **kw)
        return [[r for r in u.records if isinstance(r, (Reader, Standing, PairStanding))]
                for u in units]


async def test_skipping_projections_leaves_the_same_records(tmp_path: Path) -> None:
    """Asked only when their inputs changed, the projections write what they write when
    asked on every turn."""
    skipping = await projected_records(f"sqlite+aiosqlite:///{tmp_path}/a.db", False)
    always = await projected_records(f"sqlite+aiosqlite:///{tmp_path}/b.db", True)
    assert skipping == always
    assert sum(map(len, skipping)) > 5


async def test_a_projection_reading_more_than_it_declares_fails_the_suite(
        sqlite_url: str, skipped_projections_checked: list[str]) -> None:
    """The suite asks every skipped projection anyway (conftest): one whose declared inputs
    miss what it reads is caught at the first turn that changes only that."""
    async with Harness(make_config(sqlite_url)) as h:
        engine = h.running.engine
        events = next(p for p in engine.projections if p.name == "events")
        assert events.inputs is not None
        blind = replace(events, inputs=events.inputs - {LOCALE_KEY})  # its language left out
        engine.projections = [blind if p is events else p for p in engine.projections]
        await h.say("mia", "!help")
        await h.say("mia", "!help")
        assert skipped_projections_checked == []
        await h.say("mia", "!language es")
        assert len(skipped_projections_checked) == 1
        assert "events projection was not asked" in skipped_projections_checked[0]
        assert "locale='es'" in skipped_projections_checked[0]
        skipped_projections_checked.clear()  # the failure this test asked for
