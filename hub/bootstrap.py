"""The composition root: settings, database, channel rows, wired in one place."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from omnisync.core.catalog import LocationSpec, sync_locations
from omnisync.core.channels import ChannelSpec, sync_channels
from omnisync.core.clock import Clock, SystemClock, engine_clock
from omnisync.core.db import make_engine, transaction
from omnisync.hub.database import head_revision, migrate, schema_revision
from omnisync.hub.settings import ChannelConfig, Settings, channel_fingerprint, load_settings
from omnisync.sync.calls import RetryPolicy
from omnisync.sync.channels import SyncChannel
from omnisync.sync.engine import SyncEngine
from omnisync.sync.queue.guard import advisory_guard
from omnisync.sync.queue.hook import install_push_hook
from omnisync.sync.queue.targets import Targets


class NotInitialised(Exception):
    pass


@dataclass
class Hub:
    settings: Settings
    engine: Engine
    targets: Targets | None = None
    """Runner `procrastinate`: the channels tasks are deferred for (a transaction marking
    listings dirty defers their pushes before it commits: sync/queue/hook.py)."""

    @property
    def clock(self) -> Clock:
        """The hub's one clock, made by bootstrap and carried by `engine` (every session
        on it reads the time there)."""
        return engine_clock(self.engine)


def bootstrap(
    config_dir: Path,
    *,
    database_url: str | None = None,
    create: bool = False,
    clock: Clock | None = None,
) -> Hub:
    """Load the config, open the database and mirror locations and channels into it.

    With `create`, applies the migrations first (what `omnisync init` does);
    otherwise a database that is missing or behind raises NotInitialised. `clock` (the
    wall clock by default) is where the hub reads the time, everywhere.
    """
    settings = load_settings(config_dir, database_url=database_url)
    return bootstrap_with(settings, create=create, clock=clock)


def bootstrap_with(
    settings: Settings,
    *,
    create: bool = False,
    clock: Clock | None = None,
    pool_size: int | None = None,
) -> Hub:
    """bootstrap() with the settings loaded already (by the CLI, which may leave a
    broken channel file out)."""
    if not create and _missing_sqlite_file(settings.database_url):
        raise NotInitialised("the database does not exist yet; run `omnisync init`")
    engine = make_engine(settings.database_url, clock=clock or SystemClock(), pool_size=pool_size)
    if create:
        migrate(engine)
    else:
        current, head = schema_revision(engine), head_revision()
        if current != head:
            engine.dispose()
            state = "has no schema" if current is None else f"is at revision {current}, not {head}"
            raise NotInitialised(f"the database {state}; run `omnisync init`")
    # The channel of a file left out as broken cannot be told from one that is gone.
    apply_config(engine, settings, disable_unlisted=not settings.skipped)
    targets = None
    if settings.hub.runner == "procrastinate":
        targets = Targets(engine_channels(settings))
        install_push_hook(engine, targets)
    return Hub(settings, engine, targets)


def _missing_sqlite_file(database_url: str) -> bool:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return False
    return not Path(url.database).exists()


def apply_config(engine: Engine, settings: Settings, *, disable_unlisted: bool = True) -> None:
    """Mirror the locations and channels into the database; with `disable_unlisted`,
    a channel row no longer configured is disabled."""
    with transaction(engine) as session:
        sync_locations(
            session,
            [LocationSpec(loc.code, loc.name, loc.kind) for loc in settings.hub.locations],
        )
        sync_channels(
            session,
            [
                ChannelSpec(
                    name=channel.name,
                    type=channel.type,
                    enabled=channel.enabled,
                    locations=channel.locations,
                    stock_rules=channel.stock.model_dump(),
                    fingerprint=channel_fingerprint(channel),
                    routing=settings.routing_rules(channel.name),
                )
                for channel in settings.channels
            ],
            disable_unlisted=disable_unlisted,
        )


def sync_engine(
    hub: Hub, *, retry: RetryPolicy | None = None, wait_for_lock: bool = False
) -> SyncEngine:
    """The hub's engine for job runs in this process. Under runner `procrastinate` a run
    takes its task's advisory lock, so it never runs beside a worker's run of that job:
    a worker waits for it (`wait_for_lock`), anyone else (the CLI, the API) tries once."""
    stop = threading.Event()
    return SyncEngine(
        hub.engine,
        engine_channels(hub.settings),
        secrets=hub.settings.secrets,
        clock=hub.clock,
        retry=retry,
        unlinked_after=hub.settings.hub.alert_rules.unlinked_after,
        stop=stop,
        guard=None if hub.targets is None else advisory_guard(hub.engine, stop, wait=wait_for_lock),
    )


def engine_channels(settings: Settings) -> list[SyncChannel]:
    """What the engine needs of every channel's config."""
    return [sync_channel(channel, settings) for channel in settings.channels]


def sync_channel(channel: ChannelConfig, settings: Settings) -> SyncChannel:
    """What the engine needs of a channel's config."""
    selling = [
        location
        for location in settings.hub.locations
        if channel.locations is None or location.code in channel.locations
    ]
    if channel.locations is not None:
        selling.sort(key=lambda location: (channel.locations or []).index(location.code))
    return SyncChannel(
        name=channel.name,
        type=channel.type,
        enabled=channel.enabled,
        settings=channel.settings,
        intervals=channel.schedule.intervals(),
        lag=channel.sync.lag,
        backfill=channel.sync.backfill,
        item_backoff=channel.sync.item_backoff,
        tracking_unknown_after=channel.sync.tracking_unknown_after,
        locations=tuple((location.code, location.name or location.code) for location in selling),
        account=channel.account,
    )
