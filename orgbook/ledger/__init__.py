"""The ledger: an append-only, hash-chained RFC 9162 Merkle log with signed checkpoints."""
