"""A database that cannot be reached is exit code 3 and one line, whatever the command:
not exit 1 with a traceback, which `status` would share with "an alert is open".
The commands run in this process (test_cli.Cli: an exception that escaped would fail the
test rather than become exit code 1); the password must never show (Cli checks every
output)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_cli import SECRET, Cli, write

PASSWORD = "s3cretpw"
CLOSED_PORT_URL = f"postgresql+psycopg://u:{PASSWORD}@127.0.0.1:1/x"
"""Nothing listens on port 1: the connection is refused at once."""
REFUSED = "error: database at 127.0.0.1:1 does not answer (connection refused)"


def cli_for(tmp_path: Path, database_url: str) -> Cli:
    config_dir = tmp_path / "config"
    write(config_dir / "hub.yaml", "locations:\n  - code: main\n")
    write(
        config_dir / "channels" / "shop.yaml", "type: fake\nshop: demo\napi_key: ${FAKE_API_KEY}\n"
    )
    return Cli(
        cwd=tmp_path,
        database_url=database_url,
        config_dir=config_dir,
        secrets=(SECRET, PASSWORD),
    )


@pytest.mark.parametrize(
    "command",
    [("status",), ("status", "--json"), ("stock", "show"), ("stock", "adjust", "CAP", "1")],
)
def test_an_unreachable_postgresql_is_exit_3_and_one_line(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    result = cli_for(tmp_path, CLOSED_PORT_URL)(*command)
    assert result.returncode == 3, result
    assert result.stderr.splitlines() == [REFUSED], result
    assert result.stdout == ""


def test_every_database_command_says_the_same(tmp_path: Path) -> None:
    cli = cli_for(tmp_path, CLOSED_PORT_URL)
    for result in cli.many([("init",), ("orders", "list"), ("skus", "list"), ("sync", "stock")]):
        assert result.returncode == 3, result
        assert result.stderr.splitlines() == [REFUSED], result


def test_a_sqlite_file_that_cannot_be_opened_is_exit_3(tmp_path: Path) -> None:
    not_a_file = tmp_path / "a-folder"
    not_a_file.mkdir()
    result = cli_for(tmp_path, f"sqlite:///{not_a_file}")("stock", "show")
    assert result.returncode == 3, result
    assert result.stderr.splitlines() == [
        f"error: database at {not_a_file} cannot be opened (unable to open database file)"
    ]


def test_the_help_lists_exit_code_3(tmp_path: Path) -> None:
    helped = cli_for(tmp_path, CLOSED_PORT_URL)("--help")
    assert helped.returncode == 0, helped
    assert "3 the database could not be reached or failed" in " ".join(helped.stdout.split())
