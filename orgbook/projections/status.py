"""Status-list bits as stored, and the record of signed lists: projections of the ledger.

Every credential gets one status index ``i`` shared by two lists, ``revocation`` and
``suspension``: list number ``i // LIST_SIZE``, position ``i % LIST_SIZE``. The bits are stored
raw (16 KiB per list of 131,072 entries, index 0 the left-most bit as the spec says) in
``status_lists``; the ledger's revocation, suspension and supersession entries set them, and
``statuslist.published`` entries (every signed version of a list) are recorded in
``status_list_versions``. Issuance and ``ledger replay`` write both through this module.

Signing the lists (with the issuer's key) is the issuer's: :mod:`orgbook.issuer.statuslists`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, select, update

from orgbook.projections.tables import status_list_versions, status_lists

__all__ = ["LIST_SIZE", "PUBLISHED_KIND", "bit", "record_published", "set_bits"]

PUBLISHED_KIND = "statuslist.published"

LIST_SIZE = 131_072


def set_bits(
    conn: Connection, issuer_id: str, purpose: str, indices: Iterable[int], value: bool
) -> None:
    """Set (or clear) the bits of ``indices`` in the issuer's ``purpose`` lists."""
    by_list: dict[int, list[int]] = defaultdict(list)
    for index in indices:
        number, position = divmod(index, LIST_SIZE)
        by_list[number].append(position)
    for number, positions in by_list.items():
        key = (
            status_lists.c.issuer_id == issuer_id,
            status_lists.c.purpose == purpose,
            status_lists.c.list_number == number,
        )
        row = conn.execute(select(status_lists.c.bits, status_lists.c.version).where(*key)).first()
        bits = bytearray(row.bits) if row else bytearray(LIST_SIZE // 8)
        for position in positions:
            mask = 0x80 >> (position % 8)
            if value:
                bits[position // 8] |= mask
            else:
                bits[position // 8] &= ~mask & 0xFF
        if row is None:
            conn.execute(
                status_lists.insert().values(
                    issuer_id=issuer_id,
                    purpose=purpose,
                    list_number=number,
                    bits=bytes(bits),
                    version=1,
                )
            )
        else:
            conn.execute(
                update(status_lists).where(*key).values(bits=bytes(bits), version=row.version + 1)
            )


def bit(conn: Connection, issuer_id: str, purpose: str, index: int) -> bool:
    number, position = divmod(index, LIST_SIZE)
    row = conn.execute(
        select(status_lists.c.bits).where(
            status_lists.c.issuer_id == issuer_id,
            status_lists.c.purpose == purpose,
            status_lists.c.list_number == number,
        )
    ).first()
    if row is None:
        return False
    return bool(row.bits[position // 8] & (0x80 >> (position % 8)))


def record_published(conn: Connection, payload: Any, index: int) -> None:
    """Project a ``statuslist.published`` entry (issuance and ``ledger replay`` alike)."""
    conn.execute(
        status_list_versions.insert().values(
            digest=str(payload["digest"]),
            ledger_index=index,
            issuer_id=str(payload["issuer"]),
            purpose=str(payload["purpose"]),
            list_number=int(payload["number"]),
        )
    )
