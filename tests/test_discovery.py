"""Finding a project: free text matched by stems, typos, role nouns and aliases; every option
on screen; skipping shows the featured projects; mentors by name."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from adapters.irc.render import render_pages
from bot.content import Content, ContentError
from bot.wiring import load_content
from flows.path.content import PathContent, Project
from flows.path.discovery import hits_for, rank, reasons
from flows.path.matching import score
from tests.harness import CONTENT, Harness, make_config

DEMO = load_content(CONTENT)


def best(content: Content, *answers: str) -> str | None:
    """The project ranked first for these answers, or None when nothing matched."""
    hits = hits_for(content.of(PathContent), list(answers))
    first = rank(content, hits)[0]
    return first if score(hits.get(first, [])) > 0 else None


# What newcomers actually type, several per demo project.
@pytest.mark.parametrize(("said", "project"), [
    ("I want to help translate", "lingo"),
    ("I translate subtitles for fun", "lingo"),
    ("localization", "lingo"),
    ("I speak Spanish and Yoruba", "lingo"),
    ("I code in golang", "lingo"),
    ("I am a teacher", "handbook"),
    ("I like writing tutorials", "handbook"),
    ("I could fix typos in the docs", "handbook"),
    ("I'm good at explaining things", "handbook"),
    ("I like maps", "mapview"),
    ("I'm a web designer", "mapview"),
    ("I know some CSS and HTML", "mapview"),
    ("accesibility", "mapview"),  # a typo
    ("javascript, typscript", "mapview"),
    ("I know some python", "pagebot"),
    ("I write scripts to automate boring stuff", "pagebot"),
    ("wikipedia editor", "pagebot"),
    ("I'm a data scientist", "pagebot"),
])
def test_newcomers_sentences_find_the_demo_project(said: str, project: str) -> None:
    assert best(DEMO, said) == project


@pytest.mark.parametrize("said", ["nothing really", "I like music", "hello",
                                  "Lumen"])  # in every summary: no evidence for any one
def test_words_that_name_nothing_match_nothing(said: str) -> None:
    assert best(DEMO, said) is None


def made_up_content() -> Content:
    """Content nobody tuned the matcher for: three projects far from the demo's."""
    projects = {
        "seedbank": Project(id="seedbank", name="Seedbank",
                            summary="A catalogue of heirloom seeds shared by gardeners",
                            tags=("gardening", "biology"), skills=("photography", "cataloguing"),
                            languages=("ruby",), mentors=("telegram:555", "irc:rosa")),
        "stagelights": Project(id="stagelights", name="Stagelights",
                               summary="Lighting control software for community theatres",
                               tags=("theatre", "music", "hardware"),
                               skills=("electronics", "c++"), languages=("c++",)),
        "ledger": Project(id="ledger", name="Ledger",
                          summary="Bookkeeping for small charities and cooperatives",
                          tags=("finance", "nonprofits"), skills=("accounting", "spreadsheets"),
                          languages=("kotlin",)),
    }
    path = PathContent(projects, {}, {"finance": ("money", "budget")})
    return Content({**DEMO.parts, PathContent: path})


@pytest.mark.parametrize(("said", "project", "why"), [
    ("I'm a gardener", "seedbank", "your interest in gardening"),
    ("gardning", "seedbank", "your interest in gardening"),  # a typo
    ("I'm a photographer", "seedbank", "your skills in photography"),
    ("biologist", "seedbank", "your interest in biology"),
    ("I play in a theater group", "stagelights", "your interest in theatre"),  # spelling
    ("I know c++", "stagelights", "you code in c++"),
    ("electronics and soldering", "stagelights", "your skills in electronics"),
    ("I'm an accountant", "ledger", "your skills in accounting"),
    ("I help with the budget at my club", "ledger", "your interest in finance"),  # an alias
    ("I volunteer for a charity", "ledger", "it is about charities"),  # the summary, weakly
    ("I write kotlin apps", "ledger", "you code in kotlin"),
])
def test_matching_generalises_to_content_it_was_not_written_for(said: str, project: str,
                                                                why: str) -> None:
    content = made_up_content()
    assert best(content, said) == project
    hits = hits_for(content.of(PathContent), [said])
    assert why in "; ".join(reasons(hits[project]))


def test_the_index_is_built_once_per_content_version() -> None:
    path = made_up_content().of(PathContent)
    assert path.index is path.index
    assert replace(path).index is not path.index  # a new version is indexed anew


async def test_free_text_answers_find_their_project(bot: Harness) -> None:
    await bot.say("ana", "!start")
    await bot.say("ana", "I want to help translate")
    await bot.say("ana", "!skip")
    reply = await bot.say("ana", "!skip")
    assert reply.startswith("These projects fit you best:")
    first_card = reply.split("\n\n")[1]
    assert first_card.startswith("* Lingo:")
    assert "Why: your interest in translation\n" in first_card
    assert "not a match for your answers, but it welcomes newcomers" in reply  # the others

    await bot.say("ben", "!start")
    await bot.say("ben", "Well, I have worked for many years in a small town and now I am a "
                         "teacher")  # the telling word comes late in a long sentence
    await bot.say("ben", "I like maps")  # what they are good at
    reply = await bot.say("ben", "none")
    cards = reply.split("\n\n")
    assert {cards[1].split(":")[0], cards[2].split(":")[0]} == {"* Handbook", "* Mapview"}
    assert "Why: your interest in education; your skills in teaching" in reply
    assert "Why: your interest in maps" in reply


async def test_a_made_up_content_set_is_matched_too(sqlite_url: str) -> None:
    bot = Harness(make_config(sqlite_url))
    async with bot:
        bot.running.engine.content = made_up_content()
        reply = await bot.script("cy", ["!start", "I'm a gardener", "I'm a photographer",
                                        "!skip"])
        first_card = reply.split("\n\n")[1]
        assert first_card.startswith("* Seedbank:")
        assert "Why: your interest in gardening; your skills in photography" in first_card


async def test_every_interest_is_on_screen_and_more_numbers_the_rest(bot: Harness) -> None:
    reply = await bot.say("dan", "!start")
    tags = {t for p in DEMO.of(PathContent).projects.values() for t in p.tags}
    assert len(tags) == 15
    question = reply.split("\n\n", 1)[1]
    for tag in tags:  # numbered, or named on the "Also" line
        assert tag in question, tag
    assert "Also: " in question
    assert "(type the word, or !more to number them)" in question
    assert "1) community" in question
    # The question, its "Also" line and its options fit IRC's ten lines.
    last = bot.adapters["memory"].sent[-1].msg
    assert len(render_pages(last, 400, 10)) == 1

    reply = await bot.say("dan", "!more")
    assert "What are you interested in?" in reply
    assert "Hi, I'm Wayfinder" not in reply  # the question again, not the greeting
    assert "1) design" in reply
    assert "2) documentation" in reply
    assert "Also: community" in reply
    await bot.say("dan", "!more")
    reply = await bot.say("dan", "!more")  # three pages, then the first again
    assert "1) community" in reply

    await bot.say("dan", "!more")
    assert "What are you good at" in await bot.say("dan", "2")  # "documentation", as shown
    await bot.say("dan", "!skip")
    reply = await bot.say("dan", "!more")  # five languages: one page
    assert reply == ("Those are all the options already: pick by number or word, say it in "
                     "your own words, or !skip.")
    reply = await bot.say("dan", "!skip")
    assert "* Handbook:" in reply.split("\n\n")[1]
    assert "Why: your interest in documentation" in reply


async def test_skipping_every_question_shows_the_featured_projects(bot: Harness) -> None:
    reply = await bot.script("eve", ["!start", "!skip", "!skip", "!skip"])
    assert reply.startswith("You skipped the questions, so here are the 4 featured projects:")
    for name in ("Handbook", "Lingo", "Mapview", "Pagebot"):
        assert f"* {name}:" in reply
    assert "Why:" not in reply  # nothing made up
    assert "!more" not in reply  # all of them are on screen
    assert reply.endswith("1) Handbook\n  2) Lingo\n  3) Mapview\n  4) Pagebot")
    reply = await bot.say("eve", "!more")
    assert reply.startswith("Those are all the featured projects; here they are again.")
    assert "Great choice: Lingo." in await bot.say("eve", "2")  # as numbered on screen

    reply = await bot.script("fay", ["!start", "I like music", "!skip", "!skip"])
    assert reply.startswith("I couldn't match your answers to a project, so here are the 4 "
                            "featured projects:")
    assert "Great choice: Pagebot." in await bot.say("fay", "4")


async def test_mentors_are_named_and_reached_on_the_readers_network(sqlite_url: str) -> None:
    async with Harness(make_config(sqlite_url),
                       networks=("matrix", "telegram", "irc")) as bot:
        on_matrix = await bot.script("gil", ["!start", "!skip", "!skip", "!skip"],
                                     network="matrix")
        assert "Mentors: Amara (@amara:lumen.test), Tomasz (tomasz on IRC)" in on_matrix
        assert "Mentors: João (@joao:lumen.test), Priya (@priya:lumen.test)" in on_matrix
        on_telegram = await bot.script("hal", ["!start", "!skip", "!skip", "!skip"],
                                       network="telegram")
        # Nadia's Telegram id is a number nobody can look up: her IRC nick instead.
        assert "Mentors: Nadia (on Telegram; nadia on IRC)" in on_telegram
        assert "Mentors: Lucia (on Telegram; @lucia:lumen.test on Matrix)" in on_telegram
        assert "309877120" not in on_telegram
        assert "201334455" not in on_telegram
        on_irc = await bot.script("ida", ["!start", "!skip", "!skip", "!skip"], network="irc")
        assert "Mentors: Nadia (nadia)" in on_irc  # listed twice in lingo.toml, named once
        assert "matrix:@" not in on_irc


async def test_a_mentor_without_a_name_is_never_a_number(sqlite_url: str) -> None:
    bot = Harness(make_config(sqlite_url))
    async with bot:
        bot.running.engine.content = made_up_content()
        reply = await bot.script("jo", ["!start", "gardening", "!skip", "!skip"])
        assert "Mentors: a mentor (on Telegram), rosa (on IRC)" in reply
        assert "555" not in reply


def _content_problems(root: Path) -> list[str]:
    with pytest.raises(ContentError) as err:
        load_content(root)
    return [str(p) for p in err.value.problems]


def test_aliases_are_checked_with_file_and_key(tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "content"
    shutil.copytree(CONTENT, root)
    (root / "aliases.toml").write_text(
        'translation = ["translate", ""]\n'
        'knitting = ["yarn"]\n'
        'maps = "cartography"\n', encoding="utf-8")
    problems = _content_problems(root)
    assert "content/aliases.toml: translation[1]: not a word (a non-empty string)" in problems
    assert any(p.startswith("content/aliases.toml: knitting: no project has this tag, skill "
                            "or language") for p in problems), problems
    assert any(p.startswith("content/aliases.toml: maps: not a list of words (e.g. translation"
                            " = [") for p in problems), problems


async def test_a_project_named_in_a_sentence_or_with_a_typo_is_picked(bot: Harness) -> None:
    await bot.script("kit", ["!start", "!skip", "!skip", "!skip"])
    reply = await bot.say("kit", "something else")
    assert reply == ("I didn't find that project. Pick a number from 1 to 4 (1 Handbook, "
                     "2 Lingo, 3 Mapview, 4 Pagebot) or type its name.")
    assert "Great choice: Pagebot." in await bot.say("kit", "pagebto")
    await bot.script("lou", ["!start", "!skip", "!skip", "!skip"])
    assert "Great choice: Lingo." in await bot.say("lou", "I'll take lingo please")


async def test_many_featured_projects_are_paged_and_numbered_as_shown(sqlite_url: str) -> None:
    many = {f"p{n:02}": Project(id=f"p{n:02}", name=f"Project {n:02}", summary="Something",
                                tags=("gardening",)) for n in range(1, 11)}
    content = Content({**DEMO.parts, PathContent: PathContent(many, {})})
    bot = Harness(make_config(sqlite_url))
    async with bot:
        bot.running.engine.content = content
        reply = await bot.script("max", ["!start", "!skip", "!skip", "!skip"])
        assert reply.startswith("You skipped the questions, so here are the featured projects "
                                "(1 to 8 of 10):")
        assert "!more for other suggestions" in reply
        reply = await bot.say("max", "!more")
        assert reply.startswith("More featured projects (9 to 10 of 10; the numbers below are "
                                "these):")
        assert reply.endswith("1) Project 09\n  2) Project 10")
        assert "Great choice: Project 10." in await bot.say("max", "2")
