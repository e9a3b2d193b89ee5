"""Certificates worth a CV: issued for a finished workshop or a first task, in the name the
holder chooses (`!name`), sent as a one-page PDF where the network carries files and as a
link to the public verification page elsewhere; `!certificates` lists them, an admin's
`!revoke CODE REASON` withdraws one (audited, as every admin command)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from bot.codes import normalise_code, short_code
from bot.config import Config
from bot.flow import Transition, Turn
from bot.i18n import ENGLISH, Translator
from bot.model import FileRef
from bot.text import one_line
from flows.path.certificate_pdf import CertificatePage, render_pdf
from flows.path.content import PathContent
from flows.path.progress import path_of
from flows.path.reads import reads_of
from flows.path.records import Certificate, NameHolder, RevokeCertificate

NAME_MAX = 80
VERIFY_PATH = "/certificates/"


def verify_url(config: Config, code: str) -> str:
    """The public page that says whether `code` is valid ("" without [web] public_url)."""
    return config.web.link(VERIFY_PATH + code)


def how_to_check(config: Config, code: str, tr: Translator = ENGLISH) -> str:
    url = verify_url(config, code)
    return (tr.t("Anyone can check it at {url}", url=url) if url else
            tr.t("The program's organizers can confirm it (wayfinder certificate verify {code})",
                 code=code))


def issue(turn: Turn, workshop_id: str, title: str) -> Certificate:
    """Record a new certificate for the person, in the name they chose (if any yet)."""
    path = path_of(turn)
    certificate = Certificate(short_code(), turn.person_id, path.holder_name,
                              workshop_id[:128], title[:255], turn.now)
    turn.record(certificate)
    path.certificates.append(certificate.code)
    return certificate


def ask_name_text(tr: Translator = ENGLISH) -> str:
    return tr.t("What name should your certificate carry? Type !name and your name as it "
                "should appear, for example: !name Ada Lovelace. I'll send you the "
                "certificate then.")


async def pdf_of(turn: Turn, certificate: Certificate) -> FileRef:
    """The certificate as a PDF file, rendered off the event loop."""
    brand = turn.content.of(PathContent).community
    page = CertificatePage(brand.name, certificate.holder, certificate.workshop_title,
                           certificate.issued_at, certificate.code,
                           verify_url(turn.config, certificate.code), brand.logo)
    data = await asyncio.to_thread(render_pdf, page)
    return FileRef(f"certificate-{certificate.code}.pdf", "application/pdf", data)


async def deliver(turn: Turn, certificate: Certificate, text: str, then: str = "") -> None:
    """Say `text` with the certificate: its PDF where this network carries files, its
    verification link (or how organizers check it) where it does not; `then` after it."""
    check = how_to_check(turn.config, certificate.code, turn.translator)
    after = f"\n{then}" if then else ""
    if turn.carries_files():
        turn.say(f"{text}\n" + turn.t("Here it is as a PDF.") + f" {check}.{after}",
                 file=await pdf_of(turn, certificate))
    else:
        turn.say(f"{text}\n{check}.{after}")


async def announce(turn: Turn, certificate: Certificate, intro: str, kind: str = "",
                   then: str = "") -> None:
    """A new certificate: sent at once if the person has chosen their name, else the name is
    asked for (and the certificate follows `!name`). `kind` qualifies it ("first-task");
    `then` goes at the end of the message."""
    code = certificate.code
    said = (turn.t("Your first-task certificate code is {code}: keep it.", code=code)
            if kind == "first-task" else
            turn.t("Your certificate code is {code}: keep it.", code=code))
    text = f"{intro} {said}".lstrip()
    if certificate.holder:
        await deliver(turn, certificate, text, then)
    else:
        turn.say(f"{text}\n{ask_name_text(turn.translator)}" + (f"\n{then}" if then else ""))


def _valid_name(said: str) -> str | None:
    name = " ".join(said.split())
    if not name or len(name) > NAME_MAX or not any(ch.isalpha() for ch in name):
        return None
    if any(not ch.isprintable() for ch in name) or name.startswith(("!", "/")):
        return None
    return name


async def name_command(turn: Turn) -> Transition:
    """`!name Ada Lovelace`: the name on your certificates (those already issued too)."""
    path = path_of(turn)
    said = turn.input.args.strip()
    if not said:
        now = (turn.t("Your certificates carry the name \"{name}\".", name=path.holder_name)
               if path.holder_name else
               turn.t("You haven't chosen the name for your certificates yet."))
        turn.say(now + " " + turn.t("Type !name and your name as it should appear, for "
                                    "example: !name Ada Lovelace."))
        return None
    name = _valid_name(said)
    if name is None:
        turn.say(turn.t("That doesn't look like a name I can print (1 to {most} characters, "
                        "with letters). For example: !name Ada Lovelace.", most=NAME_MAX))
        return None
    if name == path.holder_name:
        turn.say(turn.t("Your certificates already carry the name \"{name}\".", name=name))
        return None
    path.holder_name = name
    turn.record(NameHolder(turn.person_id, name))
    turn.event("holder_named")
    mine = [c for c in await reads_of(turn.reads).certificates_of(turn.person_id)
            if c.revoked_at is None]
    if not mine:
        turn.say(turn.t("Thanks, {name}: your certificates will carry this name.", name=name))
        return None
    turn.say(turn.t("Thanks! Your certificates now carry the name \"{name}\".", name=name))
    for certificate in mine:
        await deliver(turn, replace(certificate, holder=name),
                      turn.t("Certificate {code}: {title}.", code=certificate.code,
                             title=certificate.workshop_title))
    return None


def _line(certificate: Certificate, tr: Translator = ENGLISH) -> str:
    when = certificate.issued_at.strftime("%Y-%m-%d")
    state = (" " + tr.t("(revoked: {reason})", reason=certificate.revoked_reason)
             if certificate.revoked_at is not None else "")
    return f"- {certificate.code}: {certificate.workshop_title}, {when}{state}"


async def certificates_command(turn: Turn) -> Transition:
    """`!certificates` lists yours; `!certificates CODE` sends that one again."""
    mine = await reads_of(turn.reads).certificates_of(turn.person_id)
    wanted = turn.input.args.strip()
    if wanted:
        code = normalise_code(wanted)
        found = next((c for c in mine if c.code == code), None)
        if found is None:
            turn.say(turn.t("You have no certificate with code {code}. Type !certificates to "
                            "list yours.", code=repr(one_line(wanted, 20))))
        elif found.revoked_at is not None:
            turn.say(turn.t("Certificate {code} was revoked: {reason}", code=found.code,
                            reason=found.revoked_reason))
        elif not found.holder:
            turn.say(ask_name_text(turn.translator))
        else:
            await deliver(turn, found, turn.t("Certificate {code}: {title}.", code=found.code,
                                              title=found.workshop_title))
        return None
    if not mine:
        turn.say(turn.t("You have no certificates yet. Finishing a project's workshop earns "
                        "one, and so does your first task. Type !start to begin."))
        return None
    name = path_of(turn).holder_name
    named = (turn.t("They carry the name \"{name}\" (!name changes it).", name=name) if name
             else turn.t("They carry no name yet: type !name and your name to choose it."))
    again = (turn.t("!certificates CODE sends one again as a PDF.") if turn.carries_files()
             else turn.t("!certificates CODE gives one's verification link."))
    turn.say(turn.t("Your certificates:") + "\n" +
             "\n".join(_line(c, turn.translator) for c in mine) + f"\n{named} {again}")
    return None


async def revoke_command(turn: Turn) -> Transition:
    """`!revoke CODE REASON` (admins): the certificate is marked revoked, with the reason;
    `wayfinder certificate verify CODE` then says so."""
    code, _, reason = turn.input.args.strip().partition(" ")
    reason = one_line(reason, 500)
    if not code or not reason.strip():
        turn.say("Usage: !revoke CODE REASON, for example: !revoke K7QX-M2PA issued by mistake")
        return None
    found = await reads_of(turn.reads).certificate(code)
    if found is None:
        turn.say(f"No certificate has the code {one_line(code, 20)!r}: check it for typos.")
        return None
    if found.revoked_at is not None:
        turn.say(f"Certificate {found.code} is revoked already ({found.revoked_reason}).")
        return None
    turn.record(RevokeCertificate(found.code, reason, turn.sender.key, turn.now))
    turn.say(f"Certificate {found.code} ({found.workshop_title}, "
             f"{found.holder or 'no name given'}) is revoked: {reason}")
    return None
