"""The wheel as a user installs it: `omnisync/` alone, and `omnisync demo` works from it.

The repository is copied (links kept as links) and the wheel built from the copy: an
in-tree build writes build/ and *.egg-info into the checkout, and setuptools reuses
build/lib, so a module deleted since an earlier build would still be shipped. The wheel
goes into a fresh virtualenv outside the tree with its dependencies (pip's configured
index), and the demo runs from that virtualenv's `omnisync` in a folder that holds no
source, so nothing of the checkout can stand in for a file the wheel lacks.

The virtualenv is made without pip of its own (this interpreter's pip installs into it,
`--python`), and pip compiles no bytecode (`--no-compile`): the few modules the demo
imports are compiled as it imports them, rather than every module of every dependency
up front, which took most of the test's time.

The subprocess timeouts are a safety net only; nothing here measures how long it took.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.single_runner("the installed demo: SQLite, the single runner by design"),
]

ROOT = Path(__file__).resolve().parents[2]
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "var", "build", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
)
SAFETY_NET_S = 600
"""Building, then installing every dependency, then a 3 s demo: each a few tens of seconds."""


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # No PYTHONPATH: only the virtualenv's own site-packages may provide `omnisync`.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    completed = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=SAFETY_NET_S,
        check=False,
    )
    assert completed.returncode == 0, f"{command}: {completed.stdout}\n{completed.stderr}"
    return completed


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source") / "omnisync"
    shutil.copytree(ROOT, source, symlinks=True, ignore=NOT_SOURCE)
    dist = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(dist), str(source)], dist)
    (built,) = dist.glob("omnisync-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv, outside the tree, with the wheel and its dependencies."""
    venv = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], venv)
    python = str(venv / "bin" / "python")
    pip = [sys.executable, "-m", "pip", "--python", python]
    _run([*pip, "install", "--quiet", "--no-compile", str(wheel)], venv)
    return venv


def test_the_wheel_holds_the_omnisync_package_and_nothing_beside_it(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = [PurePosixPath(name) for name in archive.namelist()]
    assert {name.parts[0] for name in names} == {"omnisync", "omnisync-0.1.0.dist-info"}
    assert not [name for name in names if {"bench", "tests"} & set(name.parts)]
    shipped = {str(name) for name in names}
    # The folders reached through omnisync/'s links are in it, as files.
    for module in ("core", "connectors", "sync", "hub", "sandbox", "migrations"):
        assert f"omnisync/{module}/__init__.py" in shipped
    assert "omnisync/hub/demo/run.py" in shipped
    assert "omnisync/config/hub.yaml" in shipped
    assert "omnisync/hub/templates/pick_list.html" in shipped  # package data of omnisync.hub


def test_the_installed_command_runs_the_demo_and_loses_nothing(
    installed: Path, tmp_path: Path
) -> None:
    python = str(installed / "bin" / "python")
    where = _run([python, "-c", "import omnisync; print(omnisync.__file__)"], tmp_path)
    assert Path(where.stdout.strip()).is_relative_to(installed)

    report_path = tmp_path / "r.json"
    command = [str(installed / "bin" / "omnisync"), "demo", "--duration", "3", "--json"]
    completed = _run([*command, "--report", str(report_path)], tmp_path)
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert json.loads(completed.stdout) == report
    assert report["orders_total"] > 0
    assert report["orders_lost"] == 0
    assert report["orders_duplicated"] == 0
    assert report["mismatched_listings"] == 0
    # A wheel installed without extras has no moto: the demo polls Amazon and says so.
    amazon = next(channel for channel in report["channels"] if channel["type"] == "amazon")
    assert amazon["intake"] == "polling"
    assert any("moto is not installed" in notice for notice in report["notices"])
