"""Subscriptions and bulk data: follow the ledger, signed webhooks, verifiable exports.

* :mod:`orgbook.feeds.feed` — the follow-the-ledger feed: entries after a ledger index (the
  index is the cursor), filtered through the projections, never by scanning the whole ledger;
* :mod:`orgbook.feeds.webhooks` — subscribers, subscriptions, the delivery signature;
* :mod:`orgbook.feeds.delivery` — the delivery worker (per-subscription cursors, retries,
  pausing);
* :mod:`orgbook.feeds.export` — the bulk export of the register stamped with a checkpoint;
  :mod:`orgbook.feeds.export_verify` — its verification; :mod:`orgbook.feeds.remote` — proofs
  from a remote registry or a tile export;
* :mod:`orgbook.feeds.store` — the tables; :mod:`orgbook.feeds.api` (with
  :mod:`orgbook.feeds.subscriptions_api` and :mod:`orgbook.feeds.models`) and
  :mod:`orgbook.feeds.cli` — the HTTP and command-line adapters.

Nothing here writes the ledger or the projections, and issuance pays nothing for it.
"""
