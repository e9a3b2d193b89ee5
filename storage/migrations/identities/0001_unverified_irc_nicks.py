"""identities: unverified irc nicks get their own id space

Revision ID: identities_0001
Revises:
Depends on: 0006
Create Date: 2026-11-29 18:00:00

An IRC nick without a services login was stored under the casefolded nick itself ("ana"),
the same id as the services account "ana": whoever took the nick after she quit was her. The
adapter now gives unverified nicks their own id space, "~" and the casefolded nick (no nick or
account can start with "~"); the identities stored before are moved there, so each keeps its
person, and a login to the account is a different identity.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'identities_0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ('identities',)
depends_on: str | Sequence[str] | None = '0006'


def upgrade() -> None:
    op.get_bind().execute(sa.text(
        "UPDATE identity SET external_id = '~' || external_id "
        "WHERE network = 'irc' AND verified = :no AND external_id NOT LIKE '~%'"), {"no": False})


def downgrade() -> None:
    # Back to the bare nick, except where the account of that name is stored too.
    op.get_bind().execute(sa.text(
        "UPDATE identity SET external_id = substr(external_id, 2) "
        "WHERE network = 'irc' AND verified = :no AND external_id LIKE '~%' "
        "AND substr(external_id, 2) NOT IN "
        "(SELECT i.external_id FROM identity AS i WHERE i.network = 'irc')"), {"no": False})
