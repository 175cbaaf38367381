"""Signing in and out, and ``/``: the signed-in person's home, else the sign-in page.

Failed sign-ins are throttled per address and per user name (10 a minute each, then
one every 6 s), so guessing a password from one place, or one person's password from
many, is slow; the page never says whether the name or the password was wrong.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from automation.console import session
from automation.console.auth import STALE_FORM, viewer_of
from automation.console.render import page
from automation.console.roles import HOME
from automation.console.users import authenticate
from automation.throttle import FailureBuckets

router = APIRouter(include_in_schema=False)
FAILURES_PER_MINUTE = 10
_by_address = FailureBuckets(FAILURES_PER_MINUTE)
_by_name = FailureBuckets(FAILURES_PER_MINUTE)


def forget_failures() -> None:
    """Forget every failed sign-in (a test's fresh start)."""
    _by_address.clear()
    _by_name.clear()


@router.get("/")
def home(request: Request) -> Response:
    """The person's own start page, or the sign-in page."""
    viewer = viewer_of(request)
    target = HOME[viewer.person.role] if viewer else "/login"
    return RedirectResponse(target, status_code=303)


@router.get("/console")
def console() -> Response:
    """The console's old address: its start."""
    return RedirectResponse("/", status_code=308)


@router.get("/journeys")
def journeys() -> Response:
    """Where a marketer looks for the journeys."""
    return RedirectResponse("/ops/journeys", status_code=308)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "") -> Response:
    """The sign-in form (or the home page of someone signed in already)."""
    viewer = viewer_of(request)
    if viewer is not None:
        return RedirectResponse(_safe_next(next) or HOME[viewer.person.role], status_code=303)
    return _form(request, next_path=_safe_next(next))


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    """Check the name and password; on success start a session and go on."""
    form = await request.form()
    username = str(form.get("username") or "").strip()[:64]
    password = str(form.get("password") or "")[:200]
    next_path = _safe_next(str(form.get("next") or ""))
    expected = session.login_token_of(request.cookies.get(session.LOGIN_COOKIE))
    if not session.same_token(expected, form.get("csrf")):
        return _form(request, next_path, username, STALE_FORM, 403)
    address = request.client.host if request.client else "?"
    wait = max(_by_address.wait(address), _by_name.wait(username.lower()))
    if wait:
        message = f"로그인 시도가 너무 많습니다. {wait}초 뒤에 다시 시도해 주세요."
        response = _form(request, next_path, username, message, 429)
        response.headers["Retry-After"] = str(wait)
        return response
    person = authenticate(username, password)
    if person is None:
        _by_address.spend(address)
        _by_name.spend(username.lower())
        message = "아이디 또는 비밀번호가 맞지 않습니다. (Wrong user name or password.)"
        return _form(request, next_path, username, message, 401)
    response = RedirectResponse(next_path or HOME[person.role], status_code=303)
    session.issue(response, person.id)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session (the form must carry its CSRF token)."""
    viewer = viewer_of(request)
    form = await request.form()
    if viewer is not None and not session.same_token(viewer.csrf, form.get("csrf")):
        return page(
            request,
            viewer,
            "error.html",
            status=403,
            title="Forbidden",
            message=STALE_FORM,
        )
    response = RedirectResponse("/login", status_code=303)
    session.end(response)
    return response


def _form(
    request: Request, next_path: str, username: str = "", error: str = "", status: int = 200
) -> HTMLResponse:
    token, cookie = session.login_token(request.cookies.get(session.LOGIN_COOKIE))
    response = page(
        request,
        None,
        "login.html",
        status=status,
        error=error,
        username=username,
        next_path=next_path,
        login_csrf=token,
    )
    if cookie is not None:
        session.set_login_cookie(response, cookie)
    return response


def _safe_next(path: str) -> str:
    """A path on this server to go on to after signing in; anything else is dropped."""
    parts = urlsplit(path)
    if parts.scheme or parts.netloc or not path.startswith("/") or path.startswith("//"):
        return ""
    if "\\" in path or path.startswith(("/login", "/logout")):
        return ""
    return path
