"""Dependencies shared by routes: API-key scopes and the bounds of a row id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Path, Request

from automation.api.keys import TooManyAttempts, WrongScope, check_key
from automation.errors import AuthError
from automation.models import Scope

# Row ids are PostgreSQL ``integer`` columns: a larger number names no row, and binding
# it failed (SQLite: "Python int too large"), so it is refused with the bound.
MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="a row id, 1 to 2147483647")]


def require(*scopes: Scope) -> Callable[..., str]:
    """A dependency that admits a key with one of ``scopes`` (or admin) and answers with
    its scope: 401 for no key or a wrong one, 403 for a missing scope, 429 (with
    ``Retry-After``) for an address that presented too many wrong keys."""

    def _check(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> str:
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
