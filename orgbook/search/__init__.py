"""Organisation search: the index the issuer writes, and the queries the verifier answers.

The ``search_*`` tables are a projection (written in the issuer's transaction, rebuilt from the
ledger like every other one); every string either backend compares is made in Python, with the
letter rules stored beside the index, so SQLite and PostgreSQL return the same pages for the
same data. Semantics and figures: ``docs/search.md``.

Public surface — what other packages may use, imported from ``orgbook.search`` itself (never
from its modules, whose other names are the package's own):

* the model: :class:`OrgDoc`, :class:`NameEntry`, :class:`SearchQuery`, :class:`SearchPage`,
  :class:`Hit`, :class:`Suggestion`, :class:`Facets`, :class:`FacetValue`,
  :data:`STATUS_FILTERS`;
* writing (issuance, replay, the projections): :func:`upsert_orgs`, :func:`delete_org`;
* reading (the verifier's API and web page): :func:`search`, :func:`facets`,
  :func:`search_with_facets` (both in one pass over the tiers), :func:`autocomplete`;
* the schema (storage, migrations, backup, the projection audit): :data:`SEARCH_TABLES` and
  the tables :data:`search_org`, :data:`search_name`, :data:`search_prefix`,
  :data:`search_number`, :data:`search_tag`, :data:`search_term`; :func:`ensure_search_schema`;
  the backend indexes beside them: :func:`create_token_index`, :func:`drop_token_index`,
  :func:`rebuild_token_index`, :func:`create_term_index`, :func:`term_index_exists`;
* the letter rules (``orgbook db upgrade``, migrations, projection derivation):
  :data:`UNACCENT` (the shipped rules), :func:`read_folding`, :func:`store_folding`,
  :func:`refresh_folding`, :func:`reindex_stale`.

The modules, one concept each:

* :mod:`~orgbook.search.model` — the value types above;
* :mod:`~orgbook.search.tables` — the tables, their DDL and the backend indexes;
* :mod:`~orgbook.search.writer` — indexing and removing organisations;
* :mod:`~orgbook.search.reindex` — re-indexing for new letter rules;
* :mod:`~orgbook.search.rows` — an organisation's rows, read back (shared by the others);
* :mod:`~orgbook.search.plan` — a query checked, normalised and fingerprinted, its filters;
* :mod:`~orgbook.search.tiers` — the ranking tiers: retrieval, scores, caps;
* :mod:`~orgbook.search.query` — :func:`search`: pages, totals, the listing, and
  :func:`search_with_facets`;
* :mod:`~orgbook.search.facets` — :func:`facets`: counts of filter values, within a bound;
* :mod:`~orgbook.search.cursor` — cursors (positions in the ranked order);
* :mod:`~orgbook.search.autocomplete` — search-as-you-type;
* :mod:`~orgbook.search.vocabulary` — typo alternatives from the vocabulary;
* :mod:`~orgbook.search.typos` — which words are within the allowed edits (pure);
* :mod:`~orgbook.search.normalise` — the one normalisation (pure), with
  :mod:`~orgbook.search.unaccent_rules`, the letter rules shipped with orgbook;
* :mod:`~orgbook.search.fold` — the letter rules stored with an index;
* :mod:`~orgbook.search.sqlite`, :mod:`~orgbook.search.postgres` — each backend's candidate
  retrieval and index DDL.

The package's own tests and the benchmarks may import the modules to test and time their parts.
"""

from __future__ import annotations

from orgbook.search.autocomplete import autocomplete
from orgbook.search.facets import facets
from orgbook.search.fold import read_folding, store_folding
from orgbook.search.model import (
    STATUS_FILTERS,
    Facets,
    FacetValue,
    Hit,
    NameEntry,
    OrgDoc,
    SearchPage,
    SearchQuery,
    Suggestion,
)
from orgbook.search.normalise import UNACCENT
from orgbook.search.query import search, search_with_facets
from orgbook.search.reindex import refresh_folding, reindex_stale
from orgbook.search.tables import (
    SEARCH_TABLES,
    create_term_index,
    create_token_index,
    drop_token_index,
    ensure_search_schema,
    rebuild_token_index,
    search_name,
    search_number,
    search_org,
    search_prefix,
    search_tag,
    search_term,
    term_index_exists,
)
from orgbook.search.writer import delete_org, upsert_orgs

__all__ = [
    "SEARCH_TABLES",
    "STATUS_FILTERS",
    "UNACCENT",
    "FacetValue",
    "Facets",
    "Hit",
    "NameEntry",
    "OrgDoc",
    "SearchPage",
    "SearchQuery",
    "Suggestion",
    "autocomplete",
    "create_term_index",
    "create_token_index",
    "delete_org",
    "drop_token_index",
    "ensure_search_schema",
    "facets",
    "read_folding",
    "rebuild_token_index",
    "refresh_folding",
    "reindex_stale",
    "search",
    "search_name",
    "search_number",
    "search_org",
    "search_prefix",
    "search_tag",
    "search_term",
    "search_with_facets",
    "store_folding",
    "term_index_exists",
    "upsert_orgs",
]
