"""Dependencies shared by routes: API-key scopes, the key holder's name, and the bounds
of what a route takes (a row id, text without NUL)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool

from automation.api.keys import TooManyAttempts, WrongScope, cached_scope, check_key, key_name
from automation.errors import AuthError
from automation.models import Scope

# Row ids are PostgreSQL ``integer`` columns: a larger number names no row, and binding
# it failed (SQLite: "Python int too large"), so it is refused with the bound.
MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="a row id, 1 to 2147483647")]
# A pattern for text a route stores or filters by: PostgreSQL text cannot hold NUL.
NO_NUL = r"^[^\x00]*$"


def require(*scopes: Scope) -> Callable[..., Awaitable[str]]:
    """A dependency that admits a key with one of ``scopes`` (or admin) and answers with
    its scope: 401 for no key or a wrong one, 403 for a missing scope, 429 (with
    ``Retry-After``) for an address that presented too many wrong keys."""
    check = _checker(scopes)

    async def _check(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> str:
        # A cached key is checked on the event loop: a sync dependency cost every request
        # a hop to the thread pool and back. Only a look-up (a query) goes there.
        try:
            scope = cached_scope(x_api_key, *scopes)
        except WrongScope as exc:
            raise HTTPException(403, detail=str(exc)) from None
        except AuthError as exc:
            raise HTTPException(401, detail=str(exc)) from None
        if scope is not None:
            return scope
        return await run_in_threadpool(check, request, x_api_key)

    return _check


def _checker(scopes: tuple[Scope, ...]) -> Callable[[Request, str | None], str]:
    """The key check as a plain function (it may query the database)."""

    def _check(request: Request, x_api_key: str | None) -> str:
        client = request.client.host if request.client else None
        try:
            return check_key(x_api_key, *scopes, client=client)
        except TooManyAttempts as exc:
            headers = {"Retry-After": str(exc.retry_after)}
            raise HTTPException(429, detail=str(exc), headers=headers) from None
        except WrongScope as exc:
            raise HTTPException(403, detail=str(exc)) from None
        except AuthError as exc:
            raise HTTPException(401, detail=str(exc)) from None

    return _check


IngestKey = Annotated[str, Depends(require(Scope.INGEST))]
AdminKey = Annotated[str, Depends(require(Scope.ADMIN))]
AgentKey = Annotated[str, Depends(require(Scope.AGENT))]
# ``POST /v1/events``: the site's behaviour (ingest) or the core systems' facts (system);
# which types each may send is ``api/scopes.py``'s.
EventsKey = Annotated[str, Depends(require(Scope.INGEST, Scope.SYSTEM))]
# The SMS gateway's reports: tied to messages we sent, so the site's key or a system key.
GatewayKey = Annotated[str, Depends(require(Scope.INGEST, Scope.SYSTEM))]


def named(*scopes: Scope) -> Callable[..., str]:
    """Like :func:`require`, but answers with the key's name: the agent or operator the
    key stands for (a rotated key with the same name is the same person)."""
    check = _checker(scopes)

    def _name(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> str:
        check(request, x_api_key)
        try:
            return key_name(x_api_key)
        except AuthError as exc:
            raise HTTPException(401, detail=str(exc)) from None

    return _name


# The agent working the call-center queue; the operator resolving reviews and pauses.
AgentName = Annotated[str, Depends(named(Scope.AGENT))]
OperatorName = Annotated[str, Depends(named(Scope.ADMIN))]
