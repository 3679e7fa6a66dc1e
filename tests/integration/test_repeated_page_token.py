"""A channel that repeats its page token fails the run, recorded with the channel's fault,
instead of holding the job's lease in an endless walk (connectors/pagination.py)."""

from __future__ import annotations

import respx
from sqlalchemy import Engine
from sqlmodel import Session, select

from omnisync.connectors.sandbox.settings import SandboxSettings
from omnisync.core.models import SyncRun
from omnisync.sync.calls import RetryPolicy
from omnisync.sync.channels import SyncChannel
from omnisync.sync.engine import SyncEngine
from tests.support.world import build_world

MARKET = "https://market.repeats.test"


def market_engine(engine: Engine) -> SyncEngine:
    settings = SandboxSettings.model_validate({"endpoint": MARKET, "api_key": "repeat-key-51c0"})
    channel = SyncChannel(name="market", type="sandbox", enabled=True, settings=settings)
    # Retries would be spent on failed calls; here every call succeeds.
    return SyncEngine(engine, [channel], retry=RetryPolicy(attempts=3, initial=0.01, maximum=0.02))


def test_a_channel_repeating_its_page_token_fails_the_orders_run(engine: Engine) -> None:
    build_world(engine, channels={"market": None})
    sync = market_engine(engine)
    with respx.mock(base_url=MARKET) as router:
        route = router.get("/api/v1/orders").respond(
            json={"orders": [], "next_page_token": "page-2"}
        )
        outcome = sync.run("market", "orders")
    sync.close()

    assert outcome.status == "failed"
    assert route.call_count == 2  # the first page, then the page the token named: no more
    with Session(engine) as session:
        run = session.exec(select(SyncRun)).one()
    assert run.error == ("RepeatedPageToken: orders: the channel repeated the page token 'page-2'")
