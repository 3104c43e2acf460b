"""The issuer service: registry records in, signed credentials on the ledger out."""
