"""orgbook: a verifiable organisation credential registry.

Registries issue W3C Verifiable Credentials about the organisations they register; every
issuance and revocation is appended to an RFC 9162 Merkle ledger with signed checkpoints; anyone
can search organisations and verify a credential without trusting the server that handed it over.
"""

__version__ = "0.1.0"
