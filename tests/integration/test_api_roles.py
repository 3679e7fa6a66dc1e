"""The console's roles on /api/v1: a user's own token acts as that user, with that
user's role (reading: viewer; changing: operator; users and channel pausing, resuming
and syncing: admin, the routes that carry AdminOnly), beside hub.yaml's api_token, an
admin recorded as `api`. Every route is found on the app, so one added later is
covered without an edit here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from sqlmodel import Session, col, select

from omnisync.core.db import transaction
from omnisync.core.models import UserAction
from omnisync.core.types import UserRole
from omnisync.core.users import disable_user, revoke_api_tokens, user_by_name
from omnisync.hub.api.dependencies import admin_only
from omnisync.hub.channel_control import NO_SCHEDULER
from tests.support.api import API_TOKEN, api_hub
from tests.support.console import ADMIN, OPERATOR, VIEWER, add_users, console_hub, user_token
from tests.support.console_routes import api_routes, seed_everything, snapshot


def needs_admin(dependant: Dependant) -> bool:
    return any(
        dependency.call is admin_only or needs_admin(dependency)
        for dependency in dependant.dependencies
    )


def call(http: Any, method: str, path: str, token: str | None, body: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return http.request(method, path, headers=headers, json=body)


def records(engine: Any) -> list[tuple[str, str, str, str]]:
    with Session(engine) as session:
        rows = session.exec(select(UserAction).order_by(col(UserAction.id))).all()
        return [(row.user_name, row.via, row.action, row.target) for row in rows]


def test_each_token_has_its_users_role_on_every_route(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with console_hub(tmp_path, migrated_database_url, monkeypatch) as console:
        seeded = seed_everything(console.engine)
        http, engine = console.http, console.engine
        tokens = {name: user_token(engine, name) for name in (ADMIN, OPERATOR, VIEWER)}
        routes = api_routes(http.app)
        changing = [(method, route) for method, route in routes if method != "GET"]
        reading = [route for method, route in routes if method == "GET"]
        admin_routes = [route for _, route in changing if needs_admin(route.declared.dependant)]
        assert len(changing) >= 20, changing
        assert admin_routes, "no /api/v1 route carries AdminOnly"

        # A viewer reads every route...
        for route in reading:
            url = seeded.fill(route.path)
            answer = call(http, "GET", url, tokens[VIEWER])
            assert answer.status_code == 200, (url, answer.status_code, answer.text[:300])
        # ...and changes nothing on any other: 403 naming the role needed, before the body
        # is looked at.
        before = tables_but_tokens(engine)
        for method, route in changing:
            url = seeded.fill(route.path)
            refused = call(http, method, url, tokens[VIEWER], {})
            assert refused.status_code == 403, (method, url, refused.status_code)
            assert refused.json()["error"] == "vera is viewer: this needs the operator role"
        # An operator may not pause, resume or sync a channel (nor whatever else is
        # kept for admins).
        for route in admin_routes:
            url = seeded.fill(route.path)
            refused = call(http, "POST", url, tokens[OPERATOR], {"reason": "test"})
            assert refused.status_code == 403, (url, refused.text)
            assert refused.json()["error"] == "otto is operator: this needs the admin role"
        assert tables_but_tokens(engine) == before

        # An operator adjusts stock, recorded as by otto through the API; hub.yaml's token
        # is an admin recorded as `api`; an admin's own token takes the admin routes.
        body = {"sku": "A", "delta": 2, "reason": "found"}
        adjusted = call(http, "POST", "/api/v1/stock/adjustments", tokens[OPERATOR], body)
        assert adjusted.status_code == 201, adjusted.text
        assert call(http, "POST", "/api/v1/stock/adjustments", API_TOKEN, body).status_code == 201
        # What each answers an admin, in this order: pausing and resuming work; syncing
        # needs a scheduler, which this app has none of (409, saying so). A route added
        # later must at least succeed.
        order = {"pause": 0, "resume": 1, "sync": 2}
        verbs = [(route.path.rsplit("/", 1)[-1], route) for route in admin_routes]
        assert set(order) <= {verb for verb, _ in verbs}, admin_routes
        for verb, route in sorted(verbs, key=lambda pair: order.get(pair[0], len(order))):
            url = seeded.fill(route.path)
            allowed = call(http, "POST", url, tokens[ADMIN], {"reason": "test"})
            if verb == "pause":
                assert allowed.status_code == 200, (url, allowed.text)
                assert allowed.json()["paused_reason"], allowed.json()
            elif verb == "resume":
                assert allowed.status_code == 200, (url, allowed.text)
                assert allowed.json()["paused_reason"] is None, allowed.json()
            elif verb == "sync":
                assert allowed.status_code == 409, (url, allowed.text)
                assert NO_SCHEDULER in allowed.json()["error"], allowed.text
            else:
                assert allowed.status_code in (200, 201, 204), (url, allowed.text)
        made = records(engine)
        assert made[:2] == [
            (OPERATOR, "api", "stock.adjust", "A at main"),
            ("api", "api", "stock.adjust", "A at main"),
        ]
        assert {(who, via) for who, via, _, _ in made[2:]} == {(ADMIN, "api")}

        # A revoked token, and the token of a disabled user, stop at once.
        with transaction(engine) as session:
            revoke_api_tokens(session, user_by_name(session, OPERATOR))
            disable_user(session, VIEWER)
        for name in (OPERATOR, VIEWER):
            assert call(http, "GET", "/api/v1/orders", tokens[name]).status_code == 401
        assert call(http, "GET", "/api/v1/orders", tokens[ADMIN]).status_code == 200


def tables_but_tokens(engine: Any) -> dict[str, Any]:
    """Every table but api_tokens, whose `last_used_at` a request may note."""
    rows = snapshot(engine)
    del rows["api_tokens"]
    return rows


def test_without_an_api_token_user_tokens_open_the_api_and_nothing_else_does(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with api_hub(tmp_path, migrated_database_url, monkeypatch, with_token=False) as api:
        for token in (None, API_TOKEN, "osu_made-up"):
            closed = call(api.http, "GET", "/api/v1/orders", token)
            assert closed.status_code == 503, token
            assert "omnisync users token NAME" in closed.json()["error"]
        add_users(api.hub.engine, {VIEWER: UserRole.VIEWER})
        token = user_token(api.hub.engine, VIEWER)
        assert call(api.http, "GET", "/api/v1/orders", token).status_code == 200
        for other in (None, API_TOKEN):
            assert call(api.http, "GET", "/api/v1/orders", other).status_code == 401
        with transaction(api.hub.engine) as session:
            revoke_api_tokens(session, user_by_name(session, VIEWER))
        assert call(api.http, "GET", "/api/v1/orders", token).status_code == 503
