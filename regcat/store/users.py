"""API users, their roles and tokens. A token is shown once, when it is made; only its
hash is stored."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlmodel import select

from regcat.errors import RegcatError
from regcat.store.db import Store
from regcat.store.tables import User, now

ROLES = ("owner", "coordinator", "admin")
TOKEN_PREFIX = "rct_"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}")
_REGISTER = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class Principal:
    """Who is asking: an authenticated user, or the anonymous reader."""

    name: str
    role: str  # reader | owner | coordinator | admin
    register_id: str | None = None

    @property
    def authenticated(self) -> bool:
        return self.role != "reader"

    def to_json(self) -> dict:
        return {"name": self.name, "role": self.role, "register_id": self.register_id}


ANONYMOUS = Principal("anonymous", "reader")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def add_user(store: Store, name: str, role: str, register_id: str | None = None) -> str:
    """Create a user; returns the token (the only time it is ever available)."""
    if not _NAME.fullmatch(name):
        raise RegcatError(
            f"user name {name!r}: expected 1-100 letters, digits, '.', '_', '@' or '-'"
        )
    if role not in ROLES:
        raise RegcatError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    if role == "owner":
        if not register_id:
            raise RegcatError("an owner needs --register: the register they propose for")
        if not _REGISTER.fullmatch(register_id):
            raise RegcatError(f"--register {register_id!r}: expected a register id such as 'noric'")
    elif register_id:
        raise RegcatError(f"--register applies to owners only, not to role {role!r}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.session() as session:
        user = session.exec(select(User).where(User.name == name)).first()
        if user is None:
            user = User(name=name, role=role, register_id=register_id)
        elif user.revoked is None:
            raise RegcatError(f"user {name!r} exists already; revoke it first or pick another name")
        # A revoked name may be given out again; its history keeps the old actions.
        user.role, user.register_id, user.revoked = role, register_id, None
        user.token_hash = hash_token(token)
        session.add(user)
        session.commit()
    return token


def user_json(user: User) -> dict:
    """A user as the API and `regcat users list` show one: never the token hash."""
    return {
        "name": user.name,
        "role": user.role,
        "register_id": user.register_id,
        "created": user.created.isoformat() if user.created else None,
        "revoked": user.revoked.isoformat() if user.revoked else None,
    }


def list_users(store: Store) -> list[User]:
    with store.session() as session:
        return list(session.exec(select(User).order_by(User.name)))


def revoke_user(store: Store, name: str) -> bool:
    """Revoke a user's token; False when there is no such active user."""
    with store.session() as session:
        user = session.exec(select(User).where(User.name == name)).first()
        if user is None or user.revoked is not None:
            return False
        user.revoked = now()
        session.add(user)
        session.commit()
    return True


def authenticate(store: Store, token: str) -> Principal | None:
    """The user a bearer token belongs to, or None for an unknown or revoked token."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    with store.session() as session:
        user = session.exec(select(User).where(User.token_hash == hash_token(token))).first()
    if user is None or user.revoked is not None:
        return None
    return Principal(user.name, user.role, user.register_id)
