"""Pushes a simulator sends to a receiver's URL: one background thread, one at a time.

Shopify's webhooks (:mod:`sandbox.shopify.webhooks`) and eBay's notifications
(:mod:`sandbox.ebay.notifications`) go out the same way: the simulator hands each one in
(usually under its lock) and returns at once; one daemon thread POSTs them in order, with
a short timeout and no automatic retry, so a slow or absent receiver never stalls the API
or the control calls. A test then waits (on a condition, with a deadline) until all that
was handed in has been attempted. That machinery is written once here, in
:class:`DeliveryQueue`; what is sent, and what is kept of each attempt, is the
subclass's (:meth:`DeliveryQueue._send`).
"""

from __future__ import annotations

import queue
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

import httpx

Item = TypeVar("Item")


class DeliveryQueue(ABC, Generic[Item]):
    """Items handed to :meth:`_enqueue`, sent by :meth:`_send` from one daemon thread
    (started on demand), in order. ``self._lock`` guards the queue's count and is the
    subclass's to guard its own records with (never held while sending)."""

    def __init__(self, *, thread_name: str, timeout_s: float) -> None:
        self._thread_name = thread_name
        self._timeout_s = timeout_s
        self._queue: queue.Queue[Item | None] = queue.Queue()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0
        self._thread: threading.Thread | None = None

    @abstractmethod
    def _send(self, client: httpx.Client, item: Item) -> None:
        """Send one item (on the delivery thread) and record how it went."""

    def wait(self, timeout: float) -> bool:
        """Wait until every queued delivery was attempted; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float = 1.0) -> None:
        """Stop the thread once what is queued is sent (a later delivery starts a new one)."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout)
        self._thread = None

    def _enqueue(self, item: Item) -> None:
        with self._lock:
            self._pending += 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name=self._thread_name, daemon=True
                )
                self._thread.start()
        self._queue.put(item)

    def _run(self) -> None:
        with httpx.Client(timeout=self._timeout_s) as client:
            while True:
                item = self._queue.get()
                if item is None:
                    return
                self._send(client, item)
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()


def post_attempt(
    client: httpx.Client, url: str, body: bytes, headers: Mapping[str, str]
) -> dict[str, Any]:
    """POST ``body`` once: ``{"status_code", "error"}``, one of them None (an HTTP error
    is kept as its type and message, never raised)."""
    attempt: dict[str, Any] = {"status_code": None, "error": None}
    try:
        attempt["status_code"] = client.post(url, content=body, headers=headers).status_code
    except httpx.HTTPError as error:
        attempt["error"] = f"{type(error).__name__}: {error}"
    return attempt
