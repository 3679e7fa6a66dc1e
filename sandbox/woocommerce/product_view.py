"""Products and variations as WooCommerce's REST API v3 shows them.

The keys and JSON types are those of the documented examples (``products--retrieve-a-
product--1``, ``product-variations--retrieve-a-product-variation--1``), plus
``global_unique_id`` (the GTIN/UPC/EAN/ISBN field WooCommerce 9.2 added to both). What
the simulator does not model (images, categories, taxes, downloads) is empty or the
default WooCommerce answers with.
"""

from __future__ import annotations

import html
from typing import Final

from omnisync.sandbox.woocommerce.catalogue import Catalogue, StockItem
from omnisync.sandbox.woocommerce.model import JSON, SiteClock, money

API_PREFIX: Final = "/wp-json/wc/v3"
ATTRIBUTE_NAME: Final = "Option"
"""The one attribute a seeded variable product varies by."""


def links(self_href: str, collection_href: str, up_href: str | None = None) -> JSON:
    body: JSON = {"self": [{"href": self_href}], "collection": [{"href": collection_href}]}
    if up_href is not None:
        body["up"] = [{"href": up_href}]
    return body


def product_json(item: StockItem, catalogue: Catalogue, site: SiteClock, base: str) -> JSON:
    """A product as ``/products`` shows it; a variation there (``/products?sku=``, or
    ``/products/{variation id}``) is product-shaped too, of type ``variation``."""
    variations = catalogue.variations_of(item)
    price = _price_text(item, variations)
    slug = _slug(item)
    return {
        "id": item.id,
        "name": line_name(item, catalogue),
        "slug": slug,
        "permalink": f"{base}/product/{slug}/",
        **site.pair("date_created", item.created),
        **site.pair("date_modified", item.modified),
        "type": item.kind,
        "status": "publish",
        "featured": False,
        "catalog_visibility": "visible",
        "description": "",
        "short_description": "",
        "sku": item.sku,
        "price": price,
        "regular_price": price if item.kind != "variable" else "",
        "sale_price": "",
        **_no_sale(site),
        "price_html": _price_html(price),
        "on_sale": False,
        "purchasable": item.kind != "variable" or bool(variations),
        "total_sales": item.total_sales,
        "virtual": False,
        "downloadable": False,
        "downloads": [],
        "download_limit": -1,
        "download_expiry": -1,
        "external_url": "",
        "button_text": "",
        "tax_status": "taxable",
        "tax_class": "",
        **_stock(item),
        "sold_individually": False,
        "weight": "",
        "dimensions": {"length": "", "width": "", "height": ""},
        "shipping_required": True,
        "shipping_taxable": True,
        "shipping_class": "",
        "shipping_class_id": 0,
        "reviews_allowed": True,
        "average_rating": "0.00",
        "rating_count": 0,
        "related_ids": [],
        "upsell_ids": [],
        "cross_sell_ids": [],
        "parent_id": item.parent_id,
        "purchase_note": "",
        "categories": [],
        "tags": [],
        "images": [],
        "attributes": _attributes(variations),
        "default_attributes": [],
        "variations": list(item.variation_ids),
        "grouped_products": [],
        "menu_order": 0,
        "meta_data": [],
        "global_unique_id": item.global_unique_id,
        "_links": links(f"{base}{API_PREFIX}/products/{item.id}", f"{base}{API_PREFIX}/products"),
    }


def variation_json(item: StockItem, catalogue: Catalogue, site: SiteClock, base: str) -> JSON:
    parent = catalogue.get(item.parent_id)
    parent_slug = _slug(parent) if parent is not None else "product"
    price = money(item.price)
    collection = f"{base}{API_PREFIX}/products/{item.parent_id}/variations"
    return {
        "id": item.id,
        **site.pair("date_created", item.created),
        **site.pair("date_modified", item.modified),
        "description": "",
        "permalink": f"{base}/product/{parent_slug}/?attribute_option={item.option}",
        "sku": item.sku,
        "price": price,
        "regular_price": price,
        "sale_price": "",
        **_no_sale(site),
        "on_sale": False,
        "status": "publish",
        "purchasable": True,
        "virtual": False,
        "downloadable": False,
        "downloads": [],
        "download_limit": -1,
        "download_expiry": -1,
        "tax_status": "taxable",
        "tax_class": "",
        **_stock(item),
        "weight": "",
        "dimensions": {"length": "", "width": "", "height": ""},
        "shipping_class": "",
        "shipping_class_id": 0,
        "image": None,
        "attributes": [{"id": 0, "name": ATTRIBUTE_NAME, "option": item.option}],
        "menu_order": 0,
        "meta_data": [],
        "global_unique_id": item.global_unique_id,
        "_links": links(
            f"{collection}/{item.id}", collection, f"{base}{API_PREFIX}/products/{item.parent_id}"
        ),
    }


def line_name(item: StockItem, catalogue: Catalogue) -> str:
    """The name an order line gets: ``Tee - S`` for a variation."""
    if item.kind != "variation":
        return item.name
    parent = catalogue.get(item.parent_id)
    return f"{parent.name if parent else item.name} - {item.option}"


def _stock(item: StockItem) -> JSON:
    return {
        "manage_stock": item.manage_stock,
        "stock_quantity": item.stock_quantity if item.manage_stock else None,
        "stock_status": item.stock_status,
        "backorders": item.backorders,
        "backorders_allowed": item.backorders != "no",
        "backordered": item.manage_stock
        and item.backorders != "no"
        and (item.stock_quantity or 0) < 0,
    }


def _no_sale(site: SiteClock) -> JSON:
    return {**site.pair("date_on_sale_from", None), **site.pair("date_on_sale_to", None)}


def _attributes(variations: list[StockItem]) -> list[JSON]:
    if not variations:
        return []
    return [
        {
            "id": 0,
            "name": ATTRIBUTE_NAME,
            "position": 0,
            "visible": True,
            "variation": True,
            "options": [variation.option for variation in variations],
        }
    ]


def _price_text(item: StockItem, variations: list[StockItem]) -> str:
    if item.kind != "variable":
        return money(item.price)
    return money(min(variation.price for variation in variations)) if variations else ""


def _price_html(price: str) -> str:
    if not price:
        return ""
    symbol = '<span class="woocommerce-Price-currencySymbol">&#36;</span>'
    return f'<span class="woocommerce-Price-amount amount">{symbol}{html.escape(price)}</span>'


def _slug(item: StockItem) -> str:
    words = "".join(ch.lower() if ch.isalnum() else "-" for ch in item.name).strip("-")
    return "-".join(part for part in words.split("-") if part) or str(item.id)
