"""Signing in and out of the console, over real HTTP: passwords, CSRF, throttling,
roles, redirects, a disabled person's session."""

from __future__ import annotations

import re

import pytest

from automation.console.users import authenticate, disable_user
from automation.errors import ValidationError
from tests.console.browser import PASSWORD, Served, client, person, signed_in_client


def _login_form(http) -> str:  # type: ignore[no-untyped-def]
    token = re.search(r'name="csrf" value="([^"]+)"', http.get("/login").text)
    assert token is not None
    return token.group(1)


def test_a_person_signs_in_lands_on_their_home_and_signs_out(console: Served) -> None:
    person("kim", "agent")
    http = client(console)
    assert http.get("/agent").headers["location"] == "/login?next=/agent"
    token = _login_form(http)
    answer = http.post(
        "/login", data={"username": "kim", "password": PASSWORD, "csrf": token, "next": "/agent"}
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/agent"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert PASSWORD not in cookie
    assert http.get("/").headers["location"] == "/agent"
    http2, csrf = signed_in_client(console, "kim")
    assert http2.post("/logout", data={}).status_code == 403  # no token: refused
    assert http2.post("/logout", data={"csrf": csrf}).headers["location"] == "/login"
    assert http2.get("/").headers["location"] == "/login"


def test_a_wrong_password_says_so_without_saying_which_part(console: Served) -> None:
    person("kim", "agent")
    http = client(console)
    token = _login_form(http)
    wrong = http.post("/login", data={"username": "kim", "password": "x" * 12, "csrf": token})
    nobody = http.post("/login", data={"username": "nobody", "password": "x" * 12, "csrf": token})
    assert wrong.status_code == nobody.status_code == 401
    assert "아이디 또는 비밀번호가 맞지 않습니다" in wrong.text
    assert wrong.text.count("login-error") == nobody.text.count("login-error") == 1
    assert "automation_session" not in wrong.headers.get("set-cookie", "")


def test_a_login_form_without_its_token_is_refused(console: Served) -> None:
    person("kim", "agent")
    answer = client(console).post("/login", data={"username": "kim", "password": PASSWORD})
    assert answer.status_code == 403
    assert "CSRF" in answer.text


def test_failed_sign_ins_are_throttled(console: Served) -> None:
    person("kim", "agent")
    http = client(console)
    token = _login_form(http)
    codes = [
        http.post("/login", data={"username": "kim", "password": "x" * 12, "csrf": token})
        for _ in range(11)
    ]
    assert [c.status_code for c in codes[:10]] == [401] * 10
    assert codes[10].status_code == 429 and int(codes[10].headers["retry-after"]) >= 1
    # the right password waits too: a guesser learns nothing from a success
    late = http.post("/login", data={"username": "kim", "password": PASSWORD, "csrf": token})
    assert late.status_code == 429


def test_next_never_leads_off_the_server(console: Served) -> None:
    person("kim", "agent")
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        http = client(console)  # a sign-in spends the form's token: a new form each time
        token = _login_form(http)
        answer = http.post(
            "/login",
            data={"username": "kim", "password": PASSWORD, "csrf": token, "next": target},
        )
        assert answer.headers["location"] == "/agent", target


def test_a_role_cannot_open_another_roles_pages(console: Served) -> None:
    person("kim", "agent")
    http, _ = signed_in_client(console, "kim")
    answer = http.get("/ops/journeys")
    assert answer.status_code == 403
    assert "agent 역할은 이 화면을 열 수 없습니다" in answer.text
    assert "Traceback" not in answer.text


def test_a_disabled_persons_session_ends_at_the_next_request(console: Served) -> None:
    person("kim", "agent")
    http, _ = signed_in_client(console, "kim")
    assert http.get("/").headers["location"] == "/agent"
    disable_user("kim")
    assert http.get("/agent").headers["location"].startswith("/login")
    assert authenticate("kim", PASSWORD) is None


@pytest.mark.parametrize(
    ("name", "role", "password", "says"),
    [
        ("Kim Minji", "agent", PASSWORD, "not a user name"),
        ("kim", "boss", PASSWORD, "role must be one of"),
        ("kim", "agent", "short", "at least 10 characters"),
    ],
)
def test_a_bad_user_is_refused_with_the_reason(
    postgres_database: str, name: str, role: str, password: str, says: str
) -> None:
    from automation.console.users import create_user

    with pytest.raises(ValidationError, match=says):
        create_user(name, role, password)


def test_the_addresses_people_guess_lead_to_the_console(console: Served) -> None:
    http = client(console)
    assert http.get("/").headers["location"] == "/login"
    assert http.get("/console").headers["location"] == "/"
    assert http.get("/journeys").headers["location"] == "/ops/journeys"
    assert http.get("/dashboard").headers["location"] == "/login?next=/dashboard"
    page = http.get("/login")
    assert (
        page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
    )
