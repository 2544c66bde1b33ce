"""What routes depend on: the app's state (reader, store, services) and the caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from regcat.api.http import error
from regcat.api.reader import IndexReader
from regcat.api.settings import Settings
from regcat.store import Store
from regcat.store.users import ANONYMOUS, Principal, authenticate


@dataclass
class AppState:
    settings: Settings
    reader: IndexReader
    store: Store
    services: dict[str, Any] = field(default_factory=dict)


async def state(request: Request) -> AppState:
    # async: a sync dependency would cost every request a hop through the thread pool
    return request.app.state.regcat


# Declares the bearer scheme in the OpenAPI document (the docs' Authorize button); the
# header itself is read below, so a malformed one is a 401 rather than anonymous.
_bearer = HTTPBearer(auto_error=False, description="A token from `regcat users add`")


def principal(
    request: Request, _: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Principal:
    """The caller: anonymous without Authorization, else the token's user (401 for
    an unknown or revoked token: a client that sends one expects it to count)."""
    header = request.headers.get("authorization")
    if not header:
        return ANONYMOUS
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise error(401, "Authorization must be 'Bearer <token>'", {"WWW-Authenticate": "Bearer"})
    who = authenticate(request.app.state.regcat.store, token.strip())
    if who is None:
        raise error(401, "unknown or revoked token", {"WWW-Authenticate": "Bearer"})
    return who


def signed_in(request: Request, who: Principal = Depends(principal)) -> Principal:
    if not who.authenticated:
        raise error(
            401, "this needs a token: Authorization: Bearer <token>", {"WWW-Authenticate": "Bearer"}
        )
    return who
