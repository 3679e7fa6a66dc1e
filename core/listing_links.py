"""Links between channel listings and hub SKUs: made, undone, found, and their history.

A listing is linked to one hub SKU (or bundle). Several listings of one channel may
link to the same SKU (duplicate offers are common on Amazon) and all get its
availability; one listing never links to two. How a link was made is kept
(LinkMethod):

- `sku`: the channel SKU is the hub SKU's code (the listings job links those itself);
- `barcode`: the listing's barcode is the hub SKU's, and each is the only one with it
  (on the channel and in the hub), compared as GTINs (`normalise_barcode`);
- `manual`: an operator said so (`listings link`, the API, a links CSV);
- `import`: `catalog import` made the hub SKU from the listing.

Linking a listing binds the order lines of its channel that waited under its key (or
under the channel's own name for it, `<type>:<id>`, which lines sold before it had a SKU
carry) and reserves for the open ones, oldest order first, through the path intake uses
(core/order_intake.py map_unmapped_lines, oversold marking included); the listing and
every listing whose availability moved are marked dirty, so every channel gets the
new quantities within a second. Unlinking frees what the listing's open lines hold
(shipped units stay shipped), leaves those lines unbound (the `unlinked_listings`
alert names them at once) and keeps the listing apart: neither the listings job nor
order intake links it by code again; only an operator does.

Every change of a link is a ListingLinkEvent (`listings history`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from omnisync.core.catalog import sku_by_code
from omnisync.core.channels import channel_by_name
from omnisync.core.clock import clock_of
from omnisync.core.errors import Conflict, DomainError, InvalidRequest, NotFound
from omnisync.core.locked_stock import StockEffects
from omnisync.core.models import Channel, Listing, ListingLinkEvent, Order, OrderLine, Sku
from omnisync.core.order_intake import map_unmapped_lines
from omnisync.core.outbox import mark_touched_dirty, note_marked
from omnisync.core.reservations import (
    HOLDING_STATUSES,
    reallocate_freed,
    refresh_oversold,
    release_line,
)
from omnisync.core.types import LinkAction, LinkMethod
from omnisync.core.unlinked import note_unlinked_lines

ACTOR_LISTINGS_JOB = "listings job"
ACTOR_CATALOG_IMPORT = "catalog import"
ACTOR_CLI = "cli"
ACTOR_API = "api"
ACTOR_LINKS_CSV = "links csv"

IDENTIFYING_KEYS = (
    "variant_id",
    "inventory_item_id",
    "asin",
    "listing_id",
    "item_id",
    "legacy_item_id",
    "offer_id",
    "variation_id",
    "product_id",
)
"""`Listing.channel_ids` entries that name one listing (or one product): an operator may
name a listing by any of them, or by the last segment of one (`123` of
`gid://shopify/ProductVariant/123`)."""
_NAMED_ORDERS = 5


@dataclass(frozen=True)
class LinkChange:
    """What one link or unlink did, in words and numbers."""

    channel: str
    listing: str
    """The listing's key: its channel SKU, else the channel's own name for it."""
    sku: str
    """The hub SKU linked (or unlinked); "" when an unlinked listing stayed unlinked."""
    changed: bool
    method: LinkMethod | None
    lines: int = 0
    """Order lines bound (link) or unbound (unlink)."""
    units: int = 0
    """Open units those lines now take (link) or the units freed (unlink)."""
    message: str = ""


def normalise_barcode(value: str | None) -> str | None:
    """A barcode as compared: GTIN-8/12/13/14 digits as one 14-digit GTIN (a UPC-A and the
    EAN-13 with a leading 0 are one product), anything else without spaces, upper case."""
    text = "".join((value or "").split())
    if not text:
        return None
    if text.isdigit() and len(text) in (8, 12, 13, 14):
        return text.zfill(14)
    return text.upper()


def mark_dirty(listing: Listing, now: datetime) -> None:
    """The listing may show a stale quantity: push ours (core/outbox.py)."""
    listing.dirty = True
    listing.dirty_since = listing.dirty_since or now
    listing.change_seq += 1


def _key_forms(value: object) -> set[str]:
    if not isinstance(value, str | int) or isinstance(value, bool) or value == "":
        return set()
    text = str(value)
    return {text, text.rstrip("/").rsplit("/", 1)[-1]}


def _line_names(channel: Channel, listing: Listing) -> list[str]:
    """The names the channel's order lines carry the listing by: its key, and the channel's
    own name for it (`<type>:<id>`, core/dto.py ChannelListing.own_key), which lines sold
    before it had a SKU carry."""
    ids = listing.channel_ids or {}
    own = [f"{channel.type}:{ids[name]}" for name in IDENTIFYING_KEYS if _key_forms(ids.get(name))]
    return list(dict.fromkeys([listing.channel_sku, *own]))


class ListingFinder:
    """Finds a channel's listings by the names an operator knows them by."""

    def __init__(self, session: Session, channel: Channel) -> None:
        self.session = session
        self.channel = channel
        self._by_id: dict[str, list[Listing]] | None = None

    def find(self, name: str) -> Listing:
        """The listing whose key is `name`, else the one a channel id names (alone or in the
        channel's own name `<type>:<id>`); a listing an open order line carries under `name`
        is stored now (the order proves the channel has it). NotFound or InvalidRequest
        (several match) naming it otherwise."""
        name = name.strip()
        listing = self.session.exec(
            select(Listing).where(
                Listing.channel_id == self.channel.id, Listing.channel_sku == name
            )
        ).first()
        if listing is not None:
            return listing
        matches = self._by_channel_id().get(name, [])
        prefix = f"{self.channel.type}:"
        if not matches and name.startswith(prefix):
            # The channel's own name for a listing stored under its SKU since (the name
            # its older order lines carry): the id after the prefix names it.
            matches = self._by_channel_id().get(name.removeprefix(prefix), [])
        if len(matches) == 1:
            return matches[0]
        if matches:
            keys = ", ".join(sorted(match.channel_sku for match in matches))
            raise InvalidRequest(
                f"{name!r} names {len(matches)} listings of channel {self.channel.name!r} "
                f"({keys}): name one by its channel SKU"
            )
        return self._from_order_lines(name)

    def _by_channel_id(self) -> dict[str, list[Listing]]:
        if self._by_id is None:
            found: dict[str, list[Listing]] = defaultdict(list)
            for listing in self.session.exec(
                select(Listing).where(Listing.channel_id == self.channel.id)
            ):
                names: set[str] = set()
                for key in IDENTIFYING_KEYS:
                    names |= _key_forms((listing.channel_ids or {}).get(key))
                for known in names:
                    found[known].append(listing)
            self._by_id = dict(found)
        return self._by_id

    def _from_order_lines(self, name: str) -> Listing:
        line = self.session.exec(
            select(OrderLine)
            .join(Order, col(Order.id) == OrderLine.order_id)
            .where(Order.channel_id == self.channel.id, OrderLine.channel_sku == name)
            .limit(1)
        ).first()
        if line is None:
            raise NotFound(
                f"channel {self.channel.name!r} has no listing {name!r}: give its channel SKU "
                "or the channel's id for it (`omnisync listings list --channel "
                f"{self.channel.name}` shows them; `omnisync sync listings --channel "
                f"{self.channel.name}` reads them from the channel)"
            )
        now = clock_of(self.session).now()
        listing = Listing(
            channel_id=self.channel.id or 0,
            channel_sku=name,
            title=line.title,
            unlinked_since=now,
            created_at=now,
            updated_at=now,
        )
        self.session.add(listing)
        self.session.flush()
        if self._by_id is not None:
            self._by_id.setdefault(name, []).append(listing)
        return listing


def link_listing(
    session: Session,
    channel: Channel,
    listing: Listing,
    sku: Sku,
    *,
    method: LinkMethod,
    actor: str,
    also_keys: Iterable[str] = (),
) -> LinkChange:
    """Link the listing to `sku`; the order lines waiting under its key (and `also_keys`,
    names its lines carried before) bind and reserve. Linked to it already: no change.
    Conflict when it is linked to another SKU. A retired SKU is offered as 0."""
    key = listing.channel_sku
    if listing.sku_id == sku.id:
        return LinkChange(
            channel.name,
            key,
            sku.code,
            False,
            listing.link_method,
            message=f"{channel.name} listing {key} is linked to {sku.code} already",
        )
    if listing.sku_id is not None:
        current = session.get(Sku, listing.sku_id)
        raise Conflict(
            f"{channel.name} listing {key} is linked to SKU "
            f"{current.code if current else listing.sku_id}: a listing sells one SKU; "
            "unlink it first"
        )
    now = clock_of(session).now()
    keys = list(dict.fromkeys([*_line_names(channel, listing), *also_keys]))
    listing.sku_id = sku.id
    listing.link_method = method
    listing.linked_at = now
    listing.unlinked_since = None
    listing.auto_link = True
    mark_dirty(listing, now)
    note_marked(session, [listing.channel_id])
    session.add(listing)
    session.flush()
    assert sku.id is not None
    bound = map_unmapped_lines(session, channel, keys, sku.id)
    lines, units = bound.lines, bound.units
    note = f"{lines} waiting order line(s) bound, taking {units} open unit(s)" if lines else None
    message = f"{channel.name} listing {key} linked to {sku.code} ({method.value})"
    if sku.retired_at is not None:
        message += f" (SKU {sku.code} is retired: the listing is offered 0)"
    event = _Event(channel, key, LinkAction.LINK, sku, method, actor, now)
    return event.record(session, lines=lines, units=units, note=note, message=message)


def unlink_listing(
    session: Session, channel: Channel, listing: Listing, *, actor: str
) -> LinkChange:
    """Undo the listing's link: its open lines free what they hold and stay unbound, the
    listing is kept apart (auto_link off) and no longer pushed. Unlinked already: it is
    kept apart from now on, nothing else changes."""
    key = listing.channel_sku
    now = clock_of(session).now()
    if listing.sku_id is None:
        listing.auto_link = False
        session.add(listing)
        return LinkChange(
            channel.name,
            key,
            "",
            False,
            None,
            message=f"{channel.name} listing {key} is not linked; it stays apart from "
            "automatic linking until an operator links it",
        )
    sku = session.get(Sku, listing.sku_id)
    assert sku is not None
    freed, orders = _release_open_lines(
        session, channel, _line_names(channel, listing), listing.sku_id
    )
    method = listing.link_method
    listing.sku_id = None
    listing.link_method = None
    listing.linked_at = None
    listing.unlinked_since = now
    listing.auto_link = False
    listing.dirty = False
    listing.dirty_since = None
    listing.attempts = 0
    listing.next_attempt_at = None
    listing.last_error = None
    session.add(listing)
    session.flush()
    note = None
    if orders:
        named = ", ".join(name for name, _ in orders[:_NAMED_ORDERS])
        more = f" and {len(orders) - _NAMED_ORDERS} more" if len(orders) > _NAMED_ORDERS else ""
        lines = sum(count for _, count in orders)
        note = (
            f"released {freed} reserved unit(s) of {lines} open order line(s) "
            f"(orders {named}{more}); they reserve nothing until the listing is linked again"
        )
    event = _Event(channel, key, LinkAction.UNLINK, sku, method, actor, now)
    return event.record(
        session,
        lines=sum(count for _, count in orders),
        units=freed,
        note=note,
        message=f"{channel.name} listing {key} unlinked from {sku.code}",
    )


def _open_lines_of(channel: Channel, keys: Sequence[str]) -> tuple[Any, ...]:
    return (
        Order.channel_id == channel.id,
        col(OrderLine.channel_sku).in_(list(keys)),
        col(Order.status).in_(HOLDING_STATUSES),
        col(Order.fulfilled_by_channel).is_(False),
        OrderLine.quantity > OrderLine.quantity_shipped + OrderLine.quantity_cancelled,
    )


def _release_open_lines(
    session: Session, channel: Channel, names: Sequence[str], sku_id: int
) -> tuple[int, list[tuple[str, int]]]:
    """Free what the open lines of the listing hold and unbind them: units freed, and
    (order name, lines) of each order, oldest first."""
    rows = session.exec(
        select(OrderLine, Order)
        .join(Order, col(Order.id) == OrderLine.order_id)
        .where(*_open_lines_of(channel, names), OrderLine.sku_id == sku_id)
        .order_by(col(Order.placed_at), col(Order.id), col(OrderLine.id))
        .with_for_update(of=Order)
    ).all()
    effects = StockEffects()
    freed = 0
    per_order: Counter[int] = Counter()
    orders: dict[int, Order] = {}
    carried: dict[int, list[str]] = defaultdict(list)
    for line, order in sorted(rows, key=lambda row: row[0].id or 0):
        units, changed = release_line(session, line)
        freed += units
        effects.merge(changed)
        line.sku_id = None
        session.add(line)
        per_order[order.id or 0] += 1
        orders[order.id or 0] = order
        carried[order.id or 0].append(line.channel_sku)
    session.flush()
    named: list[tuple[str, int]] = []
    for _, order in rows:
        order_id = order.id or 0
        if order_id in orders:
            found = orders.pop(order_id)
            refresh_oversold(session, found)
            note_unlinked_lines(session, channel.id, found.external_id, carried[order_id])
            named.append((found.display_name or found.external_id, per_order[order_id]))
    effects.merge(reallocate_freed(session, effects))
    mark_touched_dirty(session, effects.touched)
    return freed, named


@dataclass(frozen=True)
class _Event:
    """One change of a link, about to be recorded."""

    channel: Channel
    key: str
    action: LinkAction
    sku: Sku
    method: LinkMethod | None
    actor: str
    at: datetime

    def record(
        self, session: Session, *, lines: int, units: int, note: str | None, message: str
    ) -> LinkChange:
        """Write the history row; the change as the caller reports it."""
        session.add(
            ListingLinkEvent(
                channel_id=self.channel.id or 0,
                listing_key=self.key,
                action=self.action,
                sku_id=self.sku.id,
                sku_code=self.sku.code,
                method=self.method,
                actor=self.actor,
                note=note,
                at=self.at,
            )
        )
        return LinkChange(
            self.channel.name,
            self.key,
            self.sku.code,
            True,
            self.method,
            lines,
            units,
            message + (f": {note}" if note else ""),
        )


@dataclass
class AutoLinkReport:
    linked: list[LinkChange] = field(default_factory=list)
    not_linked: list[str] = field(default_factory=list)
    """Listings a rule matched but could not link, and why (a barcode on two SKUs)."""


def auto_link(
    session: Session, channel: Channel, *, by: Collection[LinkMethod], actor: str
) -> AutoLinkReport:
    """Link every unlinked listing of the channel that a rule of `by` matches: `sku` (its
    channel SKU is a hub SKU's code), then `barcode` (its barcode is one hub SKU's, and no
    other listing of the channel has it). Listings an operator unlinked are left alone."""
    report = AutoLinkReport()
    candidates = list(
        session.exec(
            select(Listing)
            .where(
                Listing.channel_id == channel.id,
                col(Listing.sku_id).is_(None),
                col(Listing.auto_link),
            )
            .order_by(col(Listing.channel_sku))
        )
    )
    if not candidates:
        return report
    by_code = _skus_by_code(session, [listing.channel_sku for listing in candidates])
    barcodes = BarcodeIndex(session, channel) if LinkMethod.BARCODE in by else None
    for listing in candidates:
        sku = by_code.get(listing.channel_sku) if LinkMethod.SKU in by else None
        if sku is not None:
            report.linked.append(
                link_listing(session, channel, listing, sku, method=LinkMethod.SKU, actor=actor)
            )
            continue
        barcode = normalise_barcode(listing.barcode)
        if barcodes is None or barcode is None:
            continue
        matches = barcodes.hub.get(barcode, [])
        on_channel = barcodes.on_channel[barcode]
        if len(matches) > 1:
            codes = ", ".join(sorted(match.code for match in matches))
            report.not_linked.append(
                f"{listing.channel_sku}: barcode {listing.barcode} is on {len(matches)} hub "
                f"SKUs ({codes}); link it by hand"
            )
        elif matches and on_channel > 1:
            report.not_linked.append(
                f"{listing.channel_sku}: barcode {listing.barcode} is on "
                f"{on_channel} listings of {channel.name}; link them by hand"
            )
        elif matches:
            report.linked.append(
                link_listing(
                    session, channel, listing, matches[0], method=LinkMethod.BARCODE, actor=actor
                )
            )
    return report


def _skus_by_code(session: Session, codes: Collection[str]) -> dict[str, Sku]:
    if not codes:
        return {}
    return {
        sku.code: sku
        for sku in session.exec(
            select(Sku).where(col(Sku.code).in_(list(codes)), col(Sku.retired_at).is_(None))
        )
    }


def _skus_by_barcode(session: Session) -> dict[str, list[Sku]]:
    found: dict[str, list[Sku]] = defaultdict(list)
    for sku in session.exec(
        select(Sku).where(col(Sku.barcode).is_not(None), col(Sku.retired_at).is_(None))
    ):
        barcode = normalise_barcode(sku.barcode)
        if barcode is not None:
            found[barcode].append(sku)
    return dict(found)


def _channel_barcodes(session: Session, channel: Channel) -> Counter[str]:
    barcodes = session.exec(
        select(Listing.barcode).where(
            Listing.channel_id == channel.id, col(Listing.barcode).is_not(None)
        )
    )
    return Counter(barcode for value in barcodes if (barcode := normalise_barcode(value)))


class BarcodeIndex:
    """The barcodes of the hub's SKUs and of one channel's listings, read once."""

    def __init__(self, session: Session, channel: Channel) -> None:
        self.hub = _skus_by_barcode(session)
        self.on_channel = _channel_barcodes(session, channel)

    def match(self, listing: Listing) -> Sku | None:
        """The one hub SKU the listing's barcode names, when no other listing of the
        channel has that barcode; None otherwise."""
        barcode = normalise_barcode(listing.barcode)
        if barcode is None:
            return None
        matches = self.hub.get(barcode, [])
        if len(matches) != 1 or self.on_channel[barcode] > 1:
            return None
        return matches[0]


class RowsRefused(InvalidRequest):
    """A links file with bad rows: nothing was linked; `problems` names each row."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("nothing linked:\n" + "\n".join(self.problems))


@dataclass(frozen=True)
class LinkRow:
    """One row of a links CSV: link `listing` of `channel` to hub SKU `sku`."""

    channel: str
    listing: str
    sku: str
    where: str
    """`FILE:LINE`, for the problems."""


def link_rows(session: Session, rows: Sequence[LinkRow], *, actor: str) -> list[LinkChange]:
    """Link every row, or none: RowsRefused naming every bad row (unknown channel,
    listing or SKU; a listing linked to another SKU; one listing given two SKUs)."""
    problems: list[str] = []
    finders: dict[str, ListingFinder] = {}
    wanted: dict[tuple[str, str], tuple[str, str]] = {}
    planned: list[tuple[Channel, Listing, Sku, LinkRow]] = []
    for row in rows:
        try:
            finder = finders.get(row.channel)
            if finder is None:
                finder = finders[row.channel] = ListingFinder(
                    session, channel_by_name(session, row.channel)
                )
            listing = finder.find(row.listing)
            sku = sku_by_code(session, row.sku.strip())
        except DomainError as error:
            problems.append(f"{row.where}: {error}")
            continue
        first = wanted.setdefault((row.channel, listing.channel_sku), (sku.code, row.where))
        if first[0] != sku.code:
            problems.append(
                f"{row.where}: listing {row.listing} of {row.channel} is given SKU {sku.code} "
                f"here and {first[0]} at {first[1]}: a listing sells one SKU"
            )
            continue
        planned.append((finder.channel, listing, sku, row))
    changes: list[LinkChange] = []
    for channel, listing, sku, row in planned:
        try:
            changes.append(
                link_listing(session, channel, listing, sku, method=LinkMethod.MANUAL, actor=actor)
            )
        except DomainError as error:
            problems.append(f"{row.where}: {error}")
    if problems:
        raise RowsRefused(problems)
    return changes


def link_history(
    session: Session,
    *,
    channel: Channel | None = None,
    listing: str | None = None,
    limit: int = 100,
) -> list[tuple[ListingLinkEvent, str]]:
    """The newest changes of links first, each with its channel's name."""
    query = (
        select(ListingLinkEvent, Channel.name)
        .join(Channel, col(Channel.id) == ListingLinkEvent.channel_id)
        .order_by(col(ListingLinkEvent.at).desc(), col(ListingLinkEvent.id).desc())
        .limit(limit)
    )
    if channel is not None:
        query = query.where(ListingLinkEvent.channel_id == channel.id)
    if listing is not None:
        query = query.where(ListingLinkEvent.listing_key == listing)
    return [(event, name) for event, name in session.exec(query)]
