"""Who is asking, and may they: the dependencies every console page declares.

A page names its area (``roles.Area``); its dependency answers with a :class:`Viewer`
or raises :class:`NeedsSignIn` (the handler sends the browser to ``/login``) or
:class:`Forbidden` (a 403 page). A form's POST also declares :func:`form_of`, which
refuses (403) a form that does not return the session's CSRF token.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.datastructures import FormData

from automation.console import session
from automation.console.roles import Area, may_open
from automation.console.users import Person, active_person

STALE_FORM = "이 양식은 만료되었거나 위조되었습니다: 페이지를 새로 열어 다시 보내 주세요 (CSRF)"


class NeedsSignIn(Exception):
    """No valid session: sign in first (then come back to ``next``)."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class Forbidden(Exception):
    """Signed in, but this role may not do this; the message says what."""


@dataclass(frozen=True)
class Viewer:
    """The signed-in person and their session's CSRF token (for the page's forms)."""

    person: Person
    csrf: str


def viewer_of(request: Request) -> Viewer | None:
    """The signed-in person behind ``request``, if any."""
    data = session.read(request.cookies.get(session.COOKIE))
    if data is None:
        return None
    person = active_person(data.user_id)
    return None if person is None else Viewer(person, data.csrf)


def for_area(area: Area) -> Callable[[Request], Viewer]:
    """A dependency: the viewer, who must be signed in and allowed into ``area``."""

    def _check(request: Request) -> Viewer:
        viewer = viewer_of(request)
        if viewer is None:
            query = f"?{request.url.query}" if request.url.query else ""
            raise NeedsSignIn(request.url.path + query)
        if not may_open(viewer.person.role, area):
            raise Forbidden(
                f"{viewer.person.role.value} 역할은 이 화면을 열 수 없습니다 ({area.value})"
            )
        return viewer

    return _check


def form_of(area: Area) -> Callable[[Request], Coroutine[Any, Any, tuple[Viewer, FormData]]]:
    """A dependency for a POST: the viewer (as :func:`for_area`) and the form, which must
    carry the session's CSRF token in ``csrf``."""
    check = for_area(area)

    async def _form(request: Request) -> tuple[Viewer, FormData]:
        viewer = check(request)
        form = await request.form()
        if not session.same_token(viewer.csrf, form.get("csrf")):
            raise Forbidden(
                "이 양식은 만료되었거나 위조되었습니다: 페이지를 새로 열어 다시 보내 주세요 (CSRF)"
            )
        return viewer, form

    return _form
