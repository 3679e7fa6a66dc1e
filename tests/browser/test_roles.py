"""Users and roles in a real browser: a page without a session goes to the login, a wrong
password says so, each role signs in, an admin adds a user on the users screen, and a
viewer sees no form that changes anything and is refused a post crafted in the page
anyway (nothing changes); screenshots `login`, `login-failed`, `users`,
`viewer-order`."""

from __future__ import annotations

from tests.support.browser import Browser, LiveConsole
from tests.support.console import ADMIN, OPERATOR, VIEWER
from tests.support.world import level, order_row

CHANGE_FORMS = 'form[method="post"]:not([action="/logout"])'
CRAFTED_POST = """
const form = document.createElement("form");
form.method = "post";
form.action = arguments[0];
const fields = Object.assign(
  {csrf_token: document.querySelector('meta[name="csrf-token"]').content}, arguments[1]);
for (const [name, value] of Object.entries(fields)) {
  const input = document.createElement("input");
  input.type = "hidden"; input.name = name; input.value = value;
  form.appendChild(input);
}
document.body.appendChild(form);
form.submit();
"""
"""What a viewer could do from the browser's console: post a form the page does not
offer, with the session's own CSRF token."""


def test_signing_in_as_each_role_and_adding_a_user(console: LiveConsole, browser: Browser) -> None:
    browser.logout()
    browser.open("/stock?q=mug")
    browser.wait_for("#sign-in")
    assert browser.path == "/login?next=%2Fstock%3Fq%3Dmug"
    browser.shot("login")

    browser.find("#name").send_keys(VIEWER)
    browser.find("#password").send_keys("not her password")
    browser.find("#sign-in").click()
    error = browser.wait_for("#login-error")
    assert error.text == "Wrong name or password."
    assert browser.find("#name").get_attribute("value") == VIEWER
    browser.shot("login-failed")

    for name, role in ((VIEWER, "viewer"), (OPERATOR, "operator"), (ADMIN, "admin")):
        browser.login(name)
        assert browser.text("#signed-in-as") == f"{name} {role}"
        users_link = browser.find_all('header nav a[href="/users"]')
        assert len(users_link) == (1 if role == "admin" else 0), name

    # The admin, signed in last, adds a viewer on the users screen.
    browser.find('header nav a[href="/users"]').click()
    browser.wait_for("#add-user")
    browser.find("#new-name").send_keys("nina")
    browser.find("#new-password").send_keys("nina's password 1")
    browser.find("#new-password-again").send_keys("nina's password 1")
    browser.find("#add-user-submit").click()
    browser.wait_until(
        "the user added", lambda: "User nina added as viewer." in browser.text("#flash")
    )
    assert browser.find('tr[data-user="nina"] .user-role').text == "viewer"
    assert browser.find('#changes tr[data-action="user.add"] .change-target').text == "nina"
    browser.shot("users")
    browser.login("nina", "nina's password 1")
    assert browser.text("#signed-in-as") == "nina viewer"


def test_a_viewer_sees_no_change_form_and_a_crafted_post_changes_nothing(
    console: LiveConsole, browser: Browser
) -> None:
    engine = console.hub.engine
    order = order_row(engine, "shop", "1001")
    browser.login(VIEWER)
    browser.open("/stock/A")
    browser.wait_for("#signed-in-as")
    assert "Blue mug" in browser.page
    assert browser.find_all(CHANGE_FORMS) == []
    browser.open(f"/orders/{order.id}")
    browser.wait_for("#signed-in-as")
    assert "1001" in browser.page
    assert browser.find_all(CHANGE_FORMS) == []
    browser.shot("viewer-order")

    before = level(engine, "A", "main")
    fields = {"delta": "5", "reason": "found", "location": "main"}
    browser.driver.execute_script(CRAFTED_POST, "/stock/A/adjust", fields)
    message = browser.wait_for("#error-message")
    assert "vera is viewer: this needs operator" in message.text
    assert level(engine, "A", "main") == before
    browser.open(f"/orders/{order.id}")
    browser.wait_for("#signed-in-as")
    browser.driver.execute_script(
        CRAFTED_POST, f"/orders/{order.id}/hold", {"reason": "a viewer's whim"}
    )
    assert "this needs operator" in browser.wait_for("#error-message").text
    assert order_row(engine, "shop", "1001").held_at is None
