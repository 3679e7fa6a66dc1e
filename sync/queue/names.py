"""What the queue calls things: task names, queues, locks. Every process that defers or
runs a task (the hub, the CLI, the workers) derives them here, so they always agree."""

from __future__ import annotations

from omnisync.sync.jobs.names import JobName

TASK_PREFIX = "omnisync."
TASKS: dict[JobName, str] = {
    JobName.ORDERS: "pull_orders",
    JobName.LISTINGS: "pull_listings",
    JobName.STOCK: "push_stock",
    JobName.FULFILMENTS: "push_fulfilments",
    JobName.RECONCILE: "reconcile",
    JobName.TRACKING: "poll_tracking",
    JobName.RETURNS: "pull_returns",
}
"""The task that runs each job for one channel (its one argument: `channel_id`)."""
TICK_QUEUE = "omnisync_ticks"
"""The queue of the periodic ticks (one per job kind, every second)."""
WAKE_TASK = f"{TASK_PREFIX}wake"
"""Defers a job for a channel when its wait after a refusal ends (args: job, channel_id)."""
TICK_CRON = "* * * * * *"
"""Every second (procrastinate's sixth cron column)."""


def task_name(job: JobName) -> str:
    return f"{TASK_PREFIX}{TASKS[job]}"


def tick_name(job: JobName) -> str:
    return f"{TASK_PREFIX}tick_{TASKS[job]}"


def job_of_task(name: str) -> JobName | None:
    """The job a channel task runs (None for a tick or a task that is not ours)."""
    for job in JobName:
        if name == task_name(job):
            return job
    return None


def queue_of(channel_type: str) -> str:
    """A channel's tasks go to the queue of its marketplace: `omnisync worker --queues
    amazon --concurrency 2` caps how many of Amazon's run at once."""
    return channel_type


LOCKED_WITH: dict[JobName, JobName] = {JobName.RECONCILE: JobName.STOCK}
"""Jobs that take another's lock: reconcile sets the channel's quantities as push_stock
does, and two pushes in flight at once could land out of order (a stale quantity last)."""


def lock_of(job: JobName, channel_id: int, account: str | None) -> str:
    """One run at a time per (job, channel), or per (job, account) when channels share an
    account's rate limit; reconcile and push_stock share theirs (LOCKED_WITH)."""
    owner = f"account:{account}" if account else f"channel:{channel_id}"
    return f"omnisync:{TASKS[LOCKED_WITH.get(job, job)]}:{owner}"


def queueing_lock_parts(job: JobName) -> tuple[str, str]:
    """What comes before and after the channel id in the job's queueing locks (for SQL)."""
    return f"omnisync:{TASKS[job]}:channel:", ":waiting"


def queueing_lock_of(job: JobName, channel_id: int) -> str:
    """At most one waiting task per (job, channel): a second "push now" joins the first."""
    before, after = queueing_lock_parts(job)
    return f"{before}{channel_id}{after}"


def wake_lock_of(job: JobName, channel_id: int) -> str:
    """At most one wake-up waiting per (job, channel)."""
    return f"omnisync:{TASKS[job]}:channel:{channel_id}:wake"


def tick_lock(job: JobName) -> str:
    return f"omnisync:tick:{TASKS[job]}"
