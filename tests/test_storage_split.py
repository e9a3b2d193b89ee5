"""Each feature's records are written by its own storage module, registered by record type;
the store has every feature's narrow reads."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.app import feature_reads
from bot.feature import missing_reads
from bot.model import PersonId
from bot.ports import PersonState, Reads
from bot.records import Audit, Record
from flows.account import reads as account_reads
from flows.crm import reads as crm_reads
from flows.dashboard import reads as dashboard_reads
from flows.digest import reads as digest_reads
from flows.events import reads as events_reads
from flows.forge import reads as forge_reads
from flows.levelup import reads as levelup_reads
from flows.mentoring import reads as mentoring_reads
from flows.pairing import reads as pairing_reads
from flows.path import reads as path_reads
from flows.privacy import reads as privacy_reads
from flows.tracker import reads as tracker_reads
from storage.records import CORE, RecordSql, combine
from storage.repository import RECORDS, SqlStore

ROOT = Path(__file__).resolve().parent.parent


def declared_records() -> dict[str, type[Record]]:
    """Every Record subclass a feature declares in flows/<feature>/records.py."""
    import importlib

    found: dict[str, type[Record]] = {}
    for path in sorted((ROOT / "flows").glob("*/records.py")):
        module = importlib.import_module(f"flows.{path.parent.name}.records")
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef):
                kind = getattr(module, node.name)
                if issubclass(kind, Record):
                    found[f"{path.parent.name}.{node.name}"] = kind
    return found


def test_every_declared_record_is_written_by_exactly_one_storage_module() -> None:
    declared = declared_records()
    assert {"events.SetRsvp", "mentoring.SetNudge", "mentoring.OpenCase", "forge.WatchChange",
            "path.ClaimTask", "account.MergePersons"} <= set(declared)
    unwritten = [name for name, kind in declared.items()
                 if kind not in RECORDS.apply and kind not in RECORDS.bulk]
    assert unwritten == []
    assert Audit in RECORDS.apply  # the core's own


def test_a_record_type_claimed_by_two_storage_modules_is_refused() -> None:
    with pytest.raises(ValueError, match="Audit records are written by two storage modules"):
        combine(CORE, RecordSql(apply={Audit: lambda conn, record, records: None}))


def test_a_record_no_storage_module_writes_is_an_error_naming_it() -> None:
    class Stray(Record):
        pass

    with pytest.raises(TypeError, match="no storage module writes Stray records"):
        RecordSql().write(None, Stray())  # type: ignore[arg-type]


READS_OF: dict[str, Callable[[Reads], object]] = {
    "account": account_reads.reads_of,
    "crm": crm_reads.reads_of,
    "dashboard": dashboard_reads.reads_of,
    "digest": digest_reads.reads_of,
    "events": events_reads.reads_of,
    "forge": forge_reads.reads_of,
    "levelup": levelup_reads.reads_of,
    "mentoring": mentoring_reads.reads_of,
    "pairing": pairing_reads.reads_of,
    "path": path_reads.reads_of,
    "privacy": privacy_reads.reads_of,
    "tracker": tracker_reads.reads_of,
}


def test_every_feature_with_reads_is_checked_here() -> None:
    assert sorted(p.parent.name for p in (ROOT / "flows").glob("*/reads.py")) == sorted(READS_OF)


async def test_the_store_has_every_features_reads(sqlite_url: str) -> None:
    store = SqlStore.open(sqlite_url)
    try:
        assert all(reads is store for reads in feature_reads(store))
        assert len(feature_reads(store)) == len(READS_OF)
        assert all(reads_of(store) is store for reads_of in READS_OF.values())
    finally:
        await store.db.dispose()


class CoreReadsOnly:
    async def load_state(self, person_id: PersonId) -> PersonState | None:
        return None


@pytest.mark.parametrize("feature", sorted(READS_OF))
def test_a_store_without_a_features_reads_is_refused_by_name(feature: str) -> None:
    with pytest.raises(TypeError, match=f"(?i)CoreReadsOnly lacks the {feature} feature's reads"):
        READS_OF[feature](CoreReadsOnly())  # type: ignore[arg-type]


def test_every_feature_declares_its_reads() -> None:
    from bot.app import FEATURES

    declared = {feature.name: feature.reads for feature in FEATURES if feature.reads}
    assert declared == {"account": account_reads.AccountReads,
                        "crm": crm_reads.CrmReads,
                        "dashboard": dashboard_reads.DashboardReads,
                        "digest": digest_reads.DigestReads,
                        "events": events_reads.EventsReads,
                        "forge": forge_reads.ForgeReads,
                        "levelup": levelup_reads.LevelupReads,
                        "mentoring": mentoring_reads.MentoringReads,
                        "pairing": pairing_reads.PairingReads,
                        "path": path_reads.PathReads,
                        "privacy": privacy_reads.PrivacyReads,
                        "tracker": tracker_reads.TrackerReads}


def test_missing_reads_names_the_feature_and_the_methods() -> None:
    from bot.app import FEATURES

    lacking = missing_reads(FEATURES, CoreReadsOnly())
    assert [entry.split(" ")[0] for entry in lacking] == [
        f.name for f in FEATURES if f.reads is not None]  # in the features' order
    path = next(entry for entry in lacking if entry.startswith("path ("))
    assert {"active_claim", "events_since", "identities", "task_hand_outs"} <= set(
        path.removeprefix("path (").rstrip(")").split(", "))


async def test_an_engine_on_a_store_without_a_features_reads_refuses_to_start(
        sqlite_url: str) -> None:
    from bot.app import FEATURES
    from bot.engine import Engine
    from bot.wiring import load_content
    from tests.harness import make_config

    config = make_config(sqlite_url)
    content = load_content(config.content_path())
    with pytest.raises(TypeError, match=r"the store lacks what features read: path \("):
        Engine(CoreReadsOnly(), content, FEATURES, config,  # type: ignore[arg-type]
               release=lambda rows: None)
    store = SqlStore.open(sqlite_url)
    try:
        Engine(store, content, FEATURES, config, release=lambda rows: None)  # the real one has them
    finally:
        await store.db.dispose()
