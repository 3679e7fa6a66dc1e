"""Where tests receive alert notifications: a webhook receiver and an SMTP server on
loopback, and the pieces to test STARTTLS (a throwaway certificate)."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.loopback import LoopbackEndpoint


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class WebhookReceiver(LoopbackEndpoint):
    """Collects the JSON bodies POSTed to it; `status` is what it answers (500: failing)."""

    def __init__(self) -> None:
        super().__init__("/hook", [Route("/hook", self._hook, methods=["POST"])])
        self.received: list[dict[str, Any]] = []
        self.attempts = 0
        self.status = 200
        self._lock = threading.Lock()

    async def _hook(self, request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        with self._lock:
            self.attempts += 1
            if self.status < 300:
                self.received.append(body)
        return JSONResponse({"ok": self.status < 300}, status_code=self.status)

    def states(self) -> list[str]:
        with self._lock:
            return [str(item["state"]) for item in self.received]


class _Collect:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        data = raw if isinstance(raw, bytes) else raw.encode()
        message = email.message_from_bytes(data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.sink.lock:
            self.sink.messages.append(message)
            self.sink.recipients.append(list(envelope.rcpt_tos))
            self.sink.tls.append(session.ssl is not None)
        return "250 OK"


class SmtpSink:
    """An SMTP server on loopback keeping every message; with `tls` it offers STARTTLS,
    with `login` it requires it and that user and password."""

    def __init__(
        self, *, tls: ssl.SSLContext | None = None, login: tuple[str, str] | None = None
    ) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.tls: list[bool] = []
        self.logins: list[str] = []
        self.lock = threading.Lock()
        self.port = closed_port()
        kwargs: dict[str, Any] = {}
        if tls is not None:
            kwargs.update(tls_context=tls, require_starttls=True)
        if login is not None:
            kwargs.update(authenticator=self._authenticator(login), auth_required=True)
        self._controller = Controller(
            _Collect(self), hostname="127.0.0.1", port=self.port, **kwargs
        )

    def _authenticator(self, login: tuple[str, str]) -> Callable[..., AuthResult]:
        def authenticate(
            server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
        ) -> AuthResult:
            ok = (
                isinstance(data, LoginPassword)
                and (
                    data.login.decode(),
                    data.password.decode(),
                )
                == login
            )
            if ok:
                with self.lock:
                    self.logins.append(login[0])
            return AuthResult(success=ok, handled=False)  # False: aiosmtpd answers 535

        return authenticate

    def subjects(self) -> list[str]:
        with self.lock:
            return [str(message["Subject"]) for message in self.messages]

    def __enter__(self) -> Self:
        self._controller.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._controller.stop()


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """(certificate, key) for 127.0.0.1 and localhost, valid for a day (openssl)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def server_tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context
