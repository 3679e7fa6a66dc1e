"""/api/v1/orders/{id}/pack: the parcel being packed, scan by scan (`omnisync pack`).

`POST` applies the body's scans in order, each in its own transaction, so a refused scan
records nothing and stops none of the others: the answer (200) lists which were
accepted and which refused, and why. An order that cannot ship (on hold: 409;
cancelled, fulfilled by the channel, nothing left to pack: 422) refuses the request at
its first scan. With `label`, the label is bought for a parcel the body's scans packed,
or one packed before them (hub/packing.py `ScanRun.label_due`; hub/labels.py). `GET`
reads the parcel; `DELETE` drops its scans (the packer starts over).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from omnisync.core.db import transaction
from omnisync.core.errors import DomainError
from omnisync.core.users import record_action
from omnisync.hub.api.dependencies import Clean, Config, CurrentActor, Hub
from omnisync.hub.api.messages import ErrorOut, PackIn
from omnisync.hub.packing import buy_parcel_label, check_label_carrier, packing_order
from omnisync.hub.views.labels import label_view
from omnisync.hub.views.packing import pack_view, packing_view
from omnisync.hub.views.shapes import PackingOut, PackOut

CANNOT_SHIP = "The order is on hold: release it first."

router = APIRouter(tags=["packing"])

LocationParam = Annotated[
    str | None,
    Query(max_length=100, description="Only the lines reserved at this location (a split order)."),
]


@router.get(
    "/orders/{order_id}/pack", response_model=PackingOut, responses={404: {"model": ErrorOut}}
)
def show_packing(order_id: str, sync: Hub, clean: Clean, location: LocationParam = None) -> Any:
    """The parcel being packed: per line, the units needed, scanned and remaining. The
    order is named as in `GET /orders/{order_id}`."""
    order = packing_order(sync.database, order_id, location=location)
    return clean(packing_view(order.state(sync.database)))


@router.post(
    "/orders/{order_id}/pack",
    response_model=PackOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut, "description": CANNOT_SHIP}},
)
def pack(
    order_id: str,
    body: PackIn,
    sync: Hub,
    settings: Config,
    clean: Clean,
    actor: CurrentActor,
) -> Any:
    """Scan into the parcel (`omnisync pack ORDER --scan CODE ...`): each scan in its
    own transaction; `refused` lists those not counted, with why. With `label`, once the
    parcel is packed (by these scans, or before them) its label is bought for the units
    scanned and the parcel recorded (`label`); a label that could not be bought leaves
    the scans, and says why in `label_error`."""
    options = body.label.options() if body.label is not None else None
    if options is not None:
        check_label_carrier(settings, options)  # a wrong carrier counts no scan (422)
    order = packing_order(sync.database, order_id, location=body.location)
    # Each scan takes its own transaction, with its record; a refused one changes nothing.
    run = order.scan_all(sync.database, body.scans, actor=actor.name, audit=actor)
    if options is None or not run.state.packed:
        return clean(pack_view(run))
    if not run.label_due:
        return clean(pack_view(run, label_error=run.why_no_label))
    try:
        outcome = buy_parcel_label(sync, settings, run.state, options, actor=actor.name)
    except DomainError as error:
        return clean(pack_view(run, label_error=str(error)))
    with transaction(sync.database) as session:
        bought = {"carrier": outcome.carrier, "tracking_number": outcome.tracking_number}
        record_action(session, actor, "pack.label", f"order {run.state.order_name}", bought)
        return clean(pack_view(run, label_view(session, outcome)))


@router.delete(
    "/orders/{order_id}/pack", response_model=PackingOut, responses={404: {"model": ErrorOut}}
)
def reset_packing(
    order_id: str, sync: Hub, clean: Clean, actor: CurrentActor, location: LocationParam = None
) -> Any:
    """Drop the parcel's scans: the packer starts over (scans of shipped parcels stay)."""
    order = packing_order(sync.database, order_id, location=location)
    state = order.reset(sync.database, audit=actor)
    return clean(packing_view(state))
