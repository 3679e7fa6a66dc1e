"""/api/v1: what the hub knows, for machines, behind `Authorization: Bearer <token>`.

The token is hub.yaml's `http.api_token`; without one every route answers 503
(the API is never open). Bodies are the CLI's --json shapes (hub/views.py,
sync/health.py). Lists are newest first (stock: by SKU) and paged by key:
`limit` (at most 500) and the `cursor` of the `Link: <...>; rel="next"` header,
which is present only when more rows follow. Configured secret values are
masked in every body, whatever row they might have slipped into.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AwareDatetime
from sqlmodel import Session, col, select

from omnisync.core.cancellation import cancel_in_hub
from omnisync.core.catalog import location_by_code, sku_by_code
from omnisync.core.clock import utcnow
from omnisync.core.db import transaction
from omnisync.core.holds import hold_order, release_order
from omnisync.core.ledger import adjust_stock
from omnisync.core.models import Channel, Sku, StockMovement
from omnisync.core.quarantine import resolve_payload
from omnisync.core.types import AlertState, OrderStatus, SyncRunStatus
from omnisync.hub.api_models import (
    AdjustmentIn,
    AdjustmentOut,
    AlertDetailOut,
    AlertOut,
    AlertResolutionOut,
    AlertResolveIn,
    CancelIn,
    CancellationOut,
    ChannelOut,
    ErrorOut,
    HoldIn,
    OrderDetailOut,
    OrderOut,
    QuarantineDetailOut,
    QuarantineOut,
    QuarantineResolutionOut,
    QuarantineResolveIn,
    ShipmentIn,
    ShipmentOut,
    StatusOut,
    StockOut,
    SyncRunOut,
)
from omnisync.hub.cancellation import cancellation_view, channel_not_told, push_cancellation
from omnisync.hub.settings import Settings
from omnisync.hub.shipping import ShipRequest, ship_order
from omnisync.hub.views import (
    JSON,
    alert_list,
    alert_resolution_view,
    channel_list,
    find_alert,
    find_order,
    find_quarantined,
    order_detail,
    order_list,
    quarantine_list,
    quarantine_resolution_view,
    shipment_views,
    stock_list,
    sync_run_list,
)
from omnisync.sync.alert_resolution import resolve_by_hand
from omnisync.sync.engine import SyncEngine
from omnisync.sync.health import (
    channel_health,
    channel_health_view,
    health_view,
    hub_health,
    scheduled_jobs,
)
from omnisync.sync.quarantine import retry_payload
from omnisync.sync.redaction import redact_data

SettingsSource = Callable[[], Settings | None]

MAX_LIMIT = 500
DISABLED = "the REST API is disabled until http.api_token is set in hub.yaml"
BAD_CURSOR = "cursor: not a cursor this API gave out (take it from the Link header)"
RESOLVED = "The payload was resolved already."
HELD = "The order is on hold: release it first."
UNCANCELLABLE = "The channel cancelled or fulfils the order, or nothing is left to cancel."
UNHOLDABLE = "The order is on hold already, or has nothing left to ship."
NOT_HELD = "The order is not on hold."

Limit = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description=f"At most this many rows (1 to {MAX_LIMIT}).")
]
CursorParam = Annotated[
    str | None,
    Query(max_length=400, description='From the `Link: <...>; rel="next"` of the page before.'),
]
ChannelFilter = Annotated[str | None, Query(max_length=100, description="Only this channel.")]
PayloadId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The quarantined payload's id.")]
AlertId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The alert's id.")]
ALERT_RESOLVED = "The alert was resolved already."
API_RESOLVER = "api"
"""`resolved_by` of what is resolved through the API (its one token has no name)."""

_bearer = HTTPBearer(auto_error=False, description="The `http.api_token` of hub.yaml.")


class TokenCheck:
    """The dependency that guards every /api/v1 route."""

    def __init__(self, settings: SettingsSource) -> None:
        self.settings = settings

    def __call__(
        self, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> None:
        current = self.settings()
        expected = current.hub.http.api_token if current is not None else None
        if expected is None:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, DISABLED)
        given = credentials.credentials if credentials is not None else ""
        # Compared as bytes in constant time: how far a guess matches must not show.
        if not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "missing or wrong bearer token" if given else "missing bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for dependency in dependant.dependencies:
        names |= _query_names(dependency)
    return names


def reject_unknown_query(request: Request) -> None:
    """A misspelt filter (`?chanel=shop`) would silently widen a list: refuse it."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    unknown = sorted(set(request.query_params) - _query_names(route.dependant))
    if unknown:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "; ".join(f"query.{name}: not a parameter of this route" for name in unknown),
        )


def encode_cursor(*parts: str | int) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


def decode_cursor(text: str, *kinds: type) -> list[Any]:
    """The parts of a cursor made by encode_cursor, checked against `kinds`; 422 otherwise."""
    try:
        parts = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, binascii.Error):
        parts = None
    if (
        not isinstance(parts, list)
        or len(parts) != len(kinds)
        or not all(
            isinstance(part, kind) and not isinstance(part, bool)
            for part, kind in zip(parts, kinds, strict=True)
        )
    ):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, BAD_CURSOR)
    return parts


def _page(
    rows: list[JSON],
    limit: int,
    request: Request,
    response: Response,
    cursor_of: Callable[[JSON], tuple[str | int, ...]],
) -> list[JSON]:
    """Trim the one row read beyond `limit`; its presence means a next page (Link header)."""
    if len(rows) <= limit:
        return rows
    rows = rows[:limit]
    following = request.url.include_query_params(cursor=encode_cursor(*cursor_of(rows[-1])))
    response.headers["Link"] = f'<{following}>; rel="next"'
    return rows


def _id_cursor(cursor: str | None) -> int | None:
    return None if cursor is None else int(decode_cursor(cursor, int)[0])


def api_router(sync: SyncEngine, settings: SettingsSource) -> APIRouter:
    router = APIRouter(
        prefix="/api/v1",
        dependencies=[Depends(TokenCheck(settings)), Depends(reject_unknown_query)],
        responses={
            400: {"model": ErrorOut, "description": "The body could not be read as JSON."},
            401: {"model": ErrorOut, "description": "No bearer token, or a wrong one."},
            422: {"model": ErrorOut, "description": "A parameter or the body is not valid."},
            503: {"model": ErrorOut, "description": "No api_token configured, or no database."},
        },
    )

    def configured() -> Settings:
        current = settings()
        if current is None:  # TokenCheck answered 503 already; this keeps mypy informed
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, DISABLED)
        return current

    def clean(data: Any) -> Any:
        return redact_data(data, sync.secrets | configured().secrets)

    @contextmanager
    def reading() -> Iterator[Session]:
        with transaction(sync.database, read_only=True) as session:
            yield session

    def schedules() -> dict[str, dict[str, Any]]:
        return {name: scheduled_jobs(channel) for name, channel in sync.channels.items()}

    @router.get("/orders", response_model=list[OrderOut], tags=["orders"])
    def list_orders(
        request: Request,
        response: Response,
        channel: ChannelFilter = None,
        order_status: Annotated[OrderStatus | None, Query(alias="status")] = None,
        updated_after: Annotated[
            AwareDatetime | None, Query(description="Only orders changed at or after (ISO 8601).")
        ] = None,
        oversold: bool | None = None,
        limit: Limit = 100,
        cursor: CursorParam = None,
    ) -> Any:
        """Orders, newest placed first: `omnisync orders list --json`."""
        before = None
        if cursor is not None:
            placed_at, order_id = decode_cursor(cursor, str, int)
            try:
                before = (datetime.fromisoformat(placed_at), order_id)
            except ValueError:
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, BAD_CURSOR) from None
        with reading() as session:
            rows = order_list(
                session,
                channel=channel,
                status=order_status,
                updated_after=updated_after,
                oversold=oversold,
                limit=limit + 1,
                before=before,
            )
        rows = _page(rows, limit, request, response, lambda row: (row["placed_at"], row["id"]))
        return clean(rows)

    @router.get(
        "/orders/{order_id}",
        response_model=OrderDetailOut,
        responses={404: {"model": ErrorOut}},
        tags=["orders"],
    )
    def show_order(order_id: str) -> Any:
        """One order, with its shipments: by the hub's id, the channel's order id or the
        channel's order name or number (`1001`, or `#1001` sent as `%231001`); `id:N` is
        hub id N only. A reference naming several orders is 422, listing them."""
        with reading() as session:
            order, channel = find_order(session, order_id.strip())
            return clean(order_detail(session, order, channel))

    @router.post(
        "/orders/{order_id}/shipments",
        response_model=ShipmentOut,
        status_code=status.HTTP_201_CREATED,
        responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut, "description": HELD}},
        tags=["orders"],
    )
    def ship(order_id: str, body: ShipmentIn) -> Any:
        """Record a parcel of the order (`omnisync orders ship`); the channel is told after.
        The order is named as in `GET /orders/{order_id}`."""
        lines: dict[str, int] | None = None
        if body.lines is not None:
            lines = {}
            for line in body.lines:
                lines[line.sku] = lines.get(line.sku, 0) + line.quantity
        request = ShipRequest(
            order=order_id,
            carrier=body.carrier,
            tracking_number=body.tracking_number,
            lines=lines,
            service=body.service,
            tracking_url=body.tracking_url,
        )
        with transaction(sync.database) as session:
            shipment = ship_order(session, configured(), request)
            (view,) = [
                row
                for row in shipment_views(session, shipment.order_id)
                if row["id"] == shipment.id
            ]
        return clean(view)

    @router.post(
        "/orders/{order_id}/cancel",
        response_model=CancellationOut,
        responses={
            404: {"model": ErrorOut},
            409: {"model": ErrorOut, "description": UNCANCELLABLE},
        },
        tags=["orders"],
    )
    def cancel(order_id: str, body: CancelIn | None = None) -> Any:
        """Cancel the order in the hub (`omnisync orders cancel`): its units that have not
        shipped are cancelled and their stock released. With `push`, the channel is asked
        to cancel it too, where its API allows. 200 whatever the channel answers
        (`channel.answer`): the hub's cancellation stands, and posting again asks the
        channel again."""
        wanted = body if body is not None else CancelIn()
        with transaction(sync.database) as session:
            order, channel = find_order(session, order_id.strip())
            cancellation = cancel_in_hub(session, order, wanted.reason)
            view = order_detail(session, cancellation.order, channel)
            channel_row = session.get(Channel, cancellation.order.channel_id)
            channel_type = channel_row.type if channel_row is not None else None
        if wanted.push:
            told = push_cancellation(sync, channel, view["external_id"], wanted.reason)
        else:
            push_how = 'post again with {"push": true}'
            told = channel_not_told(
                channel, channel_type, view["external_id"], push_how, already=cancellation.already
            )
        return clean(cancellation_view(view, cancellation, told))

    @router.post(
        "/orders/{order_id}/hold",
        response_model=OrderDetailOut,
        responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut, "description": UNHOLDABLE}},
        tags=["orders"],
    )
    def hold(order_id: str, body: HoldIn | None = None) -> Any:
        """Hold the order (`omnisync orders hold`): its stock stays reserved, but it cannot
        be shipped (409) and none of its fulfilments is pushed until it is released."""
        with transaction(sync.database) as session:
            order, channel = find_order(session, order_id.strip())
            held = hold_order(session, order, body.reason if body is not None else None)
            return clean(order_detail(session, held, channel))

    @router.post(
        "/orders/{order_id}/release",
        response_model=OrderDetailOut,
        responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut, "description": NOT_HELD}},
        tags=["orders"],
    )
    def release(order_id: str) -> Any:
        """Lift the order's hold (`omnisync orders release`): it can be shipped again."""
        with transaction(sync.database) as session:
            order, channel = find_order(session, order_id.strip())
            return clean(order_detail(session, release_order(session, order), channel))

    @router.get("/stock", response_model=list[StockOut], tags=["stock"])
    def list_stock(
        request: Request, response: Response, limit: Limit = 100, cursor: CursorParam = None
    ) -> Any:
        """Levels per location, free total and availability per channel, by SKU code."""
        query = select(Sku).order_by(col(Sku.code)).limit(limit + 1)
        if cursor is not None:
            query = query.where(col(Sku.code) > decode_cursor(cursor, str)[0])
        with reading() as session:
            rows = stock_list(session, list(session.exec(query)))
        return clean(_page(rows, limit, request, response, lambda row: (row["sku"],)))

    @router.get(
        "/stock/{sku:path}",
        response_model=StockOut,
        responses={404: {"model": ErrorOut}},
        tags=["stock"],
    )
    def show_stock(sku: str) -> Any:
        """One SKU: `omnisync stock show SKU --json`."""
        with reading() as session:
            (row,) = stock_list(session, [sku_by_code(session, sku)])
        return clean(row)

    @router.post(
        "/stock/adjustments",
        response_model=AdjustmentOut,
        status_code=status.HTTP_201_CREATED,
        responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
        tags=["stock"],
    )
    def adjust(body: AdjustmentIn) -> Any:
        """Change on hand by `delta` (`omnisync stock adjust`); the channels are pushed to
        within a second, as after any stock change."""
        with transaction(sync.database) as session:
            location = location_by_code(session, body.location or configured().default_location)
            sku = sku_by_code(session, body.sku)
            movement = adjust_stock(session, sku, location, body.delta, reason=body.reason)
            (stock,) = stock_list(session, [sku])
            result = {"movement": _movement_view(movement, sku.code, location.code), "stock": stock}
        return clean(result)

    @router.get("/channels", response_model=list[ChannelOut], tags=["channels"])
    def list_channels() -> Any:
        """Every channel with its listings (`channels list --json`) and its health (the
        channel objects of `omnisync status --json`)."""
        with reading() as session:
            rows = channel_list(session)
            health = {
                channel.name: channel_health_view(channel)
                for channel in channel_health(session, utcnow(), schedules=schedules())
            }
        return clean([{**row, **health.get(row["name"], {})} for row in rows])

    @router.get("/status", response_model=StatusOut, tags=["channels"])
    def hub_status() -> Any:
        """`omnisync status --json`: every channel's health and the open alerts."""
        with reading() as session:
            view = health_view(hub_health(session, utcnow(), schedules=schedules()))
        return clean(view)

    @router.get("/sync-runs", response_model=list[SyncRunOut], tags=["operations"])
    def list_runs(
        request: Request,
        response: Response,
        channel: ChannelFilter = None,
        job: Annotated[str | None, Query(max_length=50)] = None,
        run_status: Annotated[SyncRunStatus | None, Query(alias="status")] = None,
        limit: Limit = 100,
        cursor: CursorParam = None,
    ) -> Any:
        """Job runs, newest first."""
        with reading() as session:
            rows = sync_run_list(
                session,
                channel=channel,
                job=job,
                status=run_status,
                limit=limit + 1,
                before_id=_id_cursor(cursor),
            )
        return clean(_page(rows, limit, request, response, lambda row: (row["id"],)))

    @router.get("/alerts", response_model=list[AlertOut], tags=["operations"])
    def list_alerts(
        request: Request,
        response: Response,
        state: AlertState | None = None,
        channel: ChannelFilter = None,
        rule: Annotated[str | None, Query(max_length=50, description="Only this rule.")] = None,
        limit: Limit = 100,
        cursor: CursorParam = None,
    ) -> Any:
        """Alerts, open and resolved (or `state`), newest first."""
        with reading() as session:
            rows = alert_list(
                session,
                state=state,
                channel=channel,
                rule=rule,
                limit=limit + 1,
                before_id=_id_cursor(cursor),
            )
        return clean(_page(rows, limit, request, response, lambda row: (row["id"],)))

    @router.get("/quarantine", response_model=list[QuarantineOut], tags=["operations"])
    def list_quarantine(
        request: Request,
        response: Response,
        channel: ChannelFilter = None,
        resolved: bool | None = None,
        limit: Limit = 100,
        cursor: CursorParam = None,
    ) -> Any:
        """Payloads that could not be mapped, newest first (bodies: GET /quarantine/{id})."""
        with reading() as session:
            rows = quarantine_list(
                session,
                channel=channel,
                resolved=resolved,
                limit=limit + 1,
                before_id=_id_cursor(cursor),
            )
        return clean(_page(rows, limit, request, response, lambda row: (row["id"],)))

    @router.get(
        "/quarantine/{payload_id}",
        response_model=QuarantineDetailOut,
        responses={404: {"model": ErrorOut}},
        tags=["operations"],
    )
    def show_quarantined(payload_id: PayloadId) -> Any:
        """One quarantined payload with its raw body, as received."""
        with reading() as session:
            return clean(find_quarantined(session, payload_id))

    @router.post(
        "/quarantine/{payload_id}/retry",
        response_model=QuarantineResolutionOut,
        responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut, "description": RESOLVED}},
        tags=["operations"],
    )
    def retry_quarantined(payload_id: PayloadId) -> Any:
        """Map the kept body again (`omnisync quarantine retry`): what maps now goes in as
        a webhook delivery would and the payload is resolved; 422 says why it still fails."""
        return clean(quarantine_resolution_view(retry_payload(sync, payload_id, by=API_RESOLVER)))

    @router.post(
        "/quarantine/{payload_id}/resolve",
        response_model=QuarantineResolutionOut,
        responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut, "description": RESOLVED}},
        tags=["operations"],
    )
    def resolve_quarantined(payload_id: PayloadId, body: QuarantineResolveIn | None = None) -> Any:
        """Dismiss the payload (`omnisync quarantine resolve`): kept, nothing of it goes in;
        the channel's quarantine alert resolves with its last open payload."""
        note = body.note if body is not None else None
        with transaction(sync.database) as session:
            resolution = resolve_payload(session, payload_id, by=API_RESOLVER, note=note)
        return clean(quarantine_resolution_view(resolution))

    @router.get(
        "/alerts/{alert_id}",
        response_model=AlertDetailOut,
        responses={404: {"model": ErrorOut}},
        tags=["operations"],
    )
    def show_alert(alert_id: AlertId) -> Any:
        """One alert with what each notifier was told of it (`omnisync alerts show`)."""
        with reading() as session:
            return clean(find_alert(session, alert_id))

    @router.post(
        "/alerts/{alert_id}/resolve",
        response_model=AlertResolutionOut,
        responses={
            404: {"model": ErrorOut},
            409: {"model": ErrorOut, "description": ALERT_RESOLVED},
        },
        tags=["operations"],
    )
    def resolve_open_alert(alert_id: AlertId, body: AlertResolveIn | None = None) -> Any:
        """Resolve the alert by hand (`omnisync alerts resolve`), with an optional note; if its
        condition still holds its rule opens it again (`opens_again`, `outlook`)."""
        note = body.note if body is not None else None
        with transaction(sync.database) as session:
            resolution = resolve_by_hand(session, alert_id, by=API_RESOLVER, note=note)
            view = alert_resolution_view(resolution)
        return clean(view)

    return router


def _movement_view(movement: StockMovement, sku: str, location: str) -> JSON:
    return {
        "id": movement.id,
        "at": movement.at.isoformat(),
        "sku": sku,
        "location": location,
        "kind": movement.kind.value,
        "delta": movement.delta,
        "reason": movement.reason,
        "reference": movement.reference,
    }
