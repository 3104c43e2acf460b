"""The verifier: public search, organisation profiles, bundles and verification."""
