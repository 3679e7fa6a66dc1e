"""Labels bought and rates quoted (hub/labels.py) as the CLI prints them and the API serves
them: the parcel recorded with its label and price, and each service quoted."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

from omnisync.core.dto import ShippingRate
from omnisync.hub.labels import LabelOutcome
from omnisync.hub.views.orders import money, shipment_views
from omnisync.hub.views.shapes import LabelOut, RateOut


def label_view(session: Session, outcome: LabelOutcome) -> LabelOut:
    """The parcel `buy_label` recorded, with its label and the price quoted for it."""
    (shipment,) = [
        row for row in shipment_views(session, outcome.order_id) if row.id == outcome.shipment_id
    ]
    return LabelOut(
        **dict(shipment),
        price=money(outcome.price),
        currency=outcome.currency,
        file_error=outcome.file_error,
    )


def rate_views(rates: Sequence[ShippingRate]) -> list[RateOut]:
    return [
        RateOut(
            service=rate.service,
            price=money(rate.price),
            currency=rate.currency,
            transit_days=rate.transit_days,
        )
        for rate in rates
    ]
