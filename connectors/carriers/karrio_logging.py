"""karrio's log records, sent to the hub's logging and quiet unless it logs at DEBUG.

karrio logs with loguru. Importing it removes every loguru sink and adds its own:
coloured text on stderr at INFO, a line per request prepared, an ERROR for every
HTTP error status (a tracking number the carrier does not know included) and a
traceback for every failed call. What karrio reports is either routine or a failure
the connector raises in its own words, so its records go to the stdlib logger of
their module (``karrio....``, through the hub's handlers and masking) only when that
logger is enabled for DEBUG. Only the message is passed on: karrio binds request
payloads (addresses, OAuth callbacks) to its records as extras.
"""

from __future__ import annotations

import logging
from typing import Any

KARRIO_LOGGER = "karrio"
SCHEMA_LOGGER = "jstruct"
"""karrio's schema library: warns, with the values, about every field of a carrier's
answer that karrio's schema does not know (UPS sends several); the values can be
customer addresses."""


def route_karrio_logs(loguru_logger: Any) -> None:
    """Replace every loguru sink (karrio's own, on stderr) with one feeding stdlib logging."""
    loguru_logger.remove()
    loguru_logger.add(_forward, level=0, format="{message}", filter=KARRIO_LOGGER)
    logging.getLogger(SCHEMA_LOGGER).setLevel(logging.ERROR)


def _forward(message: Any) -> None:
    record = message.record
    target = logging.getLogger(record["name"] or KARRIO_LOGGER)
    if not target.isEnabledFor(logging.DEBUG):
        return
    text = record["message"]
    failure = record["exception"]
    if failure is not None and failure.type is not None:
        text = f"{text}: {failure.type.__name__}: {failure.value}"
    target.log(record["level"].no, "%s", text)
