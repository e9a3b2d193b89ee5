"""The composition root for features and networks: with bot/app.py, the one place in bot/ that
names them. It imports the features' declarations (flows/<feature>/feature.py) and the
networks' config models, nothing heavy.

Features: FEATURES lists them. Each declares its config section (a FeatureSettings with the
TOML table it is written in); the core config keeps those tables as written and the Config here
validates every feature's section, refusing by key what no one owns.

The core config keeps the `[adapters.*]` tables as written; here each is validated with its
adapter's own model (adapters/<network>/config.py, which imports nothing heavy), so errors
still name the file and the key. An adapter's client, and with it its network library
(python-telegram-bot, matrix-nio, irc), is imported only when that adapter is enabled.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, ValidationError, model_validator

from adapters.console.config import ConsoleConfig, check_console_name
from adapters.irc.config import IrcConfig
from adapters.matrix.config import MatrixConfig
from adapters.telegram.config import TelegramConfig
from bot.config import AdapterTables, ConfigError, config_error, load_as, validated
from bot.config import Config as CoreConfig
from bot.content import Content, ContentPart, TextCheck, load_folder
from bot.feature import Feature, content_parts
from bot.model import CommandMenu, Rate
from bot.ports import Adapter
from bot.text import unseen_characters
from flows.account.feature import FEATURE as ACCOUNT
from flows.core.feature import FEATURE as CORE
from flows.crm.feature import FEATURE as CRM
from flows.dashboard.feature import FEATURE as DASHBOARD
from flows.digest.feature import FEATURE as DIGEST
from flows.events.feature import FEATURE as EVENTS
from flows.forge.feature import FEATURE as FORGE
from flows.groups.feature import FEATURE as GROUPS
from flows.levelup.feature import FEATURE as LEVELUP
from flows.mentoring.feature import FEATURE as MENTORING
from flows.pairing.feature import FEATURE as PAIRING
from flows.path.feature import FEATURE as PATH
from flows.privacy.feature import FEATURE as PRIVACY
from flows.tracker.feature import FEATURE as TRACKER

# The bot's features: a new one is one more line here (and, if it has CLI commands, one in
# flows/cli.py's FEATURE_CLI).
FEATURES: tuple[Feature, ...] = (PATH, ACCOUNT, MENTORING, EVENTS, TRACKER, FORGE, PRIVACY,
                                  CRM, GROUPS, LEVELUP, DIGEST, DASHBOARD, PAIRING,
                                  CORE)
CONTENT_PARTS: tuple[ContentPart[Any], ...] = tuple(content_parts(FEATURES))


def load_content(root: Path, text_check: TextCheck | None = None) -> Content:
    """Load and check a content folder, every feature's files; raise ContentError listing
    every problem."""
    return load_folder(root, CONTENT_PARTS, text_check)


def network_text_check(config: CoreConfig | None = None) -> TextCheck:
    """`content check`'s warning about texts the networks show badly: today a text longer
    than an IRC page (the config's [adapters.irc] max_lines, else the default), read there
    in parts, on !more."""
    from adapters.irc.render import page_warning  # pure text code, no network library

    max_lines = (adapter_settings(config).irc if config else IrcConfig()).max_lines
    return lambda text: page_warning(text, max_lines)


def describe_content(content: Content) -> str:
    """What a content folder holds: "4 projects, 9 workshops, 14 tasks, 6 regions, ..."."""
    return content.describe(CONTENT_PARTS)


class AdaptersConfig(AdapterTables):
    """Every network's section, validated by the network's own model."""

    model_config = ConfigDict(extra="forbid")  # frozen and deferred, as every Section
    console: ConsoleConfig = ConsoleConfig()
    irc: IrcConfig = IrcConfig()
    matrix: MatrixConfig = MatrixConfig()
    telegram: TelegramConfig = TelegramConfig()

    def sections(self) -> list[tuple[str, ConsoleConfig | IrcConfig | MatrixConfig |
                                     TelegramConfig]]:
        return [("console", self.console), ("irc", self.irc), ("matrix", self.matrix),
                ("telegram", self.telegram)]


class Config(CoreConfig):
    """The whole configuration file: the core's sections and every network's."""

    adapters: AdaptersConfig = AdaptersConfig()

    @model_validator(mode="after")
    def _features(self) -> Config:
        check_features(self)
        return self

    def secret_keys(self) -> list[tuple[str, str]]:
        keys = super().secret_keys()
        for name, section in self.adapters.sections():
            if section.enabled:
                keys += [(f"adapters.{name}.{key}", variable)
                         for key, variable in section.secret_keys()]
        return keys


def check_features(config: CoreConfig) -> None:
    """Every feature's section validated by its own model; a ConfigError names the key, and
    a key that neither the core nor a feature owns is refused."""
    config.check_settings(f.settings for f in FEATURES if f.settings is not None)


def load_config(path: Path | None) -> Config:
    """Load PATH, or ./wayfinder.toml if present, or the defaults; every section checked."""
    return load_as(Config, path)


def wired(config: CoreConfig) -> Config:
    """A core config (built by tests and benchmarks) with its adapter tables validated."""
    if isinstance(config, Config):
        return config
    return validated(Config, config.model_dump(), config.source, config.base_dir)


def adapter_settings(config: CoreConfig) -> AdaptersConfig:
    if isinstance(config.adapters, AdaptersConfig):
        return config.adapters
    try:
        return AdaptersConfig.model_validate(config.adapters.model_extra or {})
    except ValidationError as exc:
        raise config_error(exc, config.source, ("adapters",)) from None


def networks_to_run(config: CoreConfig) -> list[str]:
    """What `wayfinder run` starts: the enabled networks, else the console."""
    return [name for name, section in adapter_settings(config).sections()
            if name != "console" and section.enabled] or ["console"]


def console_name(config: CoreConfig, name: str | None) -> str:
    """The name to chat as: --as NAME or the config's, refused if it holds invisible
    characters (ConfigError), else the login name made safe."""
    chosen = name or adapter_settings(config).console.name
    if chosen:
        try:
            return check_console_name(chosen)
        except ValueError as exc:
            raise ConfigError("--as" if name else config.source,
                              "" if name else "adapters.console.name", str(exc)) from None
    login = getpass.getuser() or ""
    return "".join(ch for ch in login if not unseen_characters(ch))[:64] or "you"


def only_networks(config: Config, only: Sequence[str]) -> Config:
    """The config with every network but ONLY turned off (`wayfinder run --only irc,matrix`:
    networks split across processes on one PostgreSQL). Each named network must be enabled in
    the config; its secrets alone are then needed."""
    sections = dict(adapter_settings(config).sections())
    problems = []
    for name in only:
        if name not in sections:
            problems.append(f"{name!r} is no network (choose from {', '.join(sections)})")
        elif name != "console" and not sections[name].enabled:
            problems.append(f"{name} is not enabled in [adapters.{name}]")
    if problems:
        raise ConfigError("--only", "", "; ".join(problems))
    adapters = config.adapters.model_copy(update={
        name: section.model_copy(update={"enabled": name in only})
        for name, section in sections.items()})
    return config.model_copy(update={"adapters": adapters})


def network_adapters(config: CoreConfig, chat_name: str | None = None, room: str = "",
                     menu: Callable[[], CommandMenu] | None = None,
                     only: Sequence[str] = ()) -> list[Adapter]:
    """The adapters `wayfinder run` starts: every enabled network (or those named in `only`),
    else the console. A network's library is imported here, and only if its adapter runs.
    `menu` builds the command menu: called only if a network that shows one runs (building
    it loads every offered language's catalog)."""
    full = only_networks(wired(config), only) if only else wired(config)
    secrets = full.check_secrets()
    adapters: list[Adapter] = []
    matrix = full.adapters.matrix
    if matrix.enabled:
        from adapters.matrix.client import MatrixAdapter

        token = secrets.get("adapters.matrix.access_token_env")
        master = secrets.get("adapters.matrix.cross_signing_master_key_env")
        adapters.append(MatrixAdapter(
            matrix, token or secrets["adapters.matrix.password_env"],
            secrets["adapters.matrix.pickle_key_env"], secret_is_token=token is not None,
            cross_signing=None if master is None else (
                master, secrets["adapters.matrix.cross_signing_self_signing_key_env"])))
    irc = full.adapters.irc
    if irc.enabled:
        from adapters.irc.client import IrcAdapter

        adapters.append(IrcAdapter(irc, secrets.get("adapters.irc.sasl_password_env", "")))
    telegram = full.adapters.telegram
    if telegram.enabled:
        from adapters.telegram.client import TelegramAdapter

        adapters.append(TelegramAdapter(
            telegram, secrets["adapters.telegram.token_env"],
            secrets.get("adapters.telegram.webhook_secret_env", ""),
            menu() if menu is not None else None))
    if (not adapters and not only) or full.adapters.console.enabled:
        adapters += chat_adapters(full, chat_name, room)
    return adapters


def chat_adapters(config: CoreConfig, name: str | None, room: str = "") -> list[Adapter]:
    """`wayfinder chat`: the console only, as console:NAME, optionally "in" a channel."""
    from adapters.console.client import ConsoleAdapter

    return [ConsoleAdapter(console_name(config, name), room)]


def adapter_rates(adapters: Sequence[Adapter], config: CoreConfig) -> dict[str, Rate]:
    """Outgoing limits per network: the running adapters', else what the config sets
    (the command line estimates a broadcast without running any adapter)."""
    settings = adapter_settings(config)
    rates = {"telegram": settings.telegram.rate, "irc": settings.irc.rate,
             "matrix": settings.matrix.rate}
    for adapter in adapters:
        if adapter.capabilities.rate is not None:
            rates[adapter.network] = adapter.capabilities.rate
    return rates


__all__ = [
    "FEATURES",
    "AdaptersConfig",
    "Config",
    "ConfigError",
    "adapter_rates",
    "chat_adapters",
    "check_features",
    "console_name",
    "load_config",
    "network_adapters",
    "networks_to_run",
    "wired",
]
