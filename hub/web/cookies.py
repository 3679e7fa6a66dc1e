"""The console's session cookie: the session's random token, signed with the database's
key and timestamped (itsdangerous), so a forged or altered cookie is refused before the
database is asked, and an old one expires even if the row lingers."""

from __future__ import annotations

from datetime import timedelta

from itsdangerous import BadSignature, TimestampSigner

COOKIE_NAME = "omnisync_session"


class CookieSigner:
    def __init__(self, secret: str) -> None:
        self._signer = TimestampSigner(secret, salt="omnisync.console.session")

    def sign(self, token: str) -> str:
        return self._signer.sign(token).decode()

    def unsign(self, cookie: str, max_age: timedelta) -> str | None:
        """The token of a cookie we signed no longer than `max_age` ago; None otherwise."""
        try:
            return self._signer.unsign(cookie, max_age=int(max_age.total_seconds())).decode()
        except BadSignature:  # SignatureExpired is one too
            return None
