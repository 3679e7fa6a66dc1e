"""A hub wired to simulated marketplaces: config folder, migrated database, sync engine."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from pathlib import Path

from hub.bootstrap import Hub, bootstrap, engine_channels
from sync.calls import RetryPolicy
from sync.engine import SyncEngine

FAST_RETRIES = RetryPolicy(attempts=4, initial=0.01, maximum=0.05)


def write_config(
    folder: Path,
    channels: dict[str, str],
    *,
    locations: Iterable[str] = ("main", "backup"),
) -> Path:
    """A config folder with `locations` and one channel file per entry (name -> YAML)."""
    (folder / "channels").mkdir(parents=True, exist_ok=True)
    lines = ["http: {port: 0}", "locations:"] + [f"  - code: {code}" for code in locations]
    (folder / "hub.yaml").write_text("\n".join(lines) + "\n")
    for name, text in channels.items():
        (folder / "channels" / f"{name}.yaml").write_text(textwrap.dedent(text))
    return folder


def sandbox_channel(
    url: str, *, key_var: str = "SB_KEY", extra: str = "", timeout: float = 1.0
) -> str:
    return textwrap.dedent(
        f"""\
        type: sandbox
        endpoint: {url}
        api_key: ${{{key_var}}}
        page_size: 50
        timeout_seconds: {timeout}
        requests_per_second: 1000
        burst: 1000
        sync:
          lag: 2m
          backfill: 1d
          item_backoff: 30s
        """
    ) + textwrap.dedent(extra)


def open_test_hub(config_dir: Path, database_url: str) -> Hub:
    return bootstrap(config_dir, database_url=database_url, create=True)


def engine_for(hub: Hub, **kwargs: object) -> SyncEngine:
    return SyncEngine(
        hub.engine,
        engine_channels(hub.settings),
        secrets=hub.settings.secrets,
        retry=FAST_RETRIES,
        **kwargs,  # type: ignore[arg-type]
    )
