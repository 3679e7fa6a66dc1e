"""The `omnisync` command line, end to end: config folder, database, exit codes, output.

Each command runs with cwd=tmp_path, the config folder given by OMNISYNC_CONFIG_DIR or
--config-dir and the database by OMNISYNC_DATABASE_URL, and a clean OMNISYNC_*
environment. `Cli` runs the real CLI with the test channel type "fake" in this process
(typer's runner: a subprocess costs about 3 s of CPU to import the hub, and the suite
runs hundreds of commands); `process=True` runs it as its own process
(`python -m tests.support.cli_entry`) and `script=True` as the installed console script,
which the tests below use to check the command as an operator starts it. Every run
checks that the channels' api_key never shows in stdout or stderr.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BACKENDS
from tests.support import fake_carrier, fake_connector  # noqa: F401  (they register their types)
from tests.support.cli_runner import run_cli
from tests.support.databases import postgres_schema, postgres_schema_url, sqlite_url

REPO_ROOT = Path(__file__).resolve().parents[2]
CONSOLE_SCRIPT = Path(sys.executable).with_name("omnisync")
SECRET = "fake-api-key-7f3a9c1e"
OTHER_SECRET = "other-api-key-0b5d2e44"


@dataclass
class Result:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        assert self.returncode == 0, self
        return json.loads(self.stdout)


@dataclass
class Cli:
    """Runs the CLI in `cwd` with a clean OMNISYNC_* environment."""

    cwd: Path
    database_url: str
    config_dir: Path | None = None
    secrets: tuple[str, ...] = (SECRET, OTHER_SECRET)
    extra_env: dict[str, str] = field(default_factory=dict)

    def variables(self) -> dict[str, str]:
        """The variables the command gets besides the inherited ones."""
        variables = {
            "OMNISYNC_DATABASE_URL": self.database_url,
            "FAKE_API_KEY": SECRET,
            "OTHER_API_KEY": OTHER_SECRET,
            "COLUMNS": "200",
        }
        if self.config_dir is not None:
            variables["OMNISYNC_CONFIG_DIR"] = str(self.config_dir)
        variables.update(self.extra_env)
        return variables

    def env(self) -> dict[str, str]:
        """The whole environment of a subprocess."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("OMNISYNC_")}
        env.update(PYTHONPATH=str(REPO_ROOT), **self.variables())
        return env

    def __call__(self, *args: str, process: bool = False, script: bool = False) -> Result:
        (result,) = self.many([args], process=process, script=script)
        return result

    def many(
        self, commands: Sequence[Sequence[str]], *, process: bool = False, script: bool = False
    ) -> list[Result]:
        """Run the commands one after the other in this process; with `process`, each in
        a subprocess (`tests.support.cli_entry`), all at the same time (only for commands
        that change nothing); with `script`, likewise through the installed console
        script (no "fake" type)."""
        if process or script:
            return self.processes(commands, script=script)
        unset = dict.fromkeys(key for key in os.environ if key.startswith("OMNISYNC_"))
        results = []
        for args in commands:
            outcome = run_cli(args, env={**unset, **self.variables()}, cwd=self.cwd)
            result = Result(tuple(args), outcome.exit_code, outcome.stdout, outcome.stderr)
            results.append(self.checked(result))
        return results

    def processes(self, commands: Sequence[Sequence[str]], *, script: bool) -> list[Result]:
        program = (
            [str(CONSOLE_SCRIPT)] if script else [sys.executable, "-m", "tests.support.cli_entry"]
        )
        processes = [
            (
                tuple(args),
                subprocess.Popen(
                    [*program, *args],
                    cwd=self.cwd,
                    env=self.env(),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                ),
            )
            for args in commands
        ]
        results = []
        for args, process in processes:
            stdout, stderr = process.communicate(timeout=60)
            results.append(self.checked(Result(args, process.returncode, stdout, stderr)))
        return results

    def checked(self, result: Result) -> Result:
        for secret in self.secrets:
            assert secret not in result.stdout, result
            assert secret not in result.stderr, result
        return result

    def ok(self, *args: str, process: bool = False) -> Result:
        result = self(*args, process=process)
        assert result.returncode == 0, result
        return result


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def write_valid_config(config_dir: Path) -> None:
    write(
        config_dir / "hub.yaml",
        """\
        locations:
          - code: main
            name: Main warehouse
          - code: backup
            name: Backup
            kind: third_party
        """,
    )
    write(
        config_dir / "channels" / "shop.yaml",
        """\
        type: fake
        shop: demo-shop
        api_key: ${FAKE_API_KEY}
        """,
    )


@pytest.fixture(params=BACKENDS)
def cli_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (no tables) for `omnisync init` to migrate."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "var")
        return
    with postgres_schema() as schema:
        yield postgres_schema_url(schema)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """A CLI on a SQLite file with a valid config folder (not yet initialised)."""
    config_dir = tmp_path / "config"
    write_valid_config(config_dir)
    return Cli(cwd=tmp_path, database_url=sqlite_url(tmp_path / "var"), config_dir=config_dir)


def problem_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


# check


def test_check_reports_an_unknown_type_and_an_unset_type_variable(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    write(config_dir / "hub.yaml", "")
    unknown = write(config_dir / "channels" / "pigeon.yaml", "type: carrier-pigeon\n")
    unset = write(
        config_dir / "channels" / "mystery.yaml",
        "type: ${MYSTERY_TYPE}\napi_key: ${FAKE_API_KEY}\n",
    )
    cli = Cli(cwd=tmp_path, database_url=sqlite_url(tmp_path / "var"), config_dir=config_dir)
    result = cli("check", script=True)
    assert result.returncode == 2, result
    assert result.stdout == ""
    lines = problem_lines(result.stderr)
    assert len(lines) == 2, result.stderr
    (unknown_line,) = [line for line in lines if line.startswith(f"{unknown}: ")]
    assert unknown_line.startswith(f"{unknown}: type: ")
    assert "carrier-pigeon" in unknown_line
    (unset_line,) = [line for line in lines if line.startswith(f"{unset}: ")]
    assert unset_line.startswith(f"{unset}: type: ")
    assert "MYSTERY_TYPE" in unset_line
    assert not (tmp_path / "var").exists()  # check never touches the database


def test_check_lists_the_channels_of_a_valid_folder(tmp_path: Path) -> None:
    config_dir = tmp_path / "conf"
    write_valid_config(config_dir)
    write(
        config_dir / "channels" / "outlet.yaml",
        """\
        type: fake
        shop: outlet
        api_key: ${OTHER_API_KEY}
        enabled: false
        locations: [backup]
        """,
    )
    cli = Cli(cwd=tmp_path, database_url=sqlite_url(tmp_path / "var"))
    text = cli("--config-dir", "conf", "check")
    assert text.returncode == 0, text
    assert "shop" in text.stdout
    assert "outlet" in text.stdout
    assert "fake" in text.stdout

    data = cli.ok("--config-dir", str(config_dir), "check", "--json").json()
    assert data["locations"] == ["main", "backup"]
    channels = sorted(data["channels"], key=lambda channel: channel["name"])
    assert [
        {key: channel[key] for key in ("name", "type", "enabled", "locations")}
        for channel in channels
    ] == [
        {"name": "outlet", "type": "fake", "enabled": False, "locations": ["backup"]},
        {"name": "shop", "type": "fake", "enabled": True, "locations": None},
    ]


# The acceptance flow


@pytest.mark.slow
def test_init_skus_stock_and_the_json_shapes(tmp_path: Path, cli_database_url: str) -> None:
    config_dir = tmp_path / "config"
    cli = Cli(cwd=tmp_path, database_url=cli_database_url, config_dir=config_dir)

    init = cli.ok("init")
    assert (config_dir / "hub.yaml").is_file(), init
    assert (config_dir / "channels").is_dir(), init

    write_valid_config(config_dir)
    write(
        config_dir / "channels" / "outlet.yaml",
        """\
        type: fake
        shop: outlet
        api_key: ${OTHER_API_KEY}
        locations: [main]
        """,
    )
    write(
        config_dir / "channels" / "quiet.yaml",
        """\
        type: fake
        shop: quiet
        api_key: ${OTHER_API_KEY}
        enabled: false
        """,
    )

    cli.ok("skus", "add", "A", "--title", "Alpha")
    cli.ok("skus", "add", "B", "--barcode", "4006381333931")
    cli.ok("skus", "add", "BUN", "--component", "A:2", "--component", "B:1")
    cli.ok("stock", "set", "A", "10")
    cli.ok("stock", "set", "A", "4", "--location", "backup")
    cli.ok("stock", "set", "B", "3")
    cli.ok("stock", "adjust", "A", "-3")
    cli.ok("stock", "adjust", "B", "2", "--location", "backup")

    # Failed operations: exit 1, named, and nothing changes (the numbers below prove it).
    unknown, negative, missing_order = cli.many(
        [
            ("stock", "set", "NOPE", "5"),
            ("stock", "adjust", "A", "-1000"),
            ("orders", "show", "999"),
        ]
    )
    assert unknown.returncode == 1, unknown
    assert "NOPE" in unknown.stderr
    assert negative.returncode == 1, negative
    assert re.search(r"\bA\b", negative.stderr), negative
    assert missing_order.returncode == 1, missing_order
    assert "999" in missing_order.stderr
    assert "order" in missing_order.stderr.lower()

    reads = cli.many(
        [
            ("stock", "show", "--json"),
            ("stock", "history", "A", "--json"),
            ("skus", "list", "--json"),
            ("channels", "list", "--json"),
            ("orders", "list", "--json"),
        ]
    )
    shown, history, skus, channels, orders = (result.json() for result in reads)

    def levels(main: int, backup: int) -> list[dict[str, Any]]:
        return [
            {"location": "main", "on_hand": main, "reserved": 0, "free": main},
            {"location": "backup", "on_hand": backup, "reserved": 0, "free": backup},
        ]

    for row in shown:
        row["channels"].sort(key=lambda channel: channel["channel"])
    assert shown == [
        {
            "sku": "A",
            "bundle": False,
            "locations": levels(7, 4),
            "free_total": 11,
            "channels": [
                {"channel": "outlet", "available": 7},
                {"channel": "shop", "available": 11},
            ],
            "bins": [],
        },
        {
            "sku": "B",
            "bundle": False,
            "locations": levels(3, 2),
            "free_total": 5,
            "channels": [
                {"channel": "outlet", "available": 3},
                {"channel": "shop", "available": 5},
            ],
            "bins": [],
        },
        {
            "sku": "BUN",
            "bundle": True,
            "locations": [],
            "free_total": 5,  # min(11 // 2, 5 // 1)
            "channels": [
                {"channel": "outlet", "available": 3},  # min(7 // 2, 3 // 1)
                {"channel": "shop", "available": 5},
            ],
            "bins": [],
        },
    ]

    assert [
        {key: row[key] for key in ("kind", "delta", "location", "on_hand_after", "reason")}
        for row in history
    ] == [
        {"kind": "count", "delta": 10, "location": "main", "on_hand_after": 10, "reason": "count"},
        {"kind": "count", "delta": 4, "location": "backup", "on_hand_after": 4, "reason": "count"},
        {
            "kind": "adjustment",
            "delta": -3,
            "location": "main",
            "on_hand_after": 7,
            "reason": "adjustment",
        },
    ]
    times = [row["at"] for row in history]
    assert all(isinstance(at, str) and at for at in times)
    assert times == sorted(times)

    assert skus == [
        {
            "code": "A",
            "title": "Alpha",
            "barcode": None,
            "safety_stock": 0,
            "bundle": False,
            "components": [],
            "retired_at": None,
        },
        {
            "code": "B",
            "title": "",
            "barcode": "4006381333931",
            "safety_stock": 0,
            "bundle": False,
            "components": [],
            "retired_at": None,
        },
        {
            "code": "BUN",
            "title": "",
            "barcode": None,
            "safety_stock": 0,
            "bundle": True,
            "components": [{"sku": "A", "quantity": 2}, {"sku": "B", "quantity": 1}],
            "retired_at": None,
        },
    ]

    assert sorted(channels, key=lambda channel: channel["name"]) == [
        {
            "name": name,
            "type": "fake",
            "enabled": enabled,
            "locations": locations,
            "listings": 0,
            "unbound_listings": 0,
            "dirty_listings": 0,
            "paused_reason": None,
        }
        for name, enabled, locations in [
            ("outlet", True, ["main"]),
            ("quiet", False, None),
            ("shop", True, None),
        ]
    ]

    assert orders == []


# Error paths


def test_a_command_before_init_says_to_run_init(tmp_path: Path, cli_database_url: str) -> None:
    config_dir = tmp_path / "config"
    write_valid_config(config_dir)
    cli = Cli(cwd=tmp_path, database_url=cli_database_url, config_dir=config_dir)
    result = cli("skus", "list")
    assert result.returncode == 1, result
    assert "omnisync init" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("init",),
        ("check",),
        ("skus", "list", "--json"),
        ("stock", "set", "A", "1"),
        ("orders", "list"),
    ],
)
def test_bad_config_makes_any_command_exit_2(tmp_path: Path, args: tuple[str, ...]) -> None:
    config_dir = tmp_path / "config"
    hub_file = write(config_dir / "hub.yaml", "locations:\n  - code: main\n    colour: red\n")
    cli = Cli(cwd=tmp_path, database_url=sqlite_url(tmp_path / "var"), config_dir=config_dir)
    # In this process: the console script's exit code 2 on a bad configuration is the two
    # tests around this one.
    result = cli(*args)
    assert result.returncode == 2, result
    assert f"{hub_file}: locations[0].colour: " in result.stderr
    assert not (tmp_path / "var").exists()


@pytest.mark.slow
def test_a_bad_channel_setting_exits_2_without_showing_the_secret(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    write_valid_config(config_dir)
    channel = write(
        config_dir / "channels" / "shop.yaml",
        """\
        type: fake
        shop: demo-shop
        api_key: ${FAKE_API_KEY}
        page_size: ${FAKE_API_KEY}
        stock:
          allocation_percent: 150
        """,
    )
    cli = Cli(cwd=tmp_path, database_url=sqlite_url(tmp_path / "var"), config_dir=config_dir)
    result = cli("check")  # Cli asserts the secret is in neither stream
    assert result.returncode == 2, result
    lines = problem_lines(result.stderr)
    assert len(lines) == 2, lines
    assert any(line.startswith(f"{channel}: page_size: ") for line in lines), lines
    assert any(line.startswith(f"{channel}: stock.allocation_percent: ") for line in lines), lines
    cli.ok("init")  # the other commands leave the file out, with a warning
    ignored = cli.ok("stock", "show")
    (warning,) = problem_lines(ignored.stderr)
    assert warning.startswith(f"{channel} ignored: stock.allocation_percent: "), warning
    assert "; page_size: " in warning


def test_a_missing_config_folder_makes_commands_other_than_init_exit_2(tmp_path: Path) -> None:
    cli = Cli(cwd=tmp_path, database_url=sqlite_url(tmp_path / "var"))  # default ./config
    result = cli("skus", "list", script=True)
    assert result.returncode == 2, result
    assert result.stderr.startswith("config: "), result
    assert not (tmp_path / "config").exists()


# CSV imports


@pytest.mark.slow
def test_csv_imports_apply_every_row_or_none(cli: Cli, tmp_path: Path) -> None:
    cli.ok("init")
    write(
        tmp_path / "skus.csv",
        """\
        code,title,barcode,components,safety_stock
        C,Cup,5012345678900,,2
        D,Dish,,,
        KIT,Cup and dishes,,C:1 D:2,
        """,
    )
    bad_skus_csv = write(
        tmp_path / "bad-skus.csv",
        """\
        code,title
        E,Egg
        F,Fork
        ,No code
        G,Glass
        """,
    )
    stock_csv = write(
        tmp_path / "stock.csv",
        """\
        sku,quantity,location
        C,5,
        D,6,backup
        """,
    )
    write(
        tmp_path / "bad-stock.csv",
        """\
        sku,quantity
        C,9
        D,lots
        """,
    )

    cli.ok("skus", "import", "skus.csv")  # a path relative to the working directory
    cli.ok("stock", "import", str(stock_csv))
    bad_skus, bad_stock = cli.many(
        [("skus", "import", str(bad_skus_csv)), ("stock", "import", "bad-stock.csv")]
    )
    assert bad_skus.returncode == 1, bad_skus
    assert f"{bad_skus_csv}:4" in bad_skus.stderr
    assert bad_stock.returncode == 1, bad_stock
    assert "bad-stock.csv:3" in bad_stock.stderr

    listed, stock = cli.many([("skus", "list", "--json"), ("stock", "show", "--json")])
    skus = listed.json()
    assert [(s["code"], s["title"], s["barcode"], s["safety_stock"]) for s in skus] == [
        ("C", "Cup", "5012345678900", 2),
        ("D", "Dish", None, 0),
        ("KIT", "Cup and dishes", None, 0),
    ]
    assert skus[2]["components"] == [{"sku": "C", "quantity": 1}, {"sku": "D", "quantity": 2}]

    shown = {row["sku"]: row for row in stock.json()}
    assert sorted(shown) == ["C", "D", "KIT"]
    assert [(lvl["location"], lvl["on_hand"]) for lvl in shown["C"]["locations"]] == [
        ("main", 5),
        ("backup", 0),
    ]
    assert [(lvl["location"], lvl["on_hand"]) for lvl in shown["D"]["locations"]] == [
        ("main", 0),
        ("backup", 6),
    ]
    assert shown["KIT"]["free_total"] == 3  # min(5 // 1, 6 // 2)
