"""Configuration: one TOML file, validated, with secrets read from named environment variables."""

from __future__ import annotations

import os
import tomllib
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.durations import parse_duration
from bot.fields import Duration, QuietWindow, ZoneName
from bot.quiet import QuietHours

DEFAULT_CONFIG_NAME = "wayfinder.toml"
BUNDLED_PACKAGE = "content"  # the demo content, package data of the wheel
PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "secret", "password", "token", "xxx",
                       "placeholder", "your-token-here", "your-password-here"}


class ConfigError(Exception):
    """A problem in the configuration, naming the file and the key."""

    def __init__(self, file: str, key: str, problem: str) -> None:
        self.file, self.key, self.problem = file, key, problem
        where = f"{file}: {key}" if key else file
        super().__init__(f"{where}: {problem}")


def bundled_content() -> Path:
    """The demo content shipped with the package, wherever it was installed."""
    root = resources.files(BUNDLED_PACKAGE)
    if not isinstance(root, Path):  # a zipped install: TOML files we cannot list as a folder
        raise ConfigError("content", "path", f"the bundled content is inside {root}; set "
                          "[content] path to a folder")
    return root


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StorageConfig(_Section):
    url: str = "sqlite+aiosqlite:///wayfinder.db"
    durable: bool = True  # fsync every commit (SQLite synchronous=FULL)

    @field_validator("url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "sqlite://", "postgresql+asyncpg://")):
            raise ValueError("use sqlite+aiosqlite:///FILE or postgresql+asyncpg://USER@HOST/DB")
        return value


class ContentConfig(_Section):
    path: str = ""  # empty: ./content if it exists, else the bundled demo content

    def resolved(self, base: Path) -> Path:
        if self.path:
            path = Path(self.path)
            return path if path.is_absolute() else base / path
        local = Path.cwd() / "content"
        return local if (local / "projects").is_dir() else bundled_content()


class RolesConfig(_Section):
    admins: tuple[str, ...] = ()
    organizers: tuple[str, ...] = ()

    @field_validator("admins", "organizers")
    @classmethod
    def _identities(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            network, _, ident = entry.partition(":")
            if not network or not ident:
                raise ValueError(f"{entry!r} is not \"network:id\"")
        return value


class FlowsConfig(_Section):
    claim_idle_after: Duration = "14d"  # release an idle task claim
    link_code_ttl: Duration = "10m"
    link_codes_per_hour: Annotated[int, Field(ge=1)] = 5
    suggestions_per_page: Annotated[int, Field(ge=1, le=10)] = 3
    scan_interval_seconds: Annotated[float, Field(gt=0)] = 60.0

    @property
    def claim_idle(self) -> timedelta:
        return parse_duration(self.claim_idle_after)

    @property
    def link_ttl(self) -> timedelta:
        return parse_duration(self.link_code_ttl)


class MentoringConfig(_Section):
    stuck_after: Duration = "48h"  # no progress on a step or task this long: offer help, once
    escalate_after: Duration = "2h"  # unclaimed this long (in the mentor's office hours): next

    @property
    def stuck(self) -> timedelta:
        return parse_duration(self.stuck_after)

    @property
    def escalate(self) -> timedelta:
        return parse_duration(self.escalate_after)


class EventsConfig(_Section):
    quiet_hours: QuietWindow = "21:00-09:00"  # recipient's local time; empty: none. Invites wait.
    default_timezone: ZoneName = "UTC"  # for people whose region names none
    reminders: tuple[Duration, ...] = ("1d",)  # before an event, to those who said yes
    fan_out_batch: Annotated[int, Field(ge=1, le=20_000)] = 2000

    @property
    def quiet(self) -> QuietHours | None:
        return QuietHours.parse(self.quiet_hours)


class OutboxConfig(_Section):
    max_attempts: Annotated[int, Field(ge=1)] = 8
    first_retry_seconds: Annotated[float, Field(gt=0)] = 1.0
    max_retry_seconds: Annotated[float, Field(gt=0)] = 300.0
    shutdown_flush_seconds: Annotated[float, Field(gt=0, le=30)] = 4.0


class ConsoleConfig(_Section):
    enabled: bool = False
    name: str = ""  # empty: the login name


IRC_NICK = r"^[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}-]{0,29}$"
IRC_CHANNEL = r"^[#&][^\x00-\x20,:\x07]{1,49}$"


class IrcConfig(_Section):
    enabled: bool = False
    host: str = "irc.libera.chat"
    port: Annotated[int, Field(ge=1, le=65535)] = 6697
    tls: bool = True
    tls_verify: bool = True
    nick: Annotated[str, Field(pattern=IRC_NICK)] = "wayfinder"
    alt_nick: Annotated[str, Field(pattern=IRC_NICK)] | None = None  # default: nick + "_"
    username: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,10}$")] = "wayfinder"
    realname: Annotated[str, Field(pattern=r"^[^\x00-\x1f]{1,100}$")] = "Wayfinder onboarding bot"
    sasl_account: str = ""
    sasl_password_env: str = ""
    channels: tuple[Annotated[str, Field(pattern=IRC_CHANNEL)], ...] = ()
    conversation: Literal["private", "channel"] = "private"  # where !start in a channel goes on
    formatting: bool = False  # mIRC bold/colour codes from content pass through
    max_lines: Annotated[int, Field(ge=2, le=100)] = 10  # per message; then a pointer
    overflow_pointer: str = "(the rest is too long for IRC: type !help, or ask a mentor)"
    burst: Annotated[int, Field(ge=1)] = 4
    lines_per_second: Annotated[float, Field(gt=0)] = 1.0
    ping_interval_seconds: Annotated[float, Field(gt=0)] = 60.0  # silence before we PING
    pong_timeout_seconds: Annotated[float, Field(gt=0)] = 20.0  # then the link is dead
    connect_timeout_seconds: Annotated[float, Field(gt=0)] = 30.0  # to connect and register
    reconnect_max_seconds: Annotated[float, Field(gt=0)] = 60.0  # backoff cap
    regain_nick_seconds: Annotated[float, Field(gt=0)] = 30.0  # retry the main nick this often


class MatrixConfig(_Section):
    enabled: bool = False
    homeserver: str = ""
    user_id: str = ""
    password_env: str = ""
    access_token_env: str = ""
    store_path: str = "matrix-store"
    rooms: tuple[str, ...] = ()
    messages_per_second: Annotated[float, Field(gt=0)] = 10.0  # 429 retry_after rules anyway
    device_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = "WAYFINDER"
    device_name: str = "Wayfinder"
    pickle_key_env: str = ""  # encrypts the end-to-end keys at rest
    allowed_homeservers: tuple[str, ...] = ()  # whose invites to accept; empty: the bot's own
    # Where `!start` in a room goes on: a direct room, the room itself, or a thread in it.
    conversation: Literal["private", "room", "thread"] = "private"
    encrypt_direct_rooms: bool = True
    sync_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 30.0
    # Cap of the sync retry backoff: also the longest wait after the homeserver is back.
    backoff_max_seconds: Annotated[float, Field(gt=0)] = 8.0


class TelegramConfig(_Section):
    enabled: bool = False
    token_env: str = ""
    base_url: str = ""  # empty: Telegram's; set for a local Bot API server
    mode: Literal["polling", "webhook"] = "polling"
    poll_timeout_seconds: Annotated[int, Field(ge=1, le=60)] = 10
    request_timeout_seconds: Annotated[float, Field(gt=0)] = 10.0
    webhook_listen: str = "127.0.0.1"
    webhook_port: Annotated[int, Field(ge=1, le=65535)] = 8443
    webhook_url: str = ""  # the public https URL Telegram posts updates to
    webhook_secret_env: str = ""  # checked on every webhook request
    messages_per_second: Annotated[float, Field(gt=0)] = 30.0
    per_chat_per_second: Annotated[float, Field(gt=0)] = 1.0
    per_group_per_minute: Annotated[int, Field(ge=1)] = 20


class AdaptersConfig(_Section):
    console: ConsoleConfig = ConsoleConfig()
    irc: IrcConfig = IrcConfig()
    matrix: MatrixConfig = MatrixConfig()
    telegram: TelegramConfig = TelegramConfig()


class Config(_Section):
    storage: StorageConfig = StorageConfig()
    content: ContentConfig = ContentConfig()
    roles: RolesConfig = RolesConfig()
    flows: FlowsConfig = FlowsConfig()
    mentoring: MentoringConfig = MentoringConfig()
    events: EventsConfig = EventsConfig()
    outbox: OutboxConfig = OutboxConfig()
    adapters: AdaptersConfig = AdaptersConfig()
    source: str = Field(default="(defaults)", exclude=True)
    base_dir: Path = Field(default=Path("."), exclude=True)

    def content_path(self) -> Path:
        return self.content.resolved(self.base_dir)

    def secret_keys(self) -> list[tuple[str, str]]:
        """(key, environment variable) for every secret an enabled adapter needs."""
        keys: list[tuple[str, str]] = []
        irc, matrix, telegram = self.adapters.irc, self.adapters.matrix, self.adapters.telegram
        if irc.enabled and irc.sasl_account:
            keys.append(("adapters.irc.sasl_password_env", irc.sasl_password_env))
        if matrix.enabled:
            if matrix.access_token_env:
                keys.append(("adapters.matrix.access_token_env", matrix.access_token_env))
            else:
                keys.append(("adapters.matrix.password_env", matrix.password_env))
            keys.append(("adapters.matrix.pickle_key_env", matrix.pickle_key_env))
        if telegram.enabled:
            keys.append(("adapters.telegram.token_env", telegram.token_env))
            if telegram.mode == "webhook":
                keys.append(("adapters.telegram.webhook_secret_env", telegram.webhook_secret_env))
        return keys

    def check_secrets(self, environ: dict[str, str] | None = None) -> dict[str, str]:
        """Read every needed secret, refusing missing ones and placeholders by key."""
        env = os.environ if environ is None else environ
        found: dict[str, str] = {}
        for key, variable in self.secret_keys():
            if not variable:
                raise ConfigError(self.source, key, "name the environment variable holding it")
            value = env.get(variable, "")
            if not value:
                raise ConfigError(self.source, key, f"environment variable {variable} is not set")
            if value.strip().lower() in PLACEHOLDER_SECRETS or value.startswith("<"):
                raise ConfigError(self.source, key,
                                  f"environment variable {variable} holds a placeholder; "
                                  "set the real secret")
            found[key] = value
        return found


def _loc(parts: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in parts)


def config_from_dict(data: dict[str, Any], source: str, base_dir: Path) -> Config:
    try:
        return Config.model_validate({**data, "source": source, "base_dir": base_dir})
    except ValidationError as exc:
        err = exc.errors()[0]
        problem = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        problem = problem.removeprefix("Value error, ")
        if err["type"] not in ("extra_forbidden", "value_error") and "input" in err:
            problem += f" (got {err['input']!r})"
        raise ConfigError(source, _loc(err["loc"]), problem) from None


def load_config(path: Path | None) -> Config:
    """Load PATH, or ./wayfinder.toml if present, or the defaults."""
    if path is None:
        default = Path.cwd() / DEFAULT_CONFIG_NAME
        if not default.exists():
            return Config()
        path = default
    if not path.exists():
        raise ConfigError(str(path), "", "config file not found")
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "", f"not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read: {exc.strerror}") from None
    return config_from_dict(data, str(path), path.parent.resolve())
