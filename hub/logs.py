"""Logging set-up for the long-running commands."""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(stream=sys.stderr, level=level.upper(), format=FORMAT, force=True)
    # APScheduler reports every job start and end at INFO, and a run it coalesced
    # (the previous one still running: intended) at WARNING; our runs are logged already.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    logging.getLogger("httpx").setLevel(logging.WARNING)
