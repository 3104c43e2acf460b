"""HTTP routes of webhook subscriptions, ``/api/v1/subscriptions``: the subscriptions of the
subscriber whose API key (``Authorization: Bearer obs_…``) calls.

What it owns: the module-level :data:`routes` (included by :mod:`orgbook.feeds.api` after the
feed's), the ``SubscriberApiKey`` security scheme and the subscriber dependency (401 with
``WWW-Authenticate: Bearer`` otherwise).

What it must not do: hold the subscriptions' logic (:mod:`orgbook.feeds.webhooks`) or deliver
(:mod:`orgbook.feeds.delivery`). Routes are thin.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.responses import Response

from orgbook.core.errors import Unauthorized
from orgbook.feeds import webhooks
from orgbook.feeds.models import (
    SubscriptionCreatedOut,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionsOut,
)
from orgbook.http.deps import EngineDep
from orgbook.http.middleware import no_store
from orgbook.http.problems import HEADERS_ATTR
from orgbook.http.ratelimit import rate_limited
from orgbook.http.routing import PooledRoute
from orgbook.storage.engine import reading

__all__ = ["routes"]

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="SubscriberApiKey",
    description="A subscriber API key (`obs_<id>_<secret>`) from "
    "`orgbook webhooks subscriber create NAME`.",
)


def _subscriber(
    engine: EngineDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    try:
        with reading(engine) as conn:
            return webhooks.authenticate_subscriber(
                conn, bearer.credentials.strip() if bearer else None
            )
    except Unauthorized as exc:
        setattr(exc, HEADERS_ATTR, {"WWW-Authenticate": 'Bearer realm="orgbook subscriptions"'})
        raise


SubscriberDep = Annotated[str, Depends(_subscriber)]
SubscriptionIdPath = Annotated[str, Path(min_length=1, max_length=64)]


def _sub_out(sub: webhooks.Subscription) -> SubscriptionOut:
    return SubscriptionOut.model_validate(sub.to_json())


routes = APIRouter(
    route_class=PooledRoute,
    prefix="/subscriptions",
    dependencies=[rate_limited("read"), Depends(no_store)],
    responses={401: {"description": "No valid subscriber API key."}},
)


@routes.post("", status_code=201, summary="Subscribe a URL to ledger entries")
def create(
    engine: EngineDep, subscriber: SubscriberDep, body: SubscriptionIn
) -> SubscriptionCreatedOut:
    with engine.begin() as conn:
        sub = webhooks.create_subscription(
            conn,
            subscriber,
            url=body.url,
            filter_kind=body.filter.kind,
            filter_value=body.filter.value,
            after=body.after,
        )
    return SubscriptionCreatedOut.model_validate({**sub.to_json(), "secret": sub.secret})


@routes.get("", summary="This subscriber's subscriptions")
def list_(engine: EngineDep, subscriber: SubscriberDep) -> SubscriptionsOut:
    with reading(engine) as conn:
        found = webhooks.list_subscriptions(conn, subscriber_id=subscriber)
    return SubscriptionsOut(subscriptions=[_sub_out(s) for s in found])


@routes.get("/{subscription_id}", summary="A subscription: status, last error, progress")
def get(
    engine: EngineDep, subscriber: SubscriberDep, subscription_id: SubscriptionIdPath
) -> SubscriptionOut:
    with reading(engine) as conn:
        return _sub_out(webhooks.get_subscription(conn, subscription_id, subscriber_id=subscriber))


@routes.post("/{subscription_id}/resume", summary="Resume a paused subscription")
def resume(
    engine: EngineDep, subscriber: SubscriberDep, subscription_id: SubscriptionIdPath
) -> SubscriptionOut:
    with engine.begin() as conn:
        sub = webhooks.resume_subscription(conn, subscription_id, subscriber_id=subscriber)
    return _sub_out(sub)


@routes.post("/{subscription_id}/pause", summary="Pause a subscription")
def pause(
    engine: EngineDep, subscriber: SubscriberDep, subscription_id: SubscriptionIdPath
) -> SubscriptionOut:
    with engine.begin() as conn:
        sub = webhooks.pause_subscription(
            conn, subscription_id, "paused by the subscriber", subscriber_id=subscriber
        )
    return _sub_out(sub)


@routes.delete("/{subscription_id}", status_code=204, summary="Delete a subscription")
def delete(
    engine: EngineDep, subscriber: SubscriberDep, subscription_id: SubscriptionIdPath
) -> Response:
    with engine.begin() as conn:
        webhooks.delete_subscription(conn, subscription_id, subscriber_id=subscriber)
    return Response(status_code=204)
