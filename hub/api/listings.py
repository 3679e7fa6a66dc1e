"""/api/v1/listings: each channel's listings and their links to hub SKUs, the history
of those links, and linking by hand (`omnisync listings list|history|link|unlink|
auto-link`).

A listing is named in the path by the key the hub stores it under (its channel SKU,
else the channel's own name for it) or by a channel id (core/listing_links.py
ListingFinder). Keys may hold `/` and `:` (a Shopify variant without a SKU is
`shopify:gid://shopify/ProductVariant/123`), so the listing is the path between the
channel and the trailing `/link`, slashes and all; `/listings/history` and
`/listings/auto-link` are other methods' paths and never taken for a listing.

A link change goes through hub/linking.py as the CLI's does: the listing's waiting
order lines bind and reserve (or release, on unlink), the channel's
`unlinked_listings` alert is refreshed with hub.yaml's `alert_rules.unlinked_after`,
all in the route's one transaction, and the change is recorded as by the caller (`api`
for hub.yaml's token).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from omnisync.core.channels import channel_by_name
from omnisync.core.users import record_action
from omnisync.hub.api.dependencies import Clean, Config, CurrentActor, Reading, Writing
from omnisync.hub.api.messages import AutoLinkIn, ErrorOut, LinkIn
from omnisync.hub.api.paging import ChannelFilter, CursorParam, Limit, decode_cursor, page
from omnisync.hub.linking import auto_link_channel, link, unlink
from omnisync.hub.views.listings import link_event_list, listing_list
from omnisync.hub.views.shapes import AutoLinkOut, LinkChangeOut, LinkEventOut, ListingOut

LINKED_ELSEWHERE = "The listing is linked to another SKU: unlink it first."

ChannelName = Annotated[str, Path(description="The channel's name.")]
ListingName = Annotated[
    str,
    Path(
        description="The listing's key (its channel SKU, else the channel's own name for it, "
        "`/` and `:` included) or a channel id of it."
    ),
]

router = APIRouter(tags=["listings"])


@router.get("/listings", response_model=list[ListingOut], responses={404: {"model": ErrorOut}})
def list_listings(
    request: Request,
    response: Response,
    session: Reading,
    clean: Clean,
    channel: ChannelFilter = None,
    unlinked: Annotated[bool, Query(description="Only listings linked to no SKU.")] = False,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> Any:
    """Listings and their links, by channel name then key (`omnisync listings list`)."""
    after: tuple[str, str] | None = None
    if cursor is not None:
        name, key = decode_cursor(cursor, str, str)
        after = (name, key)
    rows = listing_list(
        session,
        channel=None if channel is None else channel_by_name(session, channel),
        unlinked=unlinked,
        after=after,
        limit=limit + 1,
    )
    return clean(page(rows, limit, request, response, lambda row: (row.channel, row.listing)))


@router.get(
    "/listings/history", response_model=list[LinkEventOut], responses={404: {"model": ErrorOut}}
)
def link_history(
    session: Reading,
    clean: Clean,
    channel: ChannelFilter = None,
    listing: Annotated[
        str | None, Query(max_length=200, description="Only this listing (its key).")
    ] = None,
    limit: Limit = 100,
) -> Any:
    """Changes of links, newest first (`omnisync listings history`)."""
    rows = link_event_list(
        session,
        channel=None if channel is None else channel_by_name(session, channel),
        listing=listing,
        limit=limit,
    )
    return clean(rows)


@router.post(
    "/listings/auto-link", response_model=AutoLinkOut, responses={404: {"model": ErrorOut}}
)
def auto_link(
    body: AutoLinkIn, session: Writing, settings: Config, clean: Clean, actor: CurrentActor
) -> Any:
    """Link every unlinked listing of the channel a rule of `by` matches; listings an
    operator unlinked are left alone (`omnisync listings auto-link`)."""
    report = auto_link_channel(
        session,
        body.channel,
        by=body.by,
        actor=actor.name,
        unlinked_after=settings.hub.alert_rules.unlinked_after,
    )
    by = [method.value for method in body.by]
    record_action(session, actor, "listing.auto_link", body.channel, {"by": by})
    return clean(report)


@router.put(
    "/listings/{channel}/{listing:path}/link",
    response_model=LinkChangeOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut, "description": LINKED_ELSEWHERE}},
)
def link_listing(
    channel: ChannelName,
    listing: ListingName,
    body: LinkIn,
    session: Writing,
    settings: Config,
    clean: Clean,
    actor: CurrentActor,
) -> Any:
    """Link the listing to the SKU (`omnisync listings link`): its waiting order lines bind
    and reserve. Linked to it already: `changed` is false."""
    change = link(
        session,
        channel,
        listing,
        body.sku,
        actor=actor.name,
        unlinked_after=settings.hub.alert_rules.unlinked_after,
    )
    record_action(session, actor, "listing.link", f"{channel} {listing}", {"sku": body.sku})
    return clean(change)


@router.delete(
    "/listings/{channel}/{listing:path}/link",
    response_model=LinkChangeOut,
    responses={404: {"model": ErrorOut}},
)
def unlink_listing(
    channel: ChannelName,
    listing: ListingName,
    session: Writing,
    settings: Config,
    clean: Clean,
    actor: CurrentActor,
) -> Any:
    """Undo the listing's link (`omnisync listings unlink`): its open lines free what they
    hold, and it stays apart from automatic linking until linked again by hand."""
    change = unlink(
        session,
        channel,
        listing,
        actor=actor.name,
        unlinked_after=settings.hub.alert_rules.unlinked_after,
    )
    record_action(session, actor, "listing.unlink", f"{channel} {listing}")
    return clean(change)
