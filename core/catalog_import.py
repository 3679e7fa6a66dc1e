"""`catalog import`: make the hub's catalogue from a channel's listings.

For a seller whose products live on a channel today. Every listing of the channel
that no hub SKU takes yet is linked (core/listing_links.py), in this order:

1. its channel SKU is a hub SKU's code: linked by `sku`;
2. its barcode is one hub SKU's and no other listing of the channel has it: linked by
   `barcode` (the product is in the hub under another code: no duplicate is made);
3. otherwise a hub SKU is made from it and linked by `import`: code = the channel SKU
   when it is a valid code, else one derived from the channel's own id for the listing
   (`<channel>-<id>`: stable, so the same listing always makes the same code); title and
   barcode from the channel.

Listings an operator unlinked are left alone. With a stock location, the channel's
quantity of each linked SKU becomes a count at that location, for SKUs never counted or
moved there (for sellers whose channel was the stock master until now; a SKU whose
listings show different quantities takes the smallest, a quantity below 0 counts as 0;
bundles and retired SKUs are not counted). The channel's quantity is what
it offered, its open orders already taken off: counting it and then reserving the same
open orders again under-offers until the next count, never over-offers.

Run twice, the second run changes nothing: every listing is linked, every SKU counted.
The caller reads the listings first (a listings run) and rolls back for a dry run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from omnisync.core.catalog import bundle_recipes, sku_code_problem, upsert_sku
from omnisync.core.ledger import count_stock
from omnisync.core.listing_links import ACTOR_CATALOG_IMPORT, BarcodeIndex, link_listing
from omnisync.core.models import Channel, Listing, Location, Sku, StockMovement
from omnisync.core.types import LinkMethod

_NOT_IN_CODES = re.compile(r"[^\w\-.]+")
DERIVED_CODE_MAX = 100


@dataclass(frozen=True)
class ImportedListing:
    listing: str
    sku: str
    method: LinkMethod
    created: bool
    """A hub SKU was made from the listing."""
    title: str
    barcode: str | None


@dataclass(frozen=True)
class CountedSku:
    sku: str
    quantity: int
    location: str


@dataclass
class CatalogImport:
    channel: str
    linked: list[ImportedListing] = field(default_factory=list)
    counted: list[CountedSku] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Listings left as they are, and why (unlinked by an operator, a bundle not counted)."""

    @property
    def created(self) -> int:
        return sum(1 for item in self.linked if item.created)

    @property
    def changed(self) -> bool:
        return bool(self.linked or self.counted)


def import_catalog(
    session: Session, channel: Channel, *, location: Location | None = None
) -> CatalogImport:
    """Link every unlinked listing of the channel, making hub SKUs where none fits; with
    `location`, count the channel's quantity there (see the module's doc)."""
    report = CatalogImport(channel.name)
    listings = list(
        session.exec(
            select(Listing)
            .where(Listing.channel_id == channel.id, col(Listing.sku_id).is_(None))
            .order_by(col(Listing.channel_sku))
        )
    )
    barcodes = BarcodeIndex(session, channel)
    for listing in listings:
        if not listing.auto_link:
            report.skipped.append(f"{listing.channel_sku}: unlinked by an operator, left alone")
            continue
        sku, method, created = _sku_for(session, channel, listing, barcodes)
        change = link_listing(
            session, channel, listing, sku, method=method, actor=ACTOR_CATALOG_IMPORT
        )
        report.linked.append(
            ImportedListing(
                change.listing, sku.code, method, created, listing.title, listing.barcode
            )
        )
    if location is not None:
        _count_channel_stock(session, channel, location, report)
    return report


def _sku_for(
    session: Session, channel: Channel, listing: Listing, barcodes: BarcodeIndex
) -> tuple[Sku, LinkMethod, bool]:
    """The hub SKU the listing is linked to, how, and whether it is made now."""
    by_code = session.exec(select(Sku).where(Sku.code == listing.channel_sku)).first()
    if by_code is not None:
        return by_code, LinkMethod.SKU, False
    by_barcode = barcodes.match(listing)
    if by_barcode is not None:
        return by_barcode, LinkMethod.BARCODE, False
    code = _free_code(session, derived_code(channel, listing))
    barcode = (listing.barcode or "").strip() or None
    sku = upsert_sku(session, code, title=listing.title or None, barcode=barcode)
    return sku, LinkMethod.IMPORT, True


def derived_code(channel: Channel, listing: Listing) -> str:
    """The code a listing's SKU gets: its channel SKU when that is a valid code, else
    `<channel>-<id>`: for a listing without SKU, stored under the channel's own name for
    it (`<channel type>:<id>`, core/dto.py ChannelListing.own_key), the id's last segment
    (a Shopify variant's number); letters, digits, `-`, `_` and `.` only."""
    key = listing.channel_sku
    own_name = key.startswith(f"{channel.type}:")
    if not own_name and sku_code_problem(key) is None:
        return key
    tail = key.split(":", 1)[1].rstrip("/").rsplit("/", 1)[-1] if own_name else key
    cleaned = _NOT_IN_CODES.sub("-", f"{channel.name}-{tail}").strip("-")
    return cleaned[:DERIVED_CODE_MAX]


def _free_code(session: Session, code: str) -> str:
    """`code`, or `code-2`, `code-3`... when a hub SKU has it already."""
    candidate, number = code, 1
    while session.exec(select(Sku.id).where(Sku.code == candidate)).first() is not None:
        number += 1
        candidate = f"{code[: DERIVED_CODE_MAX - len(str(number)) - 1]}-{number}"
    return candidate


def _count_channel_stock(
    session: Session, channel: Channel, location: Location, report: CatalogImport
) -> None:
    seen: dict[int, int] = {}
    for sku_id, quantity in session.exec(
        select(Listing.sku_id, Listing.seen_quantity).where(
            Listing.channel_id == channel.id,
            col(Listing.sku_id).is_not(None),
            col(Listing.seen_quantity).is_not(None),
        )
    ):
        if sku_id is not None and quantity is not None:
            on_shelf = max(quantity, 0)  # a channel may show an oversold SKU below 0
            seen[sku_id] = min(seen.get(sku_id, on_shelf), on_shelf)
    if not seen:
        return
    moved = set(
        session.exec(
            select(StockMovement.sku_id).where(
                col(StockMovement.sku_id).in_(list(seen)),
                StockMovement.location_id == location.id,
            )
        )
    )
    bundles = bundle_recipes(session, seen)
    skus = {sku.id: sku for sku in session.exec(select(Sku).where(col(Sku.id).in_(list(seen))))}
    for sku_id in sorted(seen, key=lambda known: skus[known].code):
        sku = skus[sku_id]
        if sku_id in bundles:
            report.skipped.append(f"{sku.code}: a bundle, its stock is its components'")
        elif sku.retired_at is not None:
            report.skipped.append(f"{sku.code}: retired, it takes no stock")
        elif sku_id not in moved:
            count_stock(
                session,
                sku,
                location,
                seen[sku_id],
                reason=f"catalog import from {channel.name}",
            )
            report.counted.append(CountedSku(sku.code, seen[sku_id], location.code))
