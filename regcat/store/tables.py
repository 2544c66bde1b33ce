"""The tables. JSON documents (a proposed variable, a reuse report) are stored as text
so SQLite and PostgreSQL hold exactly the same bytes."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Field, SQLModel


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=100)
    role: str = Field(max_length=20)  # owner | coordinator | admin
    register_id: str | None = Field(default=None, max_length=100)  # owners only
    # sha256 of the token: tokens are 256-bit random, so a slow hash buys nothing and
    # a fast one keeps every authenticated request cheap.
    token_hash: str = Field(index=True, unique=True, max_length=64)
    created: datetime = Field(default_factory=now)
    revoked: datetime | None = None


class Proposal(SQLModel, table=True):
    __tablename__ = "proposals"

    id: int | None = Field(default=None, primary_key=True)
    register_id: str = Field(index=True, max_length=100)
    variable_id: str = Field(index=True, max_length=300)
    kind: str = Field(max_length=10)  # new | change
    status: str = Field(index=True, max_length=20)
    version: int = 1
    proposed_by: str = Field(max_length=100)
    rationale: str | None = None
    variable: str  # JSON of the proposed Variable
    value_set: str | None = None  # JSON of a proposed local ValueSet
    reuse: str  # JSON of the reuse check made when it was (re)submitted
    submitted: datetime = Field(default_factory=now)
    updated: datetime = Field(default_factory=now)
    exported: datetime | None = None


class MappingDecision(SQLModel, table=True):
    """A coordinator's decision on a candidate mapping from `regcat suggest --write`;
    the candidate itself stays in its SSSOM file until `regcat proposals export`."""

    __tablename__ = "mapping_decisions"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True, unique=True, max_length=40)  # see mappings.candidate_key
    subject_id: str = Field(max_length=300)
    predicate_id: str = Field(max_length=100)
    object_id: str = Field(max_length=300)
    source_file: str = Field(max_length=300)
    status: str = Field(index=True, max_length=20)  # candidate | approved | rejected
    version: int = 1
    reviewer: str | None = Field(default=None, max_length=100)
    comment: str | None = None
    updated: datetime = Field(default_factory=now)
    exported: datetime | None = None


class Event(SQLModel, table=True):
    """One line of history: who did what to which proposal or mapping, and when."""

    __tablename__ = "events"

    id: int | None = Field(default=None, primary_key=True)
    target: str = Field(index=True, max_length=20)  # proposal | mapping
    target_id: int = Field(index=True)
    version: int  # the target's version after the event
    actor: str = Field(max_length=100)
    action: str = Field(max_length=30)
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str = Field(max_length=20)
    comment: str | None = None
    at: datetime = Field(default_factory=now)
