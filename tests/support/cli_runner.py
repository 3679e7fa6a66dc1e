"""The `omnisync` CLI run in the test's own process (typer's CliRunner): much faster than a
subprocess for many short commands, with the channel types the test registered.

typer builds the click command tree from the app at every `CliRunner.invoke` (about
50 ms); a process running `omnisync` builds it once, and so do the tests: the tree is
built at the first command and reused (the app's commands are all registered when
omnisync.hub.cli is imported).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from contextlib import chdir, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import typer.testing
from typer.main import get_command
from typer.testing import CliRunner

from omnisync.hub.cli import app

command_of = functools.cache(get_command)
"""typer's get_command, once per app."""


@dataclass(frozen=True)
class CliResult:
    args: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        assert self.exit_code == 0, self
        return json.loads(self.stdout)


def run_cli(
    args: Sequence[str],
    *,
    env: Mapping[str, str | None],
    cwd: Path | None = None,
    stdin: str | None = None,
) -> CliResult:
    """Run `omnisync ARGS...` with these environment variables set (None: unset) for the
    time of the command, in `cwd` if given, reading `stdin`. An unexpected exception
    propagates, with its traceback, instead of exit code 1."""
    with (
        chdir(cwd) if cwd is not None else nullcontext(),
        mock.patch.object(typer.testing, "_get_command", command_of),
    ):
        outcome = CliRunner().invoke(app, list(args), env=env, catch_exceptions=False, input=stdin)
    return CliResult(tuple(args), outcome.exit_code, outcome.stdout, outcome.stderr)


def invoke_cli(
    config_dir: Path,
    database_url: str,
    *args: str,
    env: Mapping[str, str] | None = None,
    secrets: Iterable[str] = (),
    stdin: str | None = None,
) -> CliResult:
    """Run `omnisync --config-dir CONFIG_DIR ARGS...` (reading `stdin`); no secret may show
    in the output. An unexpected exception propagates, with its traceback, instead of
    exit code 1."""
    outcome = run_cli(
        ["--config-dir", str(config_dir), *args],
        env={"OMNISYNC_DATABASE_URL": database_url, "COLUMNS": "200", **(env or {})},
        stdin=stdin,
    )
    result = CliResult(tuple(args), outcome.exit_code, outcome.stdout, outcome.stderr)
    for secret in secrets:
        assert secret not in result.stdout + result.stderr, result
    return result
