"""Sub-commands of ``orgbook`` that span the stack, so they sit with the wiring.

* :mod:`~orgbook.commands.ledger`: ``orgbook ledger …`` audits the ledger *and* the projections
  derived from it, replays them, exports tiles;
* :mod:`~orgbook.commands.db`: ``orgbook db …`` upgrades, checks, backs up and restores the whole
  schema;
* :mod:`~orgbook.commands.serve`: ``orgbook serve`` runs the application (every area's routes).

An area's own commands stay in the area (``orgbook.issuer.cli``, ``orgbook.verifier.cli``,
``orgbook.witness.cli``, ``orgbook.feeds.cli``); :mod:`orgbook.cli` imports them all by name.
"""
