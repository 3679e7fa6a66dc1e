"""What every log line of this process can carry: the run in progress, and the
secret values that must never be written out.

The run is held in a context variable, so each scheduler thread sees only the
run it is executing (a new thread starts with an empty context). The secrets
are process-wide: whatever the engine was given as a secret, in any config
version, is masked in every log line from then on (hub/logs.py does the masking).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from omnisync.core.redaction import redact


@dataclass(frozen=True)
class RunContext:
    channel: str
    job: str
    run_id: int


_current_run: ContextVar[RunContext | None] = ContextVar("omnisync_run", default=None)
_secrets: frozenset[str] = frozenset()
_secrets_lock = threading.Lock()


@contextmanager
def run_context(channel: str, job: str, run_id: int) -> Iterator[RunContext]:
    """Log lines written inside the block (in this thread) name this run."""
    context = RunContext(channel, job, run_id)
    token = _current_run.set(context)
    try:
        yield context
    finally:
        _current_run.reset(token)


def current_run() -> RunContext | None:
    return _current_run.get()


def mask_in_logs(secrets: Iterable[str]) -> None:
    """Add secret values to mask; earlier ones stay masked (a rotated secret is still one)."""
    global _secrets
    fresh = frozenset(secrets)
    with _secrets_lock:
        if not fresh <= _secrets:
            _secrets = _secrets | fresh


def masked(text: str) -> str:
    return redact(text, _secrets)
