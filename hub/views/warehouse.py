"""Bins and packaging barcodes as the CLI prints them and the API serves them."""

from __future__ import annotations

from sqlmodel import Session, col, select

from omnisync.core.bins import walk_key
from omnisync.core.clock import iso
from omnisync.core.models import Location, PackagingBarcode, Sku, SkuBin
from omnisync.hub.views.shapes import PackagingBarcodeOut, SkuBinOut


def bin_view(row: SkuBin, sku: str, location: str) -> SkuBinOut:
    return SkuBinOut(
        sku=sku,
        location=location,
        bin=row.bin,
        sequence=row.sequence,
        updated_at=iso(row.updated_at),
    )


def bin_list(session: Session, *, location: Location | None = None) -> list[SkuBinOut]:
    """Every bin (or those at `location`), by location and then in walking order."""
    query = (
        select(SkuBin, Sku.code, Location.code)
        .join(Sku, col(Sku.id) == SkuBin.sku_id)
        .join(Location, col(Location.id) == SkuBin.location_id)
    )
    if location is not None:
        query = query.where(SkuBin.location_id == location.id)
    rows = [bin_view(row, sku, where) for row, sku, where in session.exec(query)]
    return sorted(rows, key=lambda row: (row.location, *walk_key(row.sequence, row.bin, row.sku)))


def barcode_view(row: PackagingBarcode, sku: str) -> PackagingBarcodeOut:
    return PackagingBarcodeOut(
        sku=sku,
        barcode=row.barcode,
        quantity=row.quantity,
        name=row.name,
        created_at=iso(row.created_at),
    )


def barcode_list(rows: list[PackagingBarcode], sku: Sku) -> list[PackagingBarcodeOut]:
    return [barcode_view(row, sku.code) for row in rows]
