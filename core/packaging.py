"""Packaging barcodes, and what a scanned code stands for.

A SKU's own barcode (skus.barcode) counts one unit; a packaging barcode counts the
units its packaging holds (a case of 6 counts 6). A scanner cannot tell them apart,
so one code must mean one thing: a packaging barcode may equal no SKU's own barcode,
no SKU's code and no other packaging barcode, and a SKU's own barcode or a new SKU
code may equal no packaging barcode (core/catalog.py asks `refuse_packaging_barcode`);
each is a Conflict naming what has the code. A code that means two things all the
same (set before these checks) is never read as either: `resolve_barcode` refuses it,
naming both. Packing (core/packing.py) reads every scan through `resolve_barcode`.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from omnisync.core.clock import clock_of
from omnisync.core.errors import Conflict, InvalidRequest, NotFound
from omnisync.core.models import PackagingBarcode, Sku

BARCODE_MAX_LENGTH = 64
NAME_MAX_LENGTH = 100
QUANTITY_MAX = 1_000_000


def add_packaging_barcode(
    session: Session, sku: Sku, barcode: str, quantity: int, name: str = ""
) -> PackagingBarcode:
    """Give `sku` a packaging of `quantity` units scanned as `barcode`, called `name`."""
    code = _valid_barcode(barcode)
    if not 1 <= quantity <= QUANTITY_MAX:
        raise InvalidRequest(f"quantity {quantity} is not between 1 and {QUANTITY_MAX}")
    name = name.strip()
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidRequest(f"name is {len(name)} characters long (at most {NAME_MAX_LENGTH})")
    _refuse_taken(session, code)
    row = PackagingBarcode(
        sku_id=sku.id or 0,
        barcode=code,
        quantity=quantity,
        name=name,
        created_at=clock_of(session).now(),
    )
    session.add(row)
    session.flush()
    return row


def _valid_barcode(barcode: str) -> str:
    code = barcode.strip()
    if not code:
        raise InvalidRequest("barcode is empty")
    if len(code) > BARCODE_MAX_LENGTH:
        raise InvalidRequest(
            f"barcode {code[:20]!r}... is {len(code)} characters long "
            f"(at most {BARCODE_MAX_LENGTH})"
        )
    if any(character.isspace() or not character.isprintable() for character in code):
        raise InvalidRequest(f"barcode {code!r} has whitespace or a control character")
    return code


def _refuse_taken(session: Session, code: str) -> None:
    """Conflict when a scan of `code` already means something."""
    packaging = _packaging(session, code)
    if packaging is not None:
        raise Conflict(f"barcode {code!r} is already {_describe(*packaging)}")
    own = session.exec(select(Sku.code).where(Sku.barcode == code).order_by(col(Sku.code))).first()
    if own is not None:
        raise Conflict(f"barcode {code!r} is SKU {own}'s own barcode (it counts 1 unit of it)")
    if session.exec(select(Sku.id).where(Sku.code == code)).first() is not None:
        raise Conflict(f"barcode {code!r} is a SKU code (a scan of it counts 1 unit of that SKU)")


def refuse_packaging_barcode(session: Session, code: str | None, what: str) -> None:
    """Conflict when `code`, about to become `what` of a SKU ("barcode": its own barcode,
    "code": its code), is a packaging barcode: a scan of it would mean two things."""
    code = (code or "").strip()
    packaging = _packaging(session, code) if code else None
    if packaging is not None:
        raise Conflict(
            f"{what} {code!r} is already {_describe(*packaging)} (a scan of it counts "
            f"{packaging[0].quantity}): one code must mean one thing"
        )


def _packaging(session: Session, code: str) -> tuple[PackagingBarcode, str] | None:
    """The packaging barcode `code` and its SKU's code, or None."""
    found = session.exec(
        select(PackagingBarcode, Sku.code)
        .join(Sku, col(Sku.id) == PackagingBarcode.sku_id)
        .where(PackagingBarcode.barcode == code)
    ).first()
    return None if found is None else (found[0], found[1])


def _describe(row: PackagingBarcode, sku_code: str) -> str:
    what = row.name or "packaging"
    return f"the barcode of SKU {sku_code}'s {what} of {row.quantity}"


def packaging_barcodes(session: Session, sku: Sku) -> list[PackagingBarcode]:
    """The SKU's packaging barcodes, oldest first."""
    return list(
        session.exec(
            select(PackagingBarcode)
            .where(PackagingBarcode.sku_id == sku.id)
            .order_by(col(PackagingBarcode.id))
        )
    )


def remove_packaging_barcode(session: Session, barcode: str) -> tuple[PackagingBarcode, Sku]:
    """Forget a packaging barcode (scans of it count nothing from now on); NotFound for
    one the hub does not have. Returns the row removed and its SKU."""
    row = session.exec(
        select(PackagingBarcode).where(PackagingBarcode.barcode == barcode.strip())
    ).first()
    if row is None:
        raise NotFound(f"no packaging barcode {barcode.strip()!r}")
    sku = session.get(Sku, row.sku_id)
    assert sku is not None
    session.delete(row)
    session.flush()
    return row, sku


def resolve_barcode(session: Session, code: str) -> tuple[int, int] | None:
    """What a scan of `code` is: (SKU id, units it counts), or None when it is nothing
    the hub knows.

    A packaging barcode counts its quantity; a SKU's own barcode counts 1, and so does
    a SKU's code scanned or typed as it is. A code that cannot say what was scanned is
    InvalidRequest naming its meanings: a barcode several SKUs share as their own, or a
    packaging barcode that is also a SKU's own barcode or code.
    """
    code = code.strip()
    if not code:
        return None
    packaging = _packaging(session, code)
    owners = session.exec(
        select(Sku.id, Sku.code).where(Sku.barcode == code).order_by(col(Sku.code))
    ).all()
    by_code = session.exec(select(Sku.id, Sku.code).where(Sku.code == code)).first()
    if packaging is not None:
        also = [f"SKU {owner}'s own barcode" for _, owner in owners]
        also += [f"the code of SKU {by_code[1]}"] if by_code is not None else []
        if also:
            raise InvalidRequest(
                f"barcode {code!r} means two things: {_describe(*packaging)} and "
                f"{' and '.join(also)}; nothing is counted until one of them changes"
            )
        return packaging[0].sku_id, packaging[0].quantity
    if len(owners) > 1:
        named = ", ".join(owner for _, owner in owners)
        raise InvalidRequest(f"barcode {code!r} is the barcode of several SKUs ({named})")
    if owners:
        return owners[0][0] or 0, 1
    return (by_code[0] or 0, 1) if by_code is not None else None
