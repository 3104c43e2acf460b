"""The issuance service on both backends: records → signed credentials on the ledger.

Every credential issued here is verified with ``orgbook.verification.credential.verify_credential``
against the
issuer's DID document and its signed status lists, as a verifier elsewhere would. Helpers at the
top (``rec``, ``verify``, ``ledger_size``…) are shared with the HTTP tests of this package.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from orgbook.core.did import LocalResolver
from orgbook.core.errors import BadInput, Conflict, Forbidden, NotFound
from orgbook.issuer import statuslists
from orgbook.issuer.keys import create_issuer, did_document, list_issuers, rotate_key
from orgbook.issuer.service import Issuance, Outcome
from orgbook.projections.tables import (
    credential_document,
    credential_events,
    credentials,
    credentials_with_entry,
    issuers,
    organisations,
)
from orgbook.runtime.registry import Registry
from orgbook.verification.credential import verify_credential
from orgbook.verification.report import Report
from tests.factories import PASSPHRASE, add_issuers, new_registry

BC = "bc-registries"
NS = "ns-rjsc"
ORG = "CA-BC:BC1287139"
SUBJECT = "urn:orgbook:org:CA-BC:BC1287139"
T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


# --- helpers (also used by test_api.py and test_auth.py) --------------------------------------


def rec(
    kind: str,
    event_id: str,
    *,
    date: str = "2021-02-03",
    number: str = "BC1287139",
    jurisdiction: str = "CA-BC",
    **fields: Any,
) -> dict[str, Any]:
    """A registry record of ``kind`` for BC1287139 (by default)."""
    return {
        "event_id": event_id,
        "kind": kind,
        "jurisdiction": jurisdiction,
        "registration_number": number,
        "effective_date": date,
        **fields,
    }


def registration(event_id: str = "reg-1", **fields: Any) -> dict[str, Any]:
    return rec("registration", event_id, **{"name": "Boulangerie Lévesque Ltée", **fields})


def open_test_registry(tmp_path: Path, db_url: str) -> tuple[Registry, dict[str, str]]:
    registry = new_registry(tmp_path, url=db_url)
    return registry, add_issuers(registry, now=T0 - timedelta(days=1))


def issuance(registry: Registry) -> Issuance:
    service = Issuance(registry)
    assert isinstance(service, Issuance)
    return service


def _record_entries(registry: Registry) -> list[Any]:
    """The ledger's entries other than ``statuslist.published`` (each signed status list
    version is logged too; these tests count what records and status changes append)."""
    with registry.engine.connect() as conn:
        size = registry.ledger.size(conn)
        entries = [
            s.entry
            for start in range(0, size, 1000)
            for s in registry.ledger.entries(conn, start, min(size, start + 1000))
        ]
    return [e for e in entries if e.kind != "statuslist.published"]


def ledger_size(registry: Registry) -> int:
    """How many entries records and status changes appended (status-list versions aside)."""
    return len(_record_entries(registry))


def ledger_head(registry: Registry) -> int:
    """The ledger's size: the index the next entry gets."""
    with registry.engine.connect() as conn:
        return registry.ledger.size(conn)


def ledger_entries(registry: Registry, start: int = 0) -> list[Any]:
    """Those entries, from the ``start``-th on (a count from :func:`ledger_size`)."""
    return _record_entries(registry)[start:]


def credential_row(registry: Registry, credential_id: str) -> Any:
    """The credential's row, with its signed document (sliced from its ledger entry)."""
    with registry.engine.connect() as conn:
        return conn.execute(
            select(credentials, credential_document)
            .select_from(credentials_with_entry)
            .where(credentials.c.id == credential_id)
        ).one()


def document(registry: Registry, credential_id: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(bytes(credential_row(registry, credential_id).document))
    return doc


def history(registry: Registry, credential_id: str) -> list[tuple[str, str | None]]:
    with registry.engine.connect() as conn:
        rows = conn.execute(
            select(credential_events.c.kind, credential_events.c.related_credential_id)
            .where(credential_events.c.credential_id == credential_id)
            .order_by(credential_events.c.ledger_index)
        ).all()
    return [(row.kind, row.related_credential_id) for row in rows]


def verify(registry: Registry, credential: dict[str, Any], *, now: datetime = T0) -> Report:
    """Verify as an outside verifier would: DID documents and signed status lists."""
    with registry.engine.begin() as conn:
        resolver = LocalResolver()
        for issuer in list_issuers(conn):
            resolver.add(did_document(conn, issuer.id))

        def status_list(url: str) -> dict[str, Any]:
            issuer_id, purpose, number = _parse_list_url(registry, url)
            return statuslists.signed_list(
                conn,
                issuer_id=issuer_id,
                purpose=purpose,
                number=number,
                public_url=registry.settings.public_url,
                passphrase=PASSPHRASE,
                ledger=registry.ledger,
                now=now,
            )

        return verify_credential(
            credential, resolver=resolver, status_lists=status_list, now=now + timedelta(minutes=1)
        )


def _parse_list_url(registry: Registry, url: str) -> tuple[str, str, int]:
    prefix = registry.settings.public_url.rstrip("/") + "/issuers/"
    assert url.startswith(prefix), url
    issuer_id, status, purpose, number = url[len(prefix) :].split("/")
    assert status == "status"
    return issuer_id, purpose, int(number)


def problem_of(outcome: Outcome) -> dict[str, Any]:
    assert outcome.problem is not None
    return dict(outcome.problem)


def failed(report: Report) -> list[str]:
    return [check.name for check in report.failures]


def types_of(registry: Registry, outcome: Outcome) -> list[str]:
    return [credential_row(registry, cid).type for cid in outcome.credentials]


def subjects(registry: Registry, outcome: Outcome) -> dict[str, dict[str, Any]]:
    return {
        credential_row(registry, cid).type: document(registry, cid)["credentialSubject"]
        for cid in outcome.credentials
    }


def submit(
    registry: Registry, records: Sequence[Any], *, issuer: str = BC, now: datetime = T0
) -> list[Outcome]:
    return issuance(registry).submit(issuer, records, now=now)


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def registry(tmp_path: Path, db_url: str) -> Iterator[Registry]:
    reg, _ = open_test_registry(tmp_path, db_url)
    yield reg
    reg.close()


@pytest.fixture
def registered(registry: Registry) -> Outcome:
    (outcome,) = submit(registry, [registration()])
    assert outcome.status == "issued"
    return outcome


# --- each record kind -------------------------------------------------------------------------


def test_full_registration_issues_every_type_and_each_verifies(registry: Registry) -> None:
    record = registration(
        name_language="fr",
        alternate_names=[{"name": "Lévesque Bakery Ltd.", "language": "en"}],
        entity_type="BC",
        home_jurisdiction="STATE OF DELAWARE, COUNTY OF NEW CASTLE,",
        address={
            "address_type": "registered",
            "street": "800 Granville St",
            "city": "Vancouver",
            "region": "BC",
            "postal_code": "V6Z 1K3",
            "country": "CA",
        },
        business_number="123456789RC0001",
    )
    before = ledger_size(registry)
    (outcome,) = submit(registry, [record])
    assert outcome.status == "issued"
    assert types_of(registry, outcome) == [
        "registration",
        "legal-name",
        "status",
        "address",
        "business-number",
    ]
    found = subjects(registry, outcome)
    assert found["registration"]["registeredId"] == "BC1287139"
    assert found["registration"]["registeredName"] == "Boulangerie Lévesque Ltée"
    assert found["registration"]["homeJurisdiction"] == {
        "text": "STATE OF DELAWARE, COUNTY OF NEW CASTLE,",
        "code": "US-DE",
    }
    assert found["legal-name"]["legalName"] == "Boulangerie Lévesque Ltée"
    assert found["status"]["status"] == "active"
    assert found["address"]["postalCode"] == "V6Z 1K3"
    assert found["business-number"] == {
        "id": SUBJECT,
        "businessNumber": "123456789",
        "programAccount": "RC0001",
        "effectiveDate": "2021-02-03",
    }
    for cid in outcome.credentials:
        credential = document(registry, cid)
        assert credential["credentialSubject"]["id"] == SUBJECT
        assert credential["issuer"]["id"] == "did:web:registry.test:issuers:bc-registries"
        assert credential["validFrom"] == "2021-02-03T00:00:00Z"
        assert failed(verify(registry, credential)) == []
    # five credential.issued entries, nothing superseded
    kinds = [entry.kind for entry in ledger_entries(registry, before)]
    assert kinds == ["credential.issued"] * 5
    with registry.engine.connect() as conn:
        org = conn.execute(select(organisations).where(organisations.c.id == ORG)).one()
    assert (org.name, org.status, org.entity_type, org.business_number) == (
        "Boulangerie Lévesque Ltée",
        "active",
        "BC",
        "123456789",
    )


INTO = {"jurisdiction": "CA-BC", "registration_number": "BC1400001", "name": "Côté Holdings"}
RELATED = {"jurisdiction": "CA", "registration_number": "1234567-8", "name": "Acme Canada Inc."}


@pytest.mark.parametrize(
    ("record", "types", "expected"),
    [
        pytest.param(
            rec("name_change", "ev-2", date="2023-06-01", name="Lévesque Bakery Ltd."),
            ["legal-name"],
            {"legal-name": {"legalName": "Lévesque Bakery Ltd.", "effectiveDate": "2023-06-01"}},
            id="name_change",
        ),
        pytest.param(
            rec(
                "address_change",
                "ev-2",
                date="2023-06-01",
                address={"address_type": "mailing", "city": "Victoria", "country": "CA"},
            ),
            ["address"],
            {"address": {"addressType": "mailing", "addressLocality": "Victoria"}},
            id="address_change",
        ),
        pytest.param(
            rec("status_change", "ev-2", date="2023-06-01", status="dissolved"),
            ["status"],
            {"status": {"status": "dissolved", "effectiveDate": "2023-06-01"}},
            id="dissolved",
        ),
        pytest.param(
            rec(
                "status_change",
                "ev-2",
                date="2023-06-01",
                status="amalgamated",
                reason="amalgamation",
                amalgamated_into=INTO,
            ),
            ["status", "relationship"],
            {
                "status": {"status": "amalgamated", "statusReason": "amalgamation"},
                "relationship": {
                    "relationshipType": "amalgamated-into",
                    "relatedOrganisation": {
                        "id": "urn:orgbook:org:CA-BC:BC1400001",
                        "registeredId": "BC1400001",
                        "jurisdiction": "CA-BC",
                        "name": "Côté Holdings",
                    },
                },
            },
            id="amalgamated",
        ),
        pytest.param(
            rec("status_change", "ev-2", date="2023-06-01", status="continued-out", reason="AB"),
            ["status"],
            {"status": {"status": "continued-out", "statusReason": "AB"}},
            id="continued-out",
        ),
        pytest.param(
            rec("status_change", "ev-2", date="2023-06-01", status="restored"),
            ["status"],
            {"status": {"status": "active", "statusReason": "restored"}},
            id="restored",
        ),
        pytest.param(
            rec(
                "relationship",
                "ev-2",
                date="2023-06-01",
                relationship_type="parent-of",
                related=RELATED,
            ),
            ["relationship"],
            {
                "relationship": {
                    "relationshipType": "parent-of",
                    "relatedOrganisation": {
                        "id": "urn:orgbook:org:CA:1234567-8",
                        "registeredId": "1234567-8",
                        "jurisdiction": "CA",
                        "name": "Acme Canada Inc.",
                    },
                }
            },
            id="relationship",
        ),
        pytest.param(
            rec("business_number", "ev-2", date="2023-06-01", business_number="123 456 789"),
            ["business-number"],
            {"business-number": {"businessNumber": "123456789"}},
            id="business_number",
        ),
    ],
)
def test_each_record_kind(
    registry: Registry,
    registered: Outcome,
    record: dict[str, Any],
    types: list[str],
    expected: dict[str, dict[str, Any]],
) -> None:
    (outcome,) = submit(registry, [record])
    assert outcome.status == "issued"
    assert outcome.event_id == "ev-2"
    assert types_of(registry, outcome) == types
    found = subjects(registry, outcome)
    for slug, fields in expected.items():
        assert found[slug]["id"] == SUBJECT
        assert {k: found[slug].get(k) for k in fields} == fields
    for cid in outcome.credentials:
        credential = document(registry, cid)
        assert credential["validFrom"] == "2023-06-01T00:00:00Z"
        assert failed(verify(registry, credential)) == []


# --- idempotency --------------------------------------------------------------------------------


def test_same_record_again_is_unchanged_and_writes_nothing(
    registry: Registry, registered: Outcome
) -> None:
    before = ledger_size(registry)
    (again,) = submit(registry, [registration()], now=T0 + timedelta(hours=1))
    assert again.status == "unchanged"
    assert again.credentials == ()
    assert ledger_size(registry) == before
    # key order and whitespace in the JSON do not make it a different record
    reordered = dict(reversed(list(registration().items())))
    (again,) = submit(registry, [reordered])
    assert again.status == "unchanged"
    assert ledger_size(registry) == before


def test_same_event_id_with_other_content_is_a_conflict(
    registry: Registry, registered: Outcome
) -> None:
    before = ledger_size(registry)
    (outcome,) = submit(registry, [registration(name="Another Name Ltd.")])
    assert outcome.status == "rejected"
    assert outcome.problem is not None
    assert outcome.problem["status"] == 409
    assert outcome.problem["type"].endswith("/conflict")
    assert outcome.problem["field"] == "/event_id"
    assert ledger_size(registry) == before


def test_duplicates_within_one_batch(registry: Registry) -> None:
    first, second, third = submit(
        registry, [registration(), registration(), registration(name="Other Ltd.")]
    )
    assert first.status == "issued"
    assert second.status == "unchanged"
    assert third.status == "rejected"
    assert problem_of(third)["status"] == 409


# --- amendments, history, dissolution ----------------------------------------------------------


def _current_of(registry: Registry, slug: str) -> list[str]:
    with registry.engine.connect() as conn:
        return list(
            conn.execute(
                select(credentials.c.id).where(
                    credentials.c.organisation_id == ORG,
                    credentials.c.type == slug,
                    credentials.c.state == "current",
                )
            ).scalars()
        )


def test_name_change_supersedes_the_old_legal_name(registry: Registry, registered: Outcome) -> None:
    (old_name,) = _current_of(registry, "legal-name")
    before = ledger_size(registry)
    (outcome,) = submit(
        registry, [rec("name_change", "ev-2", date="2023-06-01", name="Lévesque Bakery Ltd.")]
    )
    (new_name,) = outcome.credentials
    assert outcome.status == "issued"

    old = credential_row(registry, old_name)
    assert (old.state, old.superseded_by) == ("superseded", new_name)
    assert credential_row(registry, new_name).state == "current"
    assert _current_of(registry, "legal-name") == [new_name]

    entries = ledger_entries(registry, before)
    assert [e.kind for e in entries] == ["credential.issued", "credential.superseded"]
    assert entries[1].payload["credential"] == old_name
    assert entries[1].payload["supersededBy"] == new_name
    assert history(registry, old_name) == [("issued", None), ("superseded", new_name)]
    new_index = credential_row(registry, new_name).status_index
    with registry.engine.connect() as conn:
        assert statuslists.bit(conn, BC, "revocation", old.status_index)
        assert not statuslists.bit(conn, BC, "revocation", new_index)
        org = conn.execute(select(organisations).where(organisations.c.id == ORG)).one()
    assert org.name == "Lévesque Bakery Ltd."

    assert failed(verify(registry, document(registry, new_name))) == []
    assert failed(verify(registry, document(registry, old_name))) == ["status"]


def test_an_older_name_change_arriving_late_is_history(
    registry: Registry, registered: Outcome
) -> None:
    (newer,) = submit(registry, [rec("name_change", "ev-3", date="2024-01-01", name="Newer Ltd.")])
    before = ledger_size(registry)
    (older,) = submit(registry, [rec("name_change", "ev-2", date="2023-01-01", name="Older Ltd.")])
    assert older.status == "history"
    (late,) = older.credentials
    (current,) = newer.credentials
    row = credential_row(registry, late)
    assert (row.state, row.superseded_by) == ("superseded", current)
    assert credential_row(registry, current).state == "current"
    assert _current_of(registry, "legal-name") == [current]
    entries = ledger_entries(registry, before)
    assert [e.kind for e in entries] == ["credential.issued", "credential.superseded"]
    assert entries[0].payload["current"] is False
    assert entries[1].payload["credential"] == late
    assert history(registry, late) == [("issued", None), ("superseded", current)]
    with registry.engine.connect() as conn:
        org = conn.execute(select(organisations).where(organisations.c.id == ORG)).one()
    assert org.name == "Newer Ltd."
    assert failed(verify(registry, document(registry, current))) == []
    assert failed(verify(registry, document(registry, late))) == ["status"]


def test_out_of_order_within_one_batch(registry: Registry) -> None:
    outcomes = submit(
        registry,
        [
            registration(),
            rec("name_change", "ev-3", date="2024-01-01", name="Newer Ltd."),
            rec("name_change", "ev-2", date="2023-01-01", name="Older Ltd."),
        ],
    )
    assert [o.status for o in outcomes] == ["issued", "issued", "history"]
    assert _current_of(registry, "legal-name") == list(outcomes[1].credentials)


def test_dissolution_supersedes_the_status_credential(
    registry: Registry, registered: Outcome
) -> None:
    (active,) = _current_of(registry, "status")
    (outcome,) = submit(
        registry,
        [rec("status_change", "ev-2", date="2025-01-31", status="dissolved", reason="voluntary")],
    )
    (dissolved,) = outcome.credentials
    assert credential_row(registry, active).state == "superseded"
    assert credential_row(registry, active).superseded_by == dissolved
    assert _current_of(registry, "status") == [dissolved]
    assert document(registry, dissolved)["credentialSubject"]["status"] == "dissolved"
    with registry.engine.connect() as conn:
        org = conn.execute(select(organisations).where(organisations.c.id == ORG)).one()
    assert org.status == "dissolved"
    # the registration and legal name stay current
    assert len(_current_of(registry, "registration")) == 1
    assert len(_current_of(registry, "legal-name")) == 1


# --- invalid and out-of-scope records -----------------------------------------------------------


def test_invalid_records_are_rejected_with_json_pointers(registry: Registry) -> None:
    before = ledger_size(registry)
    bad = [
        {k: v for k, v in registration().items() if k != "name"},
        registration("reg-2", effective_date="yesterday", extra_field=1),
        rec("address_change", "ev-3", address={"address_type": "nowhere"}),
        ["not", "an", "object"],
        rec("merger", "ev-4"),
    ]
    outcomes = submit(registry, bad)
    assert [o.status for o in outcomes] == ["rejected"] * 5
    assert [o.index for o in outcomes] == [0, 1, 2, 3, 4]
    problems = [problem_of(o) for o in outcomes]
    assert all(p["status"] == 422 for p in problems)
    assert all(p["type"].endswith("/invalid-record") for p in problems)
    assert problems[0]["field"] == "/name"
    assert {e["path"] for e in problems[1]["errors"]} >= {"/effective_date", "/extra_field"}
    assert problems[2]["field"].startswith("/address")
    assert problems[3]["field"] == ""
    assert problems[4]["field"] == "/kind"
    assert ledger_size(registry) == before


def test_invalid_records_do_not_stop_the_rest_of_a_batch(registry: Registry) -> None:
    outcomes = submit(registry, [{"kind": "registration"}, registration()])
    assert [o.status for o in outcomes] == ["rejected", "issued"]
    assert outcomes[0].event_id is None
    assert len(outcomes[1].credentials) == 3


def test_records_outside_the_jurisdiction_are_forbidden(registry: Registry) -> None:
    before = ledger_size(registry)
    (outcome,) = submit(registry, [registration(jurisdiction="CA-NS")])
    assert outcome.status == "rejected"
    assert outcome.problem is not None
    assert (outcome.problem["status"], outcome.problem["field"]) == (403, "/jurisdiction")
    assert ledger_size(registry) == before


def test_credential_types_outside_the_issuer_scope_are_forbidden(registry: Registry) -> None:
    with registry.engine.begin() as conn:
        create_issuer(
            conn,
            registry.ledger,
            slug="bc-names",
            did="did:web:registry.test:issuers:bc-names",
            name="Names only",
            jurisdiction="CA-BC",
            credential_types=["legal-name"],
            passphrase=PASSPHRASE,
        )
    before = ledger_size(registry)
    (name,) = submit(
        registry, [rec("name_change", "n-1", name="Only Names Ltd.")], issuer="bc-names"
    )
    assert name.status == "issued"
    (outcome,) = submit(registry, [registration()], issuer="bc-names")
    assert outcome.status == "rejected"
    assert problem_of(outcome)["status"] == 403
    assert ledger_size(registry) == before + 1


# --- revocation and suspension ------------------------------------------------------------------


def test_revoke_suspend_unsuspend(registry: Registry, registered: Outcome) -> None:
    service = issuance(registry)
    cid = registered.credentials[0]
    status_index = credential_row(registry, cid).status_index
    counted = ledger_size(registry)
    before = ledger_head(registry)
    index = service.change_status(BC, cid, "suspend", reason="under review", now=T0)
    assert index == before
    assert credential_row(registry, cid).suspended
    assert failed(verify(registry, document(registry, cid))) == ["status"]
    with pytest.raises(Conflict):
        service.change_status(BC, cid, "suspend", reason="again", now=T0)

    before = ledger_head(registry)
    index = service.change_status(BC, cid, "unsuspend", reason="review done", now=T0)
    assert index == before
    assert not credential_row(registry, cid).suspended
    assert failed(verify(registry, document(registry, cid))) == []
    with pytest.raises(Conflict):
        service.change_status(BC, cid, "unsuspend", reason="again", now=T0)

    before = ledger_head(registry)
    index = service.change_status(BC, cid, "revoke", reason="issued in error", now=T0)
    assert index == before
    assert credential_row(registry, cid).state == "revoked"
    with registry.engine.connect() as conn:
        assert statuslists.bit(conn, BC, "revocation", status_index)
        assert not statuslists.bit(conn, BC, "suspension", status_index)
    assert failed(verify(registry, document(registry, cid))) == ["status"]

    entries = ledger_entries(registry, counted)
    assert [e.kind for e in entries] == [
        "credential.suspended",
        "credential.unsuspended",
        "credential.revoked",
    ]
    assert entries[2].payload == {
        "credential": cid,
        "organisation": ORG,
        "reason": "issued in error",
    }
    assert [kind for kind, _ in history(registry, cid)] == [
        "issued",
        "suspended",
        "unsuspended",
        "revoked",
    ]

    size = ledger_size(registry)
    for action in ("revoke", "suspend", "unsuspend"):
        with pytest.raises(Conflict):
            service.change_status(BC, cid, action, reason="again", now=T0)
    assert ledger_size(registry) == size


def test_status_changes_refused(registry: Registry, registered: Outcome) -> None:
    service = issuance(registry)
    cid = registered.credentials[0]
    before = ledger_size(registry)
    with pytest.raises(Forbidden):
        service.change_status(NS, cid, "revoke", reason="not mine")
    with pytest.raises(NotFound):
        service.change_status(
            BC, "urn:uuid:00000000-0000-0000-0000-000000000000", "revoke", reason="x"
        )
    with pytest.raises(BadInput):
        service.change_status(BC, cid, "revoke", reason="   ")
    assert ledger_size(registry) == before
    assert credential_row(registry, cid).state == "current"


# --- signing keys ---------------------------------------------------------------------------------


def test_key_rotation(registry: Registry, registered: Outcome) -> None:
    did = "did:web:registry.test:issuers:bc-registries"
    before = ledger_size(registry)
    with registry.engine.begin() as conn:
        new_key = rotate_key(
            conn, registry.ledger, BC, passphrase=PASSPHRASE, now=T0 + timedelta(minutes=1)
        )
    assert new_key == f"{did}#key-2"
    entries = ledger_entries(registry, before)
    assert [(e.kind, e.payload["keyId"]) for e in entries] == [
        ("issuer.key.added", f"{did}#key-2"),
        ("issuer.key.retired", f"{did}#key-1"),
    ]

    (outcome,) = submit(
        registry,
        [rec("name_change", "ev-2", date="2023-06-01", name="New Name Ltd.")],
        now=T0 + timedelta(minutes=5),
    )
    new = document(registry, outcome.credentials[0])
    assert new["proof"]["verificationMethod"] == f"{did}#key-2"
    assert failed(verify(registry, new, now=T0 + timedelta(minutes=5))) == []

    # what key-1 signed before its retirement still verifies
    old_registration = document(registry, registered.credentials[0])
    assert old_registration["proof"]["verificationMethod"] == f"{did}#key-1"
    assert failed(verify(registry, old_registration, now=T0 + timedelta(minutes=5))) == []

    with registry.engine.connect() as conn:
        doc = did_document(conn, BC)
    methods = {m["id"]: m for m in doc["verificationMethod"]}
    assert "revoked" in methods[f"{did}#key-1"]
    assert "revoked" not in methods[f"{did}#key-2"]
    assert doc["assertionMethod"] == [f"{did}#key-2"]


def test_each_registry_signs_with_its_own_keys(tmp_path: Path, db_url: str) -> None:
    """Regression: the process-wide key cache was keyed by issuer and key id only, so a second
    registry whose issuer had the same DID URL signed with the first registry's key."""
    for n in range(2):
        reg, _ = open_test_registry(
            tmp_path / str(n), db_url if n == 0 else f"sqlite:///{tmp_path / 'second.sqlite3'}"
        )
        try:
            (outcome,) = submit(reg, [registration()])
            assert failed(verify(reg, document(reg, outcome.credentials[0]))) == []
        finally:
            reg.close()


def test_credentials_signed_in_the_second_of_a_rotation_still_verify(registry: Registry) -> None:
    """Regression: the DID document dated retirements to the whole second, so a credential
    signed earlier in that same second looked signed after its key was retired."""
    signed_at = T0 + timedelta(microseconds=200_000)
    (outcome,) = submit(registry, [registration()], now=signed_at)
    with registry.engine.begin() as conn:
        rotate_key(
            conn,
            registry.ledger,
            BC,
            passphrase=PASSPHRASE,
            now=T0 + timedelta(microseconds=700_000),
        )
    for cid in outcome.credentials:
        assert failed(verify(registry, document(registry, cid))) == []


# --- concurrency ----------------------------------------------------------------------------------


def test_concurrent_batches_get_distinct_status_indices(registry: Registry) -> None:
    """Regression (PostgreSQL): concurrent submissions read the same next status index, so two
    credentials shared a status-list bit and superseding one revoked the other."""
    batches = [
        [registration(f"reg-{b}-{n}", number=f"BC{b:02d}{n:05d}") for n in range(20)]
        for b in range(6)
    ]
    with ThreadPoolExecutor(max_workers=len(batches)) as pool:
        results = list(pool.map(lambda batch: submit(registry, batch), batches))
    assert all(o.status == "issued" for outcomes in results for o in outcomes)
    with registry.engine.connect() as conn:
        indices = list(conn.execute(select(credentials.c.status_index)).scalars())
        allocated = conn.execute(
            select(issuers.c.next_status_index).where(issuers.c.id == BC)
        ).scalar_one()
    assert len(indices) == 6 * 20 * 3
    assert len(set(indices)) == len(indices)
    assert allocated == len(indices)


def test_concurrent_revocations_append_one_entry(registry: Registry, registered: Outcome) -> None:
    """Two revocations of the same credential at once: one wins, the other is a conflict."""
    cid = registered.credentials[0]
    before = ledger_size(registry)

    def revoke(n: int) -> str:
        try:
            issuance(registry).change_status(BC, cid, "revoke", reason=f"attempt {n}")
        except Conflict:
            return "conflict"
        return "revoked"

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = sorted(pool.map(revoke, range(4)))
    assert answers == ["conflict", "conflict", "conflict", "revoked"]
    assert ledger_size(registry) == before + 1
