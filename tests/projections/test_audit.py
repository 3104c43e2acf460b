"""``orgbook ledger audit`` re-derives every projection from the ledger and names the first
difference: the table, the row's key, the field, and the ledger entry it derives from.

Each test builds a registry with the demo issuers and the demo generator's feed (supersessions
and out-of-order history included), then revokes, suspends, unsuspends and rotates a key, on
SQLite and PostgreSQL; it tampers with one stored row, as someone with write access to the
database could, and runs the command. Before the projection audit the ledger audit said "ledger
sound" to all of these.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, delete, insert, select, text, update

from orgbook import cli
from orgbook.issuer import statuslists
from orgbook.issuer.keys import rotate_key
from orgbook.issuer.service import Issuance
from orgbook.ledger.store import ledger_entries
from orgbook.projections.audit import audit_projections
from orgbook.projections.comparisons import COMPARISONS
from orgbook.projections.searchdocs import mark_pending
from orgbook.projections.tables import (
    credential_events,
    credentials,
    issuer_keys,
    issuers,
    organisation_names,
    organisations,
    relationships,
    search_pending,
    status_list_versions,
    status_lists,
)
from orgbook.runtime.registry import Registry
from orgbook.search import search_name, search_org, search_tag
from tests.factories import PASSPHRASE, build_registry, issue

AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@dataclass
class Built:
    registry: Registry
    url: str
    data_dir: Path
    revoked: str  # a current address credential, revoked
    suspended: str  # suspended and still so
    unsuspended: str  # suspended, then unsuspended
    retired_key: str  # the key the rotation retired

    def audit(self, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
        code = cli.main(
            ["ledger", "audit", "--db", self.url, "--data-dir", str(self.data_dir), *extra]
        )
        out, _ = capsys.readouterr()
        return code, out

    def tamper(self, change: Callable[[Connection], Any]) -> None:
        with self.registry.engine.begin() as conn:
            change(conn)

    def one(self, query: Any) -> Any:
        with self.registry.engine.connect() as conn:
            return conn.execute(query).first()


@pytest.fixture
def built(tmp_path: Path, db_url: str) -> Iterator[Built]:
    registry = build_registry(tmp_path, 20, url=db_url)
    issuance: Any = Issuance(registry)
    with registry.engine.connect() as conn:
        current = conn.execute(
            select(credentials.c.id, credentials.c.issuer_id, credentials.c.type)
            .where(credentials.c.state == "current", credentials.c.issuer_id == "bc-registries")
            .order_by(credentials.c.ledger_index)
        ).all()
    address = next(row.id for row in current if row.type == "address")
    others = [row.id for row in current if row.type != "address"]
    issuance.change_status("bc-registries", address, "revoke", reason="issued in error", now=AT)
    issuance.change_status("bc-registries", others[0], "suspend", reason="review", now=AT)
    issuance.change_status("bc-registries", others[1], "suspend", reason="review", now=AT)
    issuance.change_status("bc-registries", others[1], "unsuspend", reason="done", now=AT)
    with registry.engine.begin() as conn:
        old_key = conn.execute(
            select(issuer_keys.c.key_id).where(issuer_keys.c.issuer_id == "bc-registries")
        ).scalar_one()
        rotate_key(conn, registry.ledger, "bc-registries", passphrase=PASSPHRASE, now=AT)
        registry.ledger.sign_checkpoint(conn, now=AT)
    # Signed with the new key: a late registration and a rename of an existing organisation.
    issue(
        registry,
        [
            {
                "event_id": "late-1",
                "kind": "registration",
                "jurisdiction": "CA-BC",
                "registration_number": "BC9999001",
                "effective_date": "2026-01-05",
                "name": "Après-Rotation Coopérative",
                "entity_type": "BC",
            }
        ],
        now=AT,
    )
    yield Built(
        registry,
        db_url,
        tmp_path / "data",
        revoked=address,
        suspended=others[0],
        unsuspended=others[1],
        retired_key=old_key,
    )
    registry.close()


def entry_kind(built: Built, index: int) -> str:
    return str(built.one(select(ledger_entries.c.kind).where(ledger_entries.c.idx == index))[0])


def source_of(out: str) -> tuple[int, str]:
    match = re.search(r"derived from ledger entry (\d+) \(([a-z.]+)\)", out)
    assert match, out
    return int(match.group(1)), match.group(2)


# --- the untouched registry -------------------------------------------------------------------


def test_an_untouched_registry_audits_clean(
    built: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = built.audit(capsys)
    assert code == 0, out
    assert "ledger sound" in out
    every = len(COMPARISONS)  # a projection added without a comparison is not audited
    assert re.search(rf"projections sound: [\d,]+ rows in {every} tables", out), out
    with built.registry.engine.connect() as conn:
        report = audit_projections(conn, built.registry.ledger)
        revoked_states = conn.execute(
            select(credentials.c.state, credentials.c.suspended).where(
                credentials.c.id.in_([built.revoked, built.suspended, built.unsuspended])
            )
        ).all()
    counts = dict(report.tables)
    assert list(counts) == [comparison.label for comparison in COMPARISONS]
    assert counts["credential_types"] == 0  # registered as data once a type is first defined
    assert counts["credentials"] > 150
    assert counts["issuer_keys"] == 4
    assert counts["status_lists"] >= 2
    assert counts["search_org"] == 21
    assert sorted(revoked_states) == [("current", False), ("current", True), ("revoked", False)]


def test_a_record_older_than_the_current_credential_audits_clean(
    tmp_path: Path, db_url: str
) -> None:
    """A late record is issued as history and superseded at once: its history event carries
    the reason its ledger entry gives, as replay derives it (it once said "out-of-order
    record", and the audit called a sound registry unsound)."""
    registry = build_registry(tmp_path, 2, url=db_url)
    late = {
        "kind": "registration",
        "jurisdiction": "CA-BC",
        "registration_number": "BC9999001",
        "name": "Late Arrival Ltd",
        "entity_type": "BC",
    }
    try:
        issue(registry, [{**late, "event_id": "new", "effective_date": "2026-02-01"}])
        outcomes = issue(registry, [{**late, "event_id": "old", "effective_date": "2025-01-01"}])
        assert [o.status for o in outcomes] == ["history"]
        with registry.engine.connect() as conn:
            report = audit_projections(conn, registry.ledger)
            reasons = conn.execute(
                select(credential_events.c.reason).where(
                    credential_events.c.kind == "superseded",
                    credential_events.c.credential_id == outcomes[0].credentials[0],
                )
            ).scalars()
            assert list(reasons) == ["a newer credential of this type was already current"]
        assert report.ok, report.summary()
    finally:
        registry.close()


def test_the_ledger_only_audit_skips_the_projections(
    built: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    built.tamper(lambda c: c.execute(update(organisations).values(name="Pwned Ltd.")))
    code, out = built.audit(capsys, "--ledger-only")
    assert code == 0
    assert "projections" not in out


def test_deferred_search_documents_are_not_compared_but_counted(
    built: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    # A bulk feed indexes the organisations it touched when it ends (search_pending): until
    # then their search documents lag the ledger, by design.
    org_id = built.one(select(search_org.c.org_id).order_by(search_org.c.org_id)).org_id

    def defer(conn: Connection) -> None:
        mark_pending(conn, [org_id])
        conn.execute(update(search_org).where(search_org.c.org_id == org_id).values(name="Old"))

    built.tamper(defer)
    code, out = built.audit(capsys)
    assert code == 0, out
    assert "1 organisation(s) with deferred search documents not compared" in out
    built.tamper(lambda c: c.execute(delete(search_pending)))
    code, out = built.audit(capsys)
    assert code == 1
    assert f"search_org[org_id='{org_id}'].name is \"Old\"" in out


def test_the_scratch_database_goes_where_asked_and_is_removed(
    built: Built, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    scratch = tmp_path / "scratch"
    code, out = built.audit(capsys, "--scratch-dir", str(scratch))
    assert code == 2  # not a directory: unusable configuration
    scratch.mkdir()
    code, out = built.audit(capsys, "--scratch-dir", str(scratch))
    assert code == 0, out
    assert list(scratch.iterdir()) == []


# --- credentials ------------------------------------------------------------------------------


def test_a_revoked_credential_set_back_to_current_and_its_bit_cleared_and_resigned(
    built: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    # The attack of issue 14: the profile and the re-signed status list both say "current".
    row = built.one(select(credentials).where(credentials.c.id == built.revoked))

    def attack(conn: Connection) -> None:
        conn.execute(update(credentials).where(credentials.c.id == row.id).values(state="current"))
        statuslists.set_bits(conn, row.issuer_id, "revocation", [row.status_index], False)
        issuance: Any = Issuance(built.registry)
        issuance._refresh_status_lists(conn, row.issuer_id, AT)

    built.tamper(attack)
    code, out = built.audit(capsys)
    assert code == 1
    assert "ledger sound" in out
    assert f'credentials[id=\'{row.id}\'].state is "current", the ledger gives "revoked"' in out
    index, kind = source_of(out)
    assert kind == "credential.revoked"
    assert entry_kind(built, index) == kind


def test_a_status_list_bit_cleared_and_the_list_resigned(
    built: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    row = built.one(select(credentials).where(credentials.c.id == built.revoked))

    def clear(conn: Connection) -> None:
        statuslists.set_bits(conn, row.issuer_id, "revocation", [row.status_index], False)
        issuance: Any = Issuance(built.registry)
        issuance._refresh_status_lists(conn, row.issuer_id, AT)

    built.tamper(clear)
    code, out = built.audit(capsys)
    assert code == 1
    number, position = divmod(row.status_index, statuslists.LIST_SIZE)
    assert (
        f"status_lists[issuer_id='bc-registries', purpose='revocation', list_number={number}]"
        f".bits[{position}] is 0, the ledger gives 1 (status index {row.status_index}, "
        f"credential {row.id})"
    ) in out
    assert source_of(out)[1] == "credential.revoked"


def test_a_stale_signed_status_list_is_caught_though_the_bits_are_right(
    built: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    # The signed copy a verifier is served says "not suspended"; the stored bits are right.
    row = built.one(select(credentials).where(credentials.c.id == built.suspended))
    key = (
        status_lists.c.issuer_id == row.issuer_id,
        status_lists.c.purpose == "suspension",
        status_lists.c.list_number == row.status_index // statuslists.LIST_SIZE,
    )

    def replay_old_signature(conn: Connection) -> None:
        bits = conn.execute(select(status_lists.c.bits).where(*key)).scalar_one()
        statuslists.set_bits(conn, row.issuer_id, "suspension", [row.status_index], False)
        issuance: Any = Issuance(built.registry)
        issuance._refresh_status_lists(conn, row.issuer_id, AT)
        conn.execute(update(status_lists).where(*key).values(bits=bits))

    built.tamper(replay_old_signature)
    code, out = built.audit(capsys)
    assert code == 1
    assert "purpose='suspension'" in out
    assert ".signed[" in out
    assert "is 0, the ledger gives 1" in out
    assert source_of(out)[1] == "credential.suspended"


def test_a_logged_status_list_version_deleted(
    built: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    # Revocation transparency: the record of which signed lists the ledger logged.
    row = built.one(
        select(status_list_versions.c.digest, status_list_versions.c.ledger_index).order_by(
            status_list_versions.c.ledger_index
        )
    )
    assert row is not None
    built.tamper(
        lambda c: c.execute(
            delete(status_list_versions).where(status_list_versions.c.digest == row.digest)
        )
    )
    code, out = built.audit(capsys)
    assert code == 1
    assert f"status_list_versions[digest='{row.digest}'] is missing (the ledger derives it)" in out
    assert source_of(out)[0] == row.ledger_index


def test_a_suspension_lifted_in_the_database_only(
    built: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    built.tamper(
        lambda c: c.execute(
            update(credentials).where(credentials.c.id == built.suspended).values(suspended=False)
        )
    )
    code, out = built.audit(capsys)
    assert code == 1
    assert f"credentials[id='{built.suspended}'].suspended is False, the ledger gives True" in out
    assert source_of(out)[1] == "credential.suspended"


def test_an_old_address_made_current_again(
    built: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    # The profile shows current address credentials: an old one would be served as current.
    old = built.one(
        select(credentials.c.id).where(
            credentials.c.type == "address", credentials.c.state == "superseded"
        )
    )
    assert old is not None
    built.tamper(
        lambda c: c.execute(
            update(credentials)
            .where(credentials.c.id == old.id)
            .values(state="current", superseded_by=None)
        )
    )
    code, out = built.audit(capsys)
    assert code == 1
    assert f"credentials[id='{old.id}'].state is \"current\"" in out
    assert 'the ledger gives "superseded"' in out
    assert source_of(out)[1] == "credential.superseded"


def test_an_address_moved_to_another_organisation(
    built: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    row = built.one(
        select(credentials.c.id, credentials.c.ledger_index).where(
            credentials.c.type == "address", credentials.c.state == "current"
        )
    )
    built.tamper(
        lambda c: c.execute(
            update(credentials)
            .where(credentials.c.id == row.id)
            .values(organisation_id="CA-BC:BC9999001")
        )
    )
    code, out = built.audit(capsys)
    assert code == 1
    assert f"credentials[id='{row.id}'].organisation_id is \"CA-BC:BC9999001\"" in out
    assert source_of(out) == (row.ledger_index, "credential.issued")


def test_a_credential_history_event_deleted(
    built: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    index = built.one(
        select(credential_events.c.ledger_index).where(credential_events.c.kind == "revoked")
    ).ledger_index
    built.tamper(
        lambda c: c.execute(
            delete(credential_events).where(credential_events.c.ledger_index == index)
        )
    )
    code, out = built.audit(capsys)
    assert code == 1
    assert f"credential_events[ledger_index={index}] is missing (the ledger derives it)" in out
    assert source_of(out) == (index, "credential.revoked")


# --- organisations, names, relationships ------------------------------------------------------


def test_a_name_changed(built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    row = built.one(
        select(organisation_names.c.credential_id, organisation_names.c.name).where(
            organisation_names.c.current.is_(True)
        )
    )
    built.tamper(
        lambda c: c.execute(
            update(organisation_names)
            .where(organisation_names.c.credential_id == row.credential_id)
            .values(name="Pwned Ltd.")
        )
    )
    code, out = built.audit(capsys)
    assert code == 1
    assert (
        f"organisation_names[credential_id='{row.credential_id}'].name is \"Pwned Ltd.\", "
        f'the ledger gives "{row.name}"'
    ) in out
    assert source_of(out)[1] == "credential.issued"


def test_an_organisation_renamed_and_its_status_changed(
    built: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    org = built.one(select(organisations.c.id, organisations.c.name).order_by(organisations.c.id))
    built.tamper(
        lambda c: c.execute(
            update(organisations)
            .where(organisations.c.id == org.id)
            .values(name="Pwned Ltd.", status="dissolved")
        )
    )
    code, out = built.audit(capsys)
    assert code == 1
    assert f"organisations[id='{org.id}'].name is \"Pwned Ltd.\"" in out
    index, kind = source_of(out)
    assert kind == "credential.issued"
    legal_name = built.one(select(credentials.c.type).where(credentials.c.ledger_index == index))
    assert legal_name.type == "legal-name"


def test_a_relationship_deleted(built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    row = built.one(select(relationships.c.credential_id).order_by(relationships.c.credential_id))
    assert row is not None
    issued = built.one(
        select(credentials.c.ledger_index).where(credentials.c.id == row.credential_id)
    ).ledger_index
    built.tamper(
        lambda c: c.execute(
            delete(relationships).where(relationships.c.credential_id == row.credential_id)
        )
    )
    code, out = built.audit(capsys)
    assert code == 1
    assert (
        f"relationships[credential_id='{row.credential_id}'] is missing (the ledger derives it)"
    ) in out
    assert source_of(out) == (issued, "credential.issued")


# --- issuers and keys -------------------------------------------------------------------------


def test_an_issuer_key_added(built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    # Served in the issuer's DID document: a verifier would accept what this key signs.
    forged = "did:web:registry.test:issuers:bc-registries#key-9"
    built.tamper(
        lambda c: c.execute(
            insert(issuer_keys).values(
                key_id=forged,
                issuer_id="bc-registries",
                public_key=bytes(32),
                active=True,
                created_at=AT,
                added_index=1,
            )
        )
    )
    code, out = built.audit(capsys)
    assert code == 1
    assert f"issuer_keys[key_id='{forged}'] is stored but no ledger entry derives it" in out


def test_an_issuer_key_altered(built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    row = built.one(
        select(issuer_keys.c.key_id, issuer_keys.c.added_index).where(
            issuer_keys.c.issuer_id == "ns-rjsc"
        )
    )
    built.tamper(
        lambda c: c.execute(
            update(issuer_keys)
            .where(issuer_keys.c.key_id == row.key_id)
            .values(public_key=bytes(range(32)))
        )
    )
    code, out = built.audit(capsys)
    assert code == 1
    assert f"issuer_keys[key_id='{row.key_id}'].public_key is 0x000102" in out
    assert source_of(out) == (row.added_index, "issuer.key.added")


def test_a_retired_key_reactivated(built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    built.tamper(
        lambda c: c.execute(
            update(issuer_keys)
            .where(issuer_keys.c.key_id == built.retired_key)
            .values(active=True, retired_at=None, retired_index=None)
        )
    )
    code, out = built.audit(capsys)
    assert code == 1
    assert f"issuer_keys[key_id='{built.retired_key}'].active is True" in out
    assert "the ledger gives False" in out
    assert source_of(out)[1] == "issuer.key.retired"


def test_an_issuer_renamed(built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    built.tamper(
        lambda c: c.execute(update(issuers).where(issuers.c.id == "ns-rjsc").values(name="Pwned"))
    )
    code, out = built.audit(capsys)
    assert code == 1
    assert "issuers[id='ns-rjsc'].name is \"Pwned\"" in out
    assert source_of(out)[1] == "issuer.registered"


# --- the search index -------------------------------------------------------------------------


def test_a_search_document_removed(built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    org_id = built.one(select(search_org.c.org_id).order_by(search_org.c.org_id)).org_id
    built.tamper(lambda c: c.execute(delete(search_org).where(search_org.c.org_id == org_id)))
    code, out = built.audit(capsys)
    assert code == 1
    assert f"search_org[org_id='{org_id}'] is missing (the ledger derives it)" in out


def test_a_searchable_name_altered(built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    row = built.one(select(search_name.c.id, search_name.c.org_id).order_by(search_name.c.id))
    built.tamper(
        lambda c: c.execute(
            update(search_name).where(search_name.c.id == row.id).values(name="Pwned Ltd.")
        )
    )
    code, out = built.audit(capsys)
    assert code == 1
    assert f"search_name[org_id='{row.org_id}', norm=" in out
    assert '.name is "Pwned Ltd."' in out


def test_a_search_filter_row_added(built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    org_id = built.one(select(search_org.c.org_id).order_by(search_org.c.org_id)).org_id
    built.tamper(
        lambda c: c.execute(
            insert(search_tag).values(org_id=org_id, kind="i", value="corporations-canada")
        )
    )
    code, out = built.audit(capsys)
    assert code == 1
    assert (
        f"search_tag[org_id='{org_id}', kind='i', value='corporations-canada'] is stored but no "
        "ledger entry derives it"
    ) in out


# --- the ledger's own columns -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value"),
    [("kind", "credential.revoked"), ("timestamp", "2001-01-01T00:00:00.000000Z")],
)
def test_a_ledger_entry_column_edited(
    built: Built, capsys: pytest.CaptureFixture[str], column: str, value: str
) -> None:
    # Queries select entries by these columns (the feed, the projection audit itself): they must
    # say what the hashed bytes say.
    index = 7
    hashed = built.one(select(ledger_entries.c[column]).where(ledger_entries.c.idx == index))[0]
    built.tamper(
        lambda c: c.execute(
            update(ledger_entries).where(ledger_entries.c.idx == index).values({column: value})
        )
    )
    code, out = built.audit(capsys)
    assert code == 1
    assert (
        f"ledger UNSOUND at entry {index}: the stored {column} column is '{value}' but the "
        f"entry's bytes say '{hashed}'"
    ) in out


def test_ledger_entries_that_derive_no_projection(
    built: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    # A sound ledger can still hold entries no projection can come from: a failed audit, not a
    # crash, naming where.
    with built.registry.engine.begin() as conn:
        size = built.registry.ledger.size(conn)
        built.registry.ledger.append(conn, "credential.revoked", {"credential": "urn:uuid:nope"})
        built.registry.ledger.sign_checkpoint(conn)
    code, out = built.audit(capsys)
    assert code == 1
    assert "ledger sound" in out
    assert "projections UNSOUND: the projections cannot be derived from the entries from " in out
    assert str(size - size % 1000) in out


def test_the_audit_runs_in_one_snapshot_with_nothing_written(built: Built) -> None:
    # Read-only on the audited database: the projection audit writes only its scratch copy.
    def counts(conn: Connection) -> list[int]:
        tables = ("credentials", "organisations", "status_lists", "search_org", "issuer_keys")
        return [conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in tables]

    with built.registry.engine.connect() as conn:
        before = counts(conn)
        assert audit_projections(conn, built.registry.ledger).ok
        conn.rollback()
        assert counts(conn) == before
