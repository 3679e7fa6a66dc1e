"""The job table: for each job name, the capability a channel needs for it, the
function that runs it and how often it runs when a channel file does not say.

Everything that lists jobs derives from this table: the engine (sync/engine.py),
the scheduler and the health view (through SyncChannel.intervals and
supports_job), the `schedule:` section of a channel file (hub/settings.py builds
ScheduleConfig from it) and the choices of `omnisync sync JOB`. Adding a job is
one entry here and one member of JobName; a JobName without an entry fails at
import, so the two cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from types import MappingProxyType

from omnisync.connectors.base import Capability
from omnisync.connectors.registry import connector_for
from omnisync.sync.jobs.context import JobContext
from omnisync.sync.jobs.fulfilments import push_fulfilments
from omnisync.sync.jobs.listings import pull_listings
from omnisync.sync.jobs.names import JobName
from omnisync.sync.jobs.orders import pull_orders
from omnisync.sync.jobs.returns import sync_returns
from omnisync.sync.jobs.stock import push_stock, reconcile
from omnisync.sync.jobs.tracking import poll_tracking


@dataclass(frozen=True)
class JobSpec:
    capability: Capability
    """What a channel's connector must declare for the job to run on it."""
    run: Callable[[JobContext], None]
    default_interval: timedelta
    """The job's `schedule:` value when a channel file leaves it out."""


JOBS: Mapping[JobName, JobSpec] = MappingProxyType(
    {
        JobName.ORDERS: JobSpec(Capability.ORDERS, pull_orders, timedelta(minutes=1)),
        JobName.LISTINGS: JobSpec(Capability.LISTINGS, pull_listings, timedelta(hours=1)),
        JobName.STOCK: JobSpec(Capability.STOCK, push_stock, timedelta(minutes=1)),
        JobName.FULFILMENTS: JobSpec(Capability.FULFILMENT, push_fulfilments, timedelta(minutes=1)),
        JobName.RECONCILE: JobSpec(Capability.STOCK, reconcile, timedelta(hours=1)),
        JobName.TRACKING: JobSpec(Capability.TRACKING, poll_tracking, timedelta(minutes=15)),
        JobName.RETURNS: JobSpec(Capability.RETURNS, sync_returns, timedelta(minutes=5)),
    }
)
if list(JOBS) != list(JobName):
    raise RuntimeError("sync/jobs/registry.py: JOBS must hold every JobName, in its order")

PUSH_JOBS = frozenset(name for name, spec in JOBS.items() if spec.capability is Capability.STOCK)
"""The jobs that send stock quantities (their runs count acknowledged and failed items)."""


def job_spec(job: str) -> JobSpec | None:
    """The spec of the job named `job`; None for a name that is no job."""
    return JOBS.get(JobName(job)) if job in JOBS else None


def supports_job(channel_type: str, job: str) -> bool:
    """Whether channels of this type have the capability the job needs."""
    spec = job_spec(job)
    cls = connector_for(channel_type)
    return cls is not None and spec is not None and spec.capability in cls.capabilities
