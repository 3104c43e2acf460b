"""Bundles: a credential with everything an offline verifier needs, under a signed checkpoint.

What it owns: :func:`bundle_for` — the credential's signed document and ledger entry, its
inclusion proof, the issuer's registration and key entries, the status lists and status events
it names (revocation transparency), and the authorisation entries when an authorisation covers
it (with its registered type's ``type.registered`` entry), each with its inclusion proof, under
the latest (or a given) signed checkpoint.

What it must not do: write, know about HTTP, or verify anything (``orgbook.verification``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, select

from orgbook.core.errors import NotFound
from orgbook.ledger.note import Checkpoint, parse_note
from orgbook.ledger.store import Ledger
from orgbook.projections.authorisations import bundle_indices
from orgbook.projections.credential_types import type_of_credential
from orgbook.projections.tables import (
    credential_events,
    issuer_keys,
    issuers,
)
from orgbook.verification.bundle import build_bundle
from orgbook.verifier.profiles import find_credential
from orgbook.verifier.status_lists import STATUS_PATH, status_urls

__all__ = ["bundle_for"]


def bundle_for(
    conn: Connection, ledger: Ledger, credential_id: str, *, tree_size: int | None = None
) -> dict[str, Any]:
    """The bundle of a credential under the latest checkpoint (or the one at ``tree_size``)."""
    stored = find_credential(conn, credential_id)
    note = (
        ledger.latest_checkpoint(conn)
        if tree_size is None
        else ledger.checkpoint_at(conn, tree_size)
    )
    if note is None:
        where = "yet" if tree_size is None else f"at tree size {tree_size}"
        raise NotFound(f"the ledger has no signed checkpoint {where}", field="tree_size")
    size = Checkpoint.parse(parse_note(note).text).size
    # Witness cosignatures received so far travel with the bundle, so a verifier that requires
    # k of n witnesses can check it offline.
    from orgbook.ledger.cosignatures import cosignatures_at
    from orgbook.ledger.note import add_signatures

    cosigned = cosignatures_at(conn, size)
    if cosigned:
        note = add_signatures(note, cosigned)
    if stored.ledger_index >= size:
        raise NotFound(
            f"credential {credential_id} (entry {stored.ledger_index}) is not in the checkpoint "
            f"at tree size {size}",
            field="tree_size",
        )
    entry = ledger.entry(conn, stored.ledger_index).entry
    proof = ledger.inclusion_proof(conn, entry.index, size)

    issuer_index = conn.execute(
        select(issuers.c.ledger_index).where(issuers.c.id == stored.issuer_id)
    ).scalar_one()
    key_indices: list[int] = []
    for added, retired in conn.execute(
        select(issuer_keys.c.added_index, issuer_keys.c.retired_index).where(
            issuer_keys.c.issuer_id == stored.issuer_id
        )
    ):
        key_indices += [int(i) for i in (added, retired) if i is not None and i < size]

    def proven(index: int) -> tuple[Any, list[bytes]]:
        return ledger.entry(conn, index).entry, ledger.inclusion_proof(conn, index, size)

    logged = entry.payload.get("credential")
    credential = logged if isinstance(logged, Mapping) else {}
    # A credential issued under an authorisation carries it (orgbook.projections.authorisations).
    authorised = bundle_indices(conn, credential, entry.index, size)
    # ... and its registered type's entry, so its subject is checked against the type's schema.
    registered = type_of_credential(conn, credential) if authorised else None
    type_index = registered.index if registered is not None else None
    return build_bundle(
        credential=credential,
        entry=entry,
        proof=proof,
        checkpoint_note=note,
        issuer=proven(int(issuer_index)) if issuer_index < size else None,
        issuer_keys=[proven(i) for i in sorted(set(key_indices))],
        status_lists=[proven(i) for i in _published_indices(conn, credential, size)],
        status_events=[proven(i) for i in _status_event_indices(conn, credential_id, size)],
        authorisation=proven(authorised[0]) if authorised else None,
        governance=[proven(i) for i in authorised[1]] if authorised else (),
        withdrawals=[proven(i) for i in authorised[2]] if authorised else (),
        credential_type=proven(type_index)
        if type_index is not None and type_index < size
        else None,
    )


_STATUS_EVENT_KINDS = ("revoked", "suspended", "unsuspended", "superseded")


def _status_event_indices(conn: Connection, credential_id: str, size: int) -> list[int]:
    """Ledger indices of the credential's revocation, suspension and supersession entries.

    Found through ``credential_events`` (indexed by credential), but what a verifier reads is
    each ledger entry itself, proven under the checkpoint: the row only says where to look.
    """
    rows = conn.execute(
        select(credential_events.c.ledger_index).where(
            credential_events.c.credential_id == credential_id,
            credential_events.c.kind.in_(_STATUS_EVENT_KINDS),
            credential_events.c.ledger_index < size,
        )
    ).scalars()
    return sorted(int(i) for i in rows)


def _published_indices(conn: Connection, credential: Mapping[str, Any], size: int) -> list[int]:
    """The ``statuslist.published`` entry of the latest logged version of each status list
    ``credential`` names (below tree size ``size``)."""
    from orgbook.projections.tables import status_list_versions

    v = status_list_versions.c
    found: list[int] = []
    for url in status_urls(credential):
        match = STATUS_PATH.search(url)
        if match is None:
            continue
        index = conn.execute(
            select(v.ledger_index)
            .where(
                v.issuer_id == match.group(1),
                v.purpose == match.group(2),
                v.list_number == int(match.group(3)),
                v.ledger_index < size,
            )
            .order_by(v.ledger_index.desc())
            .limit(1)
        ).scalar()
        if index is not None:
            found.append(int(index))
    return sorted(set(found))


# --- status lists for server-side verification --------------------------------------------------
