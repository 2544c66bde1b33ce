"""Who am I, and user management for admins (the CLI `regcat users` does the same)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

from regcat.api.deps import AppState, principal, signed_in, state
from regcat.api.http import error, invalid, responses
from regcat.api.routes.catalogue import Ident
from regcat.api.schemas import Me, NewUser, UserIn, UserList
from regcat.errors import RegcatError
from regcat.store.users import Principal, add_user, list_users, revoke_user, user_json

router = APIRouter(responses=responses(400, 401, 403, 404, 409, 413))


def _admin(who: Principal = Depends(signed_in)) -> Principal:
    if who.role != "admin":
        raise error(403, "only admins manage users")
    return who


@router.get("/me", response_model=Me, summary="The caller, as the API sees them")
def me(who: Principal = Depends(principal)):
    return JSONResponse(who.to_json())


@router.get("/users", response_model=UserList, summary="Users (admins)")
def users(_: Principal = Depends(_admin), st: AppState = Depends(state)):
    return JSONResponse({"items": [user_json(u) for u in list_users(st.store)]})


@router.post("/users", response_model=NewUser, status_code=201, summary="Add a user (admins)")
def create_user(body: UserIn, _: Principal = Depends(_admin), st: AppState = Depends(state)):
    if body.role == "owner" and body.register_id:
        known = (
            st.reader.db()
            .execute("SELECT 1 FROM registers WHERE id = ?", (body.register_id,))
            .fetchone()
        )
        if known is None:
            raise invalid(
                [f"no register {body.register_id!r} in the catalogue"], ["body", "register_id"]
            )
    try:
        token = add_user(st.store, body.name, body.role, body.register_id)
    except RegcatError as exc:
        if "exists" in exc.message:
            raise error(409, exc.message) from None
        raise invalid([exc.message], ["body"]) from None
    data = {"name": body.name, "role": body.role, "register_id": body.register_id, "token": token}
    return JSONResponse(data, status_code=201)


@router.delete("/users/{name}", status_code=204, summary="Revoke a user's token (admins)")
def delete_user(name: Ident, _: Principal = Depends(_admin), st: AppState = Depends(state)):
    if not revoke_user(st.store, name):
        raise error(404, f"no active user {name!r}")
    return Response(status_code=204)
