"""The names of the jobs the engine runs per channel.

A job's name is seen by users everywhere (the `schedule:` keys of a channel file,
`omnisync sync JOB`, the `job` of a sync_runs row, metric labels, JSON output),
so these values never change. The enum's order is the order jobs are scheduled
and shown in. What each job needs and does is in sync/jobs/registry.py; this
module imports nothing, so any module (sync.channels included) can name a job
without importing the jobs themselves.
"""

from __future__ import annotations

from enum import StrEnum


class JobName(StrEnum):
    ORDERS = "orders"
    LISTINGS = "listings"
    STOCK = "stock"
    FULFILMENTS = "fulfilments"
    RECONCILE = "reconcile"
    TRACKING = "tracking"
    RETURNS = "returns"
