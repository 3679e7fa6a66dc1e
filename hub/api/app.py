"""The HTTP app of one hub process: probes, /metrics, /api/v1, webhooks, the docs and the
web console (hub/web/).

Settings may be given as a callable, read on every request, so a reload (SIGHUP, a
changed channel file) applies to the API token and the secrets at once, with no
restart. Without settings the REST API stays disabled (503), and without a
`scheduler_running` the process is never ready.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from omnisync.hub.api import probes, webhooks
from omnisync.hub.api.dependencies import ApiContext, SettingsSource
from omnisync.hub.api.docs import install_docs
from omnisync.hub.api.errors import install_error_handlers
from omnisync.hub.api.v1 import api_router
from omnisync.hub.metrics import metrics_registry, queue_stalled_after
from omnisync.hub.settings import Settings
from omnisync.sync.engine import SyncEngine


def create_app(
    sync: SyncEngine,
    *,
    settings: Settings | Callable[[], Settings | None] | None = None,
    scheduler_running: Callable[[], bool] | None = None,
    run_now: Callable[[str], list[str]] | None = None,
) -> FastAPI:
    """The app of one hub process. `settings` (or a callable giving the current ones,
    so a reload applies) supplies the API token, the default location and the
    secrets; without settings the REST API stays disabled. `scheduler_running` tells
    /readyz whether the scheduler works; without it the process is never ready.
    `run_now` is the scheduler's "sync now" of a channel (Scheduler.run_now); without
    it the console and the API say no scheduler runs in this process."""
    source = _settings_source(settings)
    context = ApiContext(
        sync=sync,
        settings=source,
        scheduler_running=scheduler_running,
        metrics=metrics_registry(sync.database, queue=lambda: queue_stalled_after(source())),
        run_now=run_now,
    )
    app = FastAPI(
        title="omnisync",
        version="0.1.0",
        description="Multichannel order and stock hub: state, stock changes, monitoring.",
        docs_url=None,  # /docs and /redoc come from hub/api/docs.py: no CDN
        redoc_url=None,
    )
    app.state.omnisync = context
    install_docs(app)
    install_error_handlers(app, context)
    app.include_router(probes.router)
    app.include_router(api_router())
    app.include_router(webhooks.router)
    # Imported here: the console's pages import this package's dependencies module.
    from omnisync.hub.web.console import install_console

    install_console(app, context)  # last: its pages take `/` and whatever the rest left
    return app


def _settings_source(settings: Settings | Callable[[], Settings | None] | None) -> SettingsSource:
    if settings is None or isinstance(settings, Settings):
        fixed = settings
        return lambda: fixed
    return settings
