"""The sub-second push under runner `procrastinate`: a transaction that marks listings
dirty defers `push_stock` for each affected channel before it commits, so the stock change,
its dirty listings and the deferrals commit together or not at all. A rolled-back change
defers nothing; a push already waiting for the channel (AlreadyEnqueued) is left to drain
this change too. Each hub process, CLI included, installs the hook on its engine
(`install_push_hook`); the one-second sweep (sweeps.py) covers a process that crashed
between its commit and a deferral, which cannot happen here but can with other writers.
"""

from __future__ import annotations

import logging
import weakref

from sqlalchemy import Engine, event
from sqlmodel import Session

from omnisync.core.db import HubSession
from omnisync.core.outbox import MARKED_ON_CHANNELS
from omnisync.sync.jobs.names import JobName
from omnisync.sync.jobs.registry import supports_job
from omnisync.sync.queue.defer import defer
from omnisync.sync.queue.targets import Deferral, Targets

log = logging.getLogger(__name__)
_HOOKED: weakref.WeakKeyDictionary[Engine, Targets] = weakref.WeakKeyDictionary()


def install_push_hook(database: Engine, targets: Targets) -> None:
    """Defer pushes from every transaction on `database` that marks listings dirty."""
    if not _HOOKED and not event.contains(HubSession, "before_commit", _before_commit):
        event.listen(HubSession, "before_commit", _before_commit)
    _HOOKED[database] = targets


def remove_push_hook(database: Engine) -> None:
    _HOOKED.pop(database, None)


def _before_commit(session: Session) -> None:
    if not isinstance(session, HubSession) or session.in_nested_transaction():
        # A savepoint's commit: the marks wait for the transaction's own commit (deferring
        # now would hold the queueing lock for the rest of the transaction).
        return
    channel_ids: set[int] = session.info.pop(MARKED_ON_CHANNELS, set())
    targets = _HOOKED.get(session.database)
    if targets is None or not channel_ids:
        return
    by_id = targets.by_id(session)
    pushes = [
        Deferral(JobName.STOCK, by_id[channel_id])
        for channel_id in sorted(channel_ids)
        if channel_id in by_id
        and by_id[channel_id].channel.enabled
        and supports_job(by_id[channel_id].channel.type, JobName.STOCK)
    ]
    deferred = defer(session, pushes)
    log.debug("deferred %d of %d pushes", len(deferred), len(pushes))
