"""The hub's HTTP interface, one FastAPI app per hub process (`create_app`).

- app.py: the app factory; it puts the hub (an `ApiContext`) on `app.state`.
- dependencies.py: what routes are given (the hub, settings, a session, redaction)
  and the checks of every /api/v1 route (bearer token, unknown query parameters).
- errors.py: every error as `{"error": "..."}`, masked, with the status it deserves.
- probes.py: GET /healthz, /readyz and /metrics (no token).
- v1.py: /api/v1 under the token, assembled from one router per resource:
  orders.py, returns.py, stock.py, channels.py (with /status), listings.py, runs.py,
  alerts.py, quarantine.py, picking.py (pick lists), warehouse.py (a SKU's bins and
  packaging barcodes);
  paging.py pages their lists by key.
- messages.py: request bodies and the API's own replies; the JSON objects the CLI
  prints too are hub/views/shapes.py.
- webhooks.py: POST /webhooks/{type}/{channel}, signed by the channel (GET: its challenge).
- docs.py: GET /docs, /redoc and /openapi.json, served with nothing from a CDN (no auth).
"""

from omnisync.hub.api.app import create_app

__all__ = ["create_app"]
