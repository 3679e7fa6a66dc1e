"""An order's status whichever side learns something last, on SQLite and PostgreSQL:
the channel's re-reads (fresh, or lagging behind the hub), the hub's shipments and the
carriers' deliveries each re-derive it from the same facts (core/order_status.py).

A regression first: an order delivered by its parcels went back to `shipped` for good
when the channel, not yet told of the last fulfilment, was read again. Then a property:
over random interleavings of re-reads, shipments, pushes and carrier answers, the
status is at every step the one the facts of that moment give, so the final status
does not depend on the order things happened in, and a delivered order stays
delivered while its parcels are.
"""

from __future__ import annotations

import atexit
import itertools
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import select

from omnisync.core.catalog import upsert_sku
from omnisync.core.channels import channel_by_name
from omnisync.core.db import make_engine, transaction
from omnisync.core.dto import NormalisedOrder, TrackingInfo
from omnisync.core.errors import InvalidRequest
from omnisync.core.models import Order
from omnisync.core.shipping import record_shipment
from omnisync.core.tracking import apply_tracking
from omnisync.core.types import OrderStatus, ShipmentStatus
from omnisync.sync.jobs.counts import RunCount
from tests.support.api import ApiHub, api_hub, closed_channels
from tests.support.databases import (
    POSTGRES_URL,
    fresh_engine,
    postgres_schema,
    postgres_schema_url,
    sqlite_url,
    truncate_all,
)
from tests.support.fake_carrier import FakeCarrier  # registers type "fake_carrier"
from tests.support.world import build_world, ingest, list_sku, make_order, order_row, set_count

S = ShipmentStatus
LINES = (("A", 2), ("B", 1))
"""The order of every test here: two units of A, one of B."""
UPS = """\
type: fake_carrier
label: UPS
"""


# -- the regression: delivered, then the channel lagging behind ------------------------


@pytest.fixture
def api(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ApiHub]:
    FakeCarrier.reset()
    channels = {**closed_channels("shop"), "ups": UPS}
    with api_hub(tmp_path, migrated_database_url, monkeypatch, channels=channels) as hub:
        with transaction(hub.hub.engine) as session:
            for code in ("A", "B"):
                upsert_sku(session, code)
        for code in ("A", "B"):
            set_count(hub.hub.engine, code, "main", 10)
        list_sku(hub.hub.engine, "shop", "A", "B")
        yield hub
    FakeCarrier.reset()


def channel_says(
    status: OrderStatus, minutes: int, shipped: list[int | None] | None = None
) -> NormalisedOrder:
    """Order 1001 as the channel reports it at T0 + `minutes`."""
    return make_order("1001", LINES, status=status, minutes=minutes, shipped=shipped)


def ship_over_the_api(api: ApiHub, tracking: str, lines: dict[str, int] | None = None) -> None:
    body: dict[str, object] = {"carrier": "ups", "tracking_number": tracking}
    if lines is not None:
        body["lines"] = [{"sku": sku, "quantity": units} for sku, units in lines.items()]
    response = api.post("/api/v1/orders/1001/shipments", body)
    assert response.status_code == 201, response.text


def status_of(engine: Engine) -> OrderStatus:
    return order_row(engine, "shop", "1001").status


def test_a_delivered_order_stays_delivered_when_the_channel_is_read_again_lagging_behind(
    api: ApiHub,
) -> None:
    engine = api.hub.engine
    ingest(engine, "shop", channel_says(OrderStatus.ACCEPTED, 0))
    ship_over_the_api(api, "1Z0001", {"A": 2})
    # The first fulfilment reached the channel: it reports the order partially fulfilled.
    ingest(engine, "shop", channel_says(OrderStatus.PARTIALLY_SHIPPED, 1, [2, 0]))
    ship_over_the_api(api, "1Z0002")  # the rest
    assert status_of(engine) == OrderStatus.SHIPPED
    FakeCarrier.answers.update(
        {
            number: TrackingInfo(tracking_number=number, status=S.DELIVERED)
            for number in ("1Z0001", "1Z0002")
        }
    )

    tracked = api.sync.run("ups", "tracking")

    assert tracked.status == "succeeded", tracked.error
    assert (tracked.counts[RunCount.DELIVERED], tracked.counts[RunCount.ORDERS_DELIVERED]) == (2, 1)
    assert status_of(engine) == OrderStatus.DELIVERED
    # The next poll, before the second fulfilment is pushed: the channel still says
    # partially fulfilled, with a later change time of its own.
    ingest(engine, "shop", channel_says(OrderStatus.PARTIALLY_SHIPPED, 2, [2, 0]))
    assert status_of(engine) == OrderStatus.DELIVERED
    # Told at last: fulfilled, with line counts and without.
    ingest(engine, "shop", channel_says(OrderStatus.SHIPPED, 3, [2, 1]))
    assert status_of(engine) == OrderStatus.DELIVERED
    ingest(engine, "shop", channel_says(OrderStatus.SHIPPED, 4))
    assert status_of(engine) == OrderStatus.DELIVERED
    assert api.get("/api/v1/orders/1001").json()["status"] == "delivered"
    # Nothing is left to track that could bring it back.
    assert api.sync.run("ups", "tracking").counts.get(RunCount.TRACKED, 0) == 0


def test_a_parcel_delivered_before_the_channel_re_read_counts_once_the_rest_arrives(
    api: ApiHub,
) -> None:
    """The re-read lands between the two deliveries: the second one still delivers."""
    engine = api.hub.engine
    ingest(engine, "shop", channel_says(OrderStatus.ACCEPTED, 0))
    ship_over_the_api(api, "1Z0001", {"A": 2})
    ship_over_the_api(api, "1Z0002")
    FakeCarrier.answers["1Z0001"] = TrackingInfo(tracking_number="1Z0001", status=S.DELIVERED)
    assert api.sync.run("ups", "tracking").counts[RunCount.ORDERS_DELIVERED] == 0
    ingest(engine, "shop", channel_says(OrderStatus.PARTIALLY_SHIPPED, 1, [2, 0]))
    assert status_of(engine) == OrderStatus.SHIPPED

    FakeCarrier.answers["1Z0002"] = TrackingInfo(tracking_number="1Z0002", status=S.DELIVERED)
    assert api.sync.run("ups", "tracking").counts[RunCount.ORDERS_DELIVERED] == 1
    assert status_of(engine) == OrderStatus.DELIVERED
    ingest(engine, "shop", channel_says(OrderStatus.ACCEPTED, 2, [0, 0]))  # a stale replica
    assert status_of(engine) == OrderStatus.DELIVERED


# -- the property: the status is what the facts of the moment give ---------------------


@dataclass
class Parcel:
    number: str
    units: tuple[int, ...]
    """Units of each line of LINES in the parcel."""
    shipment_id: int
    status: ShipmentStatus = S.LABEL_CREATED


@dataclass
class Facts:
    """What has happened to the order, as the test saw it happen."""

    parcels: list[Parcel] = field(default_factory=list)
    pushed: int = 0
    """How many of the parcels the channel has heard of (fulfilments pushed, in order)."""
    cancelled: bool = False
    """The channel cancelled the order."""
    heard: list[int] = field(default_factory=lambda: [0])
    """`pushed` as the channel showed it at each of its changes: what a lagging read shows."""
    last_report: OrderStatus = OrderStatus.ACCEPTED
    """The status of the channel's latest applied report."""

    def shipped(self, parcels: int | None = None) -> list[int]:
        """Units of each line in the first `parcels` parcels (all of them: None)."""
        counted = self.parcels if parcels is None else self.parcels[:parcels]
        return [sum(parcel.units[index] for parcel in counted) for index in range(len(LINES))]

    def open_units(self) -> list[int]:
        return [
            quantity - shipped for (_, quantity), shipped in zip(LINES, self.shipped(), strict=True)
        ]

    def all_delivered(self) -> bool:
        """Every unit left, and every parcel arrived."""
        return (
            not any(self.open_units())
            and bool(self.parcels)
            and all(parcel.status == S.DELIVERED for parcel in self.parcels)
        )


def expected_status(facts: Facts) -> OrderStatus:
    """The status the facts give, by the precedence of core/order_status.py restated over
    what the test knows: delivered by the parcels, else cancelled by the channel, else
    how much has left, else what the channel says."""
    if facts.all_delivered():
        return OrderStatus.DELIVERED
    if facts.last_report == OrderStatus.CANCELLED:
        return OrderStatus.CANCELLED
    if not any(facts.open_units()):
        return OrderStatus.SHIPPED
    if any(facts.shipped()):
        return OrderStatus.PARTIALLY_SHIPPED
    return facts.last_report


@dataclass(frozen=True)
class Step:
    kind: str
    number: int = 0
    """Which units to ship (see _units_to_ship), which parcel (modulo their number), how
    far back a lagging read looks; what a step does not use, it ignores."""
    counts: bool = True
    """Whether a channel read gives line counts (a shipped order without them is all shipped)."""


KINDS = (
    *("ship",) * 3,
    *("push",) * 2,
    *("deliver",) * 3,
    "move",
    "bounce",
    *("read",) * 2,
    *("lagging_read",) * 2,
    "late_page",
    "cancel",
)
"""Step kinds, the ones that make the interesting states more often than the others."""
steps = st.lists(
    st.builds(Step, st.sampled_from(KINDS), st.integers(0, 3), st.booleans()),
    min_size=1,
    max_size=20,
)


class Interleaving:
    """Plays steps against a database, through the functions the jobs and the API call."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.facts = Facts()
        self.clock = itertools.count(2)
        build_world(engine, channels={"shop": None, "ups": None})
        for code in ("A", "B"):
            set_count(engine, code, "main", 10)
        list_sku(engine, "shop", "A", "B")
        ingest(engine, "shop", self._report(OrderStatus.ACCEPTED, 0, minutes=1))

    def play(self, step: Step) -> None:
        getattr(self, f"_{step.kind}")(step)

    def status(self) -> OrderStatus:
        return order_row(self.engine, "shop", "1").status

    # the channel ---------------------------------------------------------------------

    def _report(
        self, status: OrderStatus, pushed: int, *, minutes: int, counts: bool = True
    ) -> NormalisedOrder:
        shipped: list[int | None] = list(self.facts.shipped(pushed))
        return make_order(
            "1", LINES, status=status, minutes=minutes, shipped=shipped if counts else None
        )

    def _channel_status(self, pushed: int) -> OrderStatus:
        if self.facts.cancelled:
            return OrderStatus.CANCELLED
        shipped = self.facts.shipped(pushed)
        if shipped == [quantity for _, quantity in LINES]:
            return OrderStatus.SHIPPED
        return OrderStatus.PARTIALLY_SHIPPED if any(shipped) else OrderStatus.ACCEPTED

    def _read_as_of(self, pushed: int, counts: bool) -> None:
        status = self._channel_status(pushed)
        ingest(
            self.engine,
            "shop",
            self._report(status, pushed, minutes=next(self.clock), counts=counts),
        )
        self.facts.last_report = status

    def _read(self, step: Step) -> None:
        """The channel read again, as it is now."""
        self._read_as_of(self.facts.pushed, step.counts)

    def _lagging_read(self, step: Step) -> None:
        """A later change time, but what the channel showed a few changes ago."""
        heard = self.facts.heard
        self._read_as_of(heard[max(len(heard) - 2 - step.number, 0)], step.counts)

    def _late_page(self, step: Step) -> None:
        """A page older than what is stored (a webhook retried late): ignored."""
        result = ingest(self.engine, "shop", self._report(OrderStatus.ACCEPTED, 0, minutes=0))
        assert not result.applied

    def _push(self, step: Step) -> None:
        if not self.facts.cancelled and self.facts.pushed < len(self.facts.parcels):
            self.facts.pushed += 1
            self.facts.heard.append(self.facts.pushed)

    def _cancel(self, step: Step) -> None:
        """The buyer cancels on the channel, which has heard of no parcel (ours may be out).
        One cancel step in four does: a cancellation ends most stories, so it comes late."""
        if step.number == 0 and self.facts.pushed == 0 and not self.facts.cancelled:
            self.facts.cancelled = True
            self._read_as_of(0, True)

    # the hub and its carrier ---------------------------------------------------------

    def _ship(self, step: Step) -> None:
        units = self._units_to_ship(step.number)
        if not any(units):
            return
        wanted = {f"1-{index}": count for index, count in enumerate(units) if count}
        number = f"1Z{len(self.facts.parcels):04d}"
        refused = self.facts.last_report == OrderStatus.CANCELLED
        with transaction(self.engine) as session:
            order = session.exec(select(Order).where(Order.external_id == "1")).one()
            carrier_id = channel_by_name(session, "ups").id
            if refused:
                with pytest.raises(InvalidRequest, match="is cancelled"):
                    record_shipment(session, order, wanted, carrier="UPS", tracking_number=number)
                return
            shipment = record_shipment(
                session,
                order,
                wanted,
                carrier="UPS",
                tracking_number=number,
                carrier_channel_id=carrier_id,
            )
            self.facts.parcels.append(Parcel(number, tuple(units), shipment.id or 0))

    def _units_to_ship(self, choice: int) -> list[int]:
        """0: the open units of A; 1: those of B; 2: every open unit; 3: one unit of A."""
        open_units = self.facts.open_units()
        if choice == 0:
            return [open_units[0], 0]
        if choice == 1:
            return [0, open_units[1]]
        if choice == 2:
            return open_units
        return [min(open_units[0], 1), 0]

    def _deliver(self, step: Step) -> None:
        self._track(step.number, S.DELIVERED)

    def _move(self, step: Step) -> None:
        self._track(step.number, S.IN_TRANSIT)

    def _bounce(self, step: Step) -> None:
        self._track(step.number, S.RETURNED_TO_SENDER)

    def _track(self, index: int, reported: ShipmentStatus) -> None:
        if not self.facts.parcels:
            return
        parcel = self.facts.parcels[index % len(self.facts.parcels)]
        info = TrackingInfo(tracking_number=parcel.number, status=reported)
        with transaction(self.engine) as session:
            result = apply_tracking(
                session, parcel.shipment_id, info, unknown_after=timedelta(days=1)
            )
        parcel.status = result.status


def check_interleaving(engine: Engine, plan: list[Step]) -> None:
    played = Interleaving(engine)
    for step in plan:
        delivered_before = played.status() == OrderStatus.DELIVERED
        played.play(step)
        status = played.status()
        if delivered_before and played.facts.all_delivered():
            assert status == OrderStatus.DELIVERED, (step, played.facts)
        assert status == expected_status(played.facts), (step, played.facts)
    assert played.status() == expected_status(played.facts), played.facts


THE_REGRESSION = [
    Step("ship", 0),  # A leaves
    Step("push"),
    Step("read"),  # the channel: partially fulfilled
    Step("ship", 2),  # the rest leaves
    Step("deliver", 0),
    Step("deliver", 1),  # the order is delivered
    Step("read"),  # the channel has not heard of the second parcel: partially fulfilled
    Step("push"),
    Step("lagging_read"),  # fulfilled, but the channel still shows partially fulfilled
    Step("read"),  # fulfilled
]
"""The interleaving of the regression above, played in every run of the property."""
ACROSS_A_CANCELLATION = [
    Step("ship", 3),  # one unit of A leaves; the channel does not know yet
    Step("cancel"),  # the buyer cancels on the channel
    Step("ship", 2),  # refused: the rest is released
    Step("deliver", 0),
    Step("read"),
]


PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# PostgreSQL empties its schema per example: fewer examples there; SQLite covers breadth.
PROPERTY_POSTGRES = settings(PROPERTY, max_examples=15)
_folder = Path(tempfile.mkdtemp(prefix="omnisync-order-status-"))
atexit.register(shutil.rmtree, _folder, ignore_errors=True)
_runs = itertools.count()


@pytest.mark.slow
@PROPERTY
@given(plan=steps)
@example(plan=THE_REGRESSION)
@example(plan=ACROSS_A_CANCELLATION)
def test_the_status_is_what_the_facts_give_in_any_order_sqlite(plan: list[Step]) -> None:
    folder = _folder / str(next(_runs))
    folder.mkdir()
    engine = fresh_engine(sqlite_url(folder))
    try:
        check_interleaving(engine, plan)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def postgres_url_for_properties() -> Iterator[str]:
    if not POSTGRES_URL:
        pytest.skip("OMNISYNC_TEST_POSTGRES_URL is not set")
    with postgres_schema() as schema:
        url = postgres_schema_url(schema)
        fresh_engine(url).dispose()
        yield url


@pytest.mark.slow
@pytest.mark.postgres
@PROPERTY_POSTGRES
@given(plan=steps)
@example(plan=THE_REGRESSION)
@example(plan=ACROSS_A_CANCELLATION)
def test_the_status_is_what_the_facts_give_in_any_order_postgres(
    postgres_url_for_properties: str, plan: list[Step]
) -> None:
    engine = make_engine(postgres_url_for_properties)
    try:
        truncate_all(engine)
        check_interleaving(engine, plan)
    finally:
        engine.dispose()
