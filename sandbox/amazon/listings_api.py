"""The Listings Items API 2021-08-01 over the catalogue: search, get and patch.

Requests name the seller (path) and the marketplaces (``marketplaceIds``, required);
any other seller or marketplace gets Amazon's 400 "Invalid 'sellerId' and
'marketplaceId' combination provided.". searchListingsItems pages with ``pageSize``
(1-20, default 10) and an opaque ``pageToken``; a token holds the SKUs the first
page matched, so pages neither skip nor repeat while listings change. patchListingsItem
answers ``ACCEPTED`` and applies the patch, or ``INVALID`` with issues and changes
nothing; ``mode=VALIDATION_PREVIEW`` answers ``VALID`` / ``INVALID`` and never applies.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from omnisync.sandbox.amazon.http import (
    CANNOT_PARSE,
    JSON,
    PageTokens,
    SpApiError,
    invalid_input,
    parse_amazon_time,
)
from omnisync.sandbox.amazon.listings import Catalogue, Listing, patches_are_well_formed
from omnisync.sandbox.clock import isoformat

ITEM_DATA: Final = (
    "summaries",
    "attributes",
    "issues",
    "offers",
    "fulfillmentAvailability",
    "procurement",
    "relationships",
    "productTypes",
)
PATCH_DATA: Final = ("identifiers", "issues")
MAX_PAGE_SIZE: Final = 20
DEFAULT_PAGE_SIZE: Final = 10
SORT_KEYS: Final = ("sku", "createdDate", "lastUpdatedDate")
COMBINATION: Final = "Invalid 'sellerId' and 'marketplaceId' combination provided."


@dataclass(frozen=True)
class SearchPosition:
    skus: tuple[str, ...]
    offset: int


def check_seller(
    catalogue: Catalogue, seller_id: str, params: Mapping[str, Any], own_seller: str
) -> None:
    markets = params.get("marketplaceIds")
    if not markets:
        raise invalid_input("Missing required parameter 'marketplaceIds'.")
    if seller_id != own_seller or any(m != catalogue.marketplace_id for m in markets):
        raise invalid_input(COMBINATION)


def included_data(params: Mapping[str, Any], allowed: Sequence[str], default: str) -> list[str]:
    given = params.get("includedData") or [default]
    unknown = [value for value in given if value not in allowed]
    if unknown:
        raise invalid_input(f"Invalid includedData: {', '.join(unknown)}.")
    return list(given)


def search_listings(
    catalogue: Catalogue, params: Mapping[str, Any], tokens: PageTokens[SearchPosition]
) -> JSON:
    """The searchListingsItems answer (``ItemSearchResults``)."""
    included = included_data(params, ITEM_DATA, "summaries")
    size = params.get("pageSize", DEFAULT_PAGE_SIZE)
    if not isinstance(size, int) or not 1 <= size <= MAX_PAGE_SIZE:
        raise invalid_input(f"'pageSize' must be an integer from 1 to {MAX_PAGE_SIZE}.")
    token = params.get("pageToken")
    if token:
        position = tokens.get(str(token))
        if position is None:
            raise invalid_input("Invalid 'pageToken'.")
    else:
        position = SearchPosition(tuple(listing.sku for listing in _matching(catalogue, params)), 0)
    chosen = position.skus[position.offset : position.offset + size]
    items = [
        catalogue.item_json(catalogue.listings[sku], included)
        for sku in chosen
        if sku in catalogue.listings
    ]
    pagination: JSON = {}
    if position.offset + size < len(position.skus):
        pagination["nextToken"] = tokens.issue(
            SearchPosition(position.skus, position.offset + size)
        )
    if position.offset > 0:
        previous = max(0, position.offset - size)
        pagination["previousToken"] = tokens.issue(SearchPosition(position.skus, previous))
    body: JSON = {"numberOfResults": len(position.skus)}
    if pagination:
        body["pagination"] = pagination
    body["items"] = items
    return body


def _matching(catalogue: Catalogue, params: Mapping[str, Any]) -> list[Listing]:
    listings = list(catalogue.listings.values())
    identifiers, kind = params.get("identifiers"), params.get("identifiersType")
    if bool(identifiers) != bool(kind):
        raise invalid_input("'identifiers' and 'identifiersType' must be given together.")
    if identifiers:
        if len(identifiers) > 20:
            raise invalid_input("At most 20 'identifiers' may be given.")
        wanted = set(identifiers)
        if kind == "SKU":
            listings = [listing for listing in listings if listing.sku in wanted]
        elif kind == "ASIN":
            listings = [listing for listing in listings if listing.asin in wanted]
        else:
            listings = []  # the simulator keeps no EAN, UPC, ... identifiers
    with_status, without_status = params.get("withStatus") or [], params.get("withoutStatus") or []
    listings = [
        listing
        for listing in listings
        if (not with_status or set(with_status) & set(listing.status))
        and not set(without_status) & set(listing.status)
    ]
    listings = [listing for listing in listings if _in_dates(listing, params)]
    sort_by = params.get("sortBy", "lastUpdatedDate")
    order = params.get("sortOrder", "DESC")
    if sort_by not in SORT_KEYS or order not in ("ASC", "DESC"):
        raise invalid_input("'sortBy' or 'sortOrder' has an invalid value.")

    def key(listing: Listing) -> tuple[Any, str]:
        if sort_by == "sku":
            return listing.sku, listing.sku
        moment = listing.created_at if sort_by == "createdDate" else listing.updated_at
        return moment, listing.sku

    return sorted(listings, key=key, reverse=order == "DESC")


def _in_dates(listing: Listing, params: Mapping[str, Any]) -> bool:
    bounds = (
        ("createdAfter", listing.created_at, 1),
        ("createdBefore", listing.created_at, -1),
        ("lastUpdatedAfter", listing.updated_at, 1),
        ("lastUpdatedBefore", listing.updated_at, -1),
    )
    for name, moment, direction in bounds:
        if not params.get(name):
            continue
        try:
            limit: datetime = parse_amazon_time(str(params[name]))
        except ValueError:
            raise invalid_input(f"'{name}' is not a valid ISO 8601 date-time.") from None
        if (moment - limit).total_seconds() * direction < 0:
            return False
    return True


def get_listing(catalogue: Catalogue, sku: str, params: Mapping[str, Any]) -> JSON:
    included = included_data(params, ITEM_DATA, "summaries")
    listing = catalogue.listings.get(sku)
    if listing is None:
        raise SpApiError(
            404, "NOT_FOUND", f"SKU '{sku}' not found in marketplace {catalogue.marketplace_id}"
        )
    return catalogue.item_json(listing, included)


def patch_listing(
    catalogue: Catalogue, sku: str, params: Mapping[str, Any], log: list[JSON]
) -> JSON:
    """Answer a patchListingsItem request (the patch applied when ACCEPTED)."""
    included = included_data(params, PATCH_DATA, "issues")
    body = params.get("body")
    if not isinstance(body, dict):
        raise invalid_input(CANNOT_PARSE)
    product_type, patches = body.get("productType"), body.get("patches")
    if (
        not isinstance(product_type, str)
        or not product_type
        or not patches_are_well_formed(patches)
    ):
        raise invalid_input(CANNOT_PARSE)
    mode = params.get("mode")
    if mode is not None and mode != "VALIDATION_PREVIEW":
        raise invalid_input(f"Invalid mode: {mode}.")
    found = catalogue.check_patch(sku, product_type, patches)
    preview = mode == "VALIDATION_PREVIEW"
    if found:
        status = "INVALID"
    elif preview:
        status = "VALID"
    else:
        status = "ACCEPTED"
        catalogue.apply_patch(sku, patches)
    answer: JSON = {"sku": sku, "status": status, "submissionId": uuid.uuid4().hex}
    if preview and "identifiers" in included:
        listing = catalogue.listings.get(sku)
        answer["identifiers"] = (
            [{"marketplaceId": catalogue.marketplace_id, "asin": listing.asin}] if listing else []
        )
    if "issues" in included:
        answer["issues"] = found
    applied = catalogue.listings[sku].updated_at if status == "ACCEPTED" else None
    log.append(
        {
            "sku": sku,
            "productType": product_type,
            "patches": patches,
            "mode": mode,
            "status": status,
            "submissionId": answer["submissionId"],
            "issues": found,
            # when the quantity changed on the simulator's clock (benchmarks time it)
            "appliedAt": None if applied is None else isoformat(applied),
        }
    )
    return answer
