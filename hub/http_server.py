"""Run an ASGI app with uvicorn in a background thread, on loopback by default.

This lives in hub/ because the product serves its own API with it (`omnisync run`,
hub/runner.py), and the product never imports the simulators: the dependency points
from sandbox/ (every simulator is served by this runner) to this small helper, never the
reverse. import-linter enforces that (pyproject.toml).

uvicorn (0.54) only installs signal handlers when it runs in the main thread
(``Server.capture_signals`` checks), so a server in a background thread leaves
the host process's SIGINT / SIGTERM alone; there is no ``install_signal_handlers``
attribute to switch off any more. We bind the listening socket ourselves so port
0 works, the port is known before the thread starts, and a port in use fails in
:meth:`ServerRunner.start` (as the ``OSError`` of the bind, ``EADDRINUSE``) rather than
as a ``sys.exit`` inside the thread.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Self

import uvicorn
from starlette.types import ASGIApp

DEFAULT_HOST = "127.0.0.1"
STARTUP_TIMEOUT_S = 5.0
SHUTDOWN_TIMEOUT_S = 5.0


class ServerError(RuntimeError):
    """The server did not start or stop as it should."""


class ServerRunner:
    """One uvicorn server for ``app`` on ``host:port`` (0: a free port).

    ``start()`` returns the base URL once the server accepts connections;
    ``stop()`` closes the listener and the open connections and joins the thread.
    ``before_stop`` callbacks run first, so handlers sleeping on purpose (slow or
    timeout faults) can wake up instead of holding the shutdown.
    """

    def __init__(self, app: ASGIApp, *, host: str = DEFAULT_HOST, port: int = 0) -> None:
        self._app = app
        self._host = host
        self._requested_port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._port: int | None = None
        self._failure: BaseException | None = None
        self._lock = threading.Lock()
        self.before_stop: list[Callable[[], None]] = []

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def port(self) -> int:
        if self._port is None:
            raise ServerError("server is not started")
        return self._port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://{self._host}:{self.port}"

    def start(self) -> str:
        with self._lock:
            if self.running:
                return self.url
            listener = self._listen()
            self._port = listener.getsockname()[1]
            config = uvicorn.Config(
                self._app,
                lifespan="off",
                log_level="warning",
                # None: leave the host process's logging configuration alone.
                log_config=None,
                access_log=False,
                timeout_graceful_shutdown=1,
            )
            server = uvicorn.Server(config)
            self._failure = None
            thread = threading.Thread(
                target=self._serve,
                args=(server, listener),
                name=f"http-server-{self._port}",
                daemon=True,
            )
            self._server, self._socket, self._thread = server, listener, thread
            thread.start()
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    self._stop_locked()
                    raise ServerError(f"server on port {self._port} did not start") from (
                        self._failure
                    )
                time.sleep(0.005)
            return self.url

    def _listen(self) -> socket.socket:
        # A restarted server takes its previous port back when it can, so the
        # URL its clients were given stays valid.
        if self._port is not None and self._requested_port == 0:
            try:
                return _bind(self._host, self._port)
            except OSError:
                pass
        return _bind(self._host, self._requested_port)

    def stop(self) -> None:
        with self._lock:
            self._stop_locked()

    def _stop_locked(self) -> None:
        server, thread, listener = self._server, self._thread, self._socket
        if server is None or thread is None:
            return
        for callback in self.before_stop:
            callback()
        server.should_exit = True
        thread.join(SHUTDOWN_TIMEOUT_S)
        if thread.is_alive():
            server.force_exit = True
            thread.join(SHUTDOWN_TIMEOUT_S)
        if listener is not None:
            listener.close()
        self._server = self._thread = self._socket = None
        if thread.is_alive():
            raise ServerError(f"server on port {self._port} did not stop")

    def _serve(self, server: uvicorn.Server, listener: socket.socket) -> None:
        try:
            server.run(sockets=[listener])
        except BaseException as error:  # SystemExit from a failed startup included
            self._failure = error

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _bind(host: str, port: int) -> socket.socket:
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose
    # proto says TCP, and without it every response waits ~40 ms for a delayed ACK.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        # Lets a stopped server's port be bound again at once despite TIME_WAIT.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(128)
        listener.setblocking(False)
    except OSError:
        listener.close()
        raise
    return listener
