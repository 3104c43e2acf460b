"""Verification of credentials and bundles: pure code, one module per concern.

What it owns: every check a report can hold, and the two runs of them —
:func:`orgbook.verification.credential.verify_credential` (a plain credential) and
:func:`orgbook.verification.bundle_checks.verify_bundle` (a bundle, with the ledger checks).
``report`` is the result model; ``document`` reads a presented document's fields; ``keys``,
``issuers``, ``status``, ``transparency``, ``inclusion`` and ``checkpoint`` hold the checks of
their concern; ``bundle`` is the bundle format. docs/verifying.md lists the checks.

What it must not do: import a storage, web or network library (import-linter checks it), fetch
anything (resolvers and fetchers are parameters), read the clock (``now`` is), or raise on what
it is handed. The package re-exports nothing: import from the module that owns a name.
"""
