"""The import contracts in pyproject.toml (run by `make lint`) break on a forbidden import.

Each test copies the `omnisync` package as plain files (the links to the top-level folders
followed) into a temporary folder, with pyproject.toml beside it, adds one import that a
contract forbids, and runs `lint-imports` there: it must fail and name the contract. The
untouched copy must pass, so a failure is the added import and nothing else.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _contract_names() -> dict[str, str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    return {contract["id"]: contract["name"] for contract in contracts}


CONTRACTS = _contract_names()


def _sources_only(folder: str, names: list[str]) -> set[str]:
    """Everything but Python files and folders: the contracts read imports only."""
    return {
        name
        for name in names
        if name == "__pycache__"
        or (not name.endswith(".py") and not os.path.isdir(os.path.join(folder, name)))
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "omnisync", tmp_path / "omnisync", symlinks=False, ignore=_sources_only)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH puts the copy ahead of the editable install, so `omnisync` is the copy.
    env = {**os.environ, "PYTHONPATH": str(project)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _add_import(project: Path, module: str, imported: str) -> None:
    path = project / Path(*module.split(".")).with_suffix(".py")
    with path.open("a", encoding="utf-8") as source:
        source.write(f"\nimport {imported}  # noqa: E402\n")


def test_the_untouched_package_keeps_every_contract(project: Path) -> None:
    result = _lint_imports(project)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in CONTRACTS.values():
        assert f"{name} KEPT" in result.stdout


@pytest.mark.parametrize(
    ("module", "imported", "contract"),
    [
        ("omnisync.core.errors", "omnisync.hub.settings", "layers"),
        ("omnisync.connectors.registry", "omnisync.sync.engine", "layers"),
        ("omnisync.sync.engine", "omnisync.sandbox.faults", "product-without-simulators"),
        ("omnisync.hub.runner", "omnisync.sandbox.faults", "product-without-simulators"),
        ("omnisync.sandbox.faults", "omnisync.core.dto", "simulators-stand-alone"),
        ("omnisync.connectors.base", "omnisync.core.db", "connectors-without-database"),
        ("omnisync.migrations.env", "omnisync.hub.settings", "migrations-on-core"),
    ],
)
def test_a_forbidden_import_breaks_its_contract_by_name(
    project: Path, module: str, imported: str, contract: str
) -> None:
    _add_import(project, module, imported)
    result = _lint_imports(project)
    assert result.returncode != 0, result.stdout
    assert f"{CONTRACTS[contract]} BROKEN" in result.stdout
    assert f"{module} -> {imported}" in result.stdout
