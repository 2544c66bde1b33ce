"""Proposals: an owner proposes a variable for their register and gets the reuse check
at once; coordinators comment, ask for changes, accept or reject. Every write names
the version it is based on (If-Match) so concurrent reviewers never overwrite."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from regcat.api.deps import AppState, signed_in, state
from regcat.api.http import error, if_match_version, invalid, responses
from regcat.api.routes.catalogue import Limit, Offset
from regcat.api.schemas import (
    HistoryEvent,
    ProposalIn,
    ProposalOut,
    ProposalPage,
    ReuseReport,
    ReviewIn,
)
from regcat.generated.model import ValueSet, Variable
from regcat.proposals import ProposalInvalid, check_proposal
from regcat.store import proposals as store_proposals
from regcat.store.users import Principal

router = APIRouter(responses=responses(400, 401, 403, 404, 409, 412, 413, 428))
# ASCII digits only (an int parameter would also take "1.0" and other scripts' digits,
# giving one proposal many URLs); the id column is a 32-bit integer on PostgreSQL.
ProposalId = Annotated[
    str, Path(pattern=r"^[1-9][0-9]{0,9}$", description="A proposal number", examples=["1"])
]


def _pid(value: str) -> int:
    number = int(value)
    if number > 2_147_483_647:
        raise error(404, f"no proposal {value}")
    return number


def reuse_checker(st: AppState):
    """The reuse check, prepared once per index generation."""

    def make():
        import gc

        from regcat.reuse import ReuseChecker

        checker = ReuseChecker(st.reader.catalogue())
        # Its many long-lived objects would make every full collection scan them
        # (seconds at 100k variables, landing on one unlucky request).
        gc.freeze()
        return checker

    checker = st.reader.derived("reuse", make)

    def check(variable: Variable, value_set: ValueSet | None) -> dict:
        return checker.check(variable, value_set).to_json()

    return check


def _draft(st: AppState, body: ProposalIn):
    try:
        return check_proposal(
            st.reader.db(), body.variable, body.value_set, body.rationale, reuse_checker(st)
        )
    except ProposalInvalid as exc:
        raise invalid(exc.problems, ["body", "variable"]) from None


def _response(proposal, status: int = 200, history=None) -> JSONResponse:
    return JSONResponse(
        store_proposals.to_json(proposal, history),
        status_code=status,
        headers={"ETag": store_proposals.etag(proposal)},
    )


@router.post(
    "/proposals/reuse-check",
    response_model=ReuseReport,
    summary="The reuse check alone: similar variables and key-register equivalents",
)
def reuse_check(body: ProposalIn, st: AppState = Depends(state)):
    return JSONResponse(_draft(st, body).reuse)


@router.post(
    "/proposals",
    response_model=ProposalOut,
    status_code=201,
    summary="Propose a variable for your register (owners); answers with the reuse check",
)
def propose(body: ProposalIn, who: Principal = Depends(signed_in), st: AppState = Depends(state)):
    register_id = body.variable.id.partition(":")[0]
    store_proposals.may_propose(who, register_id)
    proposal = store_proposals.create(st.store, who, _draft(st, body))
    response = _response(proposal, 201)
    response.headers["Location"] = f"/api/proposals/{proposal.id}"
    return response


@router.get("/proposals", response_model=ProposalPage, summary="Proposals, newest last")
def proposals(
    status: Annotated[str | None, Query(max_length=20)] = None,
    register: Annotated[str | None, Query(max_length=100, pattern=r"^[^\x00-\x1f]*$")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
    st: AppState = Depends(state),
):
    if status is not None and status not in store_proposals.STATUSES:
        expected = ", ".join(store_proposals.STATUSES)
        raise invalid([f"status {status!r}: expected one of {expected}"], ["query", "status"])
    total, rows = store_proposals.listing(st.store, status, register, limit, offset)
    items = [store_proposals.to_json(p) for p in rows]
    return JSONResponse({"total": total, "limit": limit, "offset": offset, "items": items})


@router.get(
    "/proposals/{proposal_id}", response_model=ProposalOut, summary="One proposal with its history"
)
def proposal(proposal_id: ProposalId, st: AppState = Depends(state)):
    pid = _pid(proposal_id)
    return _response(
        store_proposals.get(st.store, pid), history=store_proposals.history(st.store, pid)
    )


@router.get(
    "/proposals/{proposal_id}/history",
    response_model=list[HistoryEvent],
    summary="Who did what to a proposal, and when",
)
def proposal_history(proposal_id: ProposalId, st: AppState = Depends(state)):
    events = store_proposals.history(st.store, _pid(proposal_id))
    return JSONResponse([store_proposals.event_json(e) for e in events])


@router.put(
    "/proposals/{proposal_id}",
    response_model=ProposalOut,
    summary="Revise a proposal (its register's owner; If-Match); the reuse check runs again",
)
def revise(
    request: Request,
    proposal_id: ProposalId,
    body: ProposalIn,
    who: Principal = Depends(signed_in),
    st: AppState = Depends(state),
):
    pid = _pid(proposal_id)
    # 403 before 428, and both before the reuse check runs
    store_proposals.may_revise(who, store_proposals.get(st.store, pid).register_id)
    version = if_match_version(request, "proposal", pid)
    updated = store_proposals.revise(st.store, who, pid, version, _draft(st, body))
    return _response(updated, history=store_proposals.history(st.store, pid))


@router.post(
    "/proposals/{proposal_id}/reviews",
    response_model=ProposalOut,
    summary="Comment, request changes, accept, reject (coordinators); withdraw (owner)",
)
def review(
    request: Request,
    proposal_id: ProposalId,
    body: ReviewIn,
    who: Principal = Depends(signed_in),
    st: AppState = Depends(state),
):
    pid = _pid(proposal_id)
    store_proposals.get(st.store, pid)  # 404 before 428
    version = if_match_version(request, "proposal", pid)
    updated = store_proposals.act(st.store, who, pid, body.action, version, body.comment)
    return _response(updated, history=store_proposals.history(st.store, pid))
