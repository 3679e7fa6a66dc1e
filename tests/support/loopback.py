"""A test's own HTTP endpoint on loopback, served while a `with` block runs.

Receivers of what the hub or a simulator pushes (alert webhooks, eBay notifications)
each answer in their own way, but are served alike: a small Starlette app on a free
loopback port, started on entering the block and stopped on leaving it, with `url`
naming the one path the pushes go to. That much is written once here.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from omnisync.hub.http_server import ServerRunner
from omnisync.sandbox.served import Served


class LoopbackEndpoint(Served):
    """`routes` served on loopback while started; `url` is `path` on it (empty before)."""

    def __init__(self, path: str, routes: Sequence[BaseRoute]) -> None:
        self._path = path
        self._server = ServerRunner(Starlette(routes=list(routes)))
        self.url = ""

    def start(self) -> str:
        self.url = self._server.start() + self._path
        return self.url

    def stop(self) -> None:
        self._server.stop()
