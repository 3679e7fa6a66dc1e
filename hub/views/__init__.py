"""The hub's JSON output: what `--json` prints and what /api/v1 serves, built once.

- shapes.py: every output object as a pydantic model, each defined once; read its
  rules (keys added, never renamed; times and money as text) before changing one.
- catalog.py: SKUs, stock levels and availability, stock movements.
- orders.py: orders with their lines, returns, parcels and tracking events; cancellations.
- returns.py: returns with their lines, inspections, outbox and order; how much of an
  order came back, in words.
- return_rates.py: `report returns`, the return rate per channel and SKU over a period.
- channels.py: channels with their listings, their health (`status`), or both.
- operations.py: job runs, alerts and their deliveries, quarantined payloads.
- warehouse.py: bins (in walking order) and packaging barcodes.
- picking.py: pick lists and their walk; the printable page (hub/templates/pick_list.html).
- packing.py: the parcel being packed (`pack`), what each scan did, and its label.

A view reads the database and returns shapes; the CLI prints `shapes.json_data(...)`
of them (or reads their attributes for a table), and the API returns them.
"""

from omnisync.hub.views.catalog import movement_list, movement_view, sku_list, stock_list
from omnisync.hub.views.channels import channel_list, channels_with_health, status_view
from omnisync.hub.views.operations import (
    alert_list,
    alert_resolution_view,
    find_alert,
    find_quarantined,
    quarantine_list,
    quarantine_resolution_view,
    sync_run_list,
)
from omnisync.hub.views.orders import (
    cancellation_view,
    order_detail,
    order_list,
    shipment_views,
)

__all__ = [
    "alert_list",
    "alert_resolution_view",
    "cancellation_view",
    "channel_list",
    "channels_with_health",
    "find_alert",
    "find_quarantined",
    "movement_list",
    "movement_view",
    "order_detail",
    "order_list",
    "quarantine_list",
    "quarantine_resolution_view",
    "shipment_views",
    "sku_list",
    "status_view",
    "stock_list",
    "sync_run_list",
]
