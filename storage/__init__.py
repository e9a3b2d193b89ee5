"""Durable storage: SQLModel tables, engines, the group-commit writer and repositories."""
