"""Configuration: config/hub.yaml and config/channels/*.yaml.

Every problem found is collected and reported as one line
`FILE: field.path: message`; nothing starts on bad config (exit code 2), except
that with `skip_broken_channels` a broken channel file is only left out.
Values never appear in messages, so a secret put in the wrong field stays secret.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from omnisync.connectors.base import ConnectorSettings
from omnisync.connectors.registry import connector_for, known_types
from omnisync.core.dto import Address
from omnisync.core.types import LocationKind
from omnisync.hub.routing_settings import RoutingConfig
from omnisync.sync.jobs.names import JobName
from omnisync.sync.jobs.registry import JOBS

DEFAULT_DATABASE_URL = "sqlite:///var/omnisync.db"
DEFAULT_DATA_DIR = "var"
_ENV_REFERENCE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_INTERVAL = re.compile(r"(\d+)(ms|s|m|h|d)")
_INTERVAL_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_interval(value: Any) -> timedelta:
    """`30s`, `5m`, `1h`, `1h30m`, `500ms`, or a number of seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and value.strip():
        text = value.strip().replace(" ", "")
        parts = _INTERVAL.findall(text)
        if "".join(number + unit for number, unit in parts) != text:
            raise ValueError("must be an interval such as 30s, 5m, 1h or 1h30m")
        seconds = sum(int(number) * _INTERVAL_UNITS[unit] for number, unit in parts)
    else:
        raise ValueError("must be an interval such as 30s, 5m, 1h or 1h30m")
    if seconds <= 0:
        raise ValueError("must be longer than zero")
    return timedelta(seconds=seconds)


Interval = Annotated[timedelta, BeforeValidator(parse_interval)]
Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AddressConfig(Address):
    """Where a location ships from, as printed on the labels it buys (core/dto.py Address,
    strict: a key it does not know is a mistake)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class LocationConfig(_Strict):
    code: Code
    name: str = ""
    kind: LocationKind = LocationKind.WAREHOUSE
    address: AddressConfig | None = None
    """The ship-from address of labels bought for parcels leaving here."""


MIN_API_TOKEN_LENGTH = 16


def _api_token(value: Any) -> Any:
    """An empty value (`${API_TOKEN:-}`) leaves the API disabled; a short one is refused."""
    if value is None or value == "":
        return None
    text = value.get_secret_value() if isinstance(value, SecretStr) else value
    if isinstance(text, str) and len(text.strip()) < MIN_API_TOKEN_LENGTH:
        raise ValueError(
            f"must be at least {MIN_API_TOKEN_LENGTH} characters (e.g. `openssl rand -hex 32`)"
        )
    return value


class HttpConfig(_Strict):
    """The hub's HTTP server: webhooks, probes, /metrics and the REST API."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    """0 picks a free port (tests)."""
    api_token: Annotated[SecretStr | None, BeforeValidator(_api_token)] = None
    """Bearer token of /api/v1 (an admin); users' own tokens work beside it. With no token
    of any kind the REST API answers 503."""
    console: bool = True
    """The web console under `/` (sign in as a user made with `omnisync users add`)."""
    session_lifetime: Interval = timedelta(hours=12)
    """How long a console login lasts."""
    secure_cookies: bool = False
    """Mark the console's cookie Secure even when the hub itself hears plain HTTP (behind a
    TLS proxy on another machine); over HTTPS it is Secure anyway."""


class AlertRulesConfig(_Strict):
    """When the alert engine (sync/alerts.py) opens an alert, and how often it looks."""

    consecutive_failures: int = Field(default=3, ge=1)
    """A job that failed this many runs in a row (no success between) raises an alert."""
    stale_after: float = Field(default=5, ge=2)
    """A job with no success for this many times its schedule interval is stale."""
    push_backlog_age: Interval = timedelta(minutes=10)
    """A listing waiting this long for its stock push raises an alert."""
    repeat_after: Interval = timedelta(hours=1)
    """An alert still open is announced again after this long."""
    unlinked_after: Interval = timedelta(hours=1)
    """A listing unlinked this long is named by the unlinked_listings alert (an open order
    line bound to no SKU is named at once)."""
    evaluate_every: Interval = timedelta(seconds=5)
    """How often the rules are evaluated and notifications sent."""
    return_open_after: Interval = timedelta(days=7)
    """A return in transit or received (in part or whole) and not closed for this long is
    named by the return_waiting alert."""


def _email_address(value: str) -> str:
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise ValueError("must be an email address such as ops@example.com")
    return value


EmailAddress = Annotated[str, AfterValidator(_email_address)]


def _web_url(value: Any) -> Any:
    text = value.get_secret_value() if isinstance(value, SecretStr) else value
    if not isinstance(text, str) or not re.match(r"^https?://[^/\s]+", text):
        raise ValueError("must be an http:// or https:// URL")
    return value


class WebhookNotifierConfig(_Strict):
    """POST a JSON document with `text` (a Slack or Mattermost incoming webhook takes it
    as is) and the alert's fields."""

    type: Literal["webhook"]
    name: Code | None = None
    url: Annotated[SecretStr, BeforeValidator(_web_url)]
    """A secret: incoming-webhook URLs carry their token in the path."""
    timeout_seconds: float = Field(default=10, gt=0, le=120)


class EmailNotifierConfig(_Strict):
    type: Literal["email"]
    name: Code | None = None
    host: str = Field(min_length=1)
    port: int = Field(default=25, ge=1, le=65535)
    starttls: bool = False
    username: str | None = None
    password: SecretStr | None = None
    ca_file: Path | None = None
    """CA certificates to trust for STARTTLS (a private CA); the system's otherwise."""
    sender: EmailAddress = Field(alias="from")
    to: list[EmailAddress] = Field(min_length=1)
    timeout_seconds: float = Field(default=10, gt=0, le=120)

    @model_validator(mode="after")
    def _login_needs_both(self) -> EmailNotifierConfig:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        return self


class LogNotifierConfig(_Strict):
    type: Literal["log"]
    name: Code | None = None
    level: Literal["info", "warning", "error"] = "warning"


NotifierConfig = Annotated[
    WebhookNotifierConfig | EmailNotifierConfig | LogNotifierConfig, Field(discriminator="type")
]
NOTIFIER_TYPES = ("webhook", "email", "log")


def notifier_name(notifier: NotifierConfig) -> str:
    """What the hub calls the notifier (delivery records are kept by this name)."""
    return notifier.name or notifier.type


RUNNERS = ("single", "procrastinate")
"""hub.yaml `runner`: `single` (one `omnisync run` runs every job, APScheduler; SQLite or
PostgreSQL) or `procrastinate` (jobs are tasks on PostgreSQL that `omnisync worker`
processes run, on any number of machines)."""


class WorkersConfig(_Strict):
    """hub.yaml `workers`: how the procrastinate runner watches its workers."""

    heartbeat: Interval = timedelta(seconds=1)
    """How often each worker says it is alive (procrastinate's worker heartbeat)."""
    stalled_after: Interval = timedelta(seconds=10)
    """A worker silent this long is taken for dead: its running jobs are failed and
    deferred again, and the worker_stalled alert opens."""
    sweep_every: Interval = timedelta(seconds=1)
    """How often `omnisync run` looks for dirty listings without a push job and for stalled
    jobs."""
    queue_age_alert: Interval = timedelta(minutes=5)
    """A job waiting this long past its time opens the queue_backlog alert."""
    tick_stopped_after: Interval = timedelta(minutes=1)
    """A periodic tick (one per job kind, every second) not seen this long opens the
    tick_stopped alert."""

    @model_validator(mode="after")
    def _stalled_after_heartbeats(self) -> WorkersConfig:
        if self.stalled_after < self.heartbeat * 3:
            raise ValueError("stalled_after must be at least 3 heartbeats")
        return self


class HubConfig(_Strict):
    database_url: str = DEFAULT_DATABASE_URL
    runner: Literal["single", "procrastinate"] = "single"
    """See RUNNERS; `procrastinate` needs a PostgreSQL database_url."""
    workers: WorkersConfig = WorkersConfig()
    data_dir: str = DEFAULT_DATA_DIR
    """Where the hub keeps files (labels/), relative to the working directory."""
    http: HttpConfig = HttpConfig()
    locations: list[LocationConfig] = Field(
        default_factory=lambda: [LocationConfig(code="main", name="Main warehouse")],
        min_length=1,
    )
    alert_rules: AlertRulesConfig = AlertRulesConfig()
    alerts: list[NotifierConfig] = Field(default_factory=list)
    """Where alerts are sent; the hub's log always has them too."""
    routing: RoutingConfig = RoutingConfig()

    @field_validator("alerts")
    @classmethod
    def _unique_notifier_names(cls, notifiers: list[NotifierConfig]) -> list[NotifierConfig]:
        names = [notifier_name(notifier) for notifier in notifiers]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(
                f"notifier name(s) {', '.join(twice)} used more than once: give each a `name`"
            )
        return notifiers


class StockRulesConfig(_Strict):
    allocation_percent: int = Field(default=100, ge=0, le=100)
    buffer: int = Field(default=0, ge=0)
    zero_below: int = Field(default=0, ge=0)
    max_quantity: int | None = Field(default=None, ge=0)


class _JobIntervals(_Strict):
    """How often each job runs; stock pushes also follow every stock change at once.

    ScheduleConfig is this with one field per job of sync/jobs/registry.py, named
    by the job and defaulting to its default_interval. It is built from that
    table, so the `schedule:` keys of a channel file are the job names by
    construction; read a job's value with `interval(job)`.
    """

    def interval(self, job: JobName) -> timedelta:
        value = getattr(self, job.value)
        assert isinstance(value, timedelta)
        return value

    def intervals(self) -> dict[JobName, timedelta]:
        return {job: self.interval(job) for job in JobName}


def _schedule_model() -> type[_JobIntervals]:
    fields: dict[str, Any] = {
        job.value: (Interval, spec.default_interval) for job, spec in JOBS.items()
    }
    return create_model(
        "ScheduleConfig",
        __base__=_JobIntervals,
        __module__=__name__,
        __doc__=_JobIntervals.__doc__,
        **fields,
    )


if TYPE_CHECKING:
    ScheduleConfig = _JobIntervals
else:
    ScheduleConfig = _schedule_model()


class SyncOptions(_Strict):
    """How the engine reads and writes this channel."""

    lag: Interval = timedelta(minutes=2)
    """Each order pull starts this far before the cursor, for late updates."""
    backfill: Interval = timedelta(days=7)
    """How far back the first order pull reaches."""
    item_backoff: Interval = timedelta(seconds=30)
    """Wait before retrying an item the channel refused; doubles per attempt, at most 1h."""
    tracking_unknown_after: Interval = timedelta(hours=24)
    """Carrier channels: a tracking number the carrier still does not know this long
    after shipping raises the tracking_unknown alert."""


class ChannelEnvelope(_Strict):
    """The keys every channel file has, whatever its type."""

    name: Code
    type: str
    enabled: bool = True
    account: Code | None = None
    """Channels naming one account share its rate limit: with runner `procrastinate` each
    job runs for one of them at a time (by default each channel is its own account)."""
    locations: list[Code] | None = None
    stock: StockRulesConfig = StockRulesConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    sync: SyncOptions = SyncOptions()


CHANNEL_ENVELOPE_KEYS = frozenset(
    key
    for name, field_info in ChannelEnvelope.model_fields.items()
    for key in (name, field_info.alias)
    if key is not None
)
"""The keys of a channel file that are not the connector's own settings."""


@dataclass(frozen=True)
class ChannelConfig:
    name: str
    type: str
    enabled: bool
    locations: list[str] | None
    stock: StockRulesConfig
    schedule: ScheduleConfig
    sync: SyncOptions
    settings: ConnectorSettings
    source: Path
    account: str | None = None


@dataclass(frozen=True)
class Settings:
    config_dir: Path
    hub: HubConfig
    channels: list[ChannelConfig]
    database_url: str
    skipped: list[str] = field(default_factory=list)
    """Problems of channel files left out (only with skip_broken_channels)."""

    @property
    def skipped_files(self) -> dict[str, list[str]]:
        """The channel files left out, each with its problems (without the file's name)."""
        files: dict[str, list[str]] = {}
        for line in self.skipped:
            source, _, problem = line.partition(": ")
            files.setdefault(source, []).append(problem)
        return files

    @property
    def secrets(self) -> frozenset[str]:
        """Every configured secret, for redaction: the secret fields of hub.yaml and of
        every channel, and the database password."""
        values = [*_secret_values(self.hub), _database_password(self.database_url)]
        values += [value for channel in self.channels for value in _secret_values(channel.settings)]
        return frozenset(value for value in values if value)

    @property
    def default_location(self) -> str:
        return self.hub.locations[0].code

    @property
    def data_dir(self) -> Path:
        """Where the hub keeps files (labels/): hub.yaml's `data_dir`."""
        return Path(self.hub.data_dir)

    def routing_rules(self, channel: str) -> dict[str, Any]:
        """hub.yaml's `routing:` as it applies to `channel` (core/routing.py); without a
        `priority`, the channel's own `locations:` order breaks the last tie."""
        return self.hub.routing.rules_for(channel)


class ConfigError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class _Problems:
    lines: list[str] = field(default_factory=list)

    def add(self, source: Path, path: str, message: str) -> None:
        self.lines.append(f"{source}: {path or '(file)'}: {message}")

    def add_validation(self, source: Path, error: ValidationError, prefix: str = "") -> None:
        for item in error.errors(include_input=False, include_url=False):
            loc = (*_split(prefix), *_location(item))
            path = ".".join(_path_part(part) for part in loc)
            self.add(source, path.replace(".[", "["), _message(item))


def _split(prefix: str) -> tuple[str, ...]:
    return tuple(part for part in prefix.split(".") if part)


def _path_part(part: Any) -> str:
    return f"[{part}]" if isinstance(part, int) else str(part)


def _location(item: Mapping[str, Any]) -> tuple[Any, ...]:
    """Where the error is, as the file spells it: a notifier's errors carry its type as an
    extra step (alerts.0.webhook.url), and a bad type is an error of the `type` field."""
    loc = tuple(item["loc"])
    if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
        return (*loc, "type")
    if loc[:1] == ("alerts",) and len(loc) > 2 and loc[2] in NOTIFIER_TYPES:
        return (*loc[:2], *loc[3:])
    return loc


def _message(item: Mapping[str, Any]) -> str:
    if item["type"] in ("missing", "union_tag_not_found"):
        return "is required"
    if item["type"] == "union_tag_invalid":
        return f"must be one of {item.get('ctx', {}).get('expected_tags', '')}"
    if item["type"] == "extra_forbidden":
        return "is not a known field"
    return str(item["msg"])


def load_settings(
    config_dir: Path,
    env: Mapping[str, str] | None = None,
    database_url: str | None = None,
    *,
    skip_broken_channels: bool = False,
) -> Settings:
    """Read and validate the whole configuration folder; raises ConfigError.

    With `skip_broken_channels` (a running hub reloading its config), a channel
    file with problems is left out and its problems are kept in
    `Settings.skipped`; only problems of hub.yaml raise.
    """
    env = os.environ if env is None else env
    problems = _Problems()
    hub_file = config_dir / "hub.yaml"
    if not config_dir.is_dir():
        raise ConfigError([f"{config_dir}: (folder): not found; `omnisync init` writes an example"])
    hub_data = _read_yaml(hub_file, problems, required=True)
    hub: HubConfig | None = HubConfig()
    if hub_data is not None:
        hub_data = _substitute(hub_data, env, hub_file, "", problems, {})
        try:
            hub = HubConfig.model_validate(hub_data)
        except ValidationError as error:
            problems.add_validation(hub_file, error)
            hub = None  # channel locations cannot be judged against a broken hub.yaml
    location_codes = [location.code for location in hub.locations] if hub else []
    for code in sorted({c for c in location_codes if location_codes.count(c) > 1}):
        problems.add(hub_file, "locations", f"location {code!r} is defined twice")
    for path, message in hub.routing.problems(location_codes) if hub else []:
        problems.add(hub_file, path, message)
    hub_problems = len(problems.lines)
    channels = _load_channels(
        config_dir / "channels", env, set(location_codes) if hub else None, problems
    )
    fatal = problems.lines[:hub_problems] if skip_broken_channels else problems.lines
    if fatal or hub is None:
        raise ConfigError(problems.lines)
    url = database_url or env.get("OMNISYNC_DATABASE_URL") or hub.database_url
    if hub.runner == "procrastinate" and _backend(url) != "postgresql":
        raise ConfigError(
            [
                f"{hub_file}: runner: `procrastinate` keeps its queue in PostgreSQL, and the "
                f"database is {_backend(url) or 'not a database URL'}: set a postgresql+psycopg:// "
                "database_url, or runner: single"
            ]
        )
    return Settings(config_dir, hub, channels, url, skipped=problems.lines[hub_problems:])


def _load_channels(
    folder: Path,
    env: Mapping[str, str],
    location_codes: set[str] | None,
    problems: _Problems,
) -> list[ChannelConfig]:
    channels: list[ChannelConfig] = []
    sources: dict[str, Path] = {}
    for source in _channel_files(folder):
        channel = _load_channel(source, env, location_codes, problems)
        if channel is None:
            continue
        if channel.name in sources:
            problems.add(
                source,
                "name",
                f"channel {channel.name!r} is also defined in {sources[channel.name]}",
            )
            continue
        sources[channel.name] = source
        channels.append(channel)
    return channels


def _channel_files(folder: Path) -> Iterator[Path]:
    if folder.is_dir():
        yield from sorted(
            p for p in folder.iterdir() if p.suffix in {".yaml", ".yml"} and p.is_file()
        )


def _load_channel(
    source: Path,
    env: Mapping[str, str],
    location_codes: set[str] | None,
    problems: _Problems,
) -> ChannelConfig | None:
    before = len(problems.lines)
    data = _read_yaml(source, problems, required=True)
    if data is None:
        return None
    origins: dict[str, list[str]] = {}
    data = _substitute(data, env, source, "", problems, origins)
    if len(problems.lines) > before:
        return None  # unset variables: the values below cannot be judged
    data.setdefault("name", source.stem)
    type_name = data.get("type")
    if not isinstance(type_name, str) or not type_name:
        problems.add(source, "type", "is required")
        return None
    connector = connector_for(type_name)
    if connector is None:
        known = ", ".join(known_types()) or "none registered"
        shown = _shown(type_name, "type", origins)
        problems.add(source, "type", f"unknown channel type {shown} (known: {known})")
        return None
    envelope_data = {key: value for key, value in data.items() if key in CHANNEL_ENVELOPE_KEYS}
    settings_data = {key: value for key, value in data.items() if key not in CHANNEL_ENVELOPE_KEYS}
    envelope: ChannelEnvelope | None = None
    settings: ConnectorSettings | None = None
    try:
        envelope = ChannelEnvelope.model_validate(envelope_data)
    except ValidationError as error:
        problems.add_validation(source, error)
    try:
        settings = connector.Settings.model_validate(settings_data)
    except ValidationError as error:
        problems.add_validation(source, error)
    if envelope is None or settings is None:
        return None
    for index, code in enumerate(envelope.locations or []):
        if location_codes is not None and code not in location_codes:
            known = ", ".join(sorted(location_codes))
            shown = _shown(code, f"locations[{index}]", origins)
            problems.add(
                source, f"locations[{index}]", f"unknown location {shown} (hub.yaml has: {known})"
            )
    if len(problems.lines) > before:
        return None
    return ChannelConfig(
        name=envelope.name,
        type=envelope.type,
        enabled=envelope.enabled,
        locations=envelope.locations,
        stock=envelope.stock,
        schedule=envelope.schedule,
        sync=envelope.sync,
        settings=settings,
        source=source,
        account=envelope.account,
    )


def _read_yaml(source: Path, problems: _Problems, *, required: bool) -> dict[str, Any] | None:
    if not source.is_file():
        if required:
            problems.add(source, "", "not found")
        return None
    try:
        text = source.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        message = f"invalid YAML: {getattr(error, 'problem', None) or error}"
        hint = _flow_reference_hint(error, text)
        problems.add(source, where, f"{message}: {hint}" if hint else message)
        return None
    except (OSError, UnicodeDecodeError) as error:
        problems.add(source, "", f"cannot be read: {error}")
        return None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.add(source, "", "must be a mapping of keys to values")
        return None
    return data


def _flow_reference_hint(error: yaml.YAMLError, text: str) -> str | None:
    """How to fix the commonest YAML error of this config: `${VAR}` unquoted inside
    `{...}` or `[...]`, where YAML reads its `{` as the start of a nested mapping.

    Only the variable's name is shown, never the rest of the line nor a default
    (`${VAR:-...}`): values stay out of messages, whatever the field."""
    context = getattr(error, "context", None) or ""
    mark = getattr(error, "problem_mark", None)
    if mark is None or not ("flow mapping" in context or "flow sequence" in context):
        return None
    lines = text.splitlines()
    if not 0 <= mark.line < len(lines):
        return None
    references = [ref for ref in _ENV_REFERENCE.finditer(lines[mark.line]) if ref.group(1)]
    if not references:
        return None
    at_mark = [ref for ref in references if ref.start() <= mark.column < ref.end()]
    if not at_mark:
        return None  # the parser stumbled elsewhere on the line: a different mistake
    found = at_mark[0]
    default = "" if found.group(2) is None else ":-..."
    reference = f"${{{found.group(1)}{default}}}"
    return (
        f"{reference} inside a flow mapping {{...}} or list [...] must be quoted: "
        f'"{reference}", or use a block mapping'
    )


def _substitute(
    value: Any,
    env: Mapping[str, str],
    source: Path,
    path: str,
    problems: _Problems,
    origins: dict[str, list[str]],
) -> Any:
    """Replace `${VAR}` and `${VAR:-default}` in every string; `$$` is a literal `$`.

    `origins` learns which variables filled which field, so that messages can
    name the variable instead of showing a value that may be a secret.
    """
    if isinstance(value, dict):
        return {
            key: _substitute(item, env, source, _join(path, str(key)), problems, origins)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [
            _substitute(item, env, source, f"{path}[{index}]", problems, origins)
            for index, item in enumerate(value)
        ]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, default = match.group(1), match.group(2)
        if name in env:
            origins.setdefault(path, []).append(name)
            return env[name]
        if default is not None:
            return default
        problems.add(source, path, f"environment variable {name} is not set")
        return ""

    return _ENV_REFERENCE.sub(replace, value)


def _shown(value: str, path: str, origins: Mapping[str, list[str]]) -> str:
    """How a message may show a value: by the variables it came from, else quoted."""
    if path in origins:
        return "from " + ", ".join(f"${{{name}}}" for name in origins[path])
    return repr(value)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _secret_values(value: Any) -> Iterator[str]:
    if isinstance(value, SecretStr):
        yield value.get_secret_value()
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _secret_values(getattr(value, name))
    elif isinstance(value, dict):
        for item in value.values():
            yield from _secret_values(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _secret_values(item)


def _backend(database_url: str) -> str | None:
    try:
        return make_url(database_url).get_backend_name()
    except ArgumentError:
        return None


def _database_password(database_url: str) -> str | None:
    try:
        return make_url(database_url).password
    except ArgumentError:
        return None  # not a URL: the engine will say so, without the value


def channel_fingerprint(channel: ChannelConfig) -> str:
    """Changes whenever anything in the channel's file changes, secrets included."""
    parts = [
        channel.name,
        channel.type,
        str(channel.enabled),
        str(channel.locations),
        channel.stock.model_dump_json(),
        channel.schedule.model_dump_json(),
        channel.sync.model_dump_json(),
        channel.settings.model_dump_json(),
        *_secret_values(channel.settings),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
