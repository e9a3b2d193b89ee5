"""Certificates worth a CV: the PDF (read back: its text, and its QR code decoded from the
rendered page), the holder's chosen name, files where the network carries them and links where
it does not, !certificates, and revocation by an admin."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pypdf
import pypdfium2
import pytest
import zxingcpp

from adapters.memory import MemoryAdapter
from bot.content import ContentError, load_folder
from bot.model import Capabilities, Network
from flows.path.certificate_pdf import CertificatePage, render_pdf
from flows.path.content import PART
from tests.harness import CONTENT, Harness, make_config

PUBLIC = "https://wayfinder.lumen.test"
TO_PAGEBOT = ["!start", "!skip", "!skip", "!skip", "Pagebot"]
PAGEBOT_WORKSHOP = ["done", "main", "1", "pytest tests/unit", "!skip"]
MR = "https://code.lumen.test/pagebot/pagebot/-/merge_requests/7"
LOGO = (CONTENT / "logo.png").read_bytes()


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1  # one page
    return " ".join(reader.pages[0].extract_text().split())


def qr_codes(data: bytes) -> list[str]:
    """The QR codes on the PDF's page, decoded from the page rendered as an image."""
    page = pypdfium2.PdfDocument(data)[0]
    image = page.render(scale=2).to_pil()
    return [found.text for found in zxingcpp.read_barcodes(image)]


def test_a_rendered_certificate_reads_back_with_its_text_and_a_qr_code_to_its_page() -> None:
    page = CertificatePage("Lumen", "Zoë Ångström-Жукова", "Get started with Pagebot",
                           datetime(2026, 11, 29, 18, 0, tzinfo=UTC), "K7QX-M2PA",
                           f"{PUBLIC}/certificates/K7QX-M2PA", LOGO)
    data = render_pdf(page)
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    for said in ("Lumen", "Certificate of completion", "Zoë Ångström-Жукова",
                 "Get started with Pagebot", "29 November 2026", "K7QX-M2PA",
                 f"{PUBLIC}/certificates/K7QX-M2PA"):
        assert said in text, (said, text)
    assert qr_codes(data) == [f"{PUBLIC}/certificates/K7QX-M2PA"]
    assert pypdf.PdfReader(io.BytesIO(data)).pages[0].images  # the logo and the QR code
    assert render_pdf(page) == data  # the same certificate, the same bytes


def test_without_a_public_url_the_certificate_names_the_organizers_check() -> None:
    data = render_pdf(CertificatePage("Lumen", "Ada", "First task for Pagebot: Fix a typo",
                                      datetime(2026, 11, 29, tzinfo=UTC), "K7QX-M2PA", ""))
    assert "wayfinder certificate verify K7QX-M2PA" in pdf_text(data)
    assert qr_codes(data) == []


def test_a_long_name_and_title_wrap_and_stay_clear_of_the_qr_code() -> None:
    name = "Maximiliana Alexandrovna Konstantinopolskaya-Wolfeschlegelsteinhausen von Berg"
    title = "First task for Pagebot: " + "handle large inputs without loading them whole " * 5
    data = render_pdf(CertificatePage("Lumen", name, title.strip(),
                                      datetime(2026, 11, 29, tzinfo=UTC), "K7QX-M2PA",
                                      f"{PUBLIC}/certificates/K7QX-M2PA"))
    text = pdf_text(data)
    assert name in text
    assert title.strip() in text
    assert qr_codes(data) == [f"{PUBLIC}/certificates/K7QX-M2PA"]  # still readable


def test_the_community_logo_is_checked(tmp_path: Path) -> None:
    root = tmp_path / "content"
    root.mkdir()
    (root / "projects").mkdir()
    (root / "projects" / "p.toml").write_text('name = "P"\nsummary = "A project"\n')
    (root / "community.toml").write_text('name = "Lumen"\nlogo = "logo.gif"\n')
    (root / "logo.gif").write_bytes(b"GIF89a....")
    with pytest.raises(ContentError) as err:
        load_folder(root, [PART])
    assert "content/community.toml: logo: not a PNG or JPEG image" in str(err.value)
    (root / "community.toml").write_text('name = "Lumen"\nlogo = "../elsewhere.png"\n')
    with pytest.raises(ContentError) as err:
        load_folder(root, [PART])
    assert "logo: must be a file inside the content folder" in str(err.value)
    (root / "community.toml").write_text('name = "Lumen"\nlogo = "missing.png"\n')
    with pytest.raises(ContentError) as err:
        load_folder(root, [PART])
    assert "logo: no such file: missing.png" in str(err.value)


def _bot(db_url: str) -> Harness:
    config = make_config(db_url, web={"public_url": PUBLIC + "/"},
                         roles={"admins": ["irc:root"]})
    return Harness(config, adapters=[
        MemoryAdapter(Network("telegram"), Capabilities(files=True)),
        MemoryAdapter(Network("irc"))])


async def test_the_certificate_goes_as_a_pdf_in_the_chosen_name_and_as_a_link_on_irc(
        db_url: str) -> None:
    async with _bot(db_url) as bot:
        await bot.script("ada", [*TO_PAGEBOT, *PAGEBOT_WORKSHOP], "telegram")
        reply = await bot.say("ada", MR, "telegram")
        found = re.search(r"Your certificate code is ([A-Z0-9]{4}-[A-Z0-9]{4}): keep it.", reply)
        assert found is not None, reply
        code = found.group(1)
        assert "What name should your certificate carry? Type !name" in reply
        telegram = bot.adapters["telegram"]
        assert not [s for s in telegram.sent if s.msg.file is not None]  # not without a name

        assert "doesn't look like a name" in await bot.say("ada", "!name 12345", "telegram")
        assert "doesn't look like a name" in await bot.say("ada", "!name " + "a" * 81,
                                                           "telegram")
        assert "haven't chosen" in await bot.say("ada", "!name", "telegram")
        before = len(telegram.sent)
        reply = await bot.say("ada", "!name Ада Lovelace", "telegram")
        assert 'Your certificates now carry the name "Ада Lovelace".' in reply
        assert f"Here it is as a PDF. Anyone can check it at {PUBLIC}/certificates/{code}" \
            in reply
        files = [s.msg.file for s in telegram.sent[before:] if s.msg.file is not None]
        assert len(files) == 1
        assert (files[0].name, files[0].content_type) == (f"certificate-{code}.pdf",
                                                          "application/pdf")
        text = pdf_text(files[0].data)
        assert "Ада Lovelace" in text
        assert "Get started with Pagebot" in text
        assert code in text
        assert "telegram:ada" not in text
        assert qr_codes(files[0].data) == [f"{PUBLIC}/certificates/{code}"]
        stored = await bot.running.store.certificate(code)
        assert stored is not None
        assert stored.holder == "Ада Lovelace"

        # !certificates lists them; with a code it sends one again.
        reply = await bot.say("ada", "!certificates", "telegram")
        assert f"- {code}: Get started with Pagebot, " in reply
        assert 'They carry the name "Ада Lovelace" (!name changes it).' in reply
        before = len(telegram.sent)
        await bot.say("ada", f"!certificates {code.lower()}", "telegram")
        assert [s.msg.file.name for s in telegram.sent[before:] if s.msg.file is not None] == [
            f"certificate-{code}.pdf"]
        assert "no certificate with code 'ZZZZ'" in await bot.say(
            "ada", "!certificates ZZZZ", "telegram")

        # On IRC, which carries no files: the verification link.
        await bot.script("bo", [*TO_PAGEBOT, *PAGEBOT_WORKSHOP, "!name Bo Diddley"], "irc")
        reply = await bot.say("bo", MR, "irc")
        bo_code = re.search(r"certificate code is ([A-Z0-9]{4}-[A-Z0-9]{4})", reply)
        assert bo_code is not None, reply
        assert f"Anyone can check it at {PUBLIC}/certificates/{bo_code.group(1)}." in reply
        assert "What name" not in reply  # chosen before: not asked again
        assert not [s for s in bot.adapters["irc"].sent if s.msg.file is not None]


async def test_an_admin_revokes_a_certificate_with_a_reason_audited(db_url: str) -> None:
    async with _bot(db_url) as bot:
        await bot.script("ada", [*TO_PAGEBOT, *PAGEBOT_WORKSHOP, "!name Ada L"], "telegram")
        reply = await bot.say("ada", MR, "telegram")
        found = re.search(r"certificate code is ([A-Z0-9]{4}-[A-Z0-9]{4})", reply)
        assert found is not None, reply
        code = found.group(1)

        assert code in await bot.say("ada", "!me", "telegram")  # merit, in their record
        reply = await bot.say("mallory", f"!revoke {code} because", "irc")
        assert reply.startswith("Sorry, !revoke is for admins only.")
        assert "Usage: !revoke CODE REASON" in await bot.say("root", f"!revoke {code}", "irc")
        assert "No certificate has the code 'ZZZZ-ZZZZ'" in await bot.say(
            "root", "!revoke ZZZZ-ZZZZ oops", "irc")
        reply = await bot.say("root", f"!revoke {code} issued by mistake", "irc")
        assert reply == (f"Certificate {code} (Get started with Pagebot, Ada L) is revoked: "
                         "issued by mistake")
        assert "is revoked already (issued by mistake)" in await bot.say(
            "root", f"!revoke {code} again", "irc")

        stored = await bot.running.store.certificate(code)
        assert stored is not None
        assert stored.revoked_at is not None
        assert (stored.revoked_reason, stored.revoked_by) == ("issued by mistake", "irc:root")
        audit = await bot.running.store.audit_entries(action="revoke")
        # Every admin command is audited, the one that revoked among them.
        assert ("irc:root", f"{code} issued by mistake") in [(a.identity, a.detail)
                                                             for a in audit]
        refused = await bot.running.store.audit_entries(action="refused:revoke")
        assert [a.identity for a in refused] == ["irc:mallory"]

        assert code not in await bot.say("ada", "!me", "telegram")  # no merit any more
        reply = await bot.say("ada", "!certificates", "telegram")
        assert f"- {code}: Get started with Pagebot, " in reply
        assert "(revoked: issued by mistake)" in reply
        assert await bot.say("ada", f"!certificates {code}", "telegram") == (
            f"Certificate {code} was revoked: issued by mistake")
        # A new name goes on certificates that stand, not on a revoked one.
        await bot.say("ada", "!name Ada Lovelace", "telegram")
        stored = await bot.running.store.certificate(code)
        assert stored is not None
        assert stored.holder == "Ada L"
