"""The console's Jinja2 environment and `render(...)`, which every page calls: the page's
own values plus who is signed in, the session's CSRF token, the navigation and the
message left by the last action (a short-lived cookie, read once)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from omnisync.core.clock import utcnow
from omnisync.core.redaction import redact
from omnisync.hub.web.identity import ConsoleIdentity

TEMPLATES = Path(__file__).parent / "templates"
FLASH_COOKIE = "omnisync_flash"

NAVIGATION: tuple[tuple[str, str], ...] = (
    ("/", "Needs action"),
    ("/orders", "Orders"),
    ("/stock", "Stock"),
    ("/listings", "Listings"),
    ("/channels", "Channels"),
    ("/returns", "Returns"),
    ("/pick", "Pick & pack"),
    ("/reports", "Reports"),
)
"""The menu, in order; /users joins it for admins."""

templates = Jinja2Templates(directory=TEMPLATES)


def ago(moment: datetime | str | None, now: datetime | None = None) -> str:
    """`3 min ago`, `2 h ago`, `4 d ago`; `in 5 min` for a moment still to come."""
    if moment is None:
        return "never"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    seconds = int(((now or utcnow()) - moment).total_seconds())
    later, seconds = seconds < 0, abs(seconds)
    if seconds < 60:
        text = f"{seconds} s"
    elif seconds < 3600:
        text = f"{seconds // 60} min"
    elif seconds < 172800:
        text = f"{seconds // 3600} h"
    else:
        text = f"{seconds // 86400} d"
    return f"in {text}" if later else f"{text} ago"


def when(moment: datetime | str | None) -> str:
    """A moment as `2026-12-03 18:52 UTC`."""
    if moment is None:
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


templates.env.filters["ago"] = ago
templates.env.filters["when"] = when
templates.env.filters["urlpart"] = lambda text: quote(str(text), safe="")


def render(
    request: Request,
    me: ConsoleIdentity | None,
    template: str,
    values: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    flash = request.cookies.get(FLASH_COOKIE)
    context: dict[str, Any] = {
        "me": me.actor if me is not None else None,
        "csrf_token": me.csrf_token if me is not None else "",
        "navigation": NAVIGATION,
        "path": request.url.path,
        "flash": _read_flash(flash),
        **(values or {}),
    }
    response = mask_secrets(
        request, templates.TemplateResponse(request, template, context, status_code=status_code)
    )
    if flash is not None:
        response.delete_cookie(FLASH_COOKIE, path="/")
    # Pages show stock, orders and names: never kept by a shared cache, never framed.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'"
    )
    return response


def mask_secrets(request: Request, response: HTMLResponse) -> HTMLResponse:
    """The page with every configured secret value masked, whatever row it slipped into
    (a run's error, an alert, a pause reason): the last guard before the browser."""
    context = getattr(request.app.state, "omnisync", None)
    secrets = context.secrets() if context is not None else frozenset()
    if not secrets:
        return response
    page = bytes(response.body).decode("utf-8")
    masked = redact(page, secrets)
    if masked != page:
        response.body = masked.encode("utf-8")
        response.headers["content-length"] = str(len(response.body))
    return response


def redirect(url: str, message: str | None = None, *, error: bool = False) -> Response:
    """Post/redirect/get: back to `url`, with `message` shown once on the next page."""
    response = RedirectResponse(url, status_code=303)
    if message:
        kind = "error" if error else "ok"
        response.set_cookie(
            FLASH_COOKIE,
            quote(f"{kind}:{message[:500]}"),
            max_age=60,
            httponly=True,
            samesite="lax",
            path="/",
        )
    return response


def _read_flash(raw: str | None) -> dict[str, str] | None:
    if not raw:
        return None
    from urllib.parse import unquote

    kind, _, text = unquote(raw).partition(":")
    return {"kind": "error" if kind == "error" else "ok", "text": text}
