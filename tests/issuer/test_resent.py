"""A registration snapshot sent again under a new event id issues nothing new, and the
organisation's profile never lists the same former name twice (both backends)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from orgbook.runtime.registry import Registry
from orgbook.verifier.profiles import organisation_profile
from tests.issuer.test_service import (
    ORG,
    T0,
    ledger_size,
    open_test_registry,
    rec,
    registration,
    submit,
)


@pytest.fixture
def registry(tmp_path: Path, db_url: str) -> Iterator[Registry]:
    reg, _ = open_test_registry(tmp_path, db_url)
    yield reg
    reg.close()


def test_snapshot_sent_again_under_a_new_event_id_issues_nothing(registry: Registry) -> None:
    (first,) = submit(registry, [registration("reg-1")])
    assert first.status == "issued"
    before = ledger_size(registry)
    (again,) = submit(registry, [registration("reg-2")], now=T0 + timedelta(hours=1))
    assert ledger_size(registry) == before
    assert set(again.credentials) <= set(first.credentials)  # the ones already current
    # a changed snapshot issues only what changed
    (changed,) = submit(registry, [registration("reg-3", name="Nouveau Nom Ltée")])
    new = set(changed.credentials) - set(first.credentials)
    assert 0 < len(new) < len(first.credentials)  # registration and name, not the status
    assert ledger_size(registry) > before


def test_the_same_former_name_is_listed_once(registry: Registry) -> None:
    submit(registry, [registration("reg-1")])
    submit(registry, [rec("name_change", "n-1", date="2022-01-01", name="Second Name Ltd.")])
    # the first name sent again (another event id, same date): a late record, history at once
    submit(registry, [rec("name_change", "n-2", name="Boulangerie Lévesque Ltée")])
    submit(registry, [rec("name_change", "n-3", name="Boulangerie Lévesque Ltée")])
    with registry.engine.connect() as conn:
        names = organisation_profile(conn, ORG).names
    listed = [(n.name, n.valid_from) for n in names]
    assert len(listed) == len(set(listed))
    assert [n.name for n in names if n.current] == ["Second Name Ltd."]
    assert [n.name for n in names if not n.current] == ["Boulangerie Lévesque Ltée"]


def test_a_snapshot_sent_again_says_unchanged(registry: Registry) -> None:
    """The outcome says what happened: nothing new was issued (it once said ``issued``)."""
    submit(registry, [registration("reg-1")])
    (again,) = submit(registry, [registration("reg-2")], now=T0 + timedelta(hours=1))
    assert again.status == "unchanged"
    assert again.credentials  # the credentials already current, named


ADDRESS = {
    "address_type": "delivery",
    "street": "1 Rue Principale",
    "city": "Victoria",
    "region": "BC",
    "postal_code": "V8W 1A1",
    "country": "CA",
}


def test_a_snapshot_changing_only_its_last_part_issues_that_part(registry: Registry) -> None:
    """The first credentials of the snapshot are unchanged and only the address is new: the
    registry's event row points at the new credential's ledger entry (it once failed with a
    KeyError looking up an unchanged credential among the batch's new ones)."""
    (first,) = submit(registry, [registration("reg-1", address=ADDRESS)])
    moved = {**ADDRESS, "street": "2 Rue Principale"}
    before = ledger_size(registry)
    (changed,) = submit(registry, [registration("reg-2", address=moved)])
    assert changed.status == "issued"
    new = set(changed.credentials) - set(first.credentials)
    assert len(new) == 1
    assert ledger_size(registry) > before


def test_a_batch_mixing_a_resent_and_a_new_record(registry: Registry) -> None:
    submit(registry, [registration("reg-1")])
    other = registration("reg-9", number="BC1287140", name="Autre Entreprise Ltée")
    again, new = submit(registry, [registration("reg-2"), other])
    assert (again.status, new.status) == ("unchanged", "issued")
    assert not set(again.credentials) & set(new.credentials)


def test_the_event_id_of_a_snapshot_sent_again_is_recorded(registry: Registry) -> None:
    """Its event id, once used, cannot be reused for another record, as any other."""
    submit(registry, [registration("reg-1")])
    (again,) = submit(registry, [registration("reg-2")])
    assert again.status == "unchanged"
    (repeat,) = submit(registry, [registration("reg-2")])
    assert repeat.status == "unchanged"
    (reused,) = submit(registry, [registration("reg-2", name="Autre Nom Ltée")])
    assert reused.status == "rejected"
    assert reused.problem is not None
    assert "already used" in str(reused.problem)


def test_a_batch_counts_only_what_it_issued(registry: Registry) -> None:
    """The batch's ``credentials`` figure (API and bulk ingest) is what it issued, not what
    was already current."""
    (first,) = submit(registry, [registration("reg-1")])
    (again,) = submit(registry, [registration("reg-2")])
    assert first.issued == len(first.credentials)
    assert first.issued > 0
    assert again.issued == 0
