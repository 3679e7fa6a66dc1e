"""The config folder a throwaway hub runs from: `config/hub.yaml` on a SQLite file and
one `config/channels/<name>.yaml` per channel.

The demo writes one, and so do the benchmarks (bench/ imports this module), each with
its own settings and channels; the folder's layout and the SQLite line are the same for
all, so they are written here once. The folder must not exist yet: a hub is never
pointed at a stale channel file left by an earlier run.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path


def write_config_folder(
    folder: Path, database: Path, hub_settings: str, channels: Mapping[str, str]
) -> Path:
    """Write `folder / "config"` and return it: hub.yaml with `database_url` on the SQLite
    file `database`, then `hub_settings` (YAML, dedented here), and each channel's file
    with its text as given."""
    config = folder / "config"
    (config / "channels").mkdir(parents=True)
    hub_yaml = f"database_url: sqlite:///{database}\n" + textwrap.dedent(hub_settings)
    (config / "hub.yaml").write_text(hub_yaml)
    for name, text in channels.items():
        (config / "channels" / f"{name}.yaml").write_text(text)
    return config
