"""The catalogue and its stock as the CLI prints them and the API serves them.

A bundle has no levels of its own: its free total is what its components make
(the fewest whole bundles), and each channel's figure is core's
`available_to_sell`, never computed here a second way. Carrier channels sell
nothing, so they have no availability column.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlmodel import Session, col, select

from omnisync.connectors.base import Capability
from omnisync.connectors.registry import connector_for
from omnisync.core.availability import available_to_sell
from omnisync.core.bins import bins_of
from omnisync.core.catalog import bundle_recipes
from omnisync.core.clock import iso
from omnisync.core.models import Channel, Location, Sku, StockLevel, StockMovement
from omnisync.hub.views.shapes import (
    BinOut,
    ChannelAvailabilityOut,
    LocationLevelOut,
    MovementHistoryOut,
    MovementOut,
    SkuComponentOut,
    SkuOut,
    StockOut,
)


def sku_view(sku: Sku, components: Sequence[tuple[str, int]]) -> SkuOut:
    return SkuOut(
        code=sku.code,
        title=sku.title,
        barcode=sku.barcode,
        safety_stock=sku.safety_stock,
        bundle=bool(components),
        components=[SkuComponentOut(sku=code, quantity=quantity) for code, quantity in components],
        retired_at=iso(sku.retired_at),
    )


def sku_list(session: Session, *, include_retired: bool = False) -> list[SkuOut]:
    """The catalogue by code; retired SKUs only with `include_retired`."""
    query = select(Sku).order_by(col(Sku.code))
    if not include_retired:
        query = query.where(col(Sku.retired_at).is_(None))
    skus = list(session.exec(query))
    recipes = bundle_recipes(session, [sku.id for sku in skus if sku.id is not None])
    component_ids = {component for recipe in recipes.values() for component, _ in recipe}
    codes = dict(session.exec(select(Sku.id, Sku.code).where(col(Sku.id).in_(component_ids))).all())
    return [sku_view(sku, [(codes[c], q) for c, q in recipes.get(sku.id or 0, [])]) for sku in skus]


def stock_list(session: Session, skus: Sequence[Sku]) -> list[StockOut]:
    """`stock show --json`: per SKU its levels, free total and availability per channel."""
    ids = [sku.id for sku in skus if sku.id is not None]
    recipes = bundle_recipes(session, ids)
    stocked = set(ids) | {component for recipe in recipes.values() for component, _ in recipe}
    locations = list(session.exec(select(Location).order_by(col(Location.id))))
    levels: dict[int, dict[int, StockLevel]] = defaultdict(dict)
    for level in session.exec(select(StockLevel).where(col(StockLevel.sku_id).in_(stocked))):
        levels[level.sku_id][level.location_id] = level
    channels = [
        channel
        for channel in session.exec(
            select(Channel).where(col(Channel.enabled)).order_by(col(Channel.name))
        )
        if _sells_stock(channel.type)
    ]
    available = {channel.name: available_to_sell(session, channel, ids) for channel in channels}
    codes = {location.id: location.code for location in locations}
    bins = bins_of(session, ids)

    def free_total(sku_id: int) -> int:
        return sum(level.free for level in levels[sku_id].values())

    rows = []
    for sku in skus:
        assert sku.id is not None
        recipe = recipes.get(sku.id)
        if recipe:
            total = min(max(free_total(c), 0) // quantity for c, quantity in recipe)
            location_rows: list[LocationLevelOut] = []
        else:
            total = free_total(sku.id)
            location_rows = [_level_view(loc, levels[sku.id].get(loc.id or 0)) for loc in locations]
        rows.append(
            StockOut(
                sku=sku.code,
                bundle=bool(recipe),
                locations=location_rows,
                free_total=total,
                channels=[
                    ChannelAvailabilityOut(
                        channel=channel.name, available=available[channel.name][sku.id]
                    )
                    for channel in channels
                ],
                bins=[
                    BinOut(location=codes[row.location_id], bin=row.bin, sequence=row.sequence)
                    for row in bins.get(sku.id, [])
                ],
            )
        )
    return rows


def _sells_stock(channel_type: str) -> bool:
    """Carrier channels sell nothing: no availability to show for them."""
    connector = connector_for(channel_type)
    return connector is None or bool(connector.capabilities & {Capability.ORDERS, Capability.STOCK})


def _level_view(location: Location, level: StockLevel | None) -> LocationLevelOut:
    on_hand, reserved = (level.on_hand, level.reserved) if level else (0, 0)
    return LocationLevelOut(
        location=location.code, on_hand=on_hand, reserved=reserved, free=on_hand - reserved
    )


def movement_list(session: Session, sku: Sku) -> list[MovementHistoryOut]:
    """Every movement of the SKU, oldest first, with the on-hand balance after each."""
    codes = {loc.id: loc.code for loc in session.exec(select(Location))}
    balance: dict[int, int] = defaultdict(int)
    rows = []
    for movement in session.exec(
        select(StockMovement)
        .where(StockMovement.sku_id == sku.id)
        .order_by(col(StockMovement.at), col(StockMovement.id))
    ):
        balance[movement.location_id] += movement.delta
        rows.append(
            MovementHistoryOut(
                at=iso(movement.at),
                location=codes.get(movement.location_id),
                kind=movement.kind,
                delta=movement.delta,
                on_hand_after=balance[movement.location_id],
                reason=movement.reason,
                reference=movement.reference,
            )
        )
    return rows


def movement_view(movement: StockMovement, sku: str, location: str) -> MovementOut:
    """The movement a stock change wrote, named by its SKU and location codes."""
    assert movement.id is not None
    return MovementOut(
        id=movement.id,
        at=iso(movement.at),
        sku=sku,
        location=location,
        kind=movement.kind,
        delta=movement.delta,
        reason=movement.reason,
        reference=movement.reference,
    )
