"""`omnisync sync JOB [--channel NAME]`: run one job now, for one channel or all."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlmodel import col, select

from omnisync.core.db import transaction
from omnisync.core.models import Channel
from omnisync.hub.bootstrap import Hub, sync_engine
from omnisync.hub.commands.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    JsonOption,
    console,
    fail,
    open_hub,
    print_json,
)
from omnisync.sync.engine import RunOutcome, SyncEngine
from omnisync.sync.jobs.context import JobContext
from omnisync.sync.jobs.names import JobName
from omnisync.sync.queue.defer import defer
from omnisync.sync.queue.targets import Deferral, Targets


def sync(
    ctx: typer.Context,
    job: Annotated[JobName, typer.Argument(help="What to run.")],
    channel: Annotated[
        str | None, typer.Option(help="Only this channel (runs it even if paused or disabled).")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Run a sync job now: pull orders or listings, push stock, or reconcile everything."""
    hub = open_hub(ctx, channel=channel)
    engine = sync_engine(hub)
    try:
        if channel is not None and channel not in engine.channels:
            known = ", ".join(sorted(engine.channels)) or "none"
            fail(
                f"no channel named {channel!r} in the configuration (channels: {known})", EXIT_USAGE
            )
        names = (
            [channel]
            if channel
            else [name for name, config in engine.channels.items() if config.enabled]
        )
        names = [name for name in names if engine.supports(name, job.value)]
        if hub.targets is not None:
            _defer_to_workers(
                hub, hub.targets, names, job, named=channel is not None, json_output=json_output
            )
            return
        outcomes = [
            _run_one(engine, name, job.value, force=channel is not None, quiet=json_output)
            for name in names
        ]
    finally:
        engine.close()
        hub.engine.dispose()
    if json_output:
        print_json([_outcome_view(outcome) for outcome in outcomes])
    else:
        _print_table(outcomes)
    if any(outcome.failed for outcome in outcomes):
        raise typer.Exit(EXIT_FAILED)


def _defer_to_workers(
    hub: Hub,
    targets: Targets,
    names: list[str],
    job: JobName,
    *,
    json_output: bool,
    named: bool = False,
) -> None:
    """Runner `procrastinate`: the workers run jobs (one per channel and job at a time), so
    the command asks them to, at once, rather than running the job here beside them. The
    workers run no paused or disabled channel: one named with --channel is refused."""
    with transaction(hub.engine) as session:
        by_name = {target.channel.name: target for target in targets.by_id(session).values()}
        paused = dict(
            session.exec(
                select(Channel.name, Channel.paused_reason).where(
                    col(Channel.name).in_(names), col(Channel.paused_reason).is_not(None)
                )
            ).all()
        )
        enabled = {channel.name: channel.enabled for channel in hub.settings.channels}
        for name in names if named else []:
            why = (
                f"is paused ({paused[name]}): resume it first"
                if name in paused
                else "is disabled in its channel file"
                if not enabled.get(name, False)
                else None
            )
            if why:
                fail(f"channel {name} {why}; under runner procrastinate the workers run its jobs")
        asked = [Deferral(job, by_name[name]) for name in names if name in by_name]
        deferred = {
            deferral.target.channel.name
            for deferral in defer(
                session, [d for d in asked if d.target.channel.name not in paused]
            )
        }
    rows = [
        {
            "channel": deferral.target.channel.name,
            "job": str(job),
            "status": "paused"
            if deferral.target.channel.name in paused
            else "deferred"
            if deferral.target.channel.name in deferred
            else "already_waiting",
        }
        for deferral in asked
    ]
    if json_output:
        print_json(rows)
        return
    table = Table("channel", "job", "status")
    for row in rows:
        table.add_row(row["channel"], row["job"], row["status"].replace("_", " "))
    console.print(table)
    console.print("runner procrastinate: the workers run these now", markup=False)


def _run_one(engine: SyncEngine, name: str, job: str, *, force: bool, quiet: bool) -> RunOutcome:
    if quiet or not sys.stderr.isatty():
        return engine.run(name, job, force=force)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(f"{name} {job}", total=None)

        def show(context: JobContext) -> None:
            counts = ", ".join(f"{k} {v}" for k, v in sorted(context.counts.items()) if v)
            progress.update(task, description=f"{name} {job}: {counts}")

        return engine.run(name, job, force=force, progress=show)


def _outcome_view(outcome: RunOutcome) -> dict[str, object]:
    return {
        "channel": outcome.channel,
        "job": outcome.job,
        "status": outcome.status,
        "run_id": outcome.run_id,
        "counts": dict(outcome.counts),
        "error": outcome.error,
        "notes": outcome.notes,
    }


def _print_table(outcomes: list[RunOutcome]) -> None:
    table = Table("channel", "job", "status", "counts", "error")
    for outcome in outcomes:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(outcome.counts.items()) if v)
        table.add_row(outcome.channel, outcome.job, outcome.status, counts, outcome.error or "")
    console.print(table)
    for outcome in outcomes:
        for note in outcome.notes:
            console.print(f"{outcome.channel}: {note}", markup=False, highlight=False)
