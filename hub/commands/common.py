"""What every command shares: options, opening the hub, printing, exit codes.

Exit codes: 0 success, 1 a failed operation, 2 bad usage or bad configuration.
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

from core.db import transaction
from core.errors import DomainError
from hub.bootstrap import Hub, NotInitialised, bootstrap
from hub.settings import ConfigError

EXIT_FAILED = 1
EXIT_USAGE = 2

# Piped output is read by scripts and people alike: do not squeeze tables to 80 columns.
console = Console(width=None if sys.stdout.isatty() else 200)
errors = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@dataclass
class CliState:
    config_dir: Path


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


def open_hub(ctx: typer.Context, *, create: bool = False) -> Hub:
    try:
        return bootstrap(state(ctx).config_dir, create=create)
    except ConfigError as error:
        report_config_problems(error)
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
def hub_session(ctx: typer.Context, *, read_only: bool = False) -> Iterator[tuple[Hub, Session]]:
    """Open the hub and one transaction; domain errors become exit code 1."""
    hub = open_hub(ctx)
    try:
        with failing_on_domain_errors(), transaction(hub.engine, read_only=read_only) as session:
            yield hub, session
    finally:
        hub.engine.dispose()


def say(text: str) -> None:
    """One line for the operator, printed as it is (no markup)."""
    console.print(text, markup=False, highlight=False)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
