"""Waiting on a condition in tests: poll until it holds, within a generous bound."""

from __future__ import annotations

import time
from collections.abc import Callable


def eventually(check: Callable[[], bool], timeout: float = 20.0) -> bool:
    """Poll `check` until it holds or `timeout` passes (a bound, not a speed assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()
