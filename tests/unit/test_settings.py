"""hub.settings.load_settings over config folders written in tmp_path, with explicit env dicts."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

import tests.support.fake_connector  # noqa: F401  (registers the channel type "fake")
from omnisync.core.types import LocationKind
from omnisync.hub.settings import ConfigError, Settings, load_settings
from omnisync.sync.jobs.names import JobName

SECRET = "s3cr3t key/with spaces!"
ENV = {"FAKE_KEY": SECRET}
FAKE_CHANNEL = """\
type: fake
shop: demo-shop
api_key: ${FAKE_KEY}
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "config"
    (folder / "channels").mkdir(parents=True)
    write(folder / "hub.yaml", "")
    return folder


def channel_file(config_dir: Path, stem: str, extra: str = "", base: str = FAKE_CHANNEL) -> Path:
    return write(config_dir / "channels" / f"{stem}.yaml", base + textwrap.dedent(extra))


def load(
    config_dir: Path, env: dict[str, str] | None = None, database_url: str | None = None
) -> Settings:
    return load_settings(config_dir, env=ENV if env is None else env, database_url=database_url)


def problems_of(config_dir: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(config_dir, env)
    return info.value.problems


def split_problem(line: str, files: list[Path]) -> tuple[Path, str, str]:
    """`FILE: field.path: message` into its three parts (FILE must be one of `files`)."""
    for file in files:
        prefix = f"{file}: "
        if line.startswith(prefix):
            field_path, separator, message = line[len(prefix) :].partition(": ")
            assert separator, line
            assert message.strip(), line
            return file, field_path, message
    raise AssertionError(f"problem names none of {files}: {line}")


# Defaults and substitution


def test_an_empty_hub_yaml_gives_one_main_location_and_the_sqlite_default(
    config_dir: Path,
) -> None:
    settings = load(config_dir, env={})
    assert [location.code for location in settings.hub.locations] == ["main"]
    assert settings.hub.locations[0].kind == LocationKind.WAREHOUSE
    assert settings.default_location == "main"
    assert settings.database_url == "sqlite:///var/omnisync.db"
    assert settings.channels == []
    assert settings.config_dir == config_dir
    assert settings.secrets == frozenset()


def test_hub_yaml_locations_are_read_in_order_with_their_kind(config_dir: Path) -> None:
    write(
        config_dir / "hub.yaml",
        """\
        locations:
          - code: east
            name: East warehouse
          - code: fba
            kind: channel_managed
        """,
    )
    settings = load(config_dir)
    assert [(loc.code, loc.name, loc.kind) for loc in settings.hub.locations] == [
        ("east", "East warehouse", LocationKind.WAREHOUSE),
        ("fba", "", LocationKind.CHANNEL_MANAGED),
    ]
    assert settings.default_location == "east"


def test_variables_are_replaced_from_env_with_defaults_when_unset(config_dir: Path) -> None:
    write(
        config_dir / "hub.yaml",
        """\
        database_url: ${DB_URL}
        locations:
          - code: main
            name: ${WAREHOUSE_NAME:-Fallback name}
          - code: backup
            name: "${BACKUP_NAME:-unused default}"
          - code: spare
            name: "${SPARE_NAME:-}"
        """,
    )
    channel_file(
        config_dir,
        "shop",
        base="""\
        type: ${CHANNEL_TYPE:-fake}
        shop: ${SHOP_PREFIX}-store
        api_key: ${FAKE_KEY}
        page_size: ${PAGE_SIZE:-25}
        """,
    )
    env = {**ENV, "DB_URL": "sqlite:///elsewhere.db", "SHOP_PREFIX": "acme", "BACKUP_NAME": "Back"}
    settings = load(config_dir, env=env)
    assert settings.database_url == "sqlite:///elsewhere.db"
    assert [loc.name for loc in settings.hub.locations] == ["Fallback name", "Back", ""]
    (channel,) = settings.channels
    assert channel.type == "fake"
    assert channel.settings.shop == "acme-store"  # type: ignore[attr-defined]
    assert channel.settings.page_size == 25  # type: ignore[attr-defined]
    api_key = channel.settings.api_key  # type: ignore[attr-defined]
    assert isinstance(api_key, SecretStr)
    assert api_key.get_secret_value() == SECRET


def test_double_dollar_is_a_literal_dollar_and_not_a_variable(config_dir: Path) -> None:
    write(
        config_dir / "hub.yaml",
        """\
        locations:
          - code: main
            name: "costs $$5 and $${NOT_A_VARIABLE} stays"
        """,
    )
    settings = load(config_dir, env={})
    assert settings.hub.locations[0].name == "costs $5 and ${NOT_A_VARIABLE} stays"


def test_an_unset_variable_in_hub_yaml_is_a_problem_naming_field_and_variable(
    config_dir: Path,
) -> None:
    hub_file = write(config_dir / "hub.yaml", "database_url: ${MISSING_DB_URL}\n")
    (line,) = problems_of(config_dir, env={})
    _, field_path, message = split_problem(line, [hub_file])
    assert field_path == "database_url"
    assert "MISSING_DB_URL" in message


def test_omnisync_database_url_in_env_overrides_hub_yaml_and_the_argument_overrides_both(
    config_dir: Path,
) -> None:
    write(config_dir / "hub.yaml", "database_url: sqlite:///from-yaml.db\n")
    assert load(config_dir, env={}).database_url == "sqlite:///from-yaml.db"
    env = {"OMNISYNC_DATABASE_URL": "postgresql+psycopg://u@db/from_env"}
    assert load(config_dir, env=env).database_url == "postgresql+psycopg://u@db/from_env"
    overridden = load(config_dir, env=env, database_url="sqlite:///from-argument.db")
    assert overridden.database_url == "sqlite:///from-argument.db"


def test_omnisync_database_url_in_env_overrides_the_default(config_dir: Path) -> None:
    env = {"OMNISYNC_DATABASE_URL": "sqlite:////tmp/other.db"}
    assert load(config_dir, env=env).database_url == "sqlite:////tmp/other.db"


# Channels


def test_a_channel_is_named_after_its_file_with_defaults(config_dir: Path) -> None:
    source = channel_file(config_dir, "web-shop")
    (channel,) = load(config_dir).channels
    assert channel.name == "web-shop"
    assert channel.type == "fake"
    assert channel.enabled is True
    assert channel.locations is None
    assert channel.source == source
    assert channel.settings.page_size == 50  # type: ignore[attr-defined]
    assert channel.stock.allocation_percent == 100
    assert channel.stock.buffer == 0
    assert channel.stock.max_quantity is None
    assert channel.schedule.interval(JobName.ORDERS) == timedelta(minutes=1)
    assert channel.schedule.interval(JobName.LISTINGS) == timedelta(hours=1)


def test_name_in_the_file_overrides_the_file_stem(config_dir: Path) -> None:
    channel_file(config_dir, "file-stem", "name: given-name\nenabled: false\n")
    (channel,) = load(config_dir).channels
    assert channel.name == "given-name"
    assert channel.enabled is False


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("1h", timedelta(hours=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("500ms", timedelta(milliseconds=500)),
        ("45", timedelta(seconds=45)),  # a bare number in YAML is seconds
        ("2.5", timedelta(seconds=2.5)),
    ],
)
def test_schedule_intervals_are_parsed(config_dir: Path, written: str, expected: timedelta) -> None:
    channel_file(config_dir, "shop", f"schedule:\n  orders: {written}\n  tracking: 2h\n")
    (channel,) = load(config_dir).channels
    assert channel.schedule.interval(JobName.ORDERS) == expected
    assert channel.schedule.interval(JobName.TRACKING) == timedelta(hours=2)
    assert channel.schedule.interval(JobName.LISTINGS) == timedelta(hours=1)  # untouched default


@pytest.mark.parametrize("written", ["soon", "'5 minutes'", "0s", "-5s", "'1x'", "''"])
def test_a_bad_interval_is_a_problem_naming_the_file_and_schedule_orders(
    config_dir: Path, written: str
) -> None:
    source = channel_file(config_dir, "shop", f"schedule:\n  orders: {written}\n")
    (line,) = problems_of(config_dir)
    _, field_path, _ = split_problem(line, [source])
    assert field_path == "schedule.orders"


def test_stock_rules_are_read(config_dir: Path) -> None:
    channel_file(
        config_dir,
        "shop",
        """\
        stock:
          allocation_percent: 60
          buffer: 2
          zero_below: 3
          max_quantity: 40
        """,
    )
    (channel,) = load(config_dir).channels
    rules = channel.stock
    assert (rules.allocation_percent, rules.buffer, rules.zero_below, rules.max_quantity) == (
        60,
        2,
        3,
        40,
    )


@pytest.mark.parametrize(
    ("rules", "field_path"),
    [
        ("allocation_percent: 150", "stock.allocation_percent"),
        ("allocation_percent: -1", "stock.allocation_percent"),
        ("buffer: -2", "stock.buffer"),
        ("max_quantity: many", "stock.max_quantity"),
        ("reserve_everything: true", "stock.reserve_everything"),
    ],
)
def test_bad_stock_rules_are_problems_with_their_path(
    config_dir: Path, rules: str, field_path: str
) -> None:
    source = channel_file(config_dir, "shop", f"stock:\n  {rules}\n")
    (line,) = problems_of(config_dir)
    assert split_problem(line, [source])[1] == field_path


def test_an_unknown_top_level_key_is_a_problem_of_the_connector_settings(
    config_dir: Path,
) -> None:
    source = channel_file(config_dir, "shop", "colour: blue\n")
    (line,) = problems_of(config_dir)
    assert split_problem(line, [source])[1] == "colour"


def test_an_unknown_type_names_the_file_the_field_and_the_type(config_dir: Path) -> None:
    source = channel_file(config_dir, "shop", base="type: carrier-pigeon\nshop: x\n")
    (line,) = problems_of(config_dir)
    _, field_path, message = split_problem(line, [source])
    assert field_path == "type"
    assert "carrier-pigeon" in message


def test_a_missing_type_is_a_problem(config_dir: Path) -> None:
    source = channel_file(config_dir, "shop", base="shop: x\napi_key: ${FAKE_KEY}\n")
    (line,) = problems_of(config_dir)
    assert split_problem(line, [source])[1] == "type"


def test_a_type_from_an_unset_variable_names_the_file_the_field_and_the_variable(
    config_dir: Path,
) -> None:
    source = channel_file(config_dir, "shop", base="type: ${UNSET_VAR}\nshop: x\n")
    (line,) = problems_of(config_dir, env={})
    _, field_path, message = split_problem(line, [source])
    assert field_path == "type"
    assert "UNSET_VAR" in message


def test_an_unset_variable_in_a_credential_names_its_field(config_dir: Path) -> None:
    source = channel_file(config_dir, "shop")
    (line,) = problems_of(config_dir, env={})
    _, field_path, message = split_problem(line, [source])
    assert field_path == "api_key"
    assert "FAKE_KEY" in message


def test_a_missing_required_connector_field_is_required(config_dir: Path) -> None:
    source = channel_file(config_dir, "shop", base="type: fake\napi_key: ${FAKE_KEY}\n")
    assert problems_of(config_dir) == [f"{source}: shop: is required"]


def test_channel_locations_must_be_defined_in_hub_yaml(config_dir: Path) -> None:
    write(config_dir / "hub.yaml", "locations:\n  - code: main\n  - code: backup\n")
    good = channel_file(config_dir, "good", "locations: [backup]\n")
    bad = channel_file(config_dir, "bad", "locations: [main, nowhere]\n")
    (line,) = problems_of(config_dir)
    _, field_path, message = split_problem(line, [bad, good])
    assert line.startswith(f"{bad}: ")
    assert field_path == "locations[1]"
    assert "nowhere" in message
    bad.unlink()
    (channel,) = load(config_dir).channels
    assert channel.locations == ["backup"]


def test_two_files_with_the_same_channel_name_are_a_problem_naming_both(
    config_dir: Path,
) -> None:
    first = channel_file(config_dir, "shop")
    second = channel_file(config_dir, "zz-other", "name: shop\n")
    (line,) = problems_of(config_dir)
    file, field_path, _ = split_problem(line, [first, second])
    assert field_path == "name"
    other = second if file == first else first
    assert str(other) in line


def test_invalid_yaml_is_reported_with_its_line(config_dir: Path) -> None:
    source = channel_file(config_dir, "shop", base="type: fake\nshop: x\n\tapi_key: y\n")
    (line,) = problems_of(config_dir)
    assert line.startswith(f"{source}: ")
    assert "line 3" in line


FLOW_FIX = (
    'inside a flow mapping {...} or list [...] must be quoted: "${%s}", or use a block mapping'
)


def test_a_variable_unquoted_in_a_flow_mapping_names_file_line_and_the_fix(
    config_dir: Path,
) -> None:
    source = channel_file(
        config_dir,
        "shop",
        base="type: fake\nshop: demo-shop\ncredentials: {region: eu, secret: ${SHOP_SECRET}}\n",
    )
    (line,) = problems_of(config_dir, env={**ENV, "SHOP_SECRET": "hunter2-very-secret"})
    file, where, message = split_problem(line, [source])
    assert file == source
    assert where == "line 3, column 36"  # the `{` of `${`
    assert message.startswith("invalid YAML: expected ',' or '}', but got '{': ")
    assert message.endswith("${SHOP_SECRET} " + FLOW_FIX % "SHOP_SECRET")
    assert "hunter2" not in line


def test_a_variable_unquoted_in_a_flow_list_of_hub_yaml_names_the_hub_file(
    config_dir: Path,
) -> None:
    hub_file = write(
        config_dir / "hub.yaml",
        """\
        alerts:
          - type: email
            host: smtp.example.com
            from: omnisync@example.com
            to: [ops@example.com,
                 ${ONCALL_EMAIL}]
        """,
    )
    (line,) = problems_of(config_dir)
    _, where, message = split_problem(line, [hub_file])
    assert where == "line 6, column 11"
    assert "but got '{'" in message
    assert message.endswith("${ONCALL_EMAIL} " + FLOW_FIX % "ONCALL_EMAIL")


def test_the_fix_names_the_variable_at_the_error_and_never_a_default(config_dir: Path) -> None:
    channel_file(
        config_dir,
        "shop",
        base='type: fake\nshop: x\napi_key: {a: "${FIRST}", b: ${TOKEN:-tok-default-123}}\n',
    )
    (line,) = problems_of(config_dir)
    assert (
        '${TOKEN:-...} inside a flow mapping {...} or list [...] must be quoted: "${TOKEN:-...}"'
        in (line)
    )
    assert "FIRST" not in line
    assert "tok-default-123" not in line


def test_the_quoted_variable_the_fix_asks_for_loads(config_dir: Path) -> None:
    channel_file(config_dir, "shop", base='type: fake\nshop: x\napi_key: "${FAKE_KEY}"\n')
    write(
        config_dir / "hub.yaml",
        'locations: [{code: main, name: "${WAREHOUSE}"}, {code: spare, name: "x${WAREHOUSE}"}]\n',
    )
    settings = load(config_dir, env={**ENV, "WAREHOUSE": "Leeds"})
    assert [loc.name for loc in settings.hub.locations] == ["Leeds", "xLeeds"]
    assert settings.channels[0].settings.api_key.get_secret_value() == SECRET  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "text",
    [
        "type: fake\nshop: x\n\tapi_key: ${FAKE_KEY}\n",  # a tab: not a flow problem
        "type: fake\nshop: x\napi_key: {a: b c: d}\n",  # a flow problem without ${
        'type: fake\nshop: x\napi_key: ["${FAKE_KEY}" x, y]\n',  # quoted: the error is elsewhere
    ],
)
def test_other_yaml_errors_keep_the_plain_message(config_dir: Path, text: str) -> None:
    source = channel_file(config_dir, "shop", base=text)
    (line,) = problems_of(config_dir)
    _, where, message = split_problem(line, [source])
    assert where.startswith("line ")
    assert message.startswith("invalid YAML: ")
    assert "must be quoted" not in message


def test_a_yaml_file_that_is_not_a_mapping_is_a_problem(config_dir: Path) -> None:
    source = channel_file(config_dir, "shop", base="- just\n- a list\n")
    (line,) = problems_of(config_dir)
    assert line.startswith(f"{source}: ")


def test_a_missing_hub_yaml_is_a_problem(config_dir: Path) -> None:
    (config_dir / "hub.yaml").unlink()
    (line,) = problems_of(config_dir)
    assert line.startswith(f"{config_dir / 'hub.yaml'}: ")
    assert "not found" in line


def test_a_missing_config_folder_is_a_problem(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-config"
    with pytest.raises(ConfigError) as info:
        load_settings(missing, env={})
    (line,) = info.value.problems
    assert line.startswith(f"{missing}: ")


def test_every_problem_in_every_file_is_reported_in_one_error(config_dir: Path) -> None:
    hub_file = write(
        config_dir / "hub.yaml",
        """\
        locations:
          - code: main
          - code: backup
            kind: somewhere
        """,
    )
    unknown = channel_file(config_dir, "a-unknown", base="type: telegraph\n")
    unset = channel_file(config_dir, "b-unset", base="type: ${NO_SUCH_TYPE_VAR}\n")
    missing = channel_file(config_dir, "c-missing", base="type: fake\napi_key: ${FAKE_KEY}\n")
    interval = channel_file(config_dir, "d-interval", "schedule:\n  orders: soon\n")
    rules = channel_file(config_dir, "e-rules", "stock:\n  allocation_percent: 150\n")
    channel_file(config_dir, "f-fine")
    files = [hub_file, unknown, unset, missing, interval, rules]
    with pytest.raises(ConfigError) as info:
        load(config_dir)
    parsed = [split_problem(line, files) for line in info.value.problems]
    assert {(file, field_path) for file, field_path, _ in parsed} == {
        (hub_file, "locations[1].kind"),
        (unknown, "type"),
        (unset, "type"),
        (missing, "shop"),
        (interval, "schedule.orders"),
        (rules, "stock.allocation_percent"),
    }
    assert len(parsed) == 6
    assert str(info.value) == "\n".join(info.value.problems)


def test_a_secret_never_appears_in_a_problem(config_dir: Path) -> None:
    """Problems in other fields, and the secret itself written into wrong fields."""
    channel_file(
        config_dir,
        "shop",
        """\
        page_size: lots
        stock:
          buffer: -1
        """,
    )
    channel_file(
        config_dir,
        "misplaced",
        base="""\
        type: fake
        shop: x
        api_key: ${FAKE_KEY}
        page_size: ${FAKE_KEY}
        endpoint: ${FAKE_KEY}
        schedule:
          orders: ${FAKE_KEY}
        stock:
          max_quantity: ${FAKE_KEY}
        """,
    )
    write(
        config_dir / "hub.yaml",
        "database_url: sqlite:///x.db\nlocations:\n  - code: ${FAKE_KEY}\n",
    )
    with pytest.raises(ConfigError) as info:
        load(config_dir)
    problems = info.value.problems
    assert len(problems) == 7
    assert not [line for line in problems if SECRET in line]
    assert SECRET not in str(info.value)


def test_settings_secrets_holds_every_channel_secret(config_dir: Path) -> None:
    channel_file(config_dir, "one")
    channel_file(config_dir, "two", base="type: fake\nshop: y\napi_key: ${OTHER_KEY}\n")
    settings = load(config_dir, env={**ENV, "OTHER_KEY": "other-secret"})
    assert settings.secrets == frozenset({SECRET, "other-secret"})
    assert SECRET not in repr(settings.channels[0].settings)


def test_examples_and_readme_in_channels_are_ignored(config_dir: Path) -> None:
    channels = config_dir / "channels"
    write(channels / "shopify.yaml.example", "type: not-a-type\nbroken: [\n")
    write(channels / "README.md", "# Channels\n\ntype: nonsense\n")
    write(channels / "notes.txt", "type: nonsense\n")
    assert load(config_dir, env={}).channels == []
    channel_file(config_dir, "real")
    assert [channel.name for channel in load(config_dir).channels] == ["real"]


# Values that came from the environment are named by their variable, never shown


def test_a_secret_put_in_type_or_locations_is_named_by_its_variable_not_shown(
    config_dir: Path,
) -> None:
    token = "shpat0123456789abcdef"  # a secret that is also a well-formed location code
    channel_file(config_dir, "shop", 'locations: ["${TOKEN}"]\n')
    write(config_dir / "channels" / "other.yaml", "type: ${TOKEN}\n")
    lines = problems_of(config_dir, {**ENV, "TOKEN": token})
    assert len(lines) == 2
    assert all(token not in line and SECRET not in line for line in lines)
    assert any("type: unknown channel type from ${TOKEN}" in line for line in lines)
    assert any("locations[0]: unknown location from ${TOKEN}" in line for line in lines)


def test_a_broken_hub_yaml_does_not_make_channel_locations_look_unknown(
    config_dir: Path,
) -> None:
    write(
        config_dir / "hub.yaml",
        """\
        locations:
          - code: main
          - code: backup
            kind: nowhere
        """,
    )
    channel_file(config_dir, "shop", "locations: [backup]\n")
    lines = problems_of(config_dir)
    assert len(lines) == 1
    assert lines[0].startswith(f"{config_dir / 'hub.yaml'}: locations[1].kind: ")
