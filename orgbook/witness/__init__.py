"""The witness: a separate process that checks a ledger's checkpoints for consistency and cosigns.

``core`` (pure decisions: C2SP tlog-witness ``add-checkpoint`` rules, k-of-n cosignature checks),
``store`` (its own SQLite state and sealed key), ``server`` (the HTTP interface), ``poller``
(fetching a registry's checkpoint and pushing cosignatures back), ``cli`` (``orgbook witness``).
"""
