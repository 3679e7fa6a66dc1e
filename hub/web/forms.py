"""Every console form carries the session's CSRF token (a hidden `csrf_token` field, or
the `X-CSRF-Token` header for the scripts' posts); a post without it, or with another
one, is refused with 403 and changes nothing. The login form, before any session, uses
a double-submit cookie instead."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from omnisync.hub.web.dependencies import ConsoleUser

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class CsrfRefused(Exception):
    """The form's CSRF token is missing or is not this session's."""


def tokens_match(given: str | None, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(str(given).encode(), expected.encode())


async def posted_form(request: Request, me: ConsoleUser) -> FormData:
    form = await request.form()
    given = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
    if not isinstance(given, str) or not tokens_match(given, me.csrf_token):
        raise CsrfRefused()
    return form


PostedForm = Annotated[FormData, Depends(posted_form)]
"""The checked form of a post; declare it on every route that changes anything."""


def text(form: FormData, name: str, default: str = "") -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else default
