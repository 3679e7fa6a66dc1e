"""`omnisync sync JOB [--channel NAME]`: run one job now, for one channel or all."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from omnisync.hub.bootstrap import Hub, engine_channels
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


def make_sync_engine(hub: Hub) -> SyncEngine:
    return SyncEngine(
        hub.engine,
        engine_channels(hub.settings),
        secrets=hub.settings.secrets,
        clock=hub.clock,
        unlinked_after=hub.settings.hub.alert_rules.unlinked_after,
    )


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
    engine = make_sync_engine(hub)
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
        outcomes = [
            _run_one(engine, name, job.value, force=channel is not None, quiet=json_output)
            for name in names
            if engine.supports(name, job.value)
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
