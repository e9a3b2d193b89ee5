"""Alembic environment: runs on the connection the store hands over (see storage.migrate)."""

from alembic import context
from sqlmodel import SQLModel

# Registers every table on SQLModel.metadata: the core's, and each feature's storage module's.
import storage.repository  # noqa: F401

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `wayfinder db upgrade` (storage.migrate)")

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
