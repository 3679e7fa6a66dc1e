"""The configuration the repository ships is configuration the hub accepts.

config/hub.yaml and every config/channels/*.yaml.example are copied into a fresh folder
(the examples as `<stem>.yaml`, which is what their header tells users to do), each
`${VAR}` they use set to a dummy value, and read by `hub.settings.load_settings`, the
loader every command uses. The alternatives the files show commented out (`# endpoint:
...`, `# alerts:` and its notifiers, ...) are uncommented and read as well, so that a user
who follows a comment gets a valid file too.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from omnisync.connectors.registry import connector_for
from omnisync.hub.settings import CHANNEL_ENVELOPE_KEYS, HubConfig, Settings, load_settings

CONFIG = Path(__file__).resolve().parents[2] / "config"
HUB_YAML = CONFIG / "hub.yaml"
CHANNEL_EXAMPLES = sorted((CONFIG / "channels").glob("*.yaml.example"))
REQUIRED_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
"""`${VAR}` without a default: the file cannot load without it."""
ANY_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}")
COMMENTED_KEY = re.compile(r"^(?P<indent>\s*)# (?P<text>(?:- )?(?P<key>[a-z_]+):(?:\s.*)?)$")


def stem(example: Path) -> str:
    return example.name.removesuffix(".yaml.example")


CHOICES = {"OMNISYNC_RUNNER": "procrastinate"}
"""Variables whose field takes one of a few values: the value the test sets."""
POSTGRES = "postgresql+psycopg://omnisync@db:5432/omnisync"
"""The database URL the loads use where runner `procrastinate` (PostgreSQL only) is set."""


def dummy(name: str) -> str:
    """A value of the shape the variable's field wants: CHOICES, URLs for *_URL, else a
    string long enough for every token field (the API token needs 16 characters)."""
    if name in CHOICES:
        return CHOICES[name]
    if name.endswith("_URL"):
        return f"https://hooks.example.com/{name.lower()}"
    return f"dummy-{name.lower().replace('_', '-')}-0123456789"


def copy_config(target: Path, texts: dict[str, str]) -> Path:
    """`texts`: the relative path in the config folder -> the file's text."""
    for relative, text in texts.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return target


def load_with_dummies(
    folder: Path,
    texts: Iterable[str],
    *,
    every_variable: bool,
    database_url: str | None = None,
) -> Settings:
    """Load `folder` with each `${VAR}` of `texts` set; with `every_variable`, those with
    a default too (the default is then not what is tested)."""
    pattern = ANY_VARIABLE if every_variable else REQUIRED_VARIABLE
    names = {name for text in texts for name in pattern.findall(text)}
    env = {name: dummy(name) for name in names}
    return load_settings(folder, env=env, database_url=database_url)


def shipped_texts() -> dict[str, str]:
    texts = {"hub.yaml": HUB_YAML.read_text(encoding="utf-8")}
    for example in CHANNEL_EXAMPLES:
        texts[f"channels/{stem(example)}.yaml"] = example.read_text(encoding="utf-8")
    return texts


def uncomment(text: str, top_level_keys: frozenset[str]) -> str:
    """Uncomment the alternatives a file shows as commented YAML: `# key: value` at the
    top level for a key of `top_level_keys` (so that prose such as `# kind: warehouse
    (yours), ...` stays a comment), `  # key: value` or `  # - key: value` inside a
    block, and the lines indented under them (`#   ...`)."""
    lines: list[str] = []
    block: str | None = None
    for line in text.splitlines():
        match = COMMENTED_KEY.match(line)
        if match and (match["indent"] or match["key"] in top_level_keys):
            block = match["indent"]
            lines.append(block + match["text"])
        elif block is not None and line.startswith(block + "#  "):
            lines.append(block + line[len(block) + 2 :])
        else:
            block = None
            lines.append(line)
    return "\n".join(lines) + "\n"


def channel_keys(example_text: str) -> frozenset[str]:
    channel_type = yaml.safe_load(example_text)["type"]
    connector = connector_for(channel_type)
    assert connector is not None, f"the example's type {channel_type!r} is not registered"
    fields = connector.Settings.model_fields
    aliases = {field.alias for field in fields.values() if field.alias}
    return frozenset(CHANNEL_ENVELOPE_KEYS | set(fields) | aliases)


def test_the_shipped_examples_exist() -> None:
    assert HUB_YAML.is_file()
    assert {stem(example) for example in CHANNEL_EXAMPLES} >= {
        "sandbox",
        "shopify",
        "amazon",
        "ups",
        "fedex",
        "dhl",
    }


def test_hub_yaml_loads_as_shipped(tmp_path: Path) -> None:
    text = HUB_YAML.read_text(encoding="utf-8")
    folder = copy_config(tmp_path / "config", {"hub.yaml": text})
    settings = load_with_dummies(folder, [text], every_variable=False)
    assert settings.channels == []
    assert settings.default_location == "main"
    assert settings.hub.http.api_token is None  # ${OMNISYNC_API_TOKEN:-}: the API stays shut


@pytest.mark.parametrize("example", CHANNEL_EXAMPLES, ids=stem)
def test_each_channel_example_loads_beside_the_shipped_hub_yaml(
    tmp_path: Path, example: Path
) -> None:
    text = example.read_text(encoding="utf-8")
    folder = copy_config(
        tmp_path / "config",
        {"hub.yaml": HUB_YAML.read_text(encoding="utf-8"), f"channels/{stem(example)}.yaml": text},
    )
    settings = load_with_dummies(folder, [text], every_variable=False)
    (channel,) = settings.channels
    assert channel.name == stem(example)
    assert channel.type == yaml.safe_load(text)["type"]
    # every ${VAR} the file uses (not those of its comments) reached a field; the
    # secret ones are known to the redaction
    dumped = channel.settings.model_dump_json()
    for name in REQUIRED_VARIABLE.findall(yaml.safe_dump(yaml.safe_load(text))):
        assert dummy(name) in settings.secrets or dummy(name) in dumped, name


def test_the_whole_shipped_folder_loads_with_every_variable_set(tmp_path: Path) -> None:
    texts = shipped_texts()
    folder = copy_config(tmp_path / "config", texts)
    settings = load_with_dummies(folder, texts.values(), every_variable=True, database_url=POSTGRES)
    assert sorted(channel.name for channel in settings.channels) == sorted(
        stem(example) for example in CHANNEL_EXAMPLES
    )
    assert settings.hub.runner == "procrastinate"  # runner: ${OMNISYNC_RUNNER:-single}
    assert settings.hub.http.api_token is not None
    assert dummy("OMNISYNC_API_TOKEN") in settings.secrets


def test_the_commented_alternatives_load_too(tmp_path: Path) -> None:
    texts = {
        "hub.yaml": uncomment(
            HUB_YAML.read_text(encoding="utf-8"), frozenset(HubConfig.model_fields)
        )
    }
    for example in CHANNEL_EXAMPLES:
        text = example.read_text(encoding="utf-8")
        texts[f"channels/{stem(example)}.yaml"] = uncomment(text, channel_keys(text))
    assert "\nalerts:\n" in texts["hub.yaml"]  # the notifiers' block was uncommented
    assert "\nendpoint: " in texts["channels/amazon.yaml"]
    assert "\nworkers:\n" in texts["hub.yaml"]
    folder = copy_config(tmp_path / "config", texts)
    settings = load_with_dummies(
        folder, texts.values(), every_variable=False, database_url=POSTGRES
    )
    assert settings.hub.runner == "single"  # OMNISYNC_RUNNER unset
    assert settings.hub.workers.stalled_after == timedelta(seconds=10)
    assert [notifier.type for notifier in settings.hub.alerts] == ["webhook", "email", "log"]
    assert [location.code for location in settings.hub.locations] == ["main", "overflow"]
    assert len(settings.channels) == len(CHANNEL_EXAMPLES)


def test_the_examples_are_not_read_where_they_lie(tmp_path: Path) -> None:
    """The repository's own config/ loads as is: the `.example` files are skipped."""
    folder = tmp_path / "config"
    shutil.copytree(CONFIG, folder)
    assert load_settings(folder, env={}).channels == []
