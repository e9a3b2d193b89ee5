"""Every person in their own language (issue 20): the catalogs are complete and compiled, a
missing translation falls back to English, plurals agree with their number, content texts
carry translations, and `!language` chooses one."""

from __future__ import annotations

import gettext
import shutil
import string
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog

from bot import catalogs
from bot.content import ContentError
from bot.durations import describe
from bot.i18n import FSI, PDI, LocalizedStr, normalize, shipped, translator
from bot.wiring import load_content
from flows.path.content import PathContent
from tests.harness import CONTENT, Harness, make_config


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _messages(catalog: Catalog) -> dict[str, Any]:
    return {str(m.id[0] if isinstance(m.id, tuple | list) else m.id): m for m in catalog if m.id}


def test_every_message_id_in_the_code_is_in_the_catalog() -> None:
    """Extracted with Babel and compared: `python -m bot.catalogs all` brings them up to date."""
    in_code = set(_messages(catalogs.extract()))
    template = set(_messages(catalogs.read(catalogs.POT)))
    assert in_code - template == set(), "python -m bot.catalogs all"
    assert template - in_code == set(), "python -m bot.catalogs all"
    assert set(catalogs.languages()) == {"es", "pt_BR"}
    for code in catalogs.languages():
        catalog = catalogs.read(catalogs.po_path(code), code)
        messages = _messages(catalog)
        assert set(messages) == in_code, f"{code}: python -m bot.catalogs all"
        for msgid, message in messages.items():
            strings = message.string if isinstance(message.string, tuple) else (
                message.string,)
            assert all(strings), f"{code}: no translation of {msgid!r}"
            assert "fuzzy" not in message.flags, f"{code}: {msgid!r} is fuzzy"
            for text in strings:  # a translation fills the same fields, no more
                assert _fields(text) <= _fields(msgid) | {"n"}, (code, msgid, text)


def test_the_compiled_catalogs_say_what_their_sources_say() -> None:
    """The .mo files the package ships (read by the bot) are the .po files compiled."""
    for code in catalogs.languages():
        source = catalogs.read(catalogs.po_path(code), code)
        with catalogs.po_path(code).with_suffix(".mo").open("rb") as handle:
            compiled = gettext.GNUTranslations(handle)
        for message in _messages(source).values():
            if isinstance(message.id, tuple):
                singular, plural = message.id
                for n in (1, 2, 5):
                    index = compiled.plural(n)  # type: ignore[attr-defined]  # set by _parse
                    assert compiled.ngettext(singular, plural, n) == message.string[index]
            else:
                assert compiled.gettext(message.id) == message.string, (code, message.id)
    assert catalogs.main(["check"]) == 0


def test_a_missing_translation_falls_back_to_english() -> None:
    spanish = translator("es")
    assert spanish.t("Not a message anyone wrote, {who}.", who="Ada") == (
        "Not a message anyone wrote, Ada.")
    assert spanish.t("Right now you can use:") == "Ahora mismo puedes usar:"
    assert translator("en").t("Right now you can use:") == "Right now you can use:"
    # A content text without the person's language: the community's default, else its first.
    summary = LocalizedStr.parse({"en": "Docs", "es": "Documentación"})
    assert translator("pt_BR", "es").local(summary) == "Documentación"
    assert translator("pt_BR", "en").local(summary) == "Docs"
    assert translator("es_MX").local(summary) == "Documentación"  # its language will do
    assert translator("es").local(LocalizedStr("Only English")) == "Only English"


def test_plurals_agree_with_their_number() -> None:
    assert describe(timedelta(seconds=1)) == "1 second"
    assert describe(timedelta(seconds=2)) == "2 seconds"
    assert describe(timedelta(hours=1)) == "1 hour"
    assert describe(timedelta(days=3)) == "3 days"
    assert describe(timedelta(days=1), translator("es")) == "1 día"
    assert describe(timedelta(minutes=5), translator("pt_BR")) == "5 minutos"
    matches = ('{n} person matches "{name}"{more}; ask again with one of the ids:',
               '{n} people match "{name}"{more}; ask again with one of the ids:')
    assert translator("en").tn(*matches, 1, name="ada", more="").startswith(
        '1 person matches "ada"')
    assert translator("es").tn(*matches, 2, name="ada", more="").startswith(
        '2 personas coinciden')


def test_numbers_and_dates_in_the_persons_locale() -> None:
    at = datetime(2026, 11, 29, 18, 5, tzinfo=UTC)
    assert translator("en").format_datetime(at, "EEE dd MMM, HH:mm") == "Sun 29 Nov, 18:05"
    assert translator("es").format_datetime(at, "EEE dd MMM, HH:mm") == "dom 29 nov, 18:05"
    assert translator("en").format_number(1234.5) == "1,234.5"
    assert translator("pt_BR").format_number(1234.5) == "1.234,5"


def test_language_codes_are_read_the_way_people_write_them() -> None:
    assert shipped() == ("en", "es", "pt_BR")
    assert normalize("pt-br") == "pt_BR"
    assert normalize("PT") == "pt_BR"
    assert normalize("es-419") == "es"
    assert normalize("en_GB") == "en"
    assert normalize("de") is None
    assert normalize("../../etc") is None
    assert normalize("") is None


def test_right_to_left_content_is_isolated_and_left_to_right_text_unchanged() -> None:
    english = translator("en")
    name = "مشروع"
    assert english.t("Join {name} today.", name=name) == f"Join {FSI}{name}{PDI} today."
    assert english.t("Join {name} today.", name="Pagebot") == "Join Pagebot today."


async def test_a_person_chooses_their_language(bot: Harness) -> None:
    assert "I don't speak de yet. Choose one of: en (English), es (español), pt_BR" in (
        await bot.say("ada", "!language de"))
    assert "Choose another with !language CODE" in await bot.say("ada", "!language")
    said = await bot.say("ada", "!language pt-BR")
    assert said == ("De agora em diante vou responder em português do Brasil. !language muda "
                    "de novo.")
    assert "Não conheço o comando !frob." in await bot.say("ada", "!frob")
    assert "Comandos que você pode usar:" in await bot.say("ada", "!help")
    await bot.restart()  # kept with the person
    assert "Não conheço o comando !frob." in await bot.say("ada", "!frob")
    assert "I don't know the command !frob." in await bot.say("bo", "!frob")  # others: English


async def test_the_networks_language_is_the_default_until_one_is_chosen(bot: Harness) -> None:
    assert "No conozco el comando !frob." in await bot.say("ada", "!frob", language="es-419")
    # Later turns without the network's word (a due job) remember it.
    assert "No conozco el comando !frob." in await bot.say("ada", "!frob")
    await bot.say("ada", "!language en")
    assert "I don't know the command !frob." in await bot.say("ada", "!frob", language="es")
    assert "I don't know the command !frob." in await bot.say("cy", "!frob", language="de")


def translated_content(tmp_path: Path) -> Path:
    """The demo content with Handbook's summary in English and Spanish only."""
    folder = tmp_path / "content"
    shutil.copytree(CONTENT, folder)
    handbook = folder / "projects" / "handbook.toml"
    handbook.write_text(handbook.read_text(encoding="utf-8").replace(
        'summary = "The community handbook: guides and tutorials written by and for '
        'contributors"',
        'summary = { en = "The community handbook: guides and tutorials written by and for '
        'contributors", es = "El manual de la comunidad: guías y tutoriales escritos por y '
        'para quienes contribuyen" }'), encoding="utf-8")
    return folder


def test_content_check_warns_about_missing_translations(tmp_path: Path) -> None:
    folder = translated_content(tmp_path)
    loaded = load_content(folder)
    summary = loaded.of(PathContent).projects["handbook"].summary
    assert translator("es").local(summary).startswith("El manual de la comunidad")
    assert translator("pt_BR").local(summary).startswith("The community handbook")
    [warning] = loaded.missing_translations(("en", "es", "pt_BR"))
    assert (warning.file, warning.key) == ("content/projects/handbook.toml", "summary")
    assert "pt_BR" in warning.reason
    assert loaded.missing_translations(("en", "es")) == []
    done = subprocess.run([sys.executable, "-m", "bot", "content", "check", str(folder)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr  # a warning, not a problem
    assert "warning(s)" in done.stdout
    assert "content/projects/handbook.toml" in done.stdout
    assert "no translation for pt_BR" in done.stdout
    # A table that is not texts by language is a problem, named.
    handbook = folder / "projects" / "handbook.toml"
    handbook.write_text(handbook.read_text(encoding="utf-8").replace("es = ", "spanish = "),
                        encoding="utf-8")
    with pytest.raises(ContentError, match="summary: 'spanish' is not a language code"):
        load_content(folder)


async def test_a_spanish_newcomer_walks_the_path_in_spanish(tmp_path: Path,
                                                             sqlite_url: str) -> None:
    """The path's texts from the catalog, the content's from its translations, plurals and
    the English fallback for a text without Spanish."""
    config = make_config(sqlite_url, content={"path": str(translated_content(tmp_path))},
                         flows={"ask_motive": False})
    async with Harness(config) as bot:
        said = await bot.say("ana", "!start", language="es")
        assert "¡Hola, soy Wayfinder!" in said
        assert "¿Qué te interesa?" in said
        # Spanish is hers already (from her app): the others are offered, once.
        assert "También hablo English, português do Brasil: !language en para cambiar." in said
        said = await bot.script("ana", ["!skip", "!skip", "!skip"])
        assert "Saltaste las preguntas" in said
        assert "El manual de la comunidad: guías y tutoriales" in said  # its translation
        assert "Documentación: " in said
        said = await bot.say("ana", "!status")
        assert "Tu camino:" in said
        assert "Siguiente: responde la pregunta de arriba" in said
        # Someone else, in English, is offered the other languages once along the path.
        said = await bot.say("bo", "!start")
        assert "I also speak español, português do Brasil: !language es to switch." in said
        assert "The community handbook" in await bot.script("bo", ["!skip"] * 3)


async def test_asking_for_help_in_spanish(bot: Harness) -> None:
    """The newcomer hears what happened in their language (no mentor is reachable on the
    test's network here, and they are told so honestly)."""
    await bot.say("ana", "!language es")
    await bot.script("ana", ["!start", "!skip", "!skip", "!skip", "Pagebot"])
    said = await bot.say("ana", "!stuck pip fails")
    assert "Ahora mismo no puedo contactar a ningún mentor de Pagebot." in said, said
    assert "(caso " in said
    assert "Ya pediste ayuda" in await bot.say("ana", "!stuck again")


async def test_a_spanish_newcomer_and_an_english_mentor(sqlite_url: str) -> None:
    """Each reads their own language: the mentor's ping in the community's default (English),
    the newcomer's news of the claim and the resolution in Spanish (the mentor's turn reads
    the newcomer's stored language)."""
    from tests.test_mentoring import AMARA, _code, _sent_to, _to_pagebot_step_2, mentoring_bot

    async with mentoring_bot(sqlite_url) as bot:
        await bot.say("ana", "!language es", "irc")
        await _to_pagebot_step_2(bot, "ana")
        reply = await bot.say("ana", "!stuck git clone says permission denied", "irc")
        assert "Le pedí a Amara (mentor de Pagebot) que te ayude" in reply
        code = _code(reply.replace("caso", "case"))
        [ping] = _sent_to(bot, "matrix", AMARA)
        assert ping.startswith(f"ana needs help with Pagebot (case {code}).")
        before = len(bot.adapters["irc"].sent)
        assert f"Case {code} is yours" in await bot.say(AMARA, "!claim", "matrix")
        [told] = bot.adapters["irc"].sent[before:]
        assert told.text.startswith(f"Buenas noticias: Amara te ayudará con el caso {code}.")
        assert told.msg.locale == "es"
        before = len(bot.adapters["irc"].sent)
        await bot.say(AMARA, f"!resolve {code} usa la URL https", "matrix")
        [told] = bot.adapters["irc"].sent[before:]
        assert "marcó tu pregunta" in told.text
        assert "usa la URL https" in told.text


async def test_regions_and_invites_in_portuguese(bot: Harness) -> None:
    await bot.say("rui", "!language pt_BR")
    said = await bot.say("rui", "!region")
    assert said.startswith("Você não escolheu uma região. A organização convida")
    assert "Não conheço a região 'atlantis'." in await bot.say("rui", "!region atlantis")
    assert "Os convites para eventos estão" in await bot.say("rui", "!invites")
