"""/api/v1/orders/{id}/label and /rates: a label bought from a carrier channel for the
order's parcel, and the carrier's quotes, the twins of `omnisync orders label` and
`omnisync orders rates` (hub/labels.py).

The order is named as `GET /orders/{order_id}` names it. No transaction is held while
the carrier is asked: the order is read, the carrier asked, then the parcel recorded.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from omnisync.core.db import transaction
from omnisync.core.users import record_action
from omnisync.hub.api.dependencies import Clean, Config, CurrentActor, Hub
from omnisync.hub.api.messages import ErrorOut, LabelIn, RatesIn
from omnisync.hub.labels import buy_label, rates_for_order
from omnisync.hub.views.labels import label_view, rate_views
from omnisync.hub.views.shapes import LabelOut, RateOut

REFUSED = (
    "The order cannot ship (held), another label purchase for it is under way (or its "
    "outcome is unknown: the error says since when, and until when another is refused), "
    "or the label was bought but its parcel could not be recorded: the error names the "
    "tracking number and the label's file."
)
UNUSABLE = (
    "The order cannot ship, an address is missing, the carrier is not a carrier channel "
    "selling labels, or the carrier refused or could not be reached (its words)."
)

router = APIRouter(tags=["orders"])


@router.post(
    "/orders/{order_id}/label",
    response_model=LabelOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        404: {"model": ErrorOut},
        409: {"model": ErrorOut, "description": REFUSED},
        422: {"model": ErrorOut, "description": UNUSABLE},
    },
)
def buy(
    order_id: str,
    body: LabelIn,
    sync: Hub,
    settings: Config,
    clean: Clean,
    actor: CurrentActor,
) -> Any:
    """Buy the label for the order's parcel from a carrier channel (`omnisync orders
    label`): every open unit, or the `lines` named, or the parcel at `location` (a split
    order takes a label per location). Its file is kept under the data folder
    (`label_path`; null, with `file_error`, when it could not be written), and the parcel
    is recorded as `POST /orders/{order_id}/shipments` records one."""
    outcome = buy_label(sync, settings, order_id, body.options(), body.scope(), actor=actor.name)
    with transaction(sync.database) as session:  # bought outside any transaction: record now
        detail = {"carrier": outcome.carrier, "tracking_number": outcome.tracking_number}
        record_action(session, actor, "order.label", f"order {order_id.strip()}", detail)
        return clean(label_view(session, outcome))


@router.post(
    "/orders/{order_id}/rates",
    response_model=list[RateOut],
    responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut, "description": UNUSABLE}},
)
def quote(order_id: str, body: RatesIn, sync: Hub, settings: Config, clean: Clean) -> Any:
    """What the carrier channel would charge for the order's parcel, per service, cheapest
    first (`omnisync orders rates`); nothing is bought."""
    rates = rates_for_order(sync, settings, order_id, body.options(), body.scope())
    return clean(rate_views(rates))
