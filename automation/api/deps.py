"""Dependencies shared by routes: API-key scopes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header, HTTPException

from automation.api.keys import check_key
from automation.errors import AuthError
from automation.models import Scope


def require(*scopes: Scope) -> Callable[[str | None], str]:
    """A dependency that admits a key with one of ``scopes`` (or admin)."""

    def _check(x_api_key: Annotated[str | None, Header()] = None) -> str:
        try:
            return check_key(x_api_key, *scopes)
        except AuthError as exc:
            status = 401 if "scope" not in str(exc) else 403
            raise HTTPException(status, detail=str(exc)) from None

    return _check


IngestKey = Annotated[str, Depends(require(Scope.INGEST))]
AdminKey = Annotated[str, Depends(require(Scope.ADMIN))]
AgentKey = Annotated[str, Depends(require(Scope.AGENT))]
