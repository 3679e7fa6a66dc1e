"""/api/v1/skus/{sku}/bins and /barcodes: where a SKU is kept at each location, and the
barcodes of its packagings (`omnisync stock bins`, `omnisync skus barcodes`).

A SKU code may hold `/`, so the SKU is the path up to the trailing `/bins/{location}`
or `/barcodes`. Putting a bin replaces the one the SKU had at the location. A
packaging barcode that is already a SKU's barcode or code, or another packaging's, is
409; a bundle (picked as its components) or a channel-managed location is 422.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, status

from omnisync.core.bins import set_bin
from omnisync.core.catalog import location_by_code, sku_by_code
from omnisync.core.packaging import add_packaging_barcode, packaging_barcodes
from omnisync.core.users import record_action
from omnisync.hub.api.dependencies import Clean, CurrentActor, Reading, Writing
from omnisync.hub.api.messages import BinIn, ErrorOut, PackagingBarcodeIn
from omnisync.hub.views.shapes import PackagingBarcodeOut, SkuBinOut
from omnisync.hub.views.warehouse import barcode_list, barcode_view, bin_view

SkuCode = Annotated[str, Path(description="The SKU's code (`/` included).")]
LocationCode = Annotated[str, Path(description="The location's code.")]
BARCODE_TAKEN = "The barcode is a SKU's own barcode or code, or another packaging's."

router = APIRouter(tags=["stock"])


@router.put(
    "/skus/{sku:path}/bins/{location}",
    response_model=SkuBinOut,
    responses={404: {"model": ErrorOut}},
)
def put_bin(
    sku: SkuCode,
    location: LocationCode,
    body: BinIn,
    session: Writing,
    clean: Clean,
    actor: CurrentActor,
) -> Any:
    """Keep the SKU in `bin` at the location, at `sequence` on the picker's walk (a row of
    `omnisync stock bins import`)."""
    owner, where = sku_by_code(session, sku), location_by_code(session, location)
    row = set_bin(session, owner, where, body.bin, body.sequence)
    record_action(session, actor, "sku.bin", f"{owner.code} at {where.code}", {"bin": body.bin})
    return clean(bin_view(row, owner.code, where.code))


@router.get(
    "/skus/{sku:path}/barcodes",
    response_model=list[PackagingBarcodeOut],
    responses={404: {"model": ErrorOut}},
)
def list_barcodes(sku: SkuCode, session: Reading, clean: Clean) -> Any:
    """The SKU's packaging barcodes, oldest first (`omnisync skus barcodes list`)."""
    owner = sku_by_code(session, sku)
    return clean(barcode_list(packaging_barcodes(session, owner), owner))


@router.post(
    "/skus/{sku:path}/barcodes",
    response_model=PackagingBarcodeOut,
    status_code=status.HTTP_201_CREATED,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut, "description": BARCODE_TAKEN}},
)
def add_barcode(
    sku: SkuCode, body: PackagingBarcodeIn, session: Writing, clean: Clean, actor: CurrentActor
) -> Any:
    """Give the SKU a packaging barcode that counts `quantity` units when scanned
    (`omnisync skus barcodes add`)."""
    owner = sku_by_code(session, sku)
    row = add_packaging_barcode(session, owner, body.barcode, body.quantity, body.name)
    detail = {"barcode": body.barcode, "quantity": body.quantity}
    record_action(session, actor, "sku.barcode", owner.code, detail)
    return clean(barcode_view(row, owner.code))
