"""Configuration: the example is the schema; every error names the file and the key."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import BaseModel

from bot.config import FeatureSettings, config_from_dict
from bot.model import CommandMenu
from bot.wiring import FEATURES, Config, ConfigError, check_features, load_config, network_adapters
from flows.account.settings import AccountConfig
from flows.events.settings import EventsConfig
from flows.mentoring.settings import MentoringConfig
from flows.path.settings import PathConfig

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "wayfinder.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_config_loads_and_documents_every_key() -> None:
    config = load_config(EXAMPLE)
    assert config.storage.url == "sqlite+aiosqlite:///wayfinder.db"
    assert config.adapters.irc.channels == ("#my-project",)
    assert config.roles.organizers == ("irc:ana", "telegram:123456789")
    text = EXAMPLE.read_text()

    def keys(model: type[BaseModel], prefix: str = "") -> list[str]:
        found = []
        for name, field in model.model_fields.items():
            if name in ("source", "base_dir"):
                continue
            kind = field.annotation
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                found += keys(kind, f"{prefix}{name}.")
            else:
                found.append(f"{prefix}{name}")
        return found

    for feature in FEATURES:  # a feature's keys are in its table, e.g. [flows] or [events]
        if feature.settings is not None:
            assert f"\n[{feature.settings.table}]\n" in text
    documented = [*keys(Config), *(key for f in FEATURES if f.settings is not None
                                   for key in keys(f.settings, f"{f.settings.table}."))]
    for key in documented:
        assert f"\n{key.rsplit('.', 1)[-1]} = " in text, f"{key} is not in config.example.toml"
    assert {"flows.claim_idle_after", "flows.link_code_ttl", "mentoring.escalate_after",
            "events.fan_out_batch", "flows.due_max_attempts"} <= set(documented)


def test_the_example_configs_placeholder_secrets_are_refused_by_key() -> None:
    config = load_config(EXAMPLE)
    with pytest.raises(ConfigError) as err:
        config.check_secrets({})
    assert err.value.key == "adapters.irc.sasl_password_env"
    assert "WAYFINDER_IRC_PASSWORD is not set" in str(err.value)
    with pytest.raises(ConfigError) as err:
        config.check_secrets({"WAYFINDER_IRC_PASSWORD": "change-me"})
    assert "placeholder" in str(err.value)
    with pytest.raises(ConfigError) as err:
        config.check_secrets({"WAYFINDER_IRC_PASSWORD": "s3cret-real",
                              "WAYFINDER_MATRIX_PASSWORD": "<your password>"})
    assert err.value.key == "adapters.matrix.password_env"


def test_defaults_need_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(None)
    assert config.storage.url == "sqlite+aiosqlite:///wayfinder.db"
    assert config.content_path() == ROOT / "content"  # the package data of this checkout
    assert [a.network for a in network_adapters(config)] == ["console"]


def test_a_left_out_section_takes_its_defaults(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, '[flows]\nclaim_idle_after = "3d"\n'))
    assert config.settings_of(PathConfig).claim_idle.days == 3
    assert config.storage.url.startswith("sqlite")


def test_wrong_type_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, '[adapters.irc]\nport = "six"\n'))
    assert err.value.key == "adapters.irc.port"
    assert "wayfinder.toml: adapters.irc.port:" in str(err.value)
    assert "'six'" in str(err.value)


def test_unknown_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, "[storage]\nurll = 'x'\n"))
    assert (err.value.key, err.value.problem) == ("storage.urll", "unknown key")


def test_bad_values_are_explained(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, '[flows]\nclaim_idle_after = "soon"\n'))
    assert err.value.key == "flows.claim_idle_after"
    assert "not a duration" in err.value.problem
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, '[storage]\nurl = "mysql://x"\n'))
    assert "sqlite+aiosqlite" in err.value.problem
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, '[roles]\nadmins = ["ana"]\n'))
    assert err.value.key == "roles.admins"


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(_write(tmp_path, "[storage\n"))


def test_an_enabled_network_needs_its_secret(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TG_TOKEN", raising=False)  # unset: refused by key
    config = load_config(_write(tmp_path, '[adapters.telegram]\nenabled = true\n'
                                          'token_env = "TG_TOKEN"\n'))
    with pytest.raises(ConfigError) as err:
        network_adapters(config)
    assert err.value.key == "adapters.telegram.token_env"


def test_run_only_some_networks_needs_only_their_secrets(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TG_TOKEN", raising=False)  # Telegram runs in another process
    config = load_config(_write(tmp_path, '[adapters.telegram]\nenabled = true\n'
                                          'token_env = "TG_TOKEN"\n[adapters.irc]\nenabled = '
                                          'true\nchannels = ["#lumen"]\n'))
    (irc,) = network_adapters(config, only=["irc"])
    assert irc.network == "irc"
    with pytest.raises(ConfigError) as err:
        network_adapters(config, only=["irc", "matrix", "slack"])
    assert err.value.file == "--only"
    assert "matrix is not enabled in [adapters.matrix]" in str(err.value)
    assert "'slack' is no network (choose from console, irc, matrix, telegram)" in str(err.value)


@pytest.mark.parametrize(("line", "key"), [
    ('channels = ["lumen"]', "adapters.irc.channels.0"),
    ('channels = ["#a\\r\\nQUIT"]', "adapters.irc.channels.0"),
    ('nick = "way finder"', "adapters.irc.nick"),
    ('realname = "x\\ny"', "adapters.irc.realname"),
    ('conversation = "dm"', "adapters.irc.conversation"),
    ("max_lines = 1", "adapters.irc.max_lines"),
])
def test_irc_values_that_could_break_the_wire_are_refused_by_key(tmp_path: Path, line: str,
                                                                 key: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, f"[adapters.irc]\n{line}\n"))
    assert err.value.key == key


def test_an_irc_adapter_is_built_from_the_config(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IRC_PW", "a-real-password")
    config = load_config(_write(tmp_path, '[adapters.irc]\nenabled = true\n'
                                          'sasl_account = "bot"\nsasl_password_env = "IRC_PW"\n'))
    (adapter,) = network_adapters(config)
    assert adapter.network == "irc"


def test_the_command_menu_is_built_only_for_a_network_that_shows_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`wayfinder run` passes a function: the console alone never builds the menu (which loads
    every offered language's catalog, about 0.5 MB resident); Telegram gets it built."""
    built: list[CommandMenu] = []

    def menu() -> CommandMenu:
        built.append(CommandMenu(default=(("start", "Start"),)))
        return built[-1]

    assert [a.network for a in network_adapters(load_config(_write(tmp_path, "")),
                                                menu=menu)] == ["console"]
    assert built == []
    monkeypatch.setenv("TG_TOKEN", "123456:a-real-token")
    config = load_config(_write(tmp_path, '[adapters.telegram]\nenabled = true\n'
                                          'token_env = "TG_TOKEN"\n'))
    (adapter,) = network_adapters(config, menu=menu)
    from adapters.telegram.client import TelegramAdapter

    assert isinstance(adapter, TelegramAdapter)
    assert [adapter.menu] == built


MATRIX_SECTION = ('[adapters.matrix]\nenabled = true\nhomeserver = "http://127.0.0.1:8008"\n'
                  'user_id = "@bot:localhost"\npassword_env = "MX_PW"\n')


def test_matrix_needs_a_pickle_key_named_by_key(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MX_PW", "a-real-password")
    config = load_config(_write(tmp_path, MATRIX_SECTION))
    with pytest.raises(ConfigError) as err:
        network_adapters(config)
    assert err.value.key == "adapters.matrix.pickle_key_env"
    monkeypatch.setenv("MX_PICKLE", "a-long-random-pickle-key")
    config = load_config(_write(tmp_path, MATRIX_SECTION + 'pickle_key_env = "MX_PICKLE"\n'))
    (adapter,) = network_adapters(config)
    assert adapter.network == "matrix"


def test_matrix_values_are_checked_by_key(tmp_path: Path) -> None:
    for line, key in [('conversation = "dm"', "adapters.matrix.conversation"),
                      ('device_id = "a b"', "adapters.matrix.device_id"),
                      ("sync_timeout_seconds = 0", "adapters.matrix.sync_timeout_seconds")]:
        with pytest.raises(ConfigError) as err:
            load_config(_write(tmp_path, f"[adapters.matrix]\n{line}\n"))
        assert err.value.key == key


@pytest.mark.parametrize(("text", "key", "got"), [
    ('[flows]\nsuggestions_per_page = "three"\n', "flows.suggestions_per_page", "'three'"),
    ("[flows]\nlink_codes_per_hour = 0\n", "flows.link_codes_per_hour", "0"),
    ('[mentoring]\nescalate_after = 2\n', "mentoring.escalate_after", "2"),
    ('[events]\nfan_out_batch = "many"\n', "events.fan_out_batch", "'many'"),
    ('[flows]\ndue_max_attempts = "five"\n', "flows.due_max_attempts", "'five'"),
])
def test_a_wrong_type_in_a_features_section_names_file_and_key(tmp_path: Path, text: str,
                                                               key: str, got: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, text))
    assert err.value.key == key
    assert f"wayfinder.toml: {key}:" in str(err.value)
    assert got in str(err.value)


@pytest.mark.parametrize(("text", "key"), [
    ("[flows]\nclaim_idle = 3\n", "flows.claim_idle"),  # a property, not a key
    ("[mentoring]\nstuck = '1h'\n", "mentoring.stuck"),
    ("[mentorin]\nstuck_after = '1h'\n", "mentorin"),
    ("timezone = 'UTC'\n", "timezone"),
])
def test_a_key_no_feature_owns_is_refused_by_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, text))
    assert (err.value.key, err.value.problem) == (key, "unknown key")


def test_features_and_the_core_share_the_flows_table(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, '[flows]\nclaim_idle_after = "3d"\n'
                                          'link_code_ttl = "5m"\nscan_interval_seconds = 7\n'
                                          '[mentoring]\nstuck_after = "1d"\n'
                                          '[events]\nreminders = ["2d", "1h"]\n'))
    assert config.settings_of(PathConfig).claim_idle_after == "3d"
    assert config.settings_of(AccountConfig).link_ttl.total_seconds() == 300
    assert config.flows.scan_interval_seconds == 7
    assert config.settings_of(MentoringConfig).stuck.days == 1
    assert config.settings_of(EventsConfig).reminders == ("2d", "1h")
    assert "mentoring" not in Config.model_fields  # the core's model names no feature
    assert "claim_idle_after" not in type(config.flows).model_fields


def test_a_key_claimed_by_two_features_is_refused_at_check(tmp_path: Path) -> None:
    class Rival(FeatureSettings):
        table: ClassVar[str] = "flows"
        link_code_ttl: str = "1m"

    class Greedy(FeatureSettings):
        table: ClassVar[str] = "flows"
        due_max_attempts: int = 1

    config = load_config(_write(tmp_path, "[flows]\nlink_code_ttl = '5m'\n"))
    with pytest.raises(ValueError, match=r"flows\.link_code_ttl is claimed twice"):
        config.check_settings([AccountConfig, Rival])
    with pytest.raises(ValueError, match="by the core and by Greedy"):
        config.check_settings([Greedy])


def test_a_config_built_in_code_checks_feature_sections_on_use() -> None:
    config = config_from_dict({"mentoring": {"stuck_after": "soon"}}, "(test)", Path("."))
    with pytest.raises(ConfigError) as err:
        config.settings_of(MentoringConfig)
    assert err.value.key == "mentoring.stuck_after"
    with pytest.raises(ConfigError) as err:
        check_features(config_from_dict({"events": {"fan_out": 1}}, "(test)", Path(".")))
    assert err.value.key == "events.fan_out"


def test_check_config_reports_every_problem_at_once(tmp_path: Path) -> None:
    path = _write(tmp_path, '[storage]\ndurable = "maybe"\n[outbox]\nmax_attempts = 0\n'
                            '[flows]\nbogus = 1\n[roles]\norganizers = ["console:ok"]\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    keys = [key for key, _ in err.value.problems]
    assert keys == ["storage.durable", "outbox.max_attempts", "flows.bogus"]
    assert str(err.value).count(str(path)) == 3


@pytest.mark.parametrize("entry", [" console:boss", "IRC:Ana", "console:", "irc:ana smith"])
def test_a_role_entry_no_one_could_hold_is_refused_by_key(tmp_path: Path, entry: str) -> None:
    path = _write(tmp_path, f'[roles]\norganizers = ["console:ok", "{entry}"]\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.key == "roles.organizers"
    assert repr(entry) in err.value.problem
    assert "lower case" in err.value.problem


@pytest.mark.parametrize("placeholder", ["TODO", "REPLACE_ME", "changeme", "${TELEGRAM_TOKEN}",
                                         "xxxxxxxxxxxx", "your_token_here", "<token>"])
def test_a_placeholder_secret_is_refused(tmp_path: Path, placeholder: str) -> None:
    config = load_config(_write(tmp_path, '[adapters.telegram]\nenabled = true\n'
                                          'token_env = "TG_TOKEN"\n'))
    with pytest.raises(ConfigError) as err:
        config.check_secrets({"TG_TOKEN": placeholder})
    assert err.value.key == "adapters.telegram.token_env"
    assert "placeholder" in err.value.problem
    assert config.check_secrets({"TG_TOKEN": "123456:real-looking-secret"})


def test_a_pasted_token_in_an_env_key_is_refused_without_echoing_it(tmp_path: Path) -> None:
    token = "123456789:AAHsecretTokenPastedByMistake"
    config = load_config(_write(tmp_path, '[adapters.telegram]\nenabled = true\n'
                                          f'token_env = "{token}"\n'))
    with pytest.raises(ConfigError) as err:
        config.check_secrets({})
    assert err.value.key == "adapters.telegram.token_env"
    assert "not an environment variable name" in err.value.problem
    assert token not in str(err.value)
    assert "AAH" not in str(err.value)


def test_every_missing_secret_is_named_at_once(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, '[adapters.telegram]\nenabled = true\n'
                                          'token_env = "TG_TOKEN"\n[adapters.irc]\nenabled = true\n'
                                          'sasl_account = "bot"\nsasl_password_env = "IRC_PW"\n'))
    with pytest.raises(ConfigError) as err:
        config.check_secrets({})
    assert {key for key, _ in err.value.problems} == {"adapters.telegram.token_env",
                                                      "adapters.irc.sasl_password_env"}


def test_cross_signing_keys_come_both_from_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (("MX_PW", "a-real-password"), ("MX_PICKLE", "a-long-pickle-key"),
                        ("MX_MASTER", "m" * 43)):
        monkeypatch.setenv(name, value)
    section = MATRIX_SECTION + 'pickle_key_env = "MX_PICKLE"\n' + \
        'cross_signing_master_key_env = "MX_MASTER"\n'
    with pytest.raises(ConfigError) as err:
        network_adapters(load_config(_write(tmp_path, section)))
    assert err.value.key == "adapters.matrix.cross_signing_self_signing_key_env"
    monkeypatch.setenv("MX_SSK", "s" * 43)
    section += 'cross_signing_self_signing_key_env = "MX_SSK"\n'
    (adapter,) = network_adapters(load_config(_write(tmp_path, section)))
    assert adapter.cross_signing == ("m" * 43, "s" * 43)  # type: ignore[attr-defined]
