"""DIDs: did:key (Ed25519), did:web URLs, issuer documents, resolvers and the HTTPS adapter."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from orgbook.core.crypto import Ed25519Signer
from orgbook.core.did import (
    ChainResolver,
    DidResolver,
    LocalResolver,
    VerificationMethod,
    build_did_document,
    did_key_from_public_key,
    did_web_to_url,
    public_key_from_did_key,
    resolve_did_key,
    resolve_verification_method,
    url_to_did_web,
)
from orgbook.core.errors import BadInput, NotFound, UpstreamError
from orgbook.core.multibase import encode_multikey_ed25519, multibase_encode
from orgbook.verifier.did_web import HttpsDidWebResolver

SPEC_DID = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"  # vc-di-eddsa test key
KEY_A = Ed25519Signer.from_seed(bytes(range(32))).public_key
KEY_B = Ed25519Signer.from_seed(bytes(range(1, 33))).public_key
ISSUER = "did:web:registry.example:issuers:bc"


# --- did:key ------------------------------------------------------------------------------------


def test_did_key_round_trip() -> None:
    did = did_key_from_public_key(KEY_A)
    assert did.startswith("did:key:z6Mk")
    assert public_key_from_did_key(did) == KEY_A
    multikey = did[len("did:key:") :]
    assert public_key_from_did_key(f"{did}#{multikey}") == KEY_A


def test_resolve_did_key_document() -> None:
    multikey = SPEC_DID[len("did:key:") :]
    vm = f"{SPEC_DID}#{multikey}"
    assert resolve_did_key(SPEC_DID) == {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": SPEC_DID,
        "verificationMethod": [
            {"id": vm, "type": "Multikey", "controller": SPEC_DID, "publicKeyMultibase": multikey}
        ],
        "authentication": [vm],
        "assertionMethod": [vm],
        "capabilityInvocation": [vm],
        "capabilityDelegation": [vm],
    }


@pytest.mark.parametrize(
    "did",
    [
        "did:web:example.com",
        "did:key:",
        "did:key:6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
        "did:key:" + multibase_encode(b"\xec\x01" + bytes(32)),  # X25519
        "did:key:" + multibase_encode(b"\xed\x01" + bytes(31)),
        SPEC_DID + "#z6Mkother",
    ],
)
def test_did_key_rejects(did: str) -> None:
    with pytest.raises(BadInput):
        public_key_from_did_key(did)


def test_resolve_did_key_rejects_did_urls() -> None:
    with pytest.raises(BadInput):
        resolve_did_key(SPEC_DID + "#" + SPEC_DID[8:])


@pytest.mark.parametrize(
    ("function", "value", "detail"),
    [
        (public_key_from_did_key, None, "not a did:key DID"),
        (public_key_from_did_key, "did:web:example.com", "not a did:key DID"),
        (
            public_key_from_did_key,
            SPEC_DID + "#z6Mkother",
            "a did:key verification method fragment must repeat the key",
        ),
        (resolve_did_key, None, "resolve a DID, not a DID URL"),
        (resolve_did_key, SPEC_DID + "#" + SPEC_DID[8:], "resolve a DID, not a DID URL"),
    ],
)
def test_did_key_refusals_say_what_is_wrong(function: Any, value: Any, detail: str) -> None:
    with pytest.raises(BadInput) as err:
        function(value)
    assert err.value.detail == detail


# --- did:web ------------------------------------------------------------------------------------

DID_WEB = [
    ("did:web:w3c-ccg.github.io", "https://w3c-ccg.github.io/.well-known/did.json"),
    ("did:web:w3c-ccg.github.io:user:alice", "https://w3c-ccg.github.io/user/alice/did.json"),
    ("did:web:example.com%3A3000", "https://example.com:3000/.well-known/did.json"),
    ("did:web:example.com%3A3000:user:alice", "https://example.com:3000/user/alice/did.json"),
    ("did:web:localhost%3A8000", "https://localhost:8000/.well-known/did.json"),
]


@pytest.mark.parametrize(("did", "url"), DID_WEB)
def test_did_web_to_url_and_back(did: str, url: str) -> None:
    assert did_web_to_url(did) == url
    assert url_to_did_web(url) == did


def test_did_web_host_is_case_insensitive_and_port_escape_too() -> None:
    assert (
        did_web_to_url("did:web:Example.COM%3a443")
        == "https://example.com:443/.well-known/did.json"
    )
    assert url_to_did_web("https://Example.com") == "did:web:example.com"
    assert url_to_did_web("https://example.com/") == "did:web:example.com"
    assert url_to_did_web("https://example.com/user/alice") == "did:web:example.com:user:alice"


@pytest.mark.parametrize(
    "did",
    [
        "did:web:",
        "did:web",
        "did:key:z6Mk",
        "did:web:example",
        "did:web:-example.com",
        "did:web:exa_mple.com",
        "did:web:example.com/path",
        "did:web:example.com#frag",
        "did:web:example.com?q=1",
        "did:web:example.com::alice",
        "did:web:example.com:..",
        "did:web:example.com:.well-known",
        "did:web:example.com%3A",
        "did:web:example.com%3A99999",
        "did:web:example.com%3Aabc",
        "did:web:user@example.com",
        "did:web:192.168.0.1%3A80x",
        "did:web:example.com:a%2",
    ],
)
def test_did_web_rejects_bad_dids(did: str) -> None:
    with pytest.raises(BadInput):
        did_web_to_url(did)


@pytest.mark.parametrize(
    ("did", "detail"),
    [
        (None, "not a did:web DID"),
        ("did:key:z6Mk", "not a did:web DID"),
        (
            "did:web:example.com/path",
            "a did:web DID has no path, query or fragment (use ':' between segments)",
        ),
        ("did:web:-example.com", "did:web host '-example.com' is not a domain name"),
        ("did:web:example.com%3A0", "did:web port '0' is not a port number"),
        ("did:web:example.com%3A65536", "did:web port '65536' is not a port number"),
        ("did:web:example.com:.", "did:web path segment '.' is not allowed"),
        ("did:web:example.com:.well-known:x", "a did:web path cannot start with .well-known"),
    ],
    ids=[
        "not-a-string",
        "did-key",
        "slash",
        "bad-host",
        "port-0",
        "port-65536",
        "dot-segment",
        "well-known-first",
    ],
)
def test_did_web_refusals_say_what_is_wrong(did: Any, detail: str) -> None:
    with pytest.raises(BadInput) as err:
        did_web_to_url(did)
    assert err.value.detail == detail


def test_did_web_ports_and_letters_at_their_limits() -> None:
    assert did_web_to_url("did:web:example.com%3A1") == "https://example.com:1/.well-known/did.json"
    assert (
        did_web_to_url("did:web:example.com%3A65535")
        == "https://example.com:65535/.well-known/did.json"
    )
    assert (
        did_web_to_url("did:web:eXample.com:user:Xavier")
        == "https://example.com/user/Xavier/did.json"
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/.well-known/did.json",
        "https://example.com/did.json?x=1",
        "https://example.com/did.json#x",
        "https://user@example.com/did.json",
        "https://example.com//a/did.json",
        "https://example.com:99999/did.json",
        "ftp://example.com",
    ],
)
def test_url_to_did_web_rejects(url: str) -> None:
    with pytest.raises(BadInput):
        url_to_did_web(url)


@pytest.mark.parametrize(
    ("url", "detail"),
    [
        (None, "a URL is a string"),
        ("http://example.com/.well-known/did.json", "did:web documents are served over https"),
        (
            "https://example.com/did.json?x=1",
            "a did:web URL has no query, fragment or user information",
        ),
        (
            "https://example.com:99999/did.json",
            "invalid port in 'https://example.com:99999/did.json'",
        ),
        (
            "https://example.com//a/did.json",
            "empty path segment in 'https://example.com//a/did.json'",
        ),
        ("https:///did.json", "did:web host '' is not a domain name"),
    ],
)
def test_url_to_did_web_refusals_say_what_is_wrong(url: Any, detail: str) -> None:
    with pytest.raises(BadInput) as err:
        url_to_did_web(url)
    assert err.value.detail == detail


def test_url_to_did_web_accepts_a_trailing_slash_after_the_path() -> None:
    assert url_to_did_web("https://example.com/user/alice/") == "did:web:example.com:user:alice"


# --- issuer DID documents -----------------------------------------------------------------------


def test_build_did_document_with_current_and_retired_keys() -> None:
    doc = build_did_document(
        ISSUER,
        [("key-1", KEY_A, False), ("key-2", KEY_B, True)],
        also_known_as=["https://registry.example/issuers/bc"],
    )
    assert doc["id"] == ISSUER
    assert doc["alsoKnownAs"] == ["https://registry.example/issuers/bc"]
    assert [vm["id"] for vm in doc["verificationMethod"]] == [f"{ISSUER}#key-1", f"{ISSUER}#key-2"]
    assert doc["verificationMethod"][0] == {
        "id": f"{ISSUER}#key-1",
        "type": "Multikey",
        "controller": ISSUER,
        "publicKeyMultibase": encode_multikey_ed25519(KEY_A),
    }
    for relationship in (
        "assertionMethod",
        "authentication",
        "capabilityInvocation",
        "capabilityDelegation",
    ):
        assert doc[relationship] == [f"{ISSUER}#key-2"]
    json.dumps(doc)  # plain JSON

    resolver = LocalResolver({ISSUER: doc})
    retired = resolve_verification_method(resolver, f"{ISSUER}#key-1")
    assert retired == VerificationMethod(f"{ISSUER}#key-1", ISSUER, KEY_A, None, frozenset())
    current = resolve_verification_method(resolver, f"{ISSUER}#key-2")
    assert current.public_key == KEY_B
    assert "assertionMethod" in current.purposes


@pytest.mark.parametrize(
    ("did", "keys", "detail"),
    [
        ("did:web:example.com#x", [("k", KEY_A, True)], "a DID document needs a DID (no fragment)"),
        ("example.com", [("k", KEY_A, True)], "a DID document needs a DID (no fragment)"),
        (
            ISSUER,
            [("k", KEY_A, True), ("k", KEY_B, True)],
            "duplicate key id fragment 'k'",
        ),
        (ISSUER, [("bad fragment", KEY_A, True)], "invalid key id fragment 'bad fragment'"),
        (ISSUER, [("k", KEY_A[:31], True)], "an Ed25519 public key is 32 bytes, not 31"),
    ],
)
def test_build_did_document_rejects(
    did: str, keys: list[tuple[str, bytes, bool]], detail: str
) -> None:
    with pytest.raises(BadInput) as err:
        build_did_document(did, keys)
    assert err.value.detail == detail


# --- resolvers and verification methods ---------------------------------------------------------


def test_local_resolver_resolves_did_key_and_copies() -> None:
    doc = build_did_document(ISSUER, [("key-1", KEY_A, True)])
    resolver = LocalResolver()
    assert isinstance(resolver, DidResolver)
    resolver.add(doc)
    got = resolver.resolve(ISSUER)
    got["id"] = "mutated"
    got["verificationMethod"][0]["publicKeyMultibase"] = encode_multikey_ed25519(KEY_B)
    assert resolver.resolve(ISSUER)["id"] == ISSUER
    assert resolve_verification_method(resolver, f"{ISSUER}#key-1").public_key == KEY_A
    assert resolver.resolve(SPEC_DID)["id"] == SPEC_DID
    with pytest.raises(NotFound):
        resolver.resolve("did:web:unknown.example")
    with pytest.raises(BadInput) as err:
        resolver.add({"no": "id"})
    assert err.value.detail == "a DID document has a string 'id'"


def test_local_resolver_keeps_its_own_copy_of_what_it_was_given() -> None:
    """Changing a document after handing it over (even deep inside) changes nothing held."""
    held = build_did_document(ISSUER, [("key-1", KEY_A, True)])
    added = build_did_document("did:web:other.example", [("key-1", KEY_B, True)])
    resolver = LocalResolver({ISSUER: held})
    resolver.add(added)
    held["verificationMethod"][0]["publicKeyMultibase"] = encode_multikey_ed25519(KEY_B)
    added["verificationMethod"][0]["publicKeyMultibase"] = encode_multikey_ed25519(KEY_A)
    assert resolve_verification_method(resolver, f"{ISSUER}#key-1").public_key == KEY_A
    other = resolve_verification_method(resolver, "did:web:other.example#key-1")
    assert other.public_key == KEY_B


def test_chain_resolver() -> None:
    first = LocalResolver({ISSUER: build_did_document(ISSUER, [("a", KEY_A, True)])})
    other = "did:web:other.example"
    second = LocalResolver({other: build_did_document(other, [("b", KEY_B, True)])})
    chain = ChainResolver(first, second)
    assert chain.resolve(ISSUER)["id"] == ISSUER
    assert chain.resolve(other)["id"] == other
    with pytest.raises(NotFound) as err:
        chain.resolve("did:web:nobody.example")
    assert err.value.detail == "no resolver knows DID 'did:web:nobody.example'"
    with pytest.raises(NotFound):
        ChainResolver().resolve(ISSUER)


def test_resolve_did_key_verification_method() -> None:
    vm_id = f"{SPEC_DID}#{SPEC_DID[8:]}"
    vm = resolve_verification_method(LocalResolver(), vm_id)
    assert vm.id == vm_id
    assert vm.controller == SPEC_DID
    assert public_key_from_did_key(SPEC_DID) == vm.public_key
    assert vm.purposes == {
        "authentication",
        "assertionMethod",
        "capabilityInvocation",
        "capabilityDelegation",
    }


def _doc_with(method: dict[str, Any], **extra: Any) -> LocalResolver:
    doc: dict[str, Any] = {"id": ISSUER, "verificationMethod": [method], **extra}
    return LocalResolver({ISSUER: doc})


def _method(**changes: Any) -> dict[str, Any]:
    method: dict[str, Any] = {
        "id": f"{ISSUER}#k",
        "type": "Multikey",
        "controller": ISSUER,
        "publicKeyMultibase": encode_multikey_ed25519(KEY_A),
    }
    method.update(changes)
    return {k: v for k, v in method.items() if v is not None}


def test_verification_method_variants() -> None:
    vm_id = f"{ISSUER}#k"
    # Ed25519VerificationKey2020 with publicKeyMultibase is accepted too.
    legacy = _doc_with(_method(type="Ed25519VerificationKey2020"))
    assert resolve_verification_method(legacy, vm_id).public_key == KEY_A
    # Relative ids resolve against the DID.
    relative = _doc_with(_method(id="#k"), assertionMethod=["#k"])
    vm = resolve_verification_method(relative, vm_id)
    assert vm.public_key == KEY_A
    assert vm.purposes == {"assertionMethod"}
    # A method embedded in a relationship.
    embedded = LocalResolver({ISSUER: {"id": ISSUER, "assertionMethod": [_method()]}})
    assert resolve_verification_method(embedded, vm_id).purposes == {"assertionMethod"}
    # A revocation date-time in the document (Controlled Identifiers 1.0) is reported.
    revoked = _doc_with(_method(revoked="2025-01-01T00:00:00Z"))
    assert resolve_verification_method(revoked, vm_id).retired_at == "2025-01-01T00:00:00Z"
    # ... and a "revoked" that is no date-time string is not.
    odd = _doc_with(_method(revoked=20250101))
    assert resolve_verification_method(odd, vm_id).retired_at is None
    # An embedded method with a relative id.
    relative_embedded = LocalResolver(
        {ISSUER: {"id": ISSUER, "assertionMethod": [_method(id="#k")]}}
    )
    vm = resolve_verification_method(relative_embedded, vm_id)
    assert (vm.public_key, vm.purposes) == (KEY_A, {"assertionMethod"})
    # A relationship that is not a list is skipped; the ones after it still count.
    skipped = _doc_with(_method(), authentication="#k", assertionMethod=["#k"], keyAgreement=["#k"])
    assert resolve_verification_method(skipped, vm_id).purposes == {
        "assertionMethod",
        "keyAgreement",
    }


class _ListResolver:
    """A resolver whose "document" is a JSON array."""

    def resolve(self, did: str) -> Any:
        return [did]


@pytest.mark.parametrize(
    ("resolver", "vm_id", "detail"),
    [
        (_doc_with(_method()), "https://example.com#k", "a verification method id is a DID URL"),
        (
            _ListResolver(),
            f"{ISSUER}#k",
            f"the DID document of {ISSUER!r} is not a JSON object",
        ),
        (
            LocalResolver({ISSUER: {"id": "did:web:evil.example", "verificationMethod": []}}),
            f"{ISSUER}#k",
            f"the DID document of {ISSUER!r} has id 'did:web:evil.example'",
        ),
        (
            # The DID is what comes before the first '#': this DID's document has no such method.
            _doc_with(_method()),
            f"{ISSUER}#k#k",
            f"verification method '{ISSUER}#k#k' is not in the DID document",
        ),
        (
            LocalResolver({ISSUER: {"id": ISSUER, "verificationMethod": None}}),
            f"{ISSUER}#k",
            f"verification method '{ISSUER}#k' is not in the DID document",
        ),
    ],
    ids=["not-a-did-url", "not-an-object", "other-id", "two-fragments", "null-methods"],
)
def test_verification_method_refusals_say_what_is_wrong(
    resolver: DidResolver, vm_id: str, detail: str
) -> None:
    with pytest.raises((BadInput, NotFound)) as err:
        resolve_verification_method(resolver, vm_id)
    assert err.value.detail == detail


@pytest.mark.parametrize(
    ("resolver", "vm_id", "error", "message"),
    [
        (_doc_with(_method()), f"{ISSUER}#other", NotFound, "not in the DID document"),
        (_doc_with(_method()), "did:web:nobody.example#k", NotFound, "unknown DID"),
        (_doc_with(_method()), ISSUER, BadInput, "no fragment"),
        (_doc_with(_method()), f"{ISSUER}#", BadInput, "no fragment"),
        (_doc_with(_method()), "https://example.com#k", BadInput, "DID URL"),
        (_doc_with(_method(type="JsonWebKey2020")), f"{ISSUER}#k", BadInput, "unsupported type"),
        (_doc_with(_method(type=None)), f"{ISSUER}#k", BadInput, "unsupported type"),
        (
            _doc_with(_method(controller="did:web:evil.example")),
            f"{ISSUER}#k",
            BadInput,
            "not controlled by",
        ),
        (
            _doc_with(_method(publicKeyMultibase=None, publicKeyJwk={"kty": "OKP"})),
            f"{ISSUER}#k",
            BadInput,
            "no publicKeyMultibase",
        ),
        (
            _doc_with(_method(publicKeyMultibase=multibase_encode(b"\xec\x01" + bytes(32)))),
            f"{ISSUER}#k",
            BadInput,
            "0xed01",
        ),
        (
            LocalResolver({ISSUER: {"id": "did:web:evil.example", "verificationMethod": []}}),
            f"{ISSUER}#k",
            BadInput,
            "has id",
        ),
        (
            LocalResolver({ISSUER: {"id": ISSUER, "verificationMethod": "junk"}}),
            f"{ISSUER}#k",
            NotFound,
            "not in the DID document",
        ),
    ],
)
def test_verification_method_errors(
    resolver: LocalResolver, vm_id: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        resolve_verification_method(resolver, vm_id)


# --- did:web over HTTPS (httpx.MockTransport, no network) ---------------------------------------


def _client(handler: Any) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def test_https_resolver_fetches_the_document() -> None:
    doc = build_did_document(ISSUER, [("key-1", KEY_A, True)])
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=doc)

    with _client(handler) as client:
        resolver = HttpsDidWebResolver(client)
        assert isinstance(resolver, DidResolver)
        assert resolver.resolve(ISSUER) == doc
        vm = resolve_verification_method(
            ChainResolver(LocalResolver(), resolver), f"{ISSUER}#key-1"
        )
    assert vm.public_key == KEY_A
    assert str(seen[0].url) == "https://registry.example/issuers/bc/did.json"
    assert "application/did+json" in seen[0].headers["accept"]


@pytest.mark.parametrize(
    ("response", "error", "message"),
    [
        (httpx.Response(404), UpstreamError, "HTTP 404"),
        (httpx.Response(500, text="oops"), UpstreamError, "HTTP 500"),
        (
            httpx.Response(302, headers={"Location": "https://evil.example/did.json"}),
            UpstreamError,
            "HTTP 302",
        ),
        (httpx.Response(200, text="not json"), UpstreamError, "not a JSON DID document"),
        (httpx.Response(200, text='{"id": "a", "id": "b"}'), UpstreamError, "duplicate"),
        (httpx.Response(200, json=["a list"]), UpstreamError, "not a JSON object"),
        (httpx.Response(200, json={"id": "did:web:evil.example"}), BadInput, "is for"),
        (httpx.Response(200, content=b"x" * 2000), UpstreamError, "larger than 1024 bytes"),
    ],
)
def test_https_resolver_failures(
    response: httpx.Response, error: type[Exception], message: str
) -> None:
    with _client(lambda request: response) as client:
        resolver = HttpsDidWebResolver(client, max_bytes=1024)
        with pytest.raises(error, match=message):
            resolver.resolve(ISSUER)


def test_https_resolver_size_limit_without_content_length() -> None:
    def chunks() -> Any:
        for _ in range(10):
            yield b" " * 200

    response = httpx.Response(200, content=chunks())
    with _client(lambda request: response) as client, pytest.raises(UpstreamError, match="larger"):
        HttpsDidWebResolver(client, max_bytes=1024).resolve(ISSUER)


@pytest.mark.parametrize(
    "exc", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.TooManyRedirects("x")]
)
def test_https_resolver_maps_transport_errors(exc: Exception) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    with _client(handler) as client, pytest.raises(UpstreamError, match="cannot fetch"):
        HttpsDidWebResolver(client).resolve(ISSUER)


def test_https_resolver_only_handles_did_web() -> None:
    with _client(lambda request: httpx.Response(500)) as client:
        resolver = HttpsDidWebResolver(client)
        with pytest.raises(NotFound):
            resolver.resolve(SPEC_DID)
        with pytest.raises(BadInput):
            resolver.resolve("did:web:bad_host")
        # did:key falls through to the local resolver in a chain.
        assert ChainResolver(resolver, LocalResolver()).resolve(SPEC_DID)["id"] == SPEC_DID
