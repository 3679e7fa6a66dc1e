"""The API docs pages, with nothing loaded from outside the machine.

FastAPI's own /docs and /redoc make the browser fetch Swagger UI, ReDoc, a favicon and
Google fonts from public hosts: blank pages offline, and every visit told to a third
party. Here the same pages name only the hub's own URLs:

- GET /docs: Swagger UI; GET /redoc: ReDoc; both read the app's /openapi.json.
- GET /docs/assets/{name}: their script, stylesheet and icon, served from the files that
  the `fastapi-offline` package installs (Swagger UI 5 and ReDoc 2 builds), nothing else.

Swagger UI's online validator (a public service that is sent the description's URL) is
switched off, and both pages carry a Content-Security-Policy under which the browser
loads from the hub only (ReDoc's sidebar asks Redocly's CDN for a logo: left out).
Like /openapi.json, the pages are public: they show what the API offers, and /api/v1
itself still asks for the token. The app must be made with `docs_url=None` and
`redoc_url=None` so that FastAPI's CDN pages are not added as well.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
ASSETS_URL = "/docs/assets"
ASSET_PACKAGE = "fastapi_offline"
ASSET_FOLDER = "static"

SWAGGER_JS = "swagger-ui-bundle.js"
SWAGGER_CSS = "swagger-ui.css"
REDOC_JS = "redoc.standalone.js"
FAVICON = "favicon.png"
MEDIA_TYPES = {
    SWAGGER_JS: "text/javascript; charset=utf-8",
    SWAGGER_CSS: "text/css; charset=utf-8",
    REDOC_JS: "text/javascript; charset=utf-8",
    FAVICON: "image/png",
}
"""The only files served: what the two pages name (no source maps, no directory)."""
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",  # Swagger UI's start-up script is inline
        "style-src 'self' 'unsafe-inline'",  # both pages set styles inline
        "img-src 'self' data:",  # ReDoc's sidebar would show a logo from its CDN
        "worker-src 'self' blob:",  # ReDoc's search runs in a worker made from a blob
        "base-uri 'self'",
    )
)
"""Sent with both pages: the browser loads nothing from another host, whatever a
future Swagger UI or ReDoc build would reach for by default."""


def install_docs(app: FastAPI) -> None:
    """Add /docs, /redoc and /docs/assets/{name} to `app`, which must have FastAPI's own
    docs pages turned off. Nothing is added when the app publishes no OpenAPI document.
    Raises RuntimeError when the installed asset package lacks a file the pages need."""
    if app.docs_url is not None or app.redoc_url is not None:
        raise ValueError("create the app with docs_url=None and redoc_url=None")
    openapi_url = app.openapi_url
    if openapi_url is None:
        return
    files = asset_files()

    def root(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    async def swagger_ui(request: Request) -> HTMLResponse:
        assets = root(request) + ASSETS_URL
        page = get_swagger_ui_html(
            openapi_url=root(request) + openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{assets}/{SWAGGER_JS}",
            swagger_css_url=f"{assets}/{SWAGGER_CSS}",
            swagger_favicon_url=f"{assets}/{FAVICON}",
            swagger_ui_parameters={**(app.swagger_ui_parameters or {}), "validatorUrl": None},
        )
        return _confined(page)

    async def redoc(request: Request) -> HTMLResponse:
        assets = root(request) + ASSETS_URL
        page = get_redoc_html(
            openapi_url=root(request) + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{assets}/{REDOC_JS}",
            redoc_favicon_url=f"{assets}/{FAVICON}",
            with_google_fonts=False,
        )
        return _confined(page)

    async def asset(request: Request) -> FileResponse:
        name = str(request.path_params.get("name", ""))
        if name not in files:
            raise HTTPException(status_code=404, detail="no such docs asset")
        return FileResponse(files[name], media_type=MEDIA_TYPES[name])

    # Starlette routes (not API routes): GET and HEAD, and kept out of /openapi.json.
    app.add_route(DOCS_URL, swagger_ui, include_in_schema=False)
    app.add_route(REDOC_URL, redoc, include_in_schema=False)
    app.add_route(ASSETS_URL + "/{name}", asset, include_in_schema=False)


def _confined(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return page


def asset_files() -> dict[str, Path]:
    """Each served name and its file in the installed asset package."""
    folder = resources.files(ASSET_PACKAGE) / ASSET_FOLDER
    if not isinstance(folder, Path):  # a zipped install: FileResponse needs real files
        raise RuntimeError(f"{ASSET_PACKAGE} is not installed as files: {folder}")
    files = {name: folder / name for name in MEDIA_TYPES}
    missing = sorted(name for name, path in files.items() if not path.is_file())
    if missing:
        raise RuntimeError(
            f"{ASSET_PACKAGE} lacks the API docs files {', '.join(missing)} in {folder}:"
            " reinstall omnisync's dependencies"
        )
    return files
