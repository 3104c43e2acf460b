"""Search cursors: a position in the ranked order, carried opaquely from one page to the next.

What it owns: the cursor's encoding — URL-safe base64 of a small JSON object with the
position ``(tier, score, sort key, org id)`` of the last thing a page looked at and the
fingerprint of the query it belongs to — and its strict decoding: anything else, a cursor of
another query (other text or filters) included, is a :class:`~orgbook.core.errors.BadInput` on
``cursor``. A page starts strictly after the position, so pages never repeat or skip a hit,
even with organisations indexed in between. What it must not do: find hits (the tiers do).
"""

from __future__ import annotations

import base64
import binascii
import json

from orgbook.core.errors import BadInput
from orgbook.search.plan import Plan
from orgbook.search.tiers import TIER_LIST, TIER_NUMBER, Position

__all__ = ["decode_cursor", "encode_cursor"]


def encode_cursor(plan: Plan, pos: Position) -> str:
    tier, neg_score, sort_key, org_id = pos
    body = {"v": 1, "q": plan.fingerprint, "t": tier, "s": -neg_score, "k": sort_key, "o": org_id}
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(plan: Plan, cursor: str) -> Position:
    bad = BadInput("cursor is not valid for this query (start again without one)", field="cursor")
    if not isinstance(cursor, str) or len(cursor) > 1000:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        body = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise bad from exc
    if not isinstance(body, dict) or set(body) != {"v", "q", "t", "s", "k", "o"}:
        raise bad
    tier, score, sort_key, org_id = body["t"], body["s"], body["k"], body["o"]
    if (
        body["v"] != 1
        or body["q"] != plan.fingerprint
        or type(tier) is not int
        or not TIER_NUMBER <= tier <= TIER_LIST
        or type(score) not in (int, float)
        or not 0 <= score <= 1
        or not isinstance(sort_key, str)
        or not isinstance(org_id, str)
    ):
        raise bad
    return (tier, -float(score), sort_key, org_id)
