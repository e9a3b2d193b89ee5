"""Configuration: one TOML file, validated, with secrets read from named environment variables."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from bot.content import check_identities
from bot.i18n import normalize, shipped
from bot.tomlfile import TomlFileError, read_toml

DEFAULT_CONFIG_NAME = "wayfinder.toml"
BUNDLED_PACKAGE = "content"  # the demo content, package data of the wheel
# What people paste from examples and templates instead of the secret: compared after
# lowercasing and dropping "-", "_" and spaces, so "REPLACE_ME" and "your token here" match.
PLACEHOLDER_SECRETS = {"", "changeme", "secret", "password", "token", "placeholder", "todo",
                       "fixme", "replaceme", "yourtokenhere", "yourpasswordhere", "yoursecrethere",
                       "inserttokenhere", "none", "null", "test", "example"}
PLACEHOLDER_SHAPES = re.compile(r"^(?:\$\{.*\}|\$[A-Za-z_]\w*|<.*>|x{3,}|\*{3,}|\.{3,})$", re.I)
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


def is_placeholder(value: str) -> bool:
    """Whether a secret's value is a template's stand-in rather than a secret."""
    plain = value.strip()
    squashed = re.sub(r"[-_\s]", "", plain).lower()
    return squashed in PLACEHOLDER_SECRETS or bool(PLACEHOLDER_SHAPES.match(plain))


class ConfigError(Exception):
    """Problems in the configuration, each naming the file and the key. `key` and `problem`
    are the first; `problems` holds every one found, so one run can report them all."""

    def __init__(self, file: str, key: str, problem: str,
                 more: Sequence[tuple[str, str]] = ()) -> None:
        self.file, self.key, self.problem = file, key, problem
        self.problems: tuple[tuple[str, str], ...] = ((key, problem), *more)
        lines = [f"{file}: {k}: {p}" if k else f"{file}: {p}" for k, p in self.problems]
        super().__init__("\n".join(lines))

    @classmethod
    def joined(cls, errors: Sequence[ConfigError]) -> ConfigError:
        """One error holding the problems of several (all from the same file)."""
        problems = [problem for error in errors for problem in error.problems]
        return cls(errors[0].file, *problems[0], more=problems[1:])


def bundled_content() -> Path:
    """The demo content shipped with the package, wherever it was installed."""
    root = resources.files(BUNDLED_PACKAGE)
    if not isinstance(root, Path):  # a zipped install: TOML files we cannot list as a folder
        raise ConfigError("content", "path", f"the bundled content is inside {root}; set "
                          "[content] path to a folder")
    return root


class Section(BaseModel):
    """What every config section derives from, the core's, a feature's or an adapter's."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class StorageConfig(Section):
    url: str = "sqlite+aiosqlite:///wayfinder.db"
    durable: bool = True  # fsync every commit (SQLite synchronous=FULL)

    @field_validator("url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "sqlite://", "postgresql+asyncpg://")):
            raise ValueError("use sqlite+aiosqlite:///FILE or postgresql+asyncpg://USER@HOST/DB")
        if value.startswith("sqlite") and (":memory:" in value or "mode=memory" in value
                                           or value.rstrip("/").endswith(":")):
            # The bot's several connections would each see an empty database of their own,
            # and everyone's progress would be gone when it stops.
            raise ValueError("an in-memory database keeps nothing and is not shared by the "
                             "bot's connections; name a file, e.g. sqlite+aiosqlite:///wayfinder.db")
        return value


class ContentConfig(Section):
    path: str = ""  # empty: ./content if it exists, else the bundled demo content
    # How often the running bot looks for changed files and `wayfinder content reload`
    # requests; 0: never (then only SIGHUP reloads).
    watch_seconds: Annotated[float, Field(ge=0)] = 5.0

    def resolved(self, base: Path) -> Path:
        if self.path:
            path = Path(self.path)
            return path if path.is_absolute() else base / path
        local = Path.cwd() / "content"
        # A folder of content files, not any directory that happens to be called so.
        return local if local.is_dir() and any(local.rglob("*.toml")) else bundled_content()


class RolesConfig(Section):
    admins: tuple[str, ...] = ()
    organizers: tuple[str, ...] = ()

    @field_validator("admins", "organizers")
    @classmethod
    def _identities(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # The same rule as identities in content: a stray space or an upper-case network name
        # would never match anyone, silently leaving the role unheld.
        return check_identities(value)


class FlowsConfig(Section):
    """The core's keys of [flows]. Features own keys in this table too (their FeatureSettings
    with table = "flows"): they stay as written here and the composition root validates them."""

    model_config = ConfigDict(extra="allow")  # frozen and deferred, as every Section
    scan_interval_seconds: Annotated[float, Field(gt=0)] = 60.0
    due_max_attempts: Annotated[int, Field(ge=1)] = 5  # then a due item is a dead letter
    due_dead_letter_days: Annotated[float, Field(gt=0)] = 30.0  # then it is forgotten


class I18nConfig(Section):
    """[i18n]: the language people are answered in until they choose one (or their network
    says theirs), and the languages offered (empty: every one the bot ships)."""

    default: str = "en"
    languages: tuple[str, ...] = ()

    @field_validator("default")
    @classmethod
    def _shipped_default(cls, value: str) -> str:
        found = normalize(value)
        if found is None:
            raise ValueError(f"{value!r} is not a language the bot speaks; one of "
                             f"{', '.join(shipped())}")
        return found

    @field_validator("languages")
    @classmethod
    def _shipped_languages(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        wrong = [code for code in value if normalize(code) is None]
        if wrong:
            raise ValueError(f"{', '.join(map(repr, wrong))}: not a language the bot speaks; "
                             f"use some of {', '.join(shipped())}")
        return tuple(dict.fromkeys(c for code in value if (c := normalize(code)) is not None))

    def offered(self) -> tuple[str, ...]:
        """The languages a person may choose: the configured ones (the default among them),
        else every shipped one."""
        # Every turn asks: `shipped` is imported at the top of the module, as an import
        # statement here cost ~2 us each call.
        if not self.languages:
            return shipped()
        return self.languages if self.default in self.languages else (self.default,
                                                                       *self.languages)


class FeatureSettings(Section):
    """A feature's config section (flows/<feature>/settings.py). `table` is the TOML table
    its keys are written in; several features (and the core) may share one table, each
    owning its own keys. Handlers read it with `turn.settings_of(Model)`."""

    table: ClassVar[str] = ""


class OutboxConfig(Section):
    max_attempts: Annotated[int, Field(ge=1)] = 8
    first_retry_seconds: Annotated[float, Field(gt=0)] = 1.0
    max_retry_seconds: Annotated[float, Field(gt=0)] = 300.0
    shutdown_flush_seconds: Annotated[float, Field(gt=0, le=30)] = 4.0
    # With several processes on one database: a process's unsent rows are taken over this
    # long after it died (renewed every third of it while it runs).
    lease_seconds: Annotated[float, Field(ge=1, le=3600)] = 30.0


class InboundConfig(Section):
    """The one inbound processor every adapter hands its events to (bot/inbound.py)."""

    max_in_flight: Annotated[int, Field(ge=1, le=10_000)] = 64  # events handled at once
    max_queued: Annotated[int, Field(ge=1, le=1_000_000)] = 1000  # then adapters wait
    shutdown_seconds: Annotated[float, Field(ge=0, le=30)] = 2.0  # to finish what was taken
    # Floods: at most this many messages to the bot per person, and commands per shared room,
    # in flood_seconds; one warning, then the rest are dropped (counted). 0: no limit.
    flood_per_person: Annotated[int, Field(ge=0, le=1_000_000)] = 12
    flood_per_room: Annotated[int, Field(ge=0, le=1_000_000)] = 30
    flood_seconds: Annotated[float, Field(gt=0, le=3600)] = 10.0


class MetricsConfig(Section):
    """Prometheus metrics at /metrics, and /healthz and /livez, on one small HTTP server."""

    enabled: bool = False
    host: str = "127.0.0.1"  # loopback: put a proxy in front to expose it further
    port: Annotated[int, Field(ge=1, le=65535)] = 9464


class LoggingConfig(Section):
    # "json": one object a line, with the network and the conversation of the message being
    # handled on every line logged while it is handled.
    format: Literal["text", "json"] = "text"


class WebConfig(Section):
    """The web pages (web/): served on host:port inside `wayfinder run` when enabled, or
    alone by `wayfinder web`; /metrics, /healthz and /livez move onto this server when both
    are on. `public_url` is the address people reach them at (behind a proxy), where links
    to the public pages start from. Empty: no public page is linked."""

    enabled: bool = False
    host: str = "127.0.0.1"  # loopback: a reverse proxy with TLS in front serves the world
    port: Annotated[int, Field(ge=1, le=65535)] = 8080
    public_url: Annotated[str, Field(max_length=200, pattern=r"^(https?://[^\s/]+(/\S*)?)?$")] = ""

    def link(self, path: str) -> str:
        """The public address of `path` (e.g. "/some/page"), or "" without a public_url."""
        return self.public_url.rstrip("/") + path if self.public_url else ""


class AdapterTables(Section):
    """The [adapters.*] tables as written: the core names no network. The composition root
    validates each table with its adapter's own model (bot/wiring.py)."""

    model_config = ConfigDict(extra="allow")  # frozen and deferred, as every Section


class Config(Section):
    """The core's sections. Tables it does not know (the features') are kept as written; the
    composition root validates them with each feature's model (see `check_settings`)."""

    model_config = ConfigDict(extra="allow")  # frozen and deferred, as every Section
    storage: StorageConfig = StorageConfig()
    content: ContentConfig = ContentConfig()
    roles: RolesConfig = RolesConfig()
    flows: FlowsConfig = FlowsConfig()
    outbox: OutboxConfig = OutboxConfig()
    inbound: InboundConfig = InboundConfig()
    metrics: MetricsConfig = MetricsConfig()
    logging: LoggingConfig = LoggingConfig()
    web: WebConfig = WebConfig()
    i18n: I18nConfig = I18nConfig()
    adapters: AdapterTables = AdapterTables()
    source: str = Field(default="(defaults)", exclude=True)
    base_dir: Path = Field(default=Path("."), exclude=True)

    _settings: dict[type[FeatureSettings], FeatureSettings] = PrivateAttr(default_factory=dict)

    def table(self, name: str) -> dict[str, Any]:
        """A table as written: a feature's, or the keys a core table leaves to features."""
        core = type(self).model_fields.get(name)
        raw = (getattr(self, name).model_extra if core is not None else
               (self.model_extra or {}).get(name))
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            raise ConfigError(self.source, name, f"must be a table, like [{name}]")
        return raw

    def settings_of(self, model: type[FS]) -> FS:
        """A feature's validated section (validated once; the composition root validates
        every feature's at load, refusing keys no one owns)."""
        # The private attribute's dict itself (a slot): `self._settings` is found only by
        # pydantic's __getattr__, after the ordinary look-up failed and raised inside: ~5 us a
        # call, and features ask a few times a turn.
        private = self.__pydantic_private__
        assert private is not None  # it holds _settings
        settings: dict[type[FeatureSettings], FeatureSettings] = private["_settings"]
        found = settings.get(model)
        if found is None:
            raw = self.table(model.table)
            try:
                found = model.model_validate({k: v for k, v in raw.items()
                                              if k in model.model_fields})
            except ValidationError as exc:
                raise config_error(exc, self.source, (model.table,)) from None
            settings[model] = found
        return cast(FS, found)

    def check_settings(self, models: Iterable[type[FeatureSettings]]) -> None:
        """Validate every feature's section, and refuse by key what neither the core nor a
        feature owns: an unknown table, or an unknown key in a shared table."""
        owners: dict[str, dict[str, str]] = {}
        problems: list[ConfigError] = []
        for model in models:
            if not model.table:
                raise ValueError(f"{model.__name__} names no table")
            keys = owners.setdefault(model.table, dict.fromkeys(self._core_keys(model.table),
                                                                "the core"))
            for key in model.model_fields:
                if key in keys:
                    raise ValueError(f"{model.table}.{key} is claimed twice: by {keys[key]} "
                                     f"and by {model.__name__}")
                keys[key] = model.__name__
            try:
                self.settings_of(model)
            except ConfigError as exc:
                problems.append(exc)
        for table in (*(self.model_extra or {}), *owners):
            try:
                written = self.table(table) if table in owners else {"": None}
            except ConfigError as exc:
                problems.append(exc)
                continue
            for key in written:
                if table not in owners or key not in owners[table]:
                    problems.append(ConfigError(self.source, f"{table}.{key}".rstrip("."),
                                                "unknown key"))
        if problems:
            raise ConfigError.joined(problems)

    @classmethod
    def _core_keys(cls, table: str) -> list[str]:
        field = cls.model_fields.get(table)
        kind = field.annotation if field is not None else None
        return list(kind.model_fields) if isinstance(kind, type) and issubclass(
            kind, BaseModel) else []

    def content_path(self) -> Path:
        return self.content.resolved(self.base_dir)

    def secret_keys(self) -> list[tuple[str, str]]:
        """(key, environment variable) for every secret the enabled parts need. The core
        needs none; the composition root's Config adds the enabled adapters'."""
        return []

    def check_secrets(self, environ: dict[str, str] | None = None) -> dict[str, str]:
        """Read every needed secret, refusing missing ones and placeholders by key."""
        env = os.environ if environ is None else environ
        found: dict[str, str] = {}
        problems: list[ConfigError] = []
        for key, variable in self.secret_keys():
            problem = ""
            if not variable:
                problem = "name the environment variable holding it"
            elif not ENV_NAME.match(variable):
                # Never echo it: what is pasted here is often the secret itself.
                problem = ("is not an environment variable name (letters, digits and _); "
                           "put the secret in an environment variable and write its name here")
            elif not (value := env.get(variable, "")):
                problem = f"environment variable {variable} is not set"
            elif is_placeholder(value):
                problem = (f"environment variable {variable} holds a placeholder; "
                           "set the real secret")
            else:
                found[key] = value
            if problem:
                problems.append(ConfigError(self.source, key, problem))
        if problems:
            raise ConfigError.joined(problems)
        return found


C = TypeVar("C", bound=Config)
FS = TypeVar("FS", bound=FeatureSettings)


def _loc(parts: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in parts)


def config_error(exc: ValidationError, source: str, prefix: tuple[str, ...] = ()) -> ConfigError:
    """A validation error as a ConfigError naming the file and the dotted key of every
    problem pydantic found."""
    found: list[tuple[str, str]] = []
    for err in exc.errors():
        problem = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        problem = problem.removeprefix("Value error, ")
        if err["type"] not in ("extra_forbidden", "value_error") and "input" in err:
            problem += f" (got {_shown(err['input'])})"
        found.append((_loc((*prefix, *err["loc"])), problem))
    return ConfigError(source, *found[0], more=found[1:])


def _shown(value: object) -> str:
    """A wrong value as the error shows it: short, so a pasted blob is not printed back."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def validated(model: type[C], data: dict[str, Any], source: str, base_dir: Path) -> C:
    """DATA as MODEL, or a ConfigError with every problem: a table that fails is set aside
    and the rest validated again, so one run names the problems of every table."""
    problems: list[ConfigError] = []
    remaining = dict(data)
    while True:
        try:
            result = model.model_validate({**remaining, "source": source, "base_dir": base_dir})
        except ValidationError as exc:
            problems.append(config_error(exc, source))
            failed = {err["loc"][0] for err in exc.errors() if err["loc"]} & set(remaining)
            if not failed:
                break
            remaining = {k: v for k, v in remaining.items() if k not in failed}
        except ConfigError as exc:  # a feature's section, checked once the core's are valid
            problems.append(exc)
            break
        else:
            if not problems:
                return result
            break
    raise ConfigError.joined(problems)


def config_from_dict(data: dict[str, Any], source: str, base_dir: Path) -> Config:
    """The core config; [adapters.*] tables stay as written (see bot/wiring.py)."""
    return validated(Config, data, source, base_dir)


def load_as(model: type[C], path: Path | None) -> C:
    """Load PATH, or ./wayfinder.toml if present, or the defaults, as MODEL."""
    if path is None:
        default = Path.cwd() / DEFAULT_CONFIG_NAME
        if not default.exists():
            return model()
        path = default
    if not path.exists():
        raise ConfigError(str(path), "", "config file not found")
    try:
        data = read_toml(path)
    except TomlFileError as exc:
        raise ConfigError(str(path), exc.key, exc.problem) from None
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read: {exc.strerror}") from None
    return validated(model, data, str(path), path.parent.resolve())
