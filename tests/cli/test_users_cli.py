"""`omnisync users`: add (the password from stdin, never an argument), list, role,
password, disable, enable, token, revoke-tokens and actions, in this process (typer's
runner) on SQLite and PostgreSQL, against the hub a running `omnisync run` would serve:
the token printed works on its API, with the user's role, and stops when it should."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.api import SANDBOX_KEY, ApiHub, api_hub
from tests.support.cli_runner import CliResult, invoke_cli
from tests.support.console import ConsoleClient

PASSWORD = "nina's password 1"
NEW_PASSWORD = "nina's other password 2"
TOKEN = re.compile(r"osu_[A-Za-z0-9_-]{40,}")


def users(api: ApiHub, tmp_path: Path, *args: str, stdin: str | None = None) -> CliResult:
    return invoke_cli(
        tmp_path / "config",
        str(api.hub.engine.url.render_as_string(hide_password=False)),
        "users",
        *args,
        env={"SB_KEY": SANDBOX_KEY},
        secrets=[PASSWORD, NEW_PASSWORD, "$argon2"],
        stdin=stdin,
    )


def orders(api: ApiHub, token: str) -> int:
    answer = api.http.get("/api/v1/orders", headers={"Authorization": f"Bearer {token}"})
    return int(answer.status_code)


def adjust(api: ApiHub, token: str) -> int:
    """An adjustment of an unknown SKU: 404 for a role that may adjust, 403 otherwise."""
    answer = api.http.post(
        "/api/v1/stock/adjustments",
        json={"sku": "NOPE", "delta": 1},
        headers={"Authorization": f"Bearer {token}"},
    )
    return int(answer.status_code)


def listed(api: ApiHub, tmp_path: Path) -> dict[str, Any]:
    rows = users(api, tmp_path, "list", "--json").json()
    return {row["name"]: row for row in rows}


def test_users_from_the_command_line(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The hub has no http.api_token: user tokens alone open its API.
    with api_hub(tmp_path, migrated_database_url, monkeypatch, with_token=False) as api:
        # The password is never an argument (click would echo it back, and the shell
        # keeps it), and a short one is refused.
        for args in (
            ("add", "nina", "--role", "operator", "--password", "typed-in-the-open"),
            ("add", "nina", "typed-in-the-open", "--role", "operator"),
        ):
            usage = users(api, tmp_path, *args)
            assert usage.exit_code == 2, args
            assert "No such option: --password" in usage.stderr or "extra argument" in usage.stderr
        short = users(api, tmp_path, "add", "nina", "--role", "operator", stdin="short\n")
        assert short.exit_code == 1
        assert "at least 10 characters; nothing changed" in short.stderr
        assert listed(api, tmp_path) == {}

        added = users(api, tmp_path, "add", "nina", "--role", "operator", stdin=PASSWORD + "\n")
        assert added.exit_code == 0, added
        assert added.stdout == "user nina added as operator\n"
        again = users(api, tmp_path, "add", "nina", "--role", "viewer", stdin=PASSWORD + "\n")
        assert again.exit_code == 1
        assert "user 'nina' exists already" in again.stderr
        nina = listed(api, tmp_path)["nina"]
        assert nina["role"] == "operator"
        assert nina["disabled_at"] is None
        assert nina["api_tokens"] == 0
        assert set(nina) == {"name", "role", "created_at", "disabled_at", "api_tokens"}

        # A token, printed once, acts as nina with nina's role.
        made = users(api, tmp_path, "token", "nina", "--label", "scanner")
        assert made.exit_code == 0, made
        assert TOKEN.fullmatch(made.stdout.strip()), made.stdout
        token = made.stdout.strip()
        assert orders(api, token) == 200
        assert adjust(api, token) == 404
        assert listed(api, tmp_path)["nina"]["api_tokens"] == 1
        assert users(api, tmp_path, "role", "nina", "viewer").stdout == "user nina is now viewer\n"
        assert adjust(api, token) == 403

        # A new password from stdin: the old one signs in no more.
        changed = users(api, tmp_path, "password", "nina", stdin=NEW_PASSWORD + "\n")
        assert changed.exit_code == 0, changed
        console = ConsoleClient(TestClient(api.http.app))
        assert console.login("nina", PASSWORD).status_code == 401
        assert console.login("nina", NEW_PASSWORD).status_code == 303

        # Revoked: that token is refused (another user's keeps the API open).
        admin = users(api, tmp_path, "add", "ada", "--role", "admin", stdin=PASSWORD + "\n")
        assert admin.exit_code == 0, admin
        other = users(api, tmp_path, "token", "ada")
        assert other.exit_code == 0, other
        second = users(api, tmp_path, "token", "nina").stdout.strip()
        revoked = users(api, tmp_path, "revoke-tokens", "nina")
        assert revoked.stdout == "user nina: 2 API token(s) revoked\n"
        assert orders(api, second) == 401

        # Disabled: no session, no new token, and the live token is revoked for good:
        # enabling the user again does not bring back a token that may have leaked.
        fresh = users(api, tmp_path, "token", "nina").stdout.strip()
        assert orders(api, fresh) == 200
        assert users(api, tmp_path, "disable", "nina").exit_code == 0
        assert orders(api, fresh) == 401
        assert console.get("/").status_code == 303
        assert listed(api, tmp_path)["nina"]["disabled_at"] is not None
        assert listed(api, tmp_path)["nina"]["api_tokens"] == 0
        refused = users(api, tmp_path, "token", "nina")
        assert refused.exit_code == 1
        assert "user nina is disabled; enable them first" in refused.stderr
        assert users(api, tmp_path, "enable", "nina").exit_code == 0
        assert orders(api, fresh) == 401

        # No token of any kind left, and no http.api_token: the API is closed again.
        assert users(api, tmp_path, "revoke-tokens", "ada").exit_code == 0
        assert orders(api, fresh) == 503
        unknown = users(api, tmp_path, "disable", "nobody")
        assert unknown.exit_code == 1
        assert "unknown user 'nobody'" in unknown.stderr

        # Every change is in the record, newest first, as made by `cli`; never a secret.
        record = users(api, tmp_path, "actions", "--json")
        assert token not in record.stdout
        rows = record.json()
        assert [(row["user"], row["via"], row["action"], row["target"]) for row in rows] == [
            ("cli", "cli", action, target)
            for action, target in (
                ("user.revoke_tokens", "ada"),
                ("user.enable", "nina"),
                ("user.disable", "nina"),
                ("user.token", "nina"),
                ("user.revoke_tokens", "nina"),
                ("user.token", "nina"),
                ("user.token", "ada"),
                ("user.add", "ada"),
                ("user.password", "nina"),
                ("user.role", "nina"),
                ("user.token", "nina"),
                ("user.add", "nina"),
            )
        ]
        assert rows[4]["detail"] == {"revoked": 2}
        assert rows[9]["detail"] == {"from": "operator", "to": "viewer"}
        assert second not in record.stdout
        assert fresh not in record.stdout
        assert users(api, tmp_path, "actions", "--json", "--user", "nina").json() == []
        table = users(api, tmp_path, "list")
        assert re.search(r"nina\s+.*viewer", table.stdout), table.stdout
