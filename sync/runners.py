"""What `omnisync run` asks of whatever runs the channels' jobs: the single-process
Scheduler (sync/scheduler.py, runner `single`) or the task queue's side of the hub
(sync/queue/runner.py, runner `procrastinate`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from omnisync.core.errors import Conflict, NotFound
from omnisync.sync.channels import SyncChannel


class JobRunner(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None:
        """Stop taking work and wait for what this process runs."""

    def update_channels(self, channels: list[SyncChannel], secrets: frozenset[str]) -> list[str]:
        """Apply a new channel list; a line per change, for the log."""

    @property
    def running(self) -> bool: ...

    def wake(self) -> None:
        """Look at the push outbox now."""

    def run_now(self, name: str) -> list[str]:
        """Sync now: run each scheduled job of the channel at once (a line per job)."""


def channel_changes(
    before: Mapping[str, SyncChannel], after: Mapping[str, SyncChannel]
) -> list[tuple[str, str]]:
    """(name, "removed" | "added" | "changed") for each channel a reload changes, by name."""
    changes = []
    for name in sorted(before.keys() | after.keys()):
        if name not in after:
            changes.append((name, "removed"))
        elif name not in before:
            changes.append((name, "added"))
        elif before[name] != after[name]:
            changes.append((name, "changed"))
    return changes


def channel_to_run_now(
    channels: Mapping[str, SyncChannel], name: str, *, running: bool
) -> SyncChannel:
    """The channel a "sync now" names: NotFound for one this hub does not run, Conflict
    for a disabled one or while the runner is not running."""
    channel = channels.get(name)
    if channel is None:
        raise NotFound(f"unknown channel {name!r}: this hub does not run it")
    if not channel.enabled:
        raise Conflict(f"channel {name} is disabled: it has no jobs to run")
    if not running:
        raise Conflict("the hub is not running: nothing can be synced now")
    return channel
