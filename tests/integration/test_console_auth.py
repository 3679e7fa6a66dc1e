"""Signing in and out, and the users screen: login throttling, where a login may send the
browser, expired and disabled sessions, and what an admin does to users (each change
recorded with who made it), through the console's real app."""

from __future__ import annotations

import html
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from omnisync.core.catalog import upsert_sku
from omnisync.core.db import transaction
from omnisync.core.models import ConsoleSession, LoginAttempt, User, UserAction
from omnisync.core.types import UserRole
from omnisync.core.users import Actor, disable_user, record_action
from omnisync.hub.web.paging import PAGE_SIZE
from omnisync.hub.web.throttle import MAX_FAILURES_PER_NAME, WINDOW
from tests.support.console import (
    ADMIN,
    OPERATOR,
    PASSWORD,
    VIEWER,
    ConsoleClient,
    ConsoleHub,
    console_hub,
    user_token,
)
from tests.support.databases import migrated_sqlite_file, sqlite_url

NEW_PASSWORD = "a new password 42"
TOKEN = re.compile(r'<code class="token-box" id="new-token">(osu_[A-Za-z0-9_-]+)</code>')


@pytest.fixture
def sqlite_database(tmp_path: Path) -> str:
    url = sqlite_url(tmp_path)
    migrated_sqlite_file(url)
    return url


def flash(client: ConsoleClient, response: httpx.Response) -> str:
    """The message a post left for the page it redirected to."""
    assert response.status_code == 303, (response.status_code, response.text[:300])
    page = client.get(response.headers["location"])
    found = re.search(r'id="flash">([^<]*)<', page.text)
    assert found is not None, page.text[:500]
    return html.unescape(found.group(1))


def api(console: ConsoleHub, method: str, path: str, token: str, **body: Any) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    answer = console.http.request(method, path, headers=headers, json=body or None)
    return int(answer.status_code)


def users(console: ConsoleHub) -> dict[str, User]:
    with Session(console.engine) as session:
        return {user.name: user for user in session.exec(select(User))}


def actions(console: ConsoleHub) -> list[tuple[str, str, str, str]]:
    with Session(console.engine) as session:
        rows = session.exec(select(UserAction).order_by(col(UserAction.id))).all()
        return [(row.user_name, row.via, row.action, row.target) for row in rows]


def test_an_admin_manages_users_on_the_users_screen_and_every_change_is_recorded(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with console_hub(tmp_path, migrated_database_url, monkeypatch) as console:
        with transaction(console.engine) as session:
            upsert_sku(session, "A", title="Blue mug")
        admin = console.client(ADMIN)
        page = admin.get("/users")
        assert page.status_code == 200
        for name in (ADMIN, OPERATOR, VIEWER):
            assert f'data-user="{name}"' in page.text
        assert 'href="/users"' in page.text  # the menu has it, for admins
        for name in (OPERATOR, VIEWER):
            other = console.client(name)
            assert other.get("/users").status_code == 403
            assert other.get("/users/changes").status_code == 403
            assert 'href="/users"' not in other.get("/").text

        # Adding: both passwords alike, long enough, a new name of the allowed letters.
        new = {"name": "nina", "role": "viewer", "password": NEW_PASSWORD}
        refusals = {
            "differ": {**new, "password_again": NEW_PASSWORD + "!"},
            "at least 10 characters": {**new, "password": "short", "password_again": "short"},
            "exists already": {**new, "name": OPERATOR, "password_again": NEW_PASSWORD},
            "letters, digits": {**new, "name": "ni na", "password_again": NEW_PASSWORD},
            "one of viewer, operator, admin": {
                **new,
                "role": "root",
                "password_again": NEW_PASSWORD,
            },
        }
        for why, form in refusals.items():
            assert why in flash(admin, admin.post("/users", form)), why
        assert set(users(console)) == {ADMIN, OPERATOR, VIEWER}
        added = admin.post("/users", {**new, "password_again": NEW_PASSWORD})
        assert flash(admin, added) == "User nina added as viewer."
        nina = console.client()
        assert nina.login("nina", NEW_PASSWORD).status_code == 303

        # Roles: nina becomes an operator at her next request; ada cannot demote herself
        # nor disable herself.
        assert "nina is now operator" in flash(
            admin, admin.post("/users/nina/role", {"role": "operator"})
        )
        assert 'class="role role-operator"' in nina.get("/").text
        assert "You cannot take the admin role from yourself" in flash(
            admin, admin.post(f"/users/{ADMIN}/role", {"role": "viewer"})
        )
        assert "You cannot disable yourself" in flash(
            admin, admin.post(f"/users/{ADMIN}/disable", {})
        )
        assert users(console)[ADMIN].role is UserRole.ADMIN
        assert users(console)[ADMIN].disabled_at is None
        assert "unknown user 'nobody'" in flash(
            admin, admin.post("/users/nobody/role", {"role": "viewer"})
        )

        # A token: on the answer to the post and nowhere after; it acts as nina.
        made = admin.post("/users/nina/token", {"label": "scanner"})
        assert made.status_code == 200
        found = TOKEN.search(made.text)
        assert found is not None, made.text
        token = found.group(1)
        listed = admin.get("/users")
        assert token not in listed.text
        assert token not in admin.get("/users/changes").text
        assert re.search(r'data-user="nina".*?class="num user-tokens">1<', listed.text, re.S)
        assert api(console, "GET", "/api/v1/orders", token) == 200
        adjusted = api(console, "POST", "/api/v1/stock/adjustments", token, sku="A", delta=1)
        assert adjusted == 201  # nina is an operator now
        assert "nina: 1 API token(s) revoked." in flash(
            admin, admin.post("/users/nina/revoke-tokens", {})
        )
        assert api(console, "GET", "/api/v1/orders", token) == 401

        # Disabling ends nina's session at once; enabling lets her sign in again.
        assert "nina is disabled" in flash(admin, admin.post("/users/nina/disable", {}))
        assert nina.get("/").status_code == 303
        assert "nina is disabled: enable them first" in flash(
            admin, admin.post("/users/nina/token", {})
        )
        assert flash(admin, admin.post("/users/nina/enable", {})) == "nina is enabled."
        assert nina.login("nina", NEW_PASSWORD).status_code == 303

        # The record: each change, by ada, through the console, never the token.
        assert actions(console) == [
            (ADMIN, "console", "user.add", "nina"),
            (ADMIN, "console", "user.role", "nina"),
            (ADMIN, "console", "user.token", "nina"),
            ("nina", "api", "stock.adjust", "A at main"),
            (ADMIN, "console", "user.revoke_tokens", "nina"),
            (ADMIN, "console", "user.disable", "nina"),
            (ADMIN, "console", "user.enable", "nina"),
        ]
        changes = admin.get("/users/changes", user=ADMIN).text
        for action in ("user.add", "user.role", "user.token", "user.disable", "user.enable"):
            assert f'data-action="{action}"' in changes
        assert "from: viewer; to: operator" in changes
        assert 'data-action="user.add"' in admin.get("/users").text  # the last changes
        assert 'data-action="' not in admin.get("/users/changes", user=OPERATOR).text


def test_the_record_of_changes_pages_by_key_and_filters_by_user(
    tmp_path: Path, sqlite_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with console_hub(tmp_path, sqlite_database, monkeypatch) as console:
        with transaction(console.engine) as session:
            for number in range(PAGE_SIZE + 7):
                who = Actor(OPERATOR if number % 2 else VIEWER, UserRole.OPERATOR, "api")
                record_action(session, who, "stock.adjust", f"SKU-{number:03d} at main")
        admin = console.client(ADMIN)
        seen: list[str] = []
        url: str | None = "/users/changes"
        pages = 0
        while url is not None:
            page = admin.get(url)
            assert page.status_code == 200
            seen += re.findall(r'class="change-target">(SKU-\d+) at main<', page.text)
            following = re.search(r'href="([^"]+)" rel="next"', page.text)
            url = following.group(1).replace("&amp;", "&") if following else None
            pages += 1
        assert pages == 2
        assert seen == [f"SKU-{number:03d}" for number in reversed(range(PAGE_SIZE + 7))]
        only = admin.get("/users/changes", user=OPERATOR).text
        odd = re.findall(r'class="change-target">SKU-(\d+) at main<', only)
        assert odd
        assert all(int(number) % 2 for number in odd)
        assert admin.get("/users/changes", cursor="not-a-cursor").status_code == 422


def test_logins_are_throttled_sessions_end_and_a_login_sends_nowhere_else(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with console_hub(tmp_path, migrated_database_url, monkeypatch) as console:
        # Wrong passwords for otto, sent at once from many browsers: five are answered,
        # the others refused; then the right password is refused too.
        guessers = [console.client() for _ in range(MAX_FAILURES_PER_NAME + 3)]
        with ThreadPoolExecutor(max_workers=len(guessers)) as pool:
            tries = list(pool.map(lambda guesser: guesser.login(OPERATOR, "not it"), guessers))
        answers = Counter(answer.status_code for answer in tries)
        assert answers == {401: MAX_FAILURES_PER_NAME, 429: 3}
        assert all("Wrong name or password." in a.text for a in tries if a.status_code == 401)
        guesser = console.client()
        throttled = guesser.login(OPERATOR, PASSWORD)
        assert throttled.status_code == 429
        assert "too many failed logins for 'otto'" in html.unescape(throttled.text)
        assert "omnisync_session" not in throttled.headers.get("set-cookie", "")
        # ...while another name signs in from the same place.
        assert console.client().login(VIEWER).status_code == 303

        # `next` goes to a page of this site only.
        client = console.client()
        for target, lands in (
            ("/orders?oversold=1", "/orders?oversold=1"),
            ("//evil.example", "/"),
            ("https://evil.example/", "/"),
            ("/\\evil.example", "/"),
            ("/\t/evil.example", "/"),
        ):
            form = client.http.get("/login", params={"next": target})
            assert "evil.example" not in form.text
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert token is not None
            data = {"name": ADMIN, "password": PASSWORD, "csrf_token": token.group(1)}
            signed_in = client.http.post(
                "/login", data={**data, "next": target}, follow_redirects=False
            )
            assert signed_in.status_code == 303
            assert signed_in.headers["location"] == lands, target
            again = client.http.get("/login", params={"next": target}, follow_redirects=False)
            assert again.headers["location"] == lands, target
            client.http.cookies.clear()

        # A session past its expiry sends the browser to the login, as does one ended by
        # signing out (its cookie is of no use after).
        vera = console.client(VIEWER)
        assert vera.get("/orders").status_code == 200
        with transaction(console.engine) as session:
            user_id = session.exec(select(User.id).where(User.name == VIEWER)).one()
            session.exec(
                update(ConsoleSession)
                .where(col(ConsoleSession.user_id) == user_id)
                .values(expires_at=ConsoleSession.created_at)
            )
        expired = vera.get("/orders")
        assert expired.status_code == 303
        assert expired.headers["location"] == "/login?next=%2Forders"
        ada = console.client(ADMIN)
        cookie = ada.http.cookies.get("omnisync_session")
        assert ada.post("/logout").status_code == 303
        replay = console.client()
        replay.http.cookies.set("omnisync_session", str(cookie))
        assert replay.get("/").status_code == 303

        # Logins tidy up: the expired session is gone; once the failures are older than
        # the window they are forgotten, and otto signs in again.
        with Session(console.engine) as session:
            left = session.exec(select(ConsoleSession).where(ConsoleSession.user_id == user_id))
            assert left.all() == []
        with transaction(console.engine) as session:
            for attempt in session.exec(select(LoginAttempt)).all():
                attempt.at -= WINDOW
                session.add(attempt)
        assert console.client().login(OPERATOR).status_code == 303
        with Session(console.engine) as session:
            kept = session.exec(select(LoginAttempt.name, LoginAttempt.succeeded)).all()
        assert kept == [(OPERATOR, True)]


def test_a_disabled_user_is_signed_out_and_their_tokens_stop_at_once(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with console_hub(tmp_path, migrated_database_url, monkeypatch) as console:
        vera = console.client(VIEWER)
        token = user_token(console.engine, VIEWER)
        assert vera.get("/").status_code == 200
        assert api(console, "GET", "/api/v1/stock", token) == 200
        with transaction(console.engine) as session:
            disable_user(session, VIEWER)  # as `omnisync users disable` does
        assert vera.get("/").status_code == 303
        live = vera.http.get("/fragments/home/backlog", headers={"X-Omnisync-Fragment": "1"})
        assert live.status_code == 401
        assert api(console, "GET", "/api/v1/stock", token) == 401
        assert console.client().login(VIEWER).status_code == 401


def test_a_user_disabled_while_their_login_is_checked_stays_disabled_and_gets_no_session(
    sqlite_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The password is checked outside any transaction (argon2 is slow): an admin's
    disable made meanwhile must win over the login, not be undone by it."""
    from omnisync.hub.web.passwords import password_matches

    with console_hub(tmp_path, sqlite_database, monkeypatch) as console:

        def disabled_meanwhile(password_hash: str, password: str) -> bool:
            with transaction(console.engine) as session:
                disable_user(session, OPERATOR)
            return password_matches(password_hash, password)

        monkeypatch.setattr("omnisync.hub.web.pages.auth.password_matches", disabled_meanwhile)
        answer = console.client().login(OPERATOR)
        assert answer.status_code == 401
        with Session(console.engine) as session:
            user = session.exec(select(User).where(User.name == OPERATOR)).one()
            assert user.disabled_at is not None
            assert session.exec(select(ConsoleSession)).all() == []
