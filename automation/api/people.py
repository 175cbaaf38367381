"""Who may use the resource APIs (customers, journeys, segments): an admin API key, or
a person signed in to the console.

A key is checked as :func:`automation.api.deps.require` checks it (401, 403, 429) and
the caller is the key's name. Without a key, the console's session cookie: managers,
marketers and admins may read; marketers and admins may change. A change made with the
cookie must also carry the session's CSRF token in ``X-CSRF-Token``: a browser sends
the cookie with any request another site makes it send, but only our pages know the
token. No key and no session is a 401.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Header, HTTPException, Request

from automation.api.deps import named
from automation.console.auth import viewer_of
from automation.console.session import same_token
from automation.models import Role, Scope

READ_ROLES = frozenset({Role.MANAGER, Role.MARKETER, Role.ADMIN})
WRITE_ROLES = frozenset({Role.MARKETER, Role.ADMIN})
NO_CREDENTIALS = "an admin API key (X-API-Key) or a console session is needed"
_operator = named(Scope.ADMIN)


@dataclass(frozen=True)
class Actor:
    """Who is calling: an API key's name or a console user's name, and which it was."""

    name: str
    via: Literal["key", "session"]


def _actor(request: Request, api_key: str | None, csrf: str | None, *, write: bool) -> Actor:
    if api_key is not None:
        # A key that is wrong is a 401 even with a session beside it: no silent fallback.
        return Actor(_operator(request, api_key), "key")
    viewer = viewer_of(request)
    if viewer is None:
        raise HTTPException(401, detail=NO_CREDENTIALS)
    role = viewer.person.role
    if role not in (WRITE_ROLES if write else READ_ROLES):
        doing = "change" if write else "read"
        raise HTTPException(403, detail=f"the {role.value} role may not {doing} this")
    if write and not same_token(viewer.csrf, csrf):
        raise HTTPException(403, detail="a change from a console session needs X-CSRF-Token")
    return Actor(viewer.person.username, "session")


def reader(
    request: Request,
    x_api_key: Annotated[str | None, Header()] = None,
) -> Actor:
    """A dependency: an admin key, or a manager's, marketer's or admin's session."""
    return _actor(request, x_api_key, None, write=False)


def writer(
    request: Request,
    x_api_key: Annotated[str | None, Header()] = None,
    x_csrf_token: Annotated[
        str | None, Header(description="the console session's CSRF token (cookie only)")
    ] = None,
) -> Actor:
    """A dependency: an admin key, or a marketer's or admin's session with its token."""
    return _actor(request, x_api_key, x_csrf_token, write=True)


Reader = Annotated[Actor, Depends(reader)]
Writer = Annotated[Actor, Depends(writer)]
