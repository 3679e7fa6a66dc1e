"""A server of the sandbox used as a context manager: started on entering a `with` block,
stopped on leaving it.

The simulators (:class:`sandbox.base.SimulatedMarketplace`) and moto's SQS
(:class:`sandbox.sqs.SqsServer`) each say how they start and stop; entering and leaving
are the same for all of them, so they are written once here. Leaving stops the server
whether the block ended normally or by an exception, and lets the exception go on.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self


class Served(ABC):
    """Something served on loopback between `start` and `stop`; `with` does both."""

    @abstractmethod
    def start(self) -> str:
        """Serve; returns the base URL."""

    @abstractmethod
    def stop(self) -> None:
        """Stop serving (nothing when not started)."""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: builtins.type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
