"""Request and response bodies that are the API's own (catalogue entities use the
generated model, so the API and the files share one definition)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from regcat.generated.model import (
    CodeSystem,
    Instrument,
    Mapping,
    Register,
    ValueSet,
    Variable,
)


class Page(BaseModel):
    total: int
    limit: int
    offset: int


class RegisterPage(Page):
    items: list[Register]


class VariablePage(Page):
    items: list[Variable]


class ValueSetPage(Page):
    items: list[ValueSet]


class MappingPage(Page):
    items: list[Mapping]


class CodeSystemList(BaseModel):
    items: list[CodeSystem]


class InstrumentList(BaseModel):
    items: list[Instrument]


class MappingSetSummary(BaseModel):
    name: str
    mapping_set_id: str | None = None
    title: str | None = None
    mappings: int


class MappingSetList(BaseModel):
    items: list[MappingSetSummary]


class VariableMappings(BaseModel):
    variable: str
    outgoing: list[Mapping]
    incoming: list[Mapping]


class CodeUse(BaseModel):
    variable: str
    system: str
    code: str


class CodeInValueSet(BaseModel):
    value_set: str
    code: str
    label: dict[str, str | None]


class CodeLookup(BaseModel):
    system: str
    code: str
    known_system: bool
    valid: bool | None = Field(description="null when the code system has no check")
    problem: str | None = None
    parents: list[str]
    variables: list[CodeUse]
    value_set_codes: list[CodeInValueSet]


class SearchHit(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str


class ErrorBody(BaseModel):
    detail: str


class SearchResponse(BaseModel):
    query: str | None
    corrected: str | None = None
    total: int
    limit: int
    offset: int
    hits: list[SearchHit]
    facets: dict[str, dict[str, int]]


class ApiIndex(BaseModel):
    name: str
    version: str
    generation: str
    built: str | None
    totals: dict[str, int]
    links: dict[str, str]


class ReuseCandidateOut(BaseModel):
    variable_id: str
    register_id: str
    label: dict[str, str | None]
    score: float
    predicate: str
    reasons: list[str]
    key_register: bool
    status: str | None = None
    mapping_justification: str | None = None


class ReuseReport(BaseModel):
    similar: list[ReuseCandidateOut]
    key_register: list[ReuseCandidateOut]


# PostgreSQL text cannot hold NUL; SQLite could, so refuse it for both alike.
NO_NUL = r"^[^\x00]*$"


class ProposalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    variable: Variable
    value_set: ValueSet | None = None
    rationale: str | None = Field(default=None, max_length=10_000, pattern=NO_NUL)


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: str = Field(
        description="comment | request_changes | accept | reject | withdraw", max_length=30
    )
    comment: str | None = Field(default=None, max_length=10_000, pattern=NO_NUL)


class MappingReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: str = Field(description="comment | approve | reject", max_length=30)
    comment: str | None = Field(default=None, max_length=10_000, pattern=NO_NUL)


class HistoryEvent(BaseModel):
    version: int
    actor: str
    action: str
    from_status: str | None
    to_status: str
    comment: str | None
    at: str


class ProposalOut(BaseModel):
    id: int
    register_id: str
    variable_id: str
    kind: str
    status: str
    version: int
    proposed_by: str
    rationale: str | None
    submitted: str
    updated: str
    exported: str | None
    variable: dict[str, Any]
    value_set: dict[str, Any] | None
    reuse: ReuseReport
    history: list[HistoryEvent] | None = None


class ProposalPage(Page):
    items: list[ProposalOut]


class CandidateOut(BaseModel):
    key: str
    file: str
    subject_id: str
    predicate_id: str
    object_id: str
    confidence: float | None
    comment: str | None
    status: str
    version: int
    reviewer: str | None = None
    review_comment: str | None = None
    history: list[HistoryEvent] | None = None


class CandidatePage(Page):
    items: list[CandidateOut]


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=100)
    role: str = Field(max_length=20)
    register_id: str | None = Field(default=None, max_length=100)


class UserOut(BaseModel):
    name: str
    role: str
    register_id: str | None
    created: str | None = None
    revoked: str | None = None


class NewUser(UserOut):
    token: str = Field(description="shown once; only its hash is stored")


class UserList(BaseModel):
    items: list[UserOut]


class Me(BaseModel):
    name: str
    role: str
    register_id: str | None
