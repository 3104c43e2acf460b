"""PostgreSQL side of organisation search: a GIN full-text index over normalised names.

The index is on ``array_to_tsvector(string_to_array(norm, ' '))``: the lexemes are exactly the
tokens of :func:`orgbook.verifier.normalise.normalise`, with no text-search parser,
dictionary or ``unaccent`` rules in between, so PostgreSQL matches the same rows as the SQLite
FTS5 index. Ordering columns are declared ``COLLATE "C"`` (code-point order, as Python and
SQLite's BINARY compare), which makes candidate caps and keyset pages identical on both.

This module only retrieves candidates; ranking is done in :mod:`orgbook.verifier.search`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    String,
    Table,
    bindparam,
    cast,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import TSQUERY

TOKENS_INDEX = "search_name_tokens_gin"

# The query must repeat this expression verbatim (a literal ' ', not a parameter) for the
# planner to use the index.
_TOKENS_SQL = "array_to_tsvector(string_to_array(norm, ' '))"


def create_objects(conn: Connection) -> None:
    """Create the GIN token index (idempotent)."""
    conn.exec_driver_sql(
        f"CREATE INDEX IF NOT EXISTS {TOKENS_INDEX} ON search_name USING gin ({_TOKENS_SQL})"
    )


def tsquery(groups: Sequence[Sequence[str]]) -> str:
    """Every group must match, any token of a group will do; tokens are quoted lexemes."""
    return " & ".join("(" + " | ".join(f"'{token}'" for token in group) + ")" for group in groups)


def matching_names(name_table: Table, groups: Sequence[Sequence[str]]) -> Select[Any]:
    """``SELECT org_id, norm`` of the ``search_name`` rows that have a token of every group."""
    tokens = func.array_to_tsvector(func.string_to_array(name_table.c.norm, literal_column("' '")))
    query = cast(bindparam("pg_tsquery", tsquery(groups), type_=String), TSQUERY)
    return select(name_table.c.org_id, name_table.c.norm).where(tokens.bool_op("@@")(query))
