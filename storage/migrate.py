"""Alembic migrations, run as one write unit on the store's own database.

Layout (storage/migrations/README.md): migrations/versions/ is the shared chain 0001..0006
(history, left as it is); each feature's later migrations live in migrations/<feature>/, a
branch labelled with the feature's name that depends on the core revision it needs. Every
folder is a version location, and `upgrade` goes to all heads, so alembic_version holds one
row per branch.

Alembic (with mako, about 7 MB resident) is imported only when the schema is behind: a start
on a current database reads the version table with plain SQL and compares the set of its rows
with the heads named in the migration files (tests/test_startup.py and
tests/test_feature_migrations.py check those heads against alembic's own and against what
alembic stores).
"""

from __future__ import annotations

import ast
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from storage.database import Database
from storage.leader import MIGRATION_KEY

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SHARED = "versions"  # the historical chain 0001..0006; new migrations go to a feature's folder


def version_folders(root: Path = MIGRATIONS) -> list[Path]:
    """The shared chain's folder, then one folder per feature (migrations/<feature>/)."""
    features = sorted(p for p in root.iterdir() if p.is_dir() and p.name != SHARED
                      and not p.name.startswith(("_", ".")))
    return [root / SHARED, *features]


def _names(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list | tuple) else []


def script_heads(folders: Iterable[Path] | None = None) -> set[str]:
    """The revisions a database upgraded to all heads keeps in alembic_version, read from the
    migration files without alembic: revisions that no other revision revises nor depends on
    (a feature's branch that depends on a core revision replaces it in the version table)."""
    revisions: set[str] = set()
    superseded: set[str] = set()
    for folder in version_folders() if folders is None else folders:
        for path in folder.glob("*.py"):
            for node in ast.parse(path.read_text(encoding="utf-8")).body:
                if isinstance(node, ast.AnnAssign | ast.Assign) and node.value is not None:
                    targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
                    names = {t.id for t in targets if isinstance(t, ast.Name)}
                    if names & {"revision", "down_revision", "depends_on"}:
                        value = ast.literal_eval(node.value)
                        if "revision" in names and isinstance(value, str):
                            revisions.add(value)
                        else:
                            superseded.update(_names(value))
    return revisions - superseded


def stored_heads(connection: Connection) -> set[str]:
    """What alembic_version says, with plain SQL; empty for a new database."""
    if not sa.inspect(connection).has_table("alembic_version"):
        return set()
    rows = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
    return {str(row[0]) for row in rows}


def _without_highlighting() -> None:
    """Alembic's templates (mako) import Pygments' lexers, 4.6 MB resident that stay for the
    bot's life, to colour HTML error pages nothing here renders: mako falls back to plain
    text when the plugin cannot be imported."""
    sys.modules.setdefault("mako.ext.pygmentplugin", None)  # type: ignore[arg-type]


def alembic_config(connection: Connection | None = None) -> Config:
    _without_highlighting()
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations",
                           os.pathsep.join(str(p) for p in version_folders()))
    config.attributes["connection"] = connection
    return config


async def is_current(db: Database) -> bool:
    return await db.read(stored_heads) == script_heads()


async def upgrade(db: Database, revision: str = "heads") -> None:
    """Bring the schema to `revision` (idempotent); by default every branch to its head."""

    if revision == "head":
        revision = "heads"  # one head per branch: the shared chain's and each feature's
    if revision == "heads" and await is_current(db):
        return  # no need to load alembic

    def run(connection: Connection) -> None:
        _without_highlighting()
        from alembic import command

        if connection.dialect.name == "postgresql":  # one process upgrades; the others wait
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_KEY})")
        command.upgrade(alembic_config(connection), revision)

    await db.write(run)


async def current_revisions(db: Database) -> set[str]:
    """alembic_version as alembic reads it: one revision per branch."""
    _without_highlighting()
    from alembic.runtime.migration import MigrationContext

    def read(connection: Connection) -> set[str]:
        return set(MigrationContext.configure(connection).get_current_heads())

    return await db.read(read)
