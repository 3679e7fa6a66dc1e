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
from omnisync.hub.api.dependencies import Clean, Config, Hub
from omnisync.hub.api.messages import ErrorOut, LabelIn, RatesIn
from omnisync.hub.labels import buy_label, rates_for_order
from omnisync.hub.views.labels import label_view, rate_views
from omnisync.hub.views.shapes import LabelOut, RateOut

REFUSED = (
    "The order cannot ship (held), or the label was bought but its parcel could not be "
    "recorded: the error names the tracking number and the label's file."
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
def buy(order_id: str, body: LabelIn, sync: Hub, settings: Config, clean: Clean) -> Any:
    """Buy the label for every open unit of the order from a carrier channel (`omnisync
    orders label`): its file is kept under the data folder (`label_path`), and the parcel
    is recorded as `POST /orders/{order_id}/shipments` records one."""
    outcome = buy_label(sync, settings, order_id, body.options(), actor="api")
    with transaction(sync.database, read_only=True) as session:
        return clean(label_view(session, outcome))


@router.post(
    "/orders/{order_id}/rates",
    response_model=list[RateOut],
    responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut, "description": UNUSABLE}},
)
def quote(order_id: str, body: RatesIn, sync: Hub, settings: Config, clean: Clean) -> Any:
    """What the carrier channel would charge for the order's parcel, per service, cheapest
    first (`omnisync orders rates`); nothing is bought."""
    return clean(rate_views(rates_for_order(sync, settings, order_id, body.options())))
