"""Alembic migrations, run as one write unit on the store's own database.

Alembic (with mako and pygments, about 8 MB resident) is imported only when the schema is
behind: a start on a current database reads the version table with plain SQL and compares it
with the heads named in the migration files (tests/test_startup.py checks those heads against
alembic's own).
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from storage.database import Database

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def script_heads(folder: Path = MIGRATIONS / "versions") -> set[str]:
    """The head revisions of the migration files: revisions no other file revises."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in folder.glob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.AnnAssign | ast.Assign) and node.value is not None:
                targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
                names = {t.id for t in targets if isinstance(t, ast.Name)}
                value = ast.literal_eval(node.value) if names & {"revision",
                                                                  "down_revision"} else None
                if "revision" in names and isinstance(value, str):
                    revisions.add(value)
                elif "down_revision" in names and value is not None:
                    revised.update([value] if isinstance(value, str) else value)
    return revisions - revised


def stored_heads(connection: Connection) -> set[str]:
    """What alembic_version says, with plain SQL; empty for a new database."""
    if not sa.inspect(connection).has_table("alembic_version"):
        return set()
    rows = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
    return {str(row[0]) for row in rows}


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def is_current(db: Database) -> bool:
    return await db.read(stored_heads) == script_heads()


async def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema to `revision` (idempotent)."""

    if revision == "head" and await is_current(db):
        return  # no need to load alembic

    def run(connection: Connection) -> None:
        from alembic import command

        command.upgrade(alembic_config(connection), revision)

    await db.write(run)


async def current_revision(db: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    return await db.read(read)
