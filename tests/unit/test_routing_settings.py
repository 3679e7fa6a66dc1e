"""hub.yaml's `routing:` section: read as written, each problem named by file and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from omnisync.hub.settings import ConfigError, Settings, load_settings

LOCATIONS = "locations:\n  - code: main\n  - code: eu\n"


def settings_with(folder: Path, routing: str) -> Settings:
    (folder / "channels").mkdir(parents=True)
    (folder / "hub.yaml").write_text(LOCATIONS + textwrap.dedent(routing))
    return load_settings(folder)


def problems_of(folder: Path, routing: str) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        settings_with(folder, routing)
    return [line.split("hub.yaml: ", 1)[1] for line in raised.value.problems]


def test_rules_apply_per_channel_with_regions_resolved(tmp_path: Path) -> None:
    settings = settings_with(
        tmp_path,
        """\
        routing:
          split: never
          channels:
            ebay: {split: when_needed}
          prefer:
            - region: nordics
              locations: [eu]
            - countries: [us, CA]
              locations: [main, eu]
          regions:
            nordics: [SE, NO, DK]
        """,
    )
    ebay, shop = settings.routing_rules("ebay"), settings.routing_rules("shop")
    assert ebay["split"] == "when_needed"
    assert shop["split"] == "never"
    assert shop["prefer"] == [
        {"countries": ["DK", "NO", "SE"], "locations": ["eu"]},  # a bare NO is Norway
        {"countries": ["CA", "US"], "locations": ["main", "eu"]},
    ]
    assert shop["priority"] == []  # each channel's own `locations:` order decides


def test_without_a_routing_section_orders_split_when_needed(tmp_path: Path) -> None:
    rules = settings_with(tmp_path, "").routing_rules("shop")
    assert rules == {"split": "when_needed", "prefer": [], "priority": []}


def test_every_problem_is_named_by_its_field(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        """\
        routing:
          prefer:
            - locations: [eu]
        """,
    )
    assert found == ["routing.prefer[0]: Value error, a preference needs `countries:` or `region:`"]
    settings_problems = problems_of(
        tmp_path / "second",
        """\
        routing:
          split: sometimes
          regions:
            misc: [DEU]
        """,
    )
    assert any(line.startswith("routing.split: ") for line in settings_problems)
    assert any(line.startswith("routing.regions: ") and "DEU" in line for line in settings_problems)


def test_unknown_locations_and_regions_are_named(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        """\
        routing:
          prefer:
            - region: atlantis
              locations: [eu, moon]
          priority: [main, mars]
        """,
    )
    assert found == [
        "routing.prefer[0].locations: unknown location 'moon'",
        "routing.prefer[0].region: unknown region 'atlantis' (define it under routing.regions)",
        "routing.priority: unknown location 'mars'",
    ]
