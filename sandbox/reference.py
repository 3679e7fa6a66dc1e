"""Where the marketplaces' own specifications live: ``../shared/reference`` beside the
repository (``OMNISYNC_REFERENCE_DIR`` overrides). They are data: simulators read
them at run time and never copy them into the project."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parents[1]


class ReferenceMissing(FileNotFoundError):
    """The reference specifications are not where they should be."""


def reference_dir() -> Path:
    folder = Path(
        os.environ.get("OMNISYNC_REFERENCE_DIR", REPOSITORY.parent / "shared" / "reference")
    )
    if not folder.is_dir():
        raise ReferenceMissing(
            f"{folder} is missing: the reference specifications live in ../shared/reference "
            "beside the repository (or set OMNISYNC_REFERENCE_DIR)"
        )
    return folder


@cache
def amazon_model(file_name: str) -> dict[str, Any]:
    """One of Amazon's OpenAPI models, e.g. ``ordersV0.json`` (parsed once)."""
    return _load_json(reference_dir() / "amazon" / "models" / file_name)


@cache
def amazon_schema(file_name: str) -> dict[str, Any]:
    """One of Amazon's JSON schemas, e.g. ``listings-feed-schema-v2.json`` (parsed once)."""
    return _load_json(reference_dir() / "amazon" / "schemas" / file_name)


def _load_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ReferenceMissing(f"{path} is missing from the reference specifications")
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded
