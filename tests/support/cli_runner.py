"""The `omnisync` CLI run in the test's own process (typer's CliRunner): much faster than a
subprocess for many short commands, with the channel types the test registered."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from omnisync.hub.cli import app


@dataclass(frozen=True)
class CliResult:
    args: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        assert self.exit_code == 0, self
        return json.loads(self.stdout)


def invoke_cli(
    config_dir: Path,
    database_url: str,
    *args: str,
    env: Mapping[str, str] | None = None,
    secrets: Iterable[str] = (),
) -> CliResult:
    """Run `omnisync --config-dir CONFIG_DIR ARGS...`; no secret may show in the output.
    An unexpected exception propagates, with its traceback, instead of exit code 1."""
    outcome = CliRunner().invoke(
        app,
        ["--config-dir", str(config_dir), *args],
        env={"OMNISYNC_DATABASE_URL": database_url, "COLUMNS": "200", **(env or {})},
        catch_exceptions=False,
    )
    result = CliResult(tuple(args), outcome.exit_code, outcome.stdout, outcome.stderr)
    for secret in secrets:
        assert secret not in result.stdout + result.stderr, result
    return result
