"""The request and response models of the feeds' HTTP API (feed pages, webhook subscriptions).

What it owns: the pydantic models :mod:`orgbook.feeds.api` and
:mod:`orgbook.feeds.subscriptions_api` declare (camelCase on the wire), hence their OpenAPI
schemas.

What it must not do: hold logic: feed pages are :mod:`orgbook.feeds.feed`'s, subscriptions
:mod:`orgbook.feeds.webhooks`'.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = [
    "FeedItemOut",
    "FeedPageOut",
    "FilterIn",
    "SubscriptionCreatedOut",
    "SubscriptionFilterOut",
    "SubscriptionIn",
    "SubscriptionOut",
    "SubscriptionsOut",
]


class _Out(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class FeedItemOut(_Out):
    index: int
    kind: str
    timestamp: str
    organisation: str | None
    credential: str | None
    type: str | None
    issuer: str | None
    leaf_hash: str


class FeedPageOut(_Out):
    items: list[FeedItemOut]
    next: int = Field(description="Pass as `after` to continue (the last index examined).")
    tree_size: int = Field(description="The ledger size this page was read against.")
    caught_up: bool = Field(description="The page reached the end of the ledger.")


class FilterIn(BaseModel):
    kind: Literal["all", "new-organisations", "organisation", "type"] = "all"
    value: str | None = Field(default=None, max_length=200)


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(max_length=2000, examples=["https://bank.example/orgbook-hook"])
    filter: FilterIn = Field(default_factory=FilterIn)
    after: int | None = Field(
        default=None,
        ge=-1,
        le=2**53 - 1,
        description="Deliver entries after this ledger index (default: from now on).",
    )


class SubscriptionFilterOut(_Out):
    kind: str
    value: str | None


class SubscriptionOut(_Out):
    id: str
    url: str
    filter: SubscriptionFilterOut
    status: str
    paused_reason: str | None
    cursor: int
    last_success_index: int | None
    last_success_at: str | None
    delivered: int
    attempts: int
    failing_since: str | None
    last_error: str | None
    last_attempt_at: str | None
    next_attempt_at: str | None
    created_at: str | None


class SubscriptionCreatedOut(SubscriptionOut):
    secret: str = Field(description="The signing secret: shown once, keep it.")


class SubscriptionsOut(_Out):
    subscriptions: list[SubscriptionOut]
