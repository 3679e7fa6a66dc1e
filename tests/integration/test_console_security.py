"""The console's locks, tried on every route the app has (found on the app, so a page
added later is covered without an edit here):

- without a session every page redirects to the login (a live part answers 401);
- a viewer reads every page but the users screen, and sees no form that changes
  anything;
- no page shows a secret: hub.yaml's API token, a channel's key, a password hash, an
  API token or its digest, not even where a row holds one raw (a run's error, an
  alert, a listing's or a return's push error, a pause reason): those show it masked;
- every post is refused, and changes nothing, from a viewer (with a valid CSRF token),
  from an admin without the CSRF token or with a forged one, and without a session.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from omnisync.core.alerting import open_alert
from omnisync.core.channels import channel_by_name
from omnisync.core.clock import clock_of
from omnisync.core.db import transaction
from omnisync.core.models import Listing, Return, ReturnPush, SyncRun
from omnisync.core.redaction import MASK
from omnisync.core.types import PushState, ReturnAction, SyncRunStatus
from omnisync.core.users import token_digest
from omnisync.hub.web.pages.auth import LOGIN_CSRF_COOKIE
from tests.support.api import API_TOKEN, SANDBOX_KEY
from tests.support.console import (
    ADMIN,
    PASSWORD,
    PASSWORD_HASH,
    VIEWER,
    console_hub,
    user_token,
)
from tests.support.console_routes import (
    console_routes,
    crawl,
    seed_everything,
    snapshot,
)
from tests.support.databases import migrated_sqlite_file, sqlite_url

FORM = {
    "delta": "5",
    "quantity": "3",
    "on_hand": "40",
    "count": "40",
    "reason": "security test",
    "location": "main",
    "role": "admin",
    "sku": "B",
    "carrier": "ups",
    "tracking_number": "1ZSECURITY",
    "code": "111",
    "scan": "111",
    "label": "x",
    "name": "mallory",
    "password": "mallory-password-1",
    "password_again": "mallory-password-1",
    "threshold": "3",
    "low_stock_below": "3",
    "max_orders": "5",
    "by": "barcode",
    "channel": "shop",
    "disposition": "restock",
    "note": "x",
}
"""Fields most forms take, filled so that a post that was not refused would change
something (and show up in the snapshot)."""
POST_FORM = re.compile(r'<form[^>]*method="post"[^>]*>', re.IGNORECASE)


@pytest.fixture
def sqlite_database(tmp_path: Path) -> str:
    """The pages are the same on both backends: these tests read them on SQLite only."""
    url = sqlite_url(tmp_path)
    migrated_sqlite_file(url)
    return url


def seed_leaked_secrets(engine: Engine) -> list[str]:
    """Rows that carry hub.yaml's API token and the channels' key RAW, as a connector's
    or a job's unmasked error would: a failed run of `shop`, an open alert, a listing's
    last push error, a return's push error, a channel's pause reason. What each should
    read as on a page, the secrets masked."""
    said = f"key={SANDBOX_KEY} token={API_TOKEN}"
    texts = {
        "run": f"run-leak 401 {said}",
        "alert": f"alert-leak refused {said}",
        "listing": f"listing-leak 403 {said}",
        "return": f"return-leak 401 {said}",
        "paused": f"paused-leak credentials refused {said}",
    }
    with transaction(engine) as session:
        now = clock_of(session).now()
        shop = channel_by_name(session, "shop")
        market = channel_by_name(session, "market")
        session.add(
            SyncRun(
                channel_id=shop.id,
                job="orders",
                status=SyncRunStatus.FAILED,
                started_at=now,
                finished_at=now,
                error=texts["run"],
            )
        )
        alert = open_alert(session, "auth_failed", market.id, "placeholder")
        alert.message = texts["alert"]
        session.add(alert)
        listing = session.exec(
            select(Listing).where(Listing.channel_id == shop.id, Listing.channel_sku == "A")
        ).one()
        listing.last_error = texts["listing"]
        listing.dirty = True
        listing.dirty_since = now
        session.add(listing)
        returned = session.exec(select(Return)).first()
        assert returned is not None
        assert returned.id is not None
        session.add(
            ReturnPush(
                return_id=returned.id,
                action=ReturnAction.APPROVE,
                push_state=PushState.FAILED,
                push_attempts=3,
                push_error=texts["return"],
                created_at=now,
            )
        )
        market.paused_reason = texts["paused"]
        session.add(market)
    return [text.replace(SANDBOX_KEY, MASK).replace(API_TOKEN, MASK) for text in texts.values()]


def test_every_page_wants_a_session_hides_no_secret_and_a_viewer_reads_all_but_users(
    tmp_path: Path, sqlite_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with console_hub(tmp_path, sqlite_database, monkeypatch) as console:
        seeded = seed_everything(console.engine)
        shown_masked = seed_leaked_secrets(console.engine)
        token = user_token(console.engine, "otto")
        admin = console.client(ADMIN)
        app = console.http.app
        pages = [route for route in console_routes(app, "GET") if route.path != "/login"]
        assert {"/", "/users", "/orders/{order_id}"} <= {route.path for route in pages}
        starts = [seeded.fill(route.path) for route in pages]
        seen = crawl(admin, starts, app)
        # Every page of the console was read, by a link or with seeded values.
        assert {route.path for route in pages} <= set(seen.routes.values()), {
            route.path for route in pages
        } - set(seen.routes.values())
        secrets = {
            *console.hub.settings.secrets,
            token,
            token_digest(token),
            PASSWORD_HASH,
            "$argon2",
        }
        assert len(secrets) >= 6  # hub.yaml's API token and the channels' key among them
        assert {API_TOKEN, SANDBOX_KEY} <= secrets
        leaks = []
        for url, response in seen.pages.items():
            assert response.status_code == 200, (url, response.status_code, response.text[:500])
            leaks += [(url, secret[:6]) for secret in secrets if secret in response.text]
        assert leaks == [], leaks
        # The seeded rows were shown, masked: the check above read them.
        every_page = "\n".join(response.text for response in seen.pages.values())
        assert [text for text in shown_masked if text not in every_page] == []

        signed_out = console.client()
        viewer = console.client(VIEWER)
        for url in seen.pages:
            live = url.startswith("/fragments/")
            headers = {"X-Omnisync-Fragment": "1"} if live else {"Accept": "text/html"}
            away = signed_out.http.get(url, headers=headers, follow_redirects=False)
            if live:
                assert away.status_code == 401, url
            else:
                assert away.status_code == 303, url
                assert away.headers["location"].startswith("/login?next=%2F"), url
            read = viewer.http.get(url, headers=headers, follow_redirects=False)
            if seen.routes[url].startswith("/users"):
                assert read.status_code == 403, url
                continue
            assert read.status_code == 200, (url, read.status_code)
            forms = [
                form for form in POST_FORM.findall(read.text) if 'action="/logout"' not in form
            ]
            assert forms == [], (url, forms)


def test_no_post_changes_anything_without_the_role_the_csrf_token_or_a_session(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with console_hub(tmp_path, migrated_database_url, monkeypatch) as console:
        seeded = seed_everything(console.engine)
        app = console.http.app
        posts = [route for route in console_routes(app, "POST") if route.path != "/login"]
        assert len(posts) >= 10, [route.path for route in posts]
        viewer, admin, nobody = (
            console.client(VIEWER),
            console.client(ADMIN),
            console.client(),
        )
        before = snapshot(console.engine)
        for route in posts:
            # The admin's own user is the target, where a route takes one: that too is
            # a change the forged token must not make.
            url = seeded.fill(route.path, user="vera")
            for who, csrf in ((admin, ""), (admin, "forged-" + admin.csrf[7:])):
                refused = who.post(url, FORM, csrf=csrf)
                assert refused.status_code == 403, (route.path, csrf, refused.status_code)
                assert "Form refused" in refused.text, route.path
            anonymous = nobody.post(url, FORM, csrf="")
            assert anonymous.status_code == 303, route.path
            assert anonymous.headers["location"] == "/login", route.path
            if route.path == "/logout":
                continue  # a viewer may sign out
            denied = viewer.post(url, FORM)
            assert denied.status_code == 403, (route.path, denied.status_code, denied.text[:300])
            assert f"{VIEWER} is viewer: this needs" in denied.text, route.path
        assert snapshot(console.engine) == before
        # The viewer's session was live all along (the refusals were the role's), and the
        # token it posted with is good: signing out works, and ends the session.
        assert viewer.post("/logout", {}).status_code == 303
        assert viewer.get("/").status_code == 303


def test_the_login_form_without_its_csrf_cookie_is_refused(
    tmp_path: Path, sqlite_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with console_hub(tmp_path, sqlite_database, monkeypatch) as console:
        client = console.client()
        form = client.http.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        data = {"name": ADMIN, "password": PASSWORD, "csrf_token": token.group(1)}
        cookie = client.http.cookies.get(LOGIN_CSRF_COOKIE)
        assert cookie == token.group(1)
        client.http.cookies.clear()
        refused = client.http.post("/login", data=data, follow_redirects=False)
        assert refused.status_code == 403
        assert "omnisync_session" not in refused.headers.get("set-cookie", "")
        # With the cookie but another token in the form (a page of another browser's).
        client.http.cookies.set(LOGIN_CSRF_COOKIE, cookie, path="/login")
        forged = {**data, "csrf_token": "x" + cookie[1:]}
        assert client.http.post("/login", data=forged, follow_redirects=False).status_code == 403
        signed_in = client.http.post("/login", data=data, follow_redirects=False)
        assert signed_in.status_code == 303
        assert "omnisync_session=" in signed_in.headers["set-cookie"]
