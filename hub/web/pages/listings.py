"""The listings screen.

- `/listings`: unlinked listings first, then the linked ones, each part by channel name
  and key; filters `?channel=` and `?unlinked=1`; paged by (part, channel, key). Each
  unlinked listing has "Link…" (a page that searches hub SKUs by code, title or barcode
  and links with one button), each linked one "Unlink"; per channel, "Auto-link by
  barcode".
- Linking, unlinking and auto-linking are hub/linking.py's, as `omnisync listings
  link|unlink|auto-link` and /api/v1/listings do (waiting order lines bind and reserve,
  the channel's unlinked alert is refreshed), for operators, each recorded with who
  did it (`record_action`) in the same transaction.

The page reads per channel (a handful) along the listings' (channel, key) index, never
the whole table: an unlinked listing, however old, is on the first page.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import func
from sqlmodel import Session, col, select

from omnisync.core.channels import channel_by_name
from omnisync.core.db import run_in_transaction
from omnisync.core.errors import DomainError, InvalidRequest, NotFound
from omnisync.core.models import Channel, Listing, Sku
from omnisync.core.redaction import redact
from omnisync.core.types import LinkMethod, UserRole
from omnisync.core.users import record_action
from omnisync.hub.api.dependencies import ApiContext, Context, Reading
from omnisync.hub.api.paging import decode_cursor
from omnisync.hub.linking import auto_link_channel, link, unlink
from omnisync.hub.settings import AlertRulesConfig
from omnisync.hub.views.listings import listing_view
from omnisync.hub.views.shapes import ListingOut
from omnisync.hub.views.stock_search import MAX_SEARCH, search_skus
from omnisync.hub.web.dependencies import ConsoleUser, Operator
from omnisync.hub.web.forms import PostedForm, text
from omnisync.hub.web.paging import PAGE_SIZE, console_page
from omnisync.hub.web.rendering import redirect, render

router = APIRouter()

UNLINKED, LINKED = 0, 1
"""The two parts of the list, in the order shown."""
SKU_MATCHES = 20
"""The link page lists at most this many SKUs for a search."""
AUTO_LINK_RULES: dict[str, tuple[LinkMethod, ...]] = {
    "barcode": (LinkMethod.BARCODE,),
    "sku,barcode": (LinkMethod.SKU, LinkMethod.BARCODE),
}
"""The rules the auto-link form offers (`omnisync listings auto-link --by`)."""
REPORTED = 50
"""An auto-link's record names at most this many listings."""

ChannelQuery = Annotated[str | None, Query(max_length=100)]
Cursor = Annotated[str | None, Query(max_length=400)]


def listing_page(
    session: Session,
    *,
    channel: Channel | None,
    unlinked_only: bool,
    after: tuple[int, str, str] | None,
    limit: int,
) -> list[tuple[int, ListingOut]]:
    """Up to `limit` (part, listing): the unlinked ones, then the linked ones, each by
    channel name and key, from after `after` (part, channel, key)."""
    if channel is not None:
        channels = [channel]
    else:
        channels = sorted(session.exec(select(Channel)), key=lambda row: row.name)
    rows: list[tuple[int, ListingOut]] = []
    for part in (UNLINKED,) if unlinked_only else (UNLINKED, LINKED):
        for each in channels:
            if after is not None and (part, each.name) < after[:2]:
                continue
            query = (
                select(Listing, Sku.code)
                .outerjoin(Sku, col(Sku.id) == Listing.sku_id)
                .where(Listing.channel_id == each.id)
                .where(
                    col(Listing.sku_id).is_(None)
                    if part == UNLINKED
                    else col(Listing.sku_id).is_not(None)
                )
                .order_by(col(Listing.channel_sku))
                .limit(limit - len(rows))
            )
            if after is not None and (part, each.name) == after[:2]:
                query = query.where(col(Listing.channel_sku) > after[2])
            rows += [
                (part, listing_view(listing, each.name, each.type, code))
                for listing, code in session.exec(query)
            ]
            if len(rows) >= limit:
                return rows
    return rows


@router.get("/listings")
def listings_page(
    request: Request,
    me: ConsoleUser,
    session: Reading,
    context: Context,
    channel: ChannelQuery = None,
    unlinked: bool = False,
    cursor: Cursor = None,
) -> Response:
    chosen = channel_by_name(session, channel) if channel else None
    after = None
    if cursor is not None:
        part, name, key = decode_cursor(cursor, int, str, str)
        after = (int(part), str(name), str(key))
    found = listing_page(
        session, channel=chosen, unlinked_only=unlinked, after=after, limit=PAGE_SIZE + 1
    )
    shown, next_url = console_page(
        found, PAGE_SIZE, request, lambda row: (row[0], row[1].channel, row[1].listing)
    )
    waiting = dict(
        session.exec(
            select(Listing.channel_id, func.count())
            .where(col(Listing.sku_id).is_(None))
            .group_by(col(Listing.channel_id))
        ).all()
    )
    secrets = context.secrets()
    return render(
        request,
        me,
        "listings_list.html",
        {
            "rows": [
                (part, row, redact(row.last_push_error, secrets) if row.last_push_error else None)
                for part, row in shown
            ],
            "next_url": next_url,
            "channel": chosen.name if chosen else "",
            "channels": sorted(name for name in session.exec(select(Channel.name))),
            "unlinked": unlinked,
            "unlinked_count": waiting.get(chosen.id or 0, 0) if chosen else sum(waiting.values()),
            "can_change": me.actor.may(UserRole.OPERATOR),
            "auto_link_rules": list(AUTO_LINK_RULES),
            "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        },
    )


def _listing(session: Session, listing_id: int) -> tuple[Listing, Channel]:
    listing = session.get(Listing, listing_id)
    if listing is None:
        raise NotFound(f"no listing #{listing_id}")
    channel = session.get(Channel, listing.channel_id)
    assert channel is not None
    return listing, channel


@router.get("/listings/{listing_id:int}/link")
def link_page(
    request: Request,
    me: ConsoleUser,
    session: Reading,
    listing_id: int,
    q: Annotated[str, Query(max_length=MAX_SEARCH)] = "",
) -> Response:
    listing, channel = _listing(session, listing_id)
    linked = session.get(Sku, listing.sku_id) if listing.sku_id is not None else None
    view = listing_view(listing, channel.name, channel.type, linked.code if linked else None)
    matches = search_skus(session, q, limit=SKU_MATCHES, include_retired=False) if q.strip() else []
    return render(
        request,
        me,
        "listings_link.html",
        {
            "listing": view,
            "q": q,
            "matches": matches,
            "can_change": me.actor.may(UserRole.OPERATOR),
            "suggestions": [
                hint
                for hint in (
                    listing.barcode,
                    None if view.channel_sku is None else listing.channel_sku,
                )
                if hint and hint != q
            ],
        },
    )


def _unlinked_after(context: ApiContext) -> timedelta:
    current = context.settings()
    rules = current.hub.alert_rules if current is not None else AlertRulesConfig()
    return rules.unlinked_after


def _change(
    context: ApiContext, work: Callable[[Session], str], *, done: str, refused: str
) -> Response:
    """Run `work` in one transaction (again if the database asks), then go to `done` with
    its words, or to `refused` with the refusal's (a refusal changes nothing)."""
    try:
        message = run_in_transaction(context.sync.database, work)
    except DomainError as error:
        return redirect(refused, redact(str(error), context.secrets()), error=True)
    return redirect(done, message)


def _back(form_value: str) -> str:
    """The list page the form was posted from (its filters kept); only a /listings path."""
    if form_value.startswith("/listings") and "//" not in form_value and "\\" not in form_value:
        return form_value
    return "/listings"


def _by(me_name: str) -> str:
    """Who a link event names: the user, through the console."""
    return f"{me_name} (console)"[:100]


@router.post("/listings/{listing_id:int}/link")
def link_listing(listing_id: int, me: Operator, form: PostedForm, context: Context) -> Response:
    code = text(form, "sku")

    def work(session: Session) -> str:
        if not code:
            raise InvalidRequest("choose the hub SKU to link the listing to")
        listing, channel = _listing(session, listing_id)
        change = link(
            session,
            channel.name,
            listing.channel_sku,
            code,
            actor=_by(me.actor.name),
            unlinked_after=_unlinked_after(context),
        )
        record_action(
            session,
            me.actor,
            "listing.link",
            f"{channel.name} {listing.channel_sku}",
            {
                "sku": change.sku,
                "changed": change.changed,
                "lines": change.lines,
                "units": change.units,
            },
        )
        return change.message or f"{listing.channel_sku} on {channel.name} linked to {change.sku}."

    again = f"/listings/{listing_id}/link?{urlencode({'q': text(form, 'q')})}"
    return _change(context, work, done=_back(text(form, "back")), refused=again)


@router.post("/listings/{listing_id:int}/unlink")
def unlink_listing(listing_id: int, me: Operator, form: PostedForm, context: Context) -> Response:
    def work(session: Session) -> str:
        listing, channel = _listing(session, listing_id)
        change = unlink(
            session,
            channel.name,
            listing.channel_sku,
            actor=_by(me.actor.name),
            unlinked_after=_unlinked_after(context),
        )
        record_action(
            session,
            me.actor,
            "listing.unlink",
            f"{channel.name} {listing.channel_sku}",
            {
                "sku": change.sku,
                "changed": change.changed,
                "lines": change.lines,
                "units": change.units,
            },
        )
        return change.message or f"{listing.channel_sku} on {channel.name} unlinked."

    back = _back(text(form, "back"))
    return _change(context, work, done=back, refused=back)


@router.post("/listings/auto-link")
def auto_link(me: Operator, form: PostedForm, context: Context) -> Response:
    name, rules = text(form, "channel"), text(form, "by", "barcode")

    def work(session: Session) -> str:
        if rules not in AUTO_LINK_RULES:
            raise InvalidRequest(f"auto-link by {rules!r}: one of {', '.join(AUTO_LINK_RULES)}")
        report = auto_link_channel(
            session,
            name,
            by=AUTO_LINK_RULES[rules],
            actor=_by(me.actor.name),
            unlinked_after=_unlinked_after(context),
        )
        record_action(
            session,
            me.actor,
            "listing.auto_link",
            report.channel,
            {
                "by": rules,
                "linked": len(report.linked),
                "listings": [f"{row.listing} → {row.sku}" for row in report.linked[:REPORTED]],
                "not_linked": len(report.not_linked),
            },
        )
        return (
            f"Auto-link on {report.channel} by {rules}: {len(report.linked)} linked, "
            f"{len(report.not_linked)} left unlinked."
        )

    back = _back(text(form, "back"))
    return _change(context, work, done=back, refused=back)
