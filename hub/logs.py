"""Logging of the `omnisync` commands: text or JSON lines on stderr.

A line written inside a sync run names its channel, job and run id
(sync/log_context.py). Every secret value the engine was configured with is
masked in the final message and exception text, however it got there: the
message, an argument, an exception, or a library's own log record (karrio's
loguru records come here too: connectors/carriers/karrio_logging.py).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TextIO

from omnisync.sync.log_context import current_run, masked


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


# Libraries that report routine work above our own lines. APScheduler logs every
# job start and end at INFO, and a run it coalesced (the previous one still
# running: intended) at WARNING; our runs are logged already.
LIBRARY_LEVELS = {
    "apscheduler": logging.ERROR,
    "httpx": logging.WARNING,
}
RUN_FIELDS = ("channel", "job", "run_id")
"""Taken from the running job, or from `extra=` where code logs for a channel outside a run."""


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _run_fields(record: logging.LogRecord) -> dict[str, Any]:
    run = current_run()
    fields: dict[str, Any] = {}
    for name in RUN_FIELDS:
        value = getattr(record, name, None)
        if value is None and run is not None:
            value = getattr(run, name)
        if value is not None:
            fields[name] = value
    return fields


class _MaskingFormatter(logging.Formatter):
    def exception_text(self, record: logging.LogRecord) -> str | None:
        # Not record.exc_text: that caches the unmasked text on a record other handlers share.
        parts = []
        if record.exc_info:
            parts.append(self.formatException(record.exc_info))
        if record.stack_info:
            parts.append(self.formatStack(record.stack_info))
        return "\n".join(parts) if parts else None


class TextFormatter(_MaskingFormatter):
    """`TIME LEVEL LOGGER [channel job run=N]: message`, then the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        fields = _run_fields(record)
        where = " ".join(str(fields[name]) for name in ("channel", "job") if name in fields)
        if "run_id" in fields:
            where = f"{where} run={fields['run_id']}".strip()
        context = f" [{where}]" if where else ""
        line = f"{_timestamp(record)} {record.levelname} {record.name}{context}: "
        line += record.getMessage()
        exception = self.exception_text(record)
        if exception:
            line += "\n" + exception
        return masked(line)


class JsonFormatter(_MaskingFormatter):
    """One JSON object per line: time, level, logger, message, channel, job, run_id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_run_fields(record),
        }
        exception = self.exception_text(record)
        if exception:
            line["exception"] = exception
        # Masked field by field: JSON escaping could split a secret that holds a quote.
        return json.dumps(
            {key: masked(value) if isinstance(value, str) else value for key, value in line.items()}
        )


FORMATTERS: dict[LogFormat, type[logging.Formatter]] = {
    LogFormat.TEXT: TextFormatter,
    LogFormat.JSON: JsonFormatter,
}


class HubLogHandler(logging.Handler):
    """Writes lines to `stream`, or to whatever sys.stderr is when a line is written
    (so that a stream swapped later, as test runners do, is followed)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__()
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            stream = self.stream or sys.stderr
            stream.write(line + "\n")
            stream.flush()
        except Exception:
            self.handleError(record)


def configure_logging(
    level: str = LogLevel.WARNING,
    log_format: LogFormat = LogFormat.TEXT,
    stream: TextIO | None = None,
) -> HubLogHandler:
    """Send every log record through one handler of ours on the root logger.

    Called again, it replaces the handler it installed before and leaves other
    handlers (a test runner's) alone.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, HubLogHandler):
            root.removeHandler(handler)
    handler = HubLogHandler(stream)
    handler.setFormatter(FORMATTERS[log_format]())
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name, library_level in LIBRARY_LEVELS.items():
        logging.getLogger(name).setLevel(library_level)
    return handler


def set_log_level(level: str) -> None:
    logging.getLogger().setLevel(level.upper())
