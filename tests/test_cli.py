"""The `wayfinder` command, run as a user would: in a fresh folder, input on a pipe."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import NoReturn

import click
import pytest
from rich.console import Console

from bot.clikit import shared_group
from bot.config import Config
from bot.model import ExternalId, Identity, Network
from bot.ports import OutboxItem, UnitOfWork
from flows.crm.cli import CrmUseCases
from flows.events.cli import EventsUseCases
from flows.mentoring.cli import MentoringUseCases
from flows.path.cli import PathUseCases
from flows.privacy.cli import PrivacyUseCases
from storage.repository import SqlStore
from tests.harness import CONTENT
from tests.processes import greeted_bot

ROOT = Path(__file__).resolve().parent.parent


def wayfinder(cwd: Path, *args: str, stdin: str = "",
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


WHOLE_WORKSHOP = "\n".join(["!start", "!skip", "!skip", "!skip", "Handbook", "done",
                            "[Lumen](https://lumen.test)", "done",
                            "https://code.lumen.test/handbook/handbook/-/merge_requests/9", ""])


def test_piped_chat_prints_every_reply_and_exits_zero(tmp_path: Path) -> None:
    result = wayfinder(tmp_path, "chat", "--as", "ada", stdin="!start\n!skip\n")
    assert result.returncode == 0, result.stderr
    assert "What are you interested in?" in result.stdout
    assert "What are you good at" in result.stdout
    assert (tmp_path / "wayfinder.db").exists()
    assert result.stderr == ""


def test_certificate_verify_from_the_command_line(tmp_path: Path) -> None:
    chat = wayfinder(tmp_path, "chat", "--as", "grace", stdin=WHOLE_WORKSHOP)
    assert chat.returncode == 0, chat.stderr
    code = re.search(r"certificate code is ([A-Z0-9]{4}-[A-Z0-9]{4})", chat.stdout)
    assert code is not None, chat.stdout
    assert "What name should your certificate carry?" in chat.stdout
    named = wayfinder(tmp_path, "chat", "--as", "grace", stdin="!name Grace Hopper\n")
    assert 'Your certificates now carry the name "Grace Hopper".' in named.stdout
    pdf = tmp_path / "wayfinder-files" / f"certificate-{code.group(1)}.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")  # the console saves the file it is sent
    verify = wayfinder(tmp_path, "certificate", "verify", code.group(1).lower())
    assert verify.returncode == 0, verify.stderr
    assert f"Certificate {code.group(1)}: valid" in verify.stdout
    assert "Grace Hopper" in verify.stdout
    assert "console:grace" not in verify.stdout  # a name, never an identity key
    assert "Get started with the Handbook" in verify.stdout
    unknown = wayfinder(tmp_path, "certificate", "verify", "ZZZZ-ZZZZ")
    assert unknown.returncode == 1
    assert "no certificate with code 'ZZZZ-ZZZZ'" in unknown.stderr

    no_reason = wayfinder(tmp_path, "certificate", "revoke", code.group(1), "--reason", "  ")
    assert no_reason.returncode == 2
    revoked = wayfinder(tmp_path, "certificate", "revoke", code.group(1), "--reason",
                        "issued by mistake")
    assert revoked.returncode == 0, revoked.stderr
    assert "is revoked: issued by mistake" in " ".join(revoked.stdout.split())
    again = wayfinder(tmp_path, "certificate", "revoke", code.group(1), "--reason", "twice")
    assert "was revoked already (issued by mistake); nothing changed" in \
        " ".join(again.stdout.split())
    verify = wayfinder(tmp_path, "certificate", "verify", code.group(1))
    assert verify.returncode == 2
    assert f"Certificate {code.group(1)}: REVOKED" in verify.stdout
    assert "issued by mistake" in verify.stdout
    audit = wayfinder(tmp_path, "audit", "--what", "certificate_revoke", env={"COLUMNS": "200"})
    assert f"{code.group(1)} issued by mistake" in audit.stdout
    assert "Audit log (1, newest last)" in audit.stdout  # the second changed nothing


def test_resume_after_restart_from_the_command_line(tmp_path: Path) -> None:
    wayfinder(tmp_path, "chat", "--as", "lin", stdin="!start\n!skip\n!skip\n!skip\nPagebot\n")
    again = wayfinder(tmp_path, "chat", "--as", "lin", stdin="!start\n")
    assert "Welcome back! Picking up where you left off." in again.stdout
    assert "step 1 of 6" in again.stdout


def test_content_check(tmp_path: Path) -> None:
    good = wayfinder(tmp_path, "content", "check", str(CONTENT))
    assert good.returncode == 0
    assert "content OK: 4 projects" in good.stdout
    bad = tmp_path / "content" / "projects"
    bad.mkdir(parents=True)
    (bad / "x.toml").write_text('name = "X"\nsummary = "s"\nworkshop = "nope"\n')
    result = wayfinder(tmp_path, "content", "check", str(tmp_path / "content"))
    assert result.returncode == 1
    assert "content/projects/x.toml" in result.stderr
    assert "unknown workshop id" in result.stderr


def test_content_check_warns_of_a_text_too_long_for_an_irc_page(tmp_path: Path) -> None:
    folder = tmp_path / "content"
    shutil.copytree(CONTENT, folder)
    workshop = folder / "workshops" / "handbook-get-started.toml"
    long_body = "\n".join(f"Step detail number {n}, one line of many." for n in range(12))
    text = workshop.read_text()
    first = text.index('body = """') + len('body = """')
    workshop.write_text(text[:first] + "\n" + long_body + text[first:])
    result = wayfinder(tmp_path, "content", "check", str(folder), env={"COLUMNS": "400"})
    assert result.returncode == 0, result.stderr  # a warning, not a problem
    assert "content OK" in result.stdout
    assert "1 warning(s)" in result.stdout
    line = next(ln for ln in result.stdout.splitlines() if "handbook-get-started" in ln)
    assert "content/workshops/handbook-get-started.toml" in line
    assert "steps[0].body" in line
    assert "too long for IRC: 14 lines there, where a page shows 8" in line
    # The IRC section of a config sets the page: with 20 lines a page, it fits.
    config = tmp_path / "wayfinder.toml"
    config.write_text(f'[content]\npath = "{folder}"\n[adapters.irc]\nmax_lines = 20\n')
    roomy = wayfinder(tmp_path, "content", "check", "-c", str(config), env={"COLUMNS": "400"})
    assert roomy.returncode == 0, roomy.stderr
    assert "warning" not in roomy.stdout


def test_run_refuses_placeholder_secrets_naming_the_key(tmp_path: Path) -> None:
    result = wayfinder(tmp_path, "run", "-c", str(ROOT / "config.example.toml"),
                       env={"WAYFINDER_IRC_PASSWORD": "change-me"})
    assert result.returncode == 2
    assert "adapters.irc.sasl_password_env" in result.stderr
    assert "placeholder" in result.stderr


def test_check_config_and_db_upgrade(tmp_path: Path) -> None:
    config = tmp_path / "wayfinder.toml"
    config.write_text('[storage]\nurl = "sqlite+aiosqlite:///other.db"\n')
    checked = wayfinder(tmp_path, "check-config")
    assert checked.returncode == 0, checked.stderr
    assert "config OK" in checked.stdout
    assert "other.db" in checked.stdout
    upgraded = wayfinder(tmp_path, "db", "upgrade")
    assert upgraded.returncode == 0
    assert "is up to date" in upgraded.stdout
    assert (tmp_path / "other.db").exists()
    config.write_text('[storage]\nurl = 5\n')
    bad = wayfinder(tmp_path, "check-config")
    assert bad.returncode == 2
    assert "wayfinder.toml: storage.url" in bad.stderr


def test_missing_content_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "wayfinder.toml").write_text('[content]\npath = "gone"\n')
    result = wayfinder(tmp_path, "chat", stdin="!start\n")
    assert result.returncode == 2
    assert f"{tmp_path / 'gone'}: (file): content folder not found" in result.stderr


@pytest.mark.parametrize("command", [[], ["run"], ["chat"], ["check-config"], ["content"],
                                     ["content", "check"], ["db", "upgrade"],
                                     ["certificate", "verify"], ["outbox"],
                                     ["report", "mentoring"]])
def test_every_command_has_help(tmp_path: Path, command: list[str]) -> None:
    result = wayfinder(tmp_path, *command, "--help")
    assert result.returncode == 0
    assert "Usage: " in result.stdout
    assert len(result.stdout.splitlines()) > 4


def test_sigterm_shuts_down_cleanly_within_five_seconds(tmp_path: Path) -> None:
    with greeted_bot([sys.executable, "-m", "bot", "run"], tmp_path) as proc:
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=5)
        assert time.monotonic() - started < 5
        assert proc.returncode == 0, err


def test_outbox_lists_dead_letters_with_reasons(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'wayfinder.db'}"

    async def make_dead_letter() -> None:
        async with SqlStore.open(url) as store:
            person = await store.person_for(Identity(Network("irc"), ExternalId("zed"), True))
            result = await store.commit(UnitOfWork(person, outbox=[
                OutboxItem("k1", Network("irc"), {"to": {"id": "#gone"}, "text": "hi"})]))
            await store.mark_dead(result.outbox[0].id, "permanent: no such channel")

    asyncio.run(make_dead_letter())
    result = wayfinder(tmp_path, "outbox")
    assert result.returncode == 0, result.stderr
    assert "outbox: 1 dead" in result.stdout
    assert "#gone" in result.stdout
    assert "no such channel" in result.stdout


def test_a_reader_that_goes_away_does_not_hang_the_bot(tmp_path: Path) -> None:
    with subprocess.Popen([sys.executable, "-m", "bot", "chat"], cwd=tmp_path,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stdin is not None
        assert proc.stdout is not None
        proc.stdin.write("!start\n")
        proc.stdin.flush()
        assert "Hi, I'm Wayfinder" in proc.stdout.readline()
        proc.stdout.close()  # like `wayfinder chat | head -1`
        proc.stdin.write("!skip\n!skip\n")
        proc.stdin.close()
        err = proc.stderr.read() if proc.stderr else ""
        assert proc.wait(timeout=10) == 0, err
    assert "dead letter: permanent: the terminal's output is closed" in err


def test_mentoring_report_from_the_command_line(tmp_path: Path) -> None:
    newcomer = wayfinder(tmp_path, "chat", "--as", "ana", stdin="\n".join(
        ["!start", "!skip", "!skip", "!skip", "Pagebot", "!stuck pip fails", ""]))
    assert "I've asked console:mentor (a Pagebot mentor)" in newcomer.stdout
    mentor = wayfinder(tmp_path, "chat", "--as", "mentor",
                       stdin="!claim\n!resolve great, all good now\n")
    assert "is yours" in mentor.stdout, mentor.stdout
    assert "resolved. Thank you!" in mentor.stdout
    result = wayfinder(tmp_path, "report", "mentoring", env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert re.search(r"pagebot\s*│ 1\s*│ 1\s*│ 1\s*│ 0", result.stdout), result.stdout
    assert "console:mentor" in result.stdout
    # as CSV and a chart; a window before the request counts none
    result = wayfinder(tmp_path, "report", "mentoring", "--csv", str(tmp_path / "m.csv"),
                       "--chart", str(tmp_path / "m.svg"))
    assert result.returncode == 0, result.stderr
    rows = (tmp_path / "m.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("by,group,requests,claimed,resolved")
    assert rows[1].startswith("project,pagebot,1,1,1,0,")
    svg = (tmp_path / "m.svg").read_text(encoding="utf-8")
    assert "Help requests per project" in svg
    assert len(re.findall(r'<g id="bar-\d+-\d+"', svg)) == 3
    before = wayfinder(tmp_path, "report", "mentoring", "--until", "2000-01-01")
    assert "pagebot" not in before.stdout


def test_broadcast_from_the_command_line_previews_confirms_and_follows_delivery(
        tmp_path: Path) -> None:
    (tmp_path / "wayfinder.toml").write_text('[events]\nquiet_hours = ""\n')
    for who in ("ana", "ben"):
        chat = wayfinder(tmp_path, "chat", "--as", who, stdin="!region de\n!invites on\n")
        assert chat.returncode == 0, chat.stderr
    wayfinder(tmp_path, "chat", "--as", "cyd", stdin="!region de\n")  # no consent
    declined = wayfinder(tmp_path, "broadcast", "lumen-online-sprint", stdin="n\n")
    assert declined.returncode == 0, declined.stderr
    assert "It reaches 2 people" in declined.stdout
    assert "console, Germany: 2" in declined.stdout
    assert "You're invited: Lumen online sprint" in declined.stdout
    assert "Nothing was sent." in declined.stdout

    with subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=tmp_path,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as bot:
        try:
            sent = wayfinder(tmp_path, "broadcast", "lumen-online-sprint", "--yes")
            bot.send_signal(signal.SIGTERM)
            bot_out, bot_err = bot.communicate(timeout=10)
        finally:
            if bot.poll() is None:
                bot.kill()
                bot.communicate()
    assert sent.returncode == 0, sent.stderr
    assert "Queued 2 invites" in sent.stdout
    assert "sent 2, deferred 0, failed 0, unknown 0" in sent.stdout  # the progress bar's end
    assert bot_out.count("You're invited: Lumen online sprint") == 2, bot_err

    nobody = wayfinder(tmp_path, "broadcast", "lumen-online-sprint", "--yes")
    assert nobody.returncode == 1
    assert "It would reach nobody" in nobody.stdout
    unknown = wayfinder(tmp_path, "broadcast", "no-such-event")
    assert unknown.returncode == 2
    assert "no-such-event" in unknown.stderr
    bad_time = wayfinder(tmp_path, "broadcast", "lumen-online-sprint", "--at", "soon")
    assert bad_time.returncode == 2
    assert "--at 'soon'" in bad_time.stderr


def test_the_features_declare_the_cli_commands_that_wayfinder_lists() -> None:
    from bot.cli import main
    from bot.wiring import FEATURES
    from flows.cli import FEATURE_CLI

    declared = [f.cli for f in FEATURES if f.cli is not None]
    assert set(declared) == set(FEATURE_CLI)
    assert len(declared) == len(FEATURE_CLI) == 6
    assert {"report", "certificate", "broadcast", "outbox", "run", "person"} <= set(main.commands)
    report = main.commands["report"]
    assert isinstance(report, click.Group)
    assert set(report.commands) == {"mentoring", "funnel", "cohorts", "time-to-first-task",
                                    "projects", "regions", "networks", "travel", "feedback",
                                    "retention"}


def test_the_services_give_every_features_cli_what_it_declares() -> None:
    import services.use_cases

    # mypy checks the module against each feature's protocol here; isinstance at run time
    mentoring: MentoringUseCases = services.use_cases
    path: PathUseCases = services.use_cases
    events: EventsUseCases = services.use_cases
    privacy: PrivacyUseCases = services.use_cases
    crm: CrmUseCases = services.use_cases
    for uses, needs in ((mentoring, MentoringUseCases), (path, PathUseCases),
                        (events, EventsUseCases), (privacy, PrivacyUseCases),
                        (crm, CrmUseCases)):
        assert isinstance(uses, needs)


def test_a_feature_command_without_its_use_cases_says_which_are_missing() -> None:
    from bot.clikit import CliContext

    def fail(message: str, code: int) -> NoReturn:
        raise AssertionError(message)

    cli = CliContext(load=lambda _path: Config(), run_coroutine=asyncio.run, fail=fail,
                     out=lambda: Console(), use_cases=object)
    with pytest.raises(TypeError, match="the services lack what MentoringUseCases declares"):
        cli.uses(MentoringUseCases)


def test_a_shared_group_is_made_once_and_refuses_a_command_of_its_name() -> None:
    main = click.Group("main")
    first = shared_group(main, "report", "Program reports.")
    assert shared_group(main, "report", "other help") is first
    main.add_command(click.Command("solo"))
    with pytest.raises(ValueError, match="is a command, not a group"):
        shared_group(main, "solo", "")


def test_chat_survives_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "bot", "chat", "--as", "tester"], cwd=tmp_path,
                          input=b"!start\n\xff\xfe\xc3(\n!help\n", capture_output=True,
                          timeout=60, check=False)
    out, err = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 0, err
    assert "Traceback" not in err
    assert "!stop: leave the guided path" in out  # the line after the bad one was answered


@pytest.mark.parametrize("name", ["org\u200b", "\u202eorg", "org anizer", "org\u2060"])
def test_a_console_name_with_invisible_characters_is_refused(tmp_path: Path, name: str) -> None:
    done = wayfinder(tmp_path, "chat", "--as", name, stdin="!start\n")
    assert done.returncode == 2
    assert "--as: a name must be visible characters only; it holds U+" in done.stderr
    assert not (tmp_path / "wayfinder.db").exists()  # refused before anything was opened
    (tmp_path / "wayfinder.toml").write_text(f'[adapters.console]\nname = "{name}"\n',
                                             encoding="utf-8")
    done = wayfinder(tmp_path, "chat", stdin="!start\n")
    assert done.returncode == 2
    assert "adapters.console.name: a name must be visible characters only" in done.stderr


@pytest.mark.parametrize("url", ["sqlite+aiosqlite:///:memory:", "sqlite+aiosqlite://"])
def test_an_in_memory_database_is_refused_clearly(tmp_path: Path, url: str) -> None:
    (tmp_path / "wayfinder.toml").write_text(f'[storage]\nurl = "{url}"\n', encoding="utf-8")
    done = wayfinder(tmp_path, "chat", "--as", "tester", stdin="!start\n")
    assert done.returncode == 2
    assert "storage.url: an in-memory database keeps nothing" in done.stderr
    assert "Traceback" not in done.stderr
