"""The parcel being packed, as `omnisync pack --json` prints it and /api/v1 serves it."""

from __future__ import annotations

from omnisync.core.clock import iso
from omnisync.core.packing import PackingState, ScanOutcome
from omnisync.hub.packing import ScanRun
from omnisync.hub.views.shapes import (
    LabelOut,
    PackingOut,
    PackLineOut,
    PackOut,
    PackRefusalOut,
    PackScanOut,
)


def packing_view(state: PackingState) -> PackingOut:
    return PackingOut(
        order=state.order_id,
        order_name=state.order_name,
        location=state.location,
        packed=state.packed,
        packed_at=iso(state.packed_at),
        lines=[
            PackLineOut(
                external_line_id=line.external_line_id,
                channel_sku=line.channel_sku,
                sku=line.sku,
                title=line.title,
                needed=line.needed,
                scanned=line.scanned,
                remaining=line.remaining,
            )
            for line in state.lines
        ],
    )


def scan_view(outcome: ScanOutcome) -> PackScanOut:
    return PackScanOut(
        code=outcome.code,
        sku=outcome.sku,
        units=outcome.units,
        scanned=outcome.scanned,
        needed=outcome.needed,
    )


def pack_view(
    run: ScanRun, label: LabelOut | None = None, label_error: str | None = None
) -> PackOut:
    """The parcel after a batch of scans, with what each scan did and the label bought."""
    return PackOut(
        **dict(packing_view(run.state)),
        accepted=[scan_view(outcome) for outcome in run.accepted],
        refused=[PackRefusalOut(code=item.code, message=item.message) for item in run.refused],
        label=label,
        label_error=label_error,
    )
