"""Quick to start: the command line loads no network library and no store until a command
needs them, the composition root imports a network's library only when it is enabled, and a
start on a current schema does not load alembic."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage.database import open_database
from storage.migrate import is_current, upgrade

HEAVY = ("telegram", "nio", "irc", "sqlalchemy", "alembic", "pydantic", "rich", "aiohttp",
         "pygments", "httpx", "babel", "tempora", "dateutil", "cryptography",
         "cffi", "pycparser", "h2", "hpack", "aiohttp_socks", "python_socks")


def loaded_after(code: str, cwd: Path | None = None,
                 watch: tuple[str, ...] = HEAVY) -> set[str]:
    """The top-level packages of `watch` in sys.modules after running CODE in a fresh
    python."""
    probe = (f"{code}\nimport json, sys\n"
             f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & "
             f"set({list(watch)!r}))))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, cwd=cwd)
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_importing_the_cli_loads_no_network_library_nor_the_store() -> None:
    assert loaded_after("import bot.cli") == set()


def test_the_telegram_adapter_loaded_httpxs_command_line_with_rich_and_pygments() -> None:
    """Regression: httpx imports its CLI (rich, pygments) on import when they are installed,
    about 3 MB of a bot's resident memory with every network on (bench.startup)."""
    loaded = loaded_after("import adapters.telegram.client")
    assert {"telegram", "httpx"} <= loaded
    assert loaded.isdisjoint({"rich", "pygments"})


def test_the_telegram_adapter_loads_no_cryptography_which_stays_importable() -> None:
    """python-telegram-bot imports cryptography (about 7 MB resident) for Telegram Passport,
    which Wayfinder never uses: adapters/telegram/lean_telegram.py keeps it out while telegram
    loads; the Matrix adapter's cross-signing can still import it afterwards."""
    loaded = loaded_after("import adapters.telegram.client\n"
                          "import telegram._bot\n"
                          "assert not telegram._bot.CRYPTO_INSTALLED")
    assert "telegram" in loaded
    assert "cryptography" not in loaded
    assert "cryptography" in loaded_after(
        "import adapters.telegram.client\n"
        "from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey\n"
        "Ed25519PrivateKey.generate()")


def test_the_matrix_adapter_loads_neither_cffi_nor_h2_nor_socks_which_stay_importable() -> None:
    """matrix-nio's pycryptodome would take cffi (and pycparser), its unused HttpClient h2,
    its proxy support (never given a proxy) aiohttp_socks: about 3 MB resident;
    adapters/matrix/lean_nio.py keeps them out while nio loads. Attachments still encrypt
    (on ctypes), a proxy says why it cannot be used, and all import afterwards."""
    loaded = loaded_after(
        "import adapters.matrix.client\n"
        "from nio.crypto.attachments import decrypt_attachment, encrypt_attachment\n"
        "data, keys = encrypt_attachment(b'file' * 100)\n"
        "assert decrypt_attachment(data, keys['key']['k'], keys['hashes']['sha256'],\n"
        "                          keys['iv']) == b'file' * 100\n"
        "from nio.client.async_client import ProxyConnector\n"
        "try:\n"
        "    ProxyConnector.from_url('socks5://127.0.0.1:9')\n"
        "except RuntimeError as exc:\n"
        "    assert 'lean_nio' in str(exc)\n"
        "else:\n"
        "    raise AssertionError('a proxy connector')")
    assert "nio" in loaded
    assert loaded.isdisjoint({"cffi", "pycparser", "h2", "hpack", "aiohttp_socks",
                              "python_socks"})
    assert {"cffi", "h2", "aiohttp_socks"} <= loaded_after(
        "import adapters.matrix.client\n"
        "import cffi, h2.connection\n"
        "from aiohttp_socks import ProxyConnector\n"
        "h2.connection.H2Connection()\n"
        "assert ProxyConnector.__module__.startswith('aiohttp_socks')")


def test_the_scheduler_loads_no_process_pool_which_stays_importable() -> None:
    """APScheduler imports multiprocessing for a process pool the ticker never runs (about
    0.5 MB resident): bot/lean_apscheduler.py keeps it out while APScheduler loads."""
    probe = ("import sys\n"
             "import bot.scheduler\n"
             "assert 'apscheduler' in sys.modules\n"
             "assert 'multiprocessing' not in sys.modules\n"
             "assert 'concurrent.futures.process' not in sys.modules\n"
             "import multiprocessing\n"
             "from concurrent.futures import ProcessPoolExecutor\n"
             "assert multiprocessing.get_context('spawn') is not None\n"
             "assert ProcessPoolExecutor.__module__ == 'concurrent.futures.process'\n")
    subprocess.run([sys.executable, "-c", probe], check=True)


def test_the_irc_adapter_loads_no_tempora() -> None:
    """Regression: irc.client imports irc.schedule (tempora, dateutil: about 2 MB resident),
    a timer queue the asyncio reactor never runs; adapters/irc/lean_schedule.py stands in."""
    loaded = loaded_after("import adapters.irc.client\n"
                          "from irc.client import Reactor\n"
                          "from adapters.irc.lean_schedule import DefaultScheduler\n"
                          "assert Reactor.scheduler_class is DefaultScheduler")
    assert "irc" in loaded
    assert loaded.isdisjoint({"tempora", "dateutil"})


async def test_the_irc_schedulers_stand_in_runs_on_the_loop() -> None:
    from adapters.irc import lean_schedule

    scheduler = lean_schedule.DefaultScheduler()
    ran: list[str] = []
    scheduler.execute_after(0.01, lambda: ran.append("after"))
    scheduler.execute_at(datetime.now(UTC) + timedelta(seconds=0.02), lambda: ran.append("at"))
    scheduler.execute_every(timedelta(seconds=0.05), lambda: ran.append("every"))
    await asyncio.sleep(0.18)
    assert ran[:2] == ["after", "at"]
    assert 2 <= ran.count("every") <= 4


def test_a_network_library_is_imported_only_when_its_adapter_is_enabled(tmp_path: Path) -> None:
    console_only = loaded_after(
        "from bot.wiring import load_config, network_adapters\n"
        "assert [a.network for a in network_adapters(load_config(None))] == ['console']",
        cwd=tmp_path)
    assert console_only.isdisjoint({"telegram", "nio", "irc"})
    (tmp_path / "wayfinder.toml").write_text('[adapters.irc]\nenabled = true\n'
                                             'host = "127.0.0.1"\n', encoding="utf-8")
    with_irc = loaded_after(
        "from bot.wiring import load_config, network_adapters\n"
        "assert [a.network for a in network_adapters(load_config(None))] == ['irc']",
        cwd=tmp_path)
    assert "irc" in with_irc
    assert with_irc.isdisjoint({"telegram", "nio"})


# Modules a feature or an adapter needs only on use (a report, a dashboard link, a
# wrong link's diff, an HTML network's links): `wayfinder run` on the console loads none.
ON_USE = ("itsdangerous", "statistics", "difflib", "html")


def test_an_idle_console_bot_loads_no_module_it_needs_only_on_use(tmp_path: Path) -> None:
    assert loaded_after("from bot.app import command_menu, run_app\n"
                        "from bot.wiring import load_config, network_adapters\n"
                        "assert [a.network for a in network_adapters(load_config(None), "
                        "menu=command_menu)] == ['console']", tmp_path, ON_USE) == set()


async def test_a_current_schema_is_recognised_without_alembic(tmp_path: Path) -> None:
    db = open_database(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    try:
        assert not await is_current(db)  # new: to be migrated
        await upgrade(db)
        assert await is_current(db)
    finally:
        await db.dispose()
    # A restart on it: the store starts without loading alembic.
    assert "alembic" not in loaded_after(
        "import asyncio\nfrom storage.repository import SqlStore\n"
        "async def restart() -> None:\n"
        f"    store = SqlStore.open('sqlite+aiosqlite:///{tmp_path / 'w.db'}')\n"
        "    await store.start()\n"
        "    await store.close()\n"
        "asyncio.run(restart())")


def _leaving_out(folder: Path, library: str) -> str:
    """Code that imports `library` through import_lean with the module lib_blocked blocked
    and lib_stood stood in for (both written to `folder`, beside the library)."""
    (folder / "lib_blocked.py").write_text("", encoding="utf-8")
    (folder / "lib_stood.py").write_text("def thing() -> int:\n    return 1\n", encoding="utf-8")
    return ("from bot.lean_import import import_lean, stand_ins\n"
            f"import_lean({library!r}, block=('lib_blocked',),\n"
            "            stand_in=[stand_ins(('lib_stood',), 'see the test')])\n")


def test_a_library_imports_lean_and_what_it_left_out_imports_afterwards(tmp_path: Path) -> None:
    """bot/lean_import.py: while the library loads, a blocked module raises ImportError and a
    stand-in's names fail when used, saying why; afterwards both import for real."""
    (tmp_path / "lib_lean.py").write_text(
        "try:\n    import lib_blocked\nexcept ImportError:\n    BLOCKED = True\n"
        "else:\n    BLOCKED = False\n"
        "from lib_stood import thing\n", encoding="utf-8")
    probe = ("import sys\n" + _leaving_out(tmp_path, "lib_lean") +
             "import lib_lean\n"
             "assert lib_lean.BLOCKED\n"
             "try:\n    lib_lean.thing()\n"
             "except RuntimeError as exc:\n    assert 'see the test' in str(exc)\n"
             "else:\n    raise AssertionError('the stand-in ran')\n"
             "assert 'lib_blocked' not in sys.modules and 'lib_stood' not in sys.modules\n"
             "import lib_blocked, lib_stood\n"
             "assert lib_stood.thing() == 1\n")
    subprocess.run([sys.executable, "-c", probe], check=True, cwd=tmp_path)


def test_a_library_that_needs_what_was_left_out_loads_whole(tmp_path: Path) -> None:
    """bot/lean_import.py: a library (a newer version, say) that fails to load without a
    blocked module is loaded whole, and no module of the failed attempt stays behind bound to
    a stand-in."""
    (tmp_path / "lib_needy.py").write_text("import lib_half\nimport lib_blocked\n",
                                           encoding="utf-8")
    (tmp_path / "lib_half.py").write_text("from lib_stood import thing\n", encoding="utf-8")
    probe = ("import logging, sys\n"
             "logging.basicConfig(level=logging.WARNING)\n" + _leaving_out(tmp_path, "lib_needy") +
             "import lib_half\n"
             "assert lib_half.thing() == 1\n"
             "assert 'lib_blocked' in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    assert "lib_needy could not load without lib_blocked, lib_stood" in done.stderr
