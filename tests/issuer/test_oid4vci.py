"""OpenID4VCI 1.0, pre-authorised code flow (issue 19 item 4), through the app, both backends.

The issuer API makes an offer; a wallet (here PyJWT and the test client) redeems the code,
asks for a nonce, proves possession of its Ed25519 key and receives a Digital Identity Anchor
whose subject is its did:key, logged and verifiable; the wallet's key then presents the
organisation's credentials and orgbook's verifier accepts them. Every refusal is OAuth's JSON
and nothing is logged: a wrong, reused or expired code, a wrong PIN, an unknown, spent or
expired token, a wrong, reused or missing nonce, another audience, a proof signed by another
key, an unknown or unoffered configuration. The independent wallet (the TypeScript
``@openid4vc/openid4vci``) is tests/issuer/oid4vci_wallet/ (test_oid4vci_wallet.py).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from orgbook.app import create_app
from orgbook.core.anchor import ANCHOR_TYPE
from orgbook.core.crypto import Ed25519Signer
from orgbook.core.did import did_key_from_public_key
from orgbook.issuer import oid4vci
from orgbook.issuer.keys import get_issuer
from orgbook.runtime.registry import Registry
from tests.http import TestClient
from tests.issuer.test_binding import ORG, ledger_size, open_binding_registry
from tests.verifier.test_presentation import bundles, present, verify

OFFERS = "/api/v1/issuer/oid4vci/offers"
ISSUER = "http://registry.test"


@pytest.fixture
def setup(tmp_path: Path, db_url: str) -> Iterator[tuple[Registry, TestClient]]:
    registry, key = open_binding_registry(tmp_path, db_url)
    with TestClient(create_app(registry.settings, registry=registry)) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        yield registry, client
    registry.close()


class Wallet:
    """A wallet's Ed25519 key, signing OpenID4VCI proofs with PyJWT."""

    def __init__(self) -> None:
        self.signer = Ed25519Signer.generate()
        self.key = Ed25519PrivateKey.from_private_bytes(self.signer.seed)
        raw = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.did = did_key_from_public_key(raw)
        self.jwk = jwt.PyJWK.from_dict(
            {"kty": "OKP", "crv": "Ed25519", "x": jwt.utils.base64url_encode(raw).decode()}
        )

    def proof(self, nonce: str | None, *, aud: str = ISSUER, **header: Any) -> str:
        claims: dict[str, Any] = {"aud": aud, "iat": int(time.time())}
        if nonce is not None:
            claims["nonce"] = nonce
        headers: dict[str, Any] = {"typ": oid4vci.PROOF_TYP}
        if "kid" not in header:
            headers["jwk"] = dict(self.jwk._jwk_data)
        headers.update(header)
        return jwt.encode(claims, self.key, algorithm="EdDSA", headers=headers)


def offer(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post(OFFERS, json={"organisation": ORG, **body})
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def code_of(made: dict[str, Any]) -> str:
    grant = made["credentialOffer"]["grants"][oid4vci.PRE_AUTHORIZED_GRANT]
    value: str = grant["pre-authorized_code"]
    return value


def token(client: TestClient, code: str, **form: str) -> Any:
    data = {"grant_type": oid4vci.PRE_AUTHORIZED_GRANT, "pre-authorized_code": code, **form}
    return client.post("/oid4vci/token", data=data, headers={"Authorization": ""})


def access(client: TestClient, **body: Any) -> str:
    response = token(client, code_of(offer(client, **body)))
    assert response.status_code == 200, response.text
    value: str = response.json()["access_token"]
    return value


def nonce(client: TestClient) -> str:
    response = client.post("/oid4vci/nonce", headers={"Authorization": ""})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    value: str = response.json()["c_nonce"]
    return value


def ask(client: TestClient, access_token: str, proof: str, config: str = ANCHOR_TYPE) -> Any:
    return client.post(
        "/oid4vci/credential",
        json={"credential_configuration_id": config, "proofs": {"jwt": [proof]}},
        headers={"Authorization": f"Bearer {access_token}"},
    )


def refused(response: Any, error: str, status: int = 400) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"] == error, body
    description: str = body["error_description"]
    return description


def test_metadata_describes_the_issuer(setup: tuple[Registry, TestClient]) -> None:
    _, client = setup
    meta = client.get("/.well-known/openid-credential-issuer").json()
    assert meta["credential_issuer"] == ISSUER
    assert meta["credential_endpoint"] == ISSUER + "/oid4vci/credential"
    assert meta["nonce_endpoint"] == ISSUER + "/oid4vci/nonce"
    config = meta["credential_configurations_supported"][ANCHOR_TYPE]
    assert config["format"] == "ldp_vc"
    assert config["credential_signing_alg_values_supported"] == ["eddsa-jcs-2022"]
    assert config["credential_definition"]["type"] == ["VerifiableCredential", ANCHOR_TYPE]
    assert config["proof_types_supported"]["jwt"]["proof_signing_alg_values_supported"] == ["EdDSA"]
    server = client.get("/.well-known/oauth-authorization-server").json()
    assert server["issuer"] == ISSUER
    assert server["token_endpoint"] == ISSUER + "/oid4vci/token"
    assert server["pre-authorized_grant_anonymous_access_supported"] is True
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/.well-known/openid-credential-issuer",
        "/.well-known/oauth-authorization-server",
        "/oid4vci/offers/{handle}",
        "/oid4vci/token",
        "/oid4vci/nonce",
        "/oid4vci/credential",
        OFFERS,
    ):
        assert path in paths, path
    assert (
        "application/x-www-form-urlencoded"
        in (paths["/oid4vci/token"]["post"]["requestBody"]["content"])
    )


def test_offer_to_credential_then_a_presentation(setup: tuple[Registry, TestClient]) -> None:
    registry, client = setup
    made = offer(client)
    assert made["link"].startswith("openid-credential-offer://?credential_offer_uri=")
    uri = parse_qs(urlsplit(made["link"]).query)["credential_offer_uri"][0]
    assert uri == made["offerUri"]
    by_reference = client.get(urlsplit(uri).path, headers={"Authorization": ""})
    assert by_reference.status_code == 200
    assert by_reference.json() == made["credentialOffer"]
    assert by_reference.json()["credential_configuration_ids"] == [ANCHOR_TYPE]
    # The offer's page: the link and its QR code, for whoever has the page's URL.
    page = client.get(urlsplit(made["page"]).path, headers={"Authorization": ""})
    assert page.status_code == 200
    assert "<svg" in page.text
    assert "Boulangerie" in page.text
    assert made["link"].replace("&", "&amp;") in page.text
    assert page.headers["cache-control"] == "no-store"
    # Nothing secret on the public organisation page.
    assert code_of(made) not in client.get(f"/organisations/{ORG}").text

    got = token(client, code_of(made))
    assert got.status_code == 200, got.text
    assert got.headers["cache-control"] == "no-store"
    assert got.json()["token_type"] == "Bearer"
    wallet = Wallet()
    before = ledger_size(registry)
    response = ask(client, got.json()["access_token"], wallet.proof(nonce(client)))
    assert response.status_code == 200, response.text
    credential = response.json()["credentials"][0]["credential"]
    assert credential["type"] == ["VerifiableCredential", ANCHOR_TYPE]
    assert credential["credentialSubject"]["id"] == wallet.did
    assert credential["credentialSubject"]["registeredId"] == "BC1234567"
    assert credential["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    assert ledger_size(registry) > before
    report = client.post("/api/v1/verify", json=credential).json()
    assert report["valid"], report
    assert client.get(f"/api/v1/organisations/{ORG}").json()["boundDid"] == wallet.did
    # The wallet's key is the holder orgbook's verifier checks: a presentation is accepted.
    vp = present(wallet.signer, bundles(registry))
    assert verify(client, vp)["valid"]
    # The offer is spent: its URI and page are gone.
    assert client.get(urlsplit(uri).path, headers={"Authorization": ""}).status_code == 404
    assert client.get(urlsplit(made["page"]).path).status_code == 404


def test_a_kid_did_key_proof_and_a_pin(setup: tuple[Registry, TestClient]) -> None:
    _, client = setup
    made = offer(client, txCode=True)
    pin = made["txCode"]
    assert pin is not None
    assert len(pin) == 6
    assert pin.isdigit()
    assert made["credentialOffer"]["grants"][oid4vci.PRE_AUTHORIZED_GRANT]["tx_code"] == {
        "input_mode": "numeric",
        "length": 6,
        "description": "The PIN the registry gave the business's representative",
    }
    refused(token(client, code_of(made)), "invalid_request")
    wrong = "000000" if pin != "000000" else "111111"
    refused(token(client, code_of(made), tx_code=wrong), "invalid_grant")
    got = token(client, code_of(made), tx_code=pin)
    assert got.status_code == 200, got.text
    wallet = Wallet()
    multikey = wallet.did.removeprefix("did:key:")
    proof = wallet.proof(nonce(client), kid=f"{wallet.did}#{multikey}")
    response = ask(client, got.json()["access_token"], proof)
    assert response.status_code == 200, response.text
    assert response.json()["credentials"][0]["credential"]["credentialSubject"]["id"] == wallet.did


def test_three_wrong_pins_burn_the_code(setup: tuple[Registry, TestClient]) -> None:
    _, client = setup
    made = offer(client, txCode=True)
    for _ in range(oid4vci.MAX_TX_ATTEMPTS):
        refused(token(client, code_of(made), tx_code="x"), "invalid_grant")
    refused(token(client, code_of(made), tx_code=made["txCode"]), "invalid_grant")


def test_token_refusals(setup: tuple[Registry, TestClient]) -> None:
    registry, client = setup
    refused(token(client, "not-a-code"), "invalid_grant")
    refused(client.post("/oid4vci/token", data={}), "invalid_request")
    refused(
        client.post("/oid4vci/token", data={"grant_type": "authorization_code", "code": "x"}),
        "unsupported_grant_type",
    )
    refused(
        client.post("/oid4vci/token", data={"grant_type": oid4vci.PRE_AUTHORIZED_GRANT}),
        "invalid_request",
    )
    refused(client.post("/oid4vci/token", json={"grant_type": "x"}), "invalid_request")
    made = offer(client)
    assert token(client, code_of(made)).status_code == 200
    assert "already used" in refused(token(client, code_of(made)), "invalid_grant")
    # Expired: 15 minutes after the offer.
    with registry.engine.connect() as conn:
        issuer = get_issuer(conn, "bc-registries")
    old = oid4vci.create_offer(
        registry, issuer, ORG, now=datetime.now(UTC) - oid4vci.OFFER_TTL - timedelta(seconds=1)
    )
    assert "expired" in refused(token(client, old.pre_authorized_code), "invalid_grant")
    assert oid4vci.offer_by_handle(registry, old.handle) is None


def test_credential_refusals(setup: tuple[Registry, TestClient]) -> None:
    registry, client = setup
    wallet = Wallet()
    before = ledger_size(registry)
    access_token = access(client)
    # The token: none, unknown.
    refused(
        client.post(
            "/oid4vci/credential",
            json={"credential_configuration_id": ANCHOR_TYPE},
            headers={"Authorization": ""},
        ),
        "invalid_token",
        401,
    )
    response = ask(client, "unknown", wallet.proof(nonce(client)))
    refused(response, "invalid_token", 401)
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    # The configuration: unknown.
    refused(
        ask(client, access_token, wallet.proof(nonce(client)), config="Nope"),
        "unknown_credential_configuration",
    )
    # The nonce: another, missing, unknown.
    refused(ask(client, access_token, wallet.proof(None)), "invalid_nonce")
    refused(ask(client, access_token, wallet.proof("made-up")), "invalid_nonce")
    # The audience: another issuer.
    refused(
        ask(client, access_token, wallet.proof(nonce(client), aud="https://other.example")),
        "invalid_proof",
    )
    # Signed by another key than the one it names.
    other = Wallet()
    forged = other.proof(nonce(client), jwk=dict(wallet.jwk._jwk_data))
    assert "signature" in refused(ask(client, access_token, forged), "invalid_proof")
    # A kid that is not the signing key's did:key.
    multikey = wallet.did.removeprefix("did:key:")
    refused(
        ask(client, access_token, other.proof(nonce(client), kid=f"{wallet.did}#{multikey}")),
        "invalid_proof",
    )
    # Another typ; not a JWT; no proof.
    refused(ask(client, access_token, wallet.proof(nonce(client), typ="JWT")), "invalid_proof")
    refused(ask(client, access_token, "not.a.jwt"), "invalid_proof")
    refused(
        client.post(
            "/oid4vci/credential",
            json={"credential_configuration_id": ANCHOR_TYPE},
            headers={"Authorization": f"Bearer {access_token}"},
        ),
        "invalid_proof",
    )
    refused(
        client.post(
            "/oid4vci/credential",
            content=b"{",
            headers={"Authorization": f"Bearer {access_token}"},
        ),
        "invalid_credential_request",
    )
    assert ledger_size(registry) == before  # nothing logged by any refusal
    # A nonce used once is spent, even by a good proof.
    used = nonce(client)
    assert ask(client, access_token, wallet.proof(used)).status_code == 200
    refused(ask(client, access_token, wallet.proof(used)), "invalid_nonce")
    # The token is spent for that configuration.
    assert "already used" in refused(
        ask(client, access_token, wallet.proof(nonce(client))), "invalid_token", 401
    )


def test_expired_token_and_nonce(setup: tuple[Registry, TestClient]) -> None:
    registry, client = setup
    wallet = Wallet()
    past = datetime.now(UTC) - timedelta(minutes=20)
    with registry.engine.connect() as conn:
        issuer = get_issuer(conn, "bc-registries")
    made = oid4vci.create_offer(registry, issuer, ORG, now=past)
    old_token = oid4vci.exchange_code(
        registry,
        {
            "grant_type": oid4vci.PRE_AUTHORIZED_GRANT,
            "pre-authorized_code": made.pre_authorized_code,
        },
        now=past,
    )["access_token"]
    assert "expired" in refused(
        ask(client, old_token, wallet.proof(nonce(client))), "invalid_token", 401
    )
    old_nonce = oid4vci.new_nonce(registry, now=past)["c_nonce"]
    assert "expired" in refused(
        ask(client, access(client), wallet.proof(old_nonce)), "invalid_nonce"
    )


def test_offers_are_for_the_issuers_organisations(setup: tuple[Registry, TestClient]) -> None:
    _, client = setup
    response = client.post(OFFERS, json={"organisation": "CA-BC:BC0000000"})
    assert response.status_code == 404
    response = client.post(OFFERS, json={"organisation": ORG, "configurations": ["Nope"]})
    assert response.status_code == 400
    no_key = client.post(OFFERS, json={"organisation": ORG}, headers={"Authorization": ""})
    assert no_key.status_code == 401
    assert client.get("/wallet-offers/unknown").status_code == 404
    assert client.get("/oid4vci/offers/unknown").status_code == 404


# --- CORS: browser wallets on other origins (issue 19 item 4) --------------------------------

WALLET_ORIGIN = "https://wallet.example"
WALLET_PATHS = ("/oid4vci/token", "/oid4vci/nonce", "/oid4vci/credential", "/oid4vci/offers/x")


@contextmanager
def cors_client(tmp_path: Path, url: str, origins: tuple[str, ...]) -> Iterator[TestClient]:
    """A client of a registry whose ``ORGBOOK_CORS_ORIGINS`` is ``origins``."""
    registry, key = open_binding_registry(tmp_path, url)
    settings = dataclasses.replace(registry.settings, cors_origins=origins)
    with TestClient(create_app(settings, registry=registry)) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        yield client
    registry.close()


def wallet_preflight(client: TestClient, path: str, origin: str) -> Any:
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


def test_a_browser_wallet_of_an_allowed_origin_may_call_the_endpoints(
    tmp_path: Path, sqlite_url: str
) -> None:
    with cors_client(tmp_path, sqlite_url, (WALLET_ORIGIN,)) as client:
        for path in WALLET_PATHS:
            answer = wallet_preflight(client, path, WALLET_ORIGIN)
            assert answer.status_code == 200, path
            assert answer.headers["access-control-allow-origin"] == WALLET_ORIGIN
            assert "POST" in answer.headers["access-control-allow-methods"]
            assert "authorization" in answer.headers["access-control-allow-headers"].lower()
            assert "access-control-allow-credentials" not in answer.headers
        metadata = client.get(
            "/.well-known/openid-credential-issuer", headers={"Origin": WALLET_ORIGIN}
        )
        assert metadata.headers["access-control-allow-origin"] == WALLET_ORIGIN
        # the calls themselves: the token, then a refused credential whose reason is readable
        code = code_of(offer(client))
        granted = client.post(
            "/oid4vci/token",
            data={"grant_type": oid4vci.PRE_AUTHORIZED_GRANT, "pre-authorized_code": code},
            headers={"Authorization": "", "Origin": WALLET_ORIGIN},
        )
        assert granted.status_code == 200, granted.text
        assert granted.headers["access-control-allow-origin"] == WALLET_ORIGIN
        denied = client.post(
            "/oid4vci/credential",
            json={"credential_configuration_id": ANCHOR_TYPE, "proofs": {"jwt": ["x"]}},
            headers={"Authorization": "Bearer wrong", "Origin": WALLET_ORIGIN},
        )
        assert denied.status_code == 401
        assert denied.headers["access-control-allow-origin"] == WALLET_ORIGIN
        assert "www-authenticate" in denied.headers["access-control-expose-headers"].lower()


def test_other_origins_and_other_paths_get_no_cors_headers(tmp_path: Path, sqlite_url: str) -> None:
    with cors_client(tmp_path, sqlite_url, (WALLET_ORIGIN,)) as client:
        for path in WALLET_PATHS:
            answer = wallet_preflight(client, path, "https://other.example")
            assert answer.status_code == 400, path
            assert "access-control-allow-origin" not in answer.headers
        simple = client.post(
            "/oid4vci/nonce", headers={"Authorization": "", "Origin": "https://other.example"}
        )
        assert simple.status_code == 200
        assert "access-control-allow-origin" not in simple.headers
        # the issuer API (offers) and the offer's page: none, even for the wallet's origin
        for path in (OFFERS, "/wallet-offers/x"):
            answer = wallet_preflight(client, path, WALLET_ORIGIN)
            assert "access-control-allow-origin" not in answer.headers, path
        made = client.post(OFFERS, json={"organisation": ORG}, headers={"Origin": WALLET_ORIGIN})
        assert made.status_code == 201
        assert "access-control-allow-origin" not in made.headers
        page = client.get(made.json()["page"], headers={"Origin": WALLET_ORIGIN})
        assert page.status_code == 200
        assert "access-control-allow-origin" not in page.headers


def test_no_origins_means_no_cors_and_star_means_any_origin_without_credentials(
    tmp_path: Path, sqlite_url: str
) -> None:
    with cors_client(tmp_path / "none", sqlite_url, ()) as client:
        for path in WALLET_PATHS:
            answer = wallet_preflight(client, path, WALLET_ORIGIN)
            assert "access-control-allow-origin" not in answer.headers, path
        simple = client.post(
            "/oid4vci/nonce", headers={"Authorization": "", "Origin": WALLET_ORIGIN}
        )
        assert "access-control-allow-origin" not in simple.headers
    with cors_client(tmp_path / "any", f"sqlite:///{tmp_path / 'any.sqlite3'}", ("*",)) as client:
        for path in WALLET_PATHS:
            answer = wallet_preflight(client, path, "https://any.example")
            assert answer.status_code == 200, path
            assert answer.headers["access-control-allow-origin"] == "*"
            assert "access-control-allow-credentials" not in answer.headers
        simple = client.post(
            "/oid4vci/nonce", headers={"Authorization": "", "Origin": WALLET_ORIGIN}
        )
        assert simple.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in simple.headers
        assert "WWW-Authenticate" in simple.headers["access-control-expose-headers"]
