"""Search: re-index names that the previous normalisation folded differently.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

``orgbook.search.normalise`` now folds letters that have no Unicode decomposition as
PostgreSQL's ``unaccent`` rules do ("Łódź" → "lodz", "Ørsted" → "orsted", "Æ" → "ae"), so the
stored ``norm``/``core``/prefix keys of names containing them no longer equal what queries
normalise to. This revision re-indexes exactly those organisations, from the search tables
(:func:`orgbook.search.reindex_stale`): one pass over the names, then a few rows per
affected organisation; nothing to do on a new database. No schema change: downgrading leaves
the rows as they are (``orgbook ledger replay`` under the older release re-indexes them its
way). ``orgbook ledger replay`` is also the full rebuild from the ledger at any time.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from orgbook.search import UNACCENT, reindex_stale

    bind = op.get_bind()
    if sa.inspect(bind).has_table("search_name"):
        reindex_stale(bind, UNACCENT)  # the rules of this release (stored with the index: 0008)


def downgrade() -> None:
    pass
