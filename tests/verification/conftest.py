"""Fixtures of the credential tests: one issuer per module, a fresh credential per test."""

from __future__ import annotations

from typing import Any

import pytest

from orgbook.core.credentials import CredentialType
from tests.core.test_credentials import (
    Issuer,
    make_credential,
    make_issuer,
)


@pytest.fixture(scope="module")
def issuer() -> Issuer:
    return make_issuer()


@pytest.fixture
def cred(issuer: Issuer) -> dict[str, Any]:
    return make_credential(CredentialType.LEGAL_NAME, issuer, index=11)
