"""What every command shares: options, opening the hub, printing, exit codes.

Exit codes: 0 success, 1 a failed operation, 2 bad usage or bad configuration,
3 the database could not be reached or failed (nothing could be checked).

A broken channel file is left out with one warning, as the running hub does:
only the commands that need that channel (`run` needs them all) stop on it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from sqlmodel import Session

from omnisync.core.db import transaction
from omnisync.core.errors import DomainError
from omnisync.hub.bootstrap import Hub, NotInitialised, bootstrap_with
from omnisync.hub.settings import ConfigError, Settings, load_settings
from omnisync.hub.views.shapes import json_data

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3

# Piped output is read by scripts and people alike: do not squeeze tables to 80 columns.
console = Console(width=None if sys.stdout.isatty() else 200)
errors = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ChannelFilterOption = Annotated[str | None, typer.Option(help="Only this channel.")]
LimitOption = Annotated[int, typer.Option(min=1, help="At most this many, newest first.")]
OffsetOption = Annotated[int, typer.Option(min=0, help="Skip this many first.")]


@dataclass
class CliState:
    config_dir: Path
    database_url: str | None = None
    """Once the configuration is read: how a database failure names the database."""


def state(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    assert isinstance(obj, CliState)
    return obj


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    errors.print(f"error: {message}", markup=False, highlight=False)
    raise typer.Exit(code)


def report_config_problems(error: ConfigError) -> NoReturn:
    for line in error.problems:
        errors.print(line, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_USAGE)


def load_cli_settings(
    ctx: typer.Context, *, channel: str | None = None, every_channel: bool = False
) -> Settings:
    """The configuration. A broken channel file is left out with one warning, unless the
    command needs `every_channel` or names it as `channel` (then exit code 2, as for a
    broken hub.yaml)."""
    try:
        settings = load_settings(state(ctx).config_dir, skip_broken_channels=not every_channel)
    except ConfigError as error:
        report_config_problems(error)
    warn_skipped_channel_files(settings)
    if channel is not None:
        refuse_broken_channel(settings, channel)
    state(ctx).database_url = settings.database_url
    return settings


def warn_skipped_channel_files(settings: Settings) -> None:
    """One line per channel file left out: `FILE ignored: its problems`."""
    for source, problems in settings.skipped_files.items():
        line = f"{source} ignored: {'; '.join(problems)}"
        errors.print(line, markup=False, highlight=False, soft_wrap=True)


def refuse_broken_channel(settings: Settings, name: str) -> None:
    """Exit code 2 when the channel the command names is in a file left out as broken."""
    if any(channel.name == name for channel in settings.channels):
        return
    for source in settings.skipped_files:
        if Path(source).stem == name:
            fail(f"channel {name!r} cannot be used: its file {source} is broken", EXIT_USAGE)


def open_hub(
    ctx: typer.Context,
    *,
    create: bool = False,
    channel: str | None = None,
    every_channel: bool = False,
    pool_size: int | None = None,
) -> Hub:
    """The hub, for a command that needs the channel `channel`, or `every_channel`."""
    settings = load_cli_settings(ctx, channel=channel, every_channel=every_channel)
    try:
        return bootstrap_with(settings, create=create, pool_size=pool_size)
    except NotInitialised as error:
        fail(str(error))


@contextmanager
def failing_on_domain_errors() -> Iterator[None]:
    """A domain error (unknown id, a request that does not fit) becomes exit code 1."""
    try:
        yield
    except DomainError as error:
        fail(str(error))


@contextmanager
def hub_session(
    ctx: typer.Context, *, read_only: bool = False, channel: str | None = None
) -> Iterator[tuple[Hub, Session]]:
    """Open the hub (open_hub) and one transaction; domain errors become exit code 1."""
    hub = open_hub(ctx, channel=channel)
    try:
        with failing_on_domain_errors(), transaction(hub.engine, read_only=read_only) as session:
            yield hub, session
    finally:
        hub.engine.dispose()


def say(text: str) -> None:
    """One line for the operator, printed as it is (no markup)."""
    console.print(text, markup=False, highlight=False)


def print_json(data: Any) -> None:
    """`data` as indented JSON; a shape of hub/views/shapes.py as its model_dump."""
    sys.stdout.write(json.dumps(json_data(data), indent=2, ensure_ascii=False) + "\n")
