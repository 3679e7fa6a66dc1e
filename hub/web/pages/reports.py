"""The reports screen, /reports?days=7|30|90 (30 by default): over the last days on the
hub's clock (today included, UTC days), orders and units per channel per day (a line
per channel), the ten products that sold the most units (bars and a table), and the
return rate per channel (hub/views/return_rates.py, as `omnisync report returns`).
Every figure comes from grouped queries (hub/views/reports.py)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from omnisync.core.clock import clock_of
from omnisync.core.redaction import redact_data
from omnisync.hub.api.dependencies import Context, Reading
from omnisync.hub.views.reports import DaySales, sales_by_day, top_products
from omnisync.hub.views.return_rates import returns_report
from omnisync.hub.views.shapes import json_data
from omnisync.hub.web.charts import bar_chart, line_chart
from omnisync.hub.web.dependencies import ConsoleUser
from omnisync.hub.web.rendering import render

router = APIRouter()

PERIODS = (7, 30, 90)
DEFAULT_DAYS = 30


@router.get("/reports")
def reports_page(
    request: Request,
    me: ConsoleUser,
    context: Context,
    session: Reading,
    days: Annotated[str, Query(max_length=3)] = str(DEFAULT_DAYS),
) -> Response:
    if not days.isdigit() or int(days) not in PERIODS:
        return render(
            request,
            me,
            "error.html",
            {"title": "Refused", "message": f"days={days}: one of 7, 30 or 90"},
            status_code=422,
        )
    period = int(days)
    now = clock_of(session).now()
    first = (now - timedelta(days=period - 1)).date()
    since = datetime.combine(first, time.min, tzinfo=UTC)
    labels = [(first + timedelta(days=index)).isoformat() for index in range(period)]
    sales = sales_by_day(session, since, now)
    products = top_products(session, since, now)
    report = returns_report(session, since, now, per_sku=False)
    rates = redact_data(json_data(report), context.secrets())
    orders_series, units_series = _series(sales, labels)
    short = [label[5:] for label in labels]  # MM-DD under the charts
    return render(
        request,
        me,
        "reports.html",
        {
            "days": period,
            "periods": PERIODS,
            "since": since,
            "until": now,
            "orders_chart": line_chart(orders_series, short, title="Orders per channel per day"),
            "units_chart": line_chart(units_series, short, title="Units per channel per day"),
            "products_chart": bar_chart(
                [(product.sku, product.units) for product in products],
                title="Top products by units",
            ),
            "products": products,
            "channels": sorted(orders_series),
            "by_day": _by_day(sales),
            "totals": _totals(sales),
            "rates": rates,
            "rates_chart": bar_chart(
                [
                    (row["channel"], round(100 * (row["return_rate"] or 0), 1))
                    for row in rates["channels"]
                ],
                title="Return rate per channel, %",
            ),
        },
    )


def _series(
    sales: list[DaySales], labels: list[str]
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Orders and units per channel, one value per day of `labels` (0 where none)."""
    where = {label: index for index, label in enumerate(labels)}
    orders: dict[str, list[float]] = {}
    units: dict[str, list[float]] = {}
    for row in sales:
        index = where.get(row.day)
        if index is None:
            continue
        orders.setdefault(row.channel, [0.0] * len(labels))[index] += row.orders
        units.setdefault(row.channel, [0.0] * len(labels))[index] += row.units
    return dict(sorted(orders.items())), dict(sorted(units.items()))


def _by_day(sales: list[DaySales]) -> list[tuple[str, dict[str, DaySales]]]:
    """The days with orders, newest first, each with its figures per channel."""
    days: dict[str, dict[str, DaySales]] = defaultdict(dict)
    for row in sales:
        days[row.day][row.channel] = row
    return sorted(days.items(), reverse=True)


def _totals(sales: list[DaySales]) -> dict[str, Any]:
    per_channel: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in sales:
        per_channel[row.channel][0] += row.orders
        per_channel[row.channel][1] += row.units
    return {
        "channels": dict(sorted(per_channel.items())),
        "orders": sum(orders for orders, _ in per_channel.values()),
        "units": sum(units for _, units in per_channel.values()),
    }
