"""The projections: the served tables, derived from the ledger, which is the source of truth.

* :mod:`~orgbook.projections.tables`: the tables (issuers and their public keys, organisations,
  credentials and their history, names, relationships, status lists, ``search_pending``);
* :mod:`~orgbook.projections.write`: what a ledger entry changes in them, written by issuance
  right after the append and by ``ledger replay`` alike; :mod:`~orgbook.projections.status` (the
  stored status-list bits) and :mod:`~orgbook.projections.searchdocs` (organisations' search
  documents, handed to :mod:`orgbook.search`);
* :mod:`~orgbook.projections.issuers`: the issuer directory every area reads;
* :mod:`~orgbook.projections.replay`: ``orgbook ledger replay``, every projection rebuilt from
  the entries; :mod:`~orgbook.projections.derive` and :mod:`~orgbook.projections.audit`: the
  projection audit (derive into a scratch database, compare row by row).

Below the issuer (which calls the writer) and above the ledger, search and storage. Nothing here
appends to the ledger or signs.
"""
