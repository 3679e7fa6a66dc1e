"""Runner `procrastinate` acceptance tests: worker processes whose queue ids are known, and
what the hub, the queue and the sandbox say, read the same way by every test."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from omnisync.core.availability import available_to_sell
from omnisync.core.catalog import location_by_code, upsert_sku
from omnisync.core.db import make_engine, transaction
from omnisync.core.ledger import count_stock
from omnisync.core.models import Channel, Listing, Order
from omnisync.sandbox.marketplace import SandboxMarketplace
from omnisync.sync.jobs.names import JobName
from omnisync.sync.queue.names import task_name
from tests.support.polling import eventually
from tests.support.queue_hub import WorkerProcess

_WORKER_IDS = text("SELECT id FROM procrastinate_workers ORDER BY id")
_TASKS = text(
    "SELECT id, status::text, worker_id FROM procrastinate_jobs "
    "WHERE task_name = :task AND (args ->> 'channel_id')::int = :channel_id ORDER BY id"
)


@contextmanager
def workers_in_turn(
    count: int, config: Path, database_url: str, folder: Path
) -> Iterator[list[tuple[WorkerProcess, int]]]:
    """`count` `omnisync worker` processes, each with its procrastinate worker id (each is
    started once the one before has registered, so the new id is its own); stopped with
    SIGTERM at the end."""
    engine = make_engine(database_url)
    started: list[tuple[WorkerProcess, int]] = []
    try:
        for number in range(count):
            known = _worker_ids(engine)
            process = WorkerProcess(config, database_url, folder / f"worker-{number}.log")
            started.append((process, -1))
            assert eventually(partial(_registered_besides, engine, known), timeout=30), (
                process.output()
            )
            (worker_id,) = _worker_ids(engine) - known
            started[-1] = (process, worker_id)
        yield started
    finally:
        engine.dispose()
        for process, _ in started:
            if process.process.poll() is None:
                process.stop()
            else:
                process._out.close()


def _registered_besides(engine: Engine, known: set[int]) -> bool:
    return bool(_worker_ids(engine) - known)


def _worker_ids(engine: Engine) -> set[int]:
    with engine.connect() as connection:
        return set(connection.execute(_WORKER_IDS).scalars())


def counted(engine: Engine, sku: str, quantity: int) -> None:
    """One transaction: `quantity` of `sku` counted at location main."""
    with transaction(engine) as session:
        count_stock(session, upsert_sku(session, sku), location_by_code(session, "main"), quantity)


def channel_id(engine: Engine, name: str) -> int:
    with Session(engine) as session:
        found = session.exec(select(Channel.id).where(Channel.name == name)).one()
        assert found is not None
        return found


def hub_quantities(engine: Engine, name: str) -> dict[str, int]:
    """What the hub says channel `name` may sell of each linked listing."""
    with Session(engine) as session:
        channel = session.exec(select(Channel).where(Channel.name == name)).one()
        listings = session.exec(
            select(Listing).where(
                Listing.channel_id == channel.id, col(Listing.sku_id).is_not(None)
            )
        ).all()
        available = available_to_sell(session, channel, {row.sku_id or 0 for row in listings})
        return {row.channel_sku: available[row.sku_id or 0] for row in listings}


def channel_matches_hub(engine: Engine, name: str, market: SandboxMarketplace) -> bool:
    """Every listing of the sandbox is linked and shows the hub's quantity."""
    wanted = hub_quantities(engine, name)
    listings = market.snapshot()["listings"]
    return len(wanted) == len(listings) and all(
        market.quantity(sku) == quantity for sku, quantity in wanted.items()
    )


def order_ids(engine: Engine, name: str) -> list[str]:
    """The channel's orders the hub holds (external ids, duplicates kept)."""
    with Session(engine) as session:
        return list(
            session.exec(
                select(Order.external_id)
                .join(Channel, Channel.id == Order.channel_id)  # type: ignore[arg-type]
                .where(Channel.name == name)
            ).all()
        )


def channel_tasks(engine: Engine, job: JobName, channel: int) -> list[tuple[int, str, int | None]]:
    """The channel's tasks of `job` still in procrastinate_jobs: (id, status, worker id)."""
    with engine.connect() as connection:
        rows = connection.execute(_TASKS, {"task": task_name(job), "channel_id": channel})
        return [(int(job_id), status, worker) for job_id, status, worker in rows]


def pushes_by_sku(market: SandboxMarketplace, since: int) -> dict[str, list[int]]:
    """The quantities the sandbox took for each SKU, in order, from push number `since`."""
    pushed: dict[str, list[int]] = {}
    for push in market.snapshot()["inventory_pushes"][since:]:
        if push["status"] == "ok":
            pushed.setdefault(push["sku"], []).append(push["quantity"])
    return pushed


def inventory_requests(market: SandboxMarketplace) -> int:
    requests: Mapping[str, int] = market.traffic()["requests"]
    return requests.get("inventory", 0)
