"""events: the language of people who were there before person_standing.locale

Revision ID: events_0010
Revises: events_0009
Create Date: 2026-11-29 23:30:00

events_0008 added person_standing.locale, which a person's turns project; everyone stored
before it kept NULL (the community's default) until their next turn, so a broadcast reached
a person who had chosen Spanish in the default language. This fills it from each person's
stored state (flow_state.data, the core's key "locale": {"chosen": CODE, "client": CODE}):
the chosen code, else the client's, where the row's locale is still NULL. One UPDATE for
every row, on SQLite (json_extract) and PostgreSQL (the JSON column read as jsonb).

The codes are kept as stored (a client's "pt-BR" too): the broadcaster normalizes a stored
code among the languages offered when it words a message, and falls back to the default
for one not offered, as it does for the codes turns project. Only plausible language tags
are copied (two letters, then letters, digits, "_" or "-", at most the column's 16
characters); anything else stays NULL, the default.
"""
from collections.abc import Sequence

from alembic import op

revision: str = 'events_0010'
down_revision: str | None = 'events_0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LENGTH = 16  # person_standing.locale's length (events_0008)
KINDS = ("chosen", "client")  # in order of precedence, as Turn.stated_locale reads them


def _code(dialect: str, kind: str) -> str:
    """The stored code of one kind, as SQL over flow_state f (NULL where there is none)."""
    if dialect == "postgresql":
        # The column is JSON (sa.JSON); the cast reads json, jsonb or text alike.
        return f"(CAST(f.data AS jsonb) -> 'locale' ->> '{kind}')"
    return f"json_extract(f.data, '$.locale.{kind}')"


def _plausible(dialect: str, code: str) -> str:
    """Whether `code` looks like a language tag ("es", "pt_BR", "pt-BR", "es-419")."""
    if dialect == "postgresql":
        return f"{code} ~ '^[A-Za-z]{{2}}[A-Za-z0-9_-]{{0,{LENGTH - 2}}}$'"
    # json_extract gives numbers as numbers: typeof keeps to strings.
    return (f"(typeof({code}) = 'text' AND length({code}) BETWEEN 2 AND {LENGTH} "
            f"AND {code} GLOB '[A-Za-z][A-Za-z]*' AND {code} NOT GLOB '*[^A-Za-z0-9_-]*')")


def backfill_sql(dialect: str) -> str:
    cases = " ".join(f"WHEN {_plausible(dialect, _code(dialect, k))} THEN {_code(dialect, k)}"
                     for k in KINDS)
    # SQLite's json_extract raises on text that is not JSON; the store only writes JSON.
    valid = "" if dialect == "postgresql" else " AND json_valid(f.data)"
    found = (f"FROM flow_state f WHERE f.person_id = person_standing.person_id{valid}")
    code = f"CASE {cases} END"
    # A correlated subquery rather than UPDATE ... FROM (SQLite has that only since 3.33);
    # EXISTS leaves the rows with nothing to copy unwritten.
    return (f"UPDATE person_standing SET locale = (SELECT {code} {found}) "
            f"WHERE locale IS NULL AND EXISTS (SELECT 1 {found} AND {code} IS NOT NULL)")


def upgrade() -> None:
    op.execute(backfill_sql(op.get_bind().dialect.name))


def downgrade() -> None:
    # Nothing to undo: the schema is events_0009's, and the languages copied are what each
    # person's next turn would project anyway (nor could a downgrade tell a copied one from
    # one a turn wrote since). events_0008's downgrade drops the column.
    pass
