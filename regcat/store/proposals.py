"""Proposals and their review: who may do what, the status each action leads to, and
versions so two reviewers acting at once cannot lose each other's change.

Every change is a compare-and-set on `version` in one UPDATE statement, so it is safe
on SQLite and PostgreSQL alike without row locks, and writes one history event in the
same transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import func, update
from sqlmodel import Session, select

from regcat.store.db import Store
from regcat.store.errors import Conflict, Forbidden, NotFound, PreconditionFailed
from regcat.store.tables import Event, Proposal, now
from regcat.store.users import Principal

FINAL = frozenset({"accepted", "rejected", "withdrawn"})
STATUSES = ("submitted", "in_review", "changes_requested", "accepted", "rejected", "withdrawn")
# What a reviewer's action does to a proposal's status (None: stays as it is).
REVIEW_ACTIONS = {
    "comment": None,
    "request_changes": "changes_requested",
    "accept": "accepted",
    "reject": "rejected",
}
OWNER_ACTIONS = ("comment", "withdraw")


@dataclass
class ProposalDraft:
    """A checked proposal, ready to store: the API validates and runs the reuse check."""

    register_id: str
    variable_id: str
    kind: str
    variable: dict
    value_set: dict | None
    rationale: str | None
    reuse: dict


def etag(proposal: Proposal) -> str:
    return f'"proposal-{proposal.id}-v{proposal.version}"'


def to_json(proposal: Proposal, history: list[Event] | None = None) -> dict:
    data = {
        "id": proposal.id,
        "register_id": proposal.register_id,
        "variable_id": proposal.variable_id,
        "kind": proposal.kind,
        "status": proposal.status,
        "version": proposal.version,
        "proposed_by": proposal.proposed_by,
        "rationale": proposal.rationale,
        "submitted": proposal.submitted.isoformat(),
        "updated": proposal.updated.isoformat(),
        "exported": proposal.exported.isoformat() if proposal.exported else None,
        "variable": json.loads(proposal.variable),
        "value_set": json.loads(proposal.value_set) if proposal.value_set else None,
        "reuse": json.loads(proposal.reuse),
    }
    if history is not None:
        data["history"] = [event_json(e) for e in history]
    return data


def event_json(event: Event) -> dict:
    return {
        "version": event.version,
        "actor": event.actor,
        "action": event.action,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "comment": event.comment,
        "at": event.at.isoformat(),
    }


def may_propose(who: Principal, register_id: str) -> None:
    if who.role == "admin" or (who.role == "owner" and who.register_id == register_id):
        return
    if who.role == "owner":
        raise Forbidden(
            f"you own register {who.register_id!r}; proposals for {register_id!r} come "
            "from its own owner"
        )
    raise Forbidden(f"role {who.role!r} cannot propose variables; owners of a register can")


def may_revise(who: Principal, register_id: str) -> None:
    if not (who.role == "admin" or (who.role == "owner" and who.register_id == register_id)):
        raise Forbidden("only the register's owner can revise its proposal")


def create(store: Store, who: Principal, draft: ProposalDraft) -> Proposal:
    may_propose(who, draft.register_id)
    with store.session() as session:
        proposal = Proposal(
            register_id=draft.register_id,
            variable_id=draft.variable_id,
            kind=draft.kind,
            status="submitted",
            proposed_by=who.name,
            rationale=draft.rationale,
            variable=json.dumps(draft.variable, ensure_ascii=False, sort_keys=True),
            value_set=json.dumps(draft.value_set, ensure_ascii=False, sort_keys=True)
            if draft.value_set
            else None,
            reuse=json.dumps(draft.reuse, ensure_ascii=False),
        )
        session.add(proposal)
        session.flush()
        session.add(
            Event(
                target="proposal",
                target_id=proposal.id,
                version=1,
                actor=who.name,
                action="submit",
                to_status="submitted",
                comment=draft.rationale,
            )
        )
        session.commit()
        session.refresh(proposal)
        return proposal


def get(store: Store, proposal_id: int) -> Proposal:
    with store.session() as session:
        return _get(session, proposal_id)


def _get(session: Session, proposal_id: int) -> Proposal:
    proposal = session.get(Proposal, proposal_id)
    if proposal is None:
        raise NotFound(f"no proposal {proposal_id}")
    return proposal


def history(store: Store, proposal_id: int) -> list[Event]:
    with store.session() as session:
        _get(session, proposal_id)
        query = (
            select(Event)
            .where(Event.target == "proposal", Event.target_id == proposal_id)
            .order_by(Event.id)
        )
        return list(session.exec(query))


def listing(
    store: Store,
    status: str | None = None,
    register_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[Proposal]]:
    with store.session() as session:
        query = select(Proposal)
        counting = select(func.count()).select_from(Proposal)
        if status:
            query = query.where(Proposal.status == status)
            counting = counting.where(Proposal.status == status)
        if register_id:
            query = query.where(Proposal.register_id == register_id)
            counting = counting.where(Proposal.register_id == register_id)
        total = session.exec(counting).one()
        rows = session.exec(query.order_by(Proposal.id).offset(offset).limit(limit))
        return int(total), list(rows)


def _check_version(proposal: Proposal, expected: int) -> None:
    if proposal.version != expected:
        raise PreconditionFailed(
            f"proposal {proposal.id} is at version {proposal.version}, not {expected}: "
            "someone changed it since you read it; read it again and retry"
        )


def _swap(
    session: Session,
    proposal: Proposal,
    expected: int,
    who: Principal,
    action: str,
    to_status: str,
    comment: str | None,
    values: dict | None = None,
) -> None:
    """Compare-and-set: only one of two writers holding the same version wins."""
    result = session.execute(
        update(Proposal)
        .where(Proposal.id == proposal.id, Proposal.version == expected)
        .values(version=expected + 1, status=to_status, updated=now(), **(values or {}))
    )
    if result.rowcount != 1:
        session.rollback()
        fresh = _get(session, proposal.id)
        _check_version(fresh, expected)
        raise PreconditionFailed(f"proposal {proposal.id} changed while you acted; retry")
    session.add(
        Event(
            target="proposal",
            target_id=proposal.id,
            version=expected + 1,
            actor=who.name,
            action=action,
            from_status=proposal.status,
            to_status=to_status,
            comment=comment,
        )
    )
    session.commit()


def act(
    store: Store,
    who: Principal,
    proposal_id: int,
    action: str,
    expected_version: int,
    comment: str | None = None,
) -> Proposal:
    """A review action (coordinators), or an owner's comment or withdrawal."""
    with store.session() as session:
        proposal = _get(session, proposal_id)
        owner = who.role == "owner" and who.register_id == proposal.register_id
        reviewer = who.role in ("coordinator", "admin")
        if action == "withdraw":
            if not (owner or who.role == "admin"):
                raise Forbidden("only the register's owner can withdraw its proposal")
            to_status = "withdrawn"
        elif action in REVIEW_ACTIONS:
            if action == "comment" and not (owner or reviewer):
                raise Forbidden("only coordinators and the register's owner can comment")
            if action != "comment" and not reviewer:
                raise Forbidden(f"only coordinators can {action.replace('_', ' ')}")
            to_status = REVIEW_ACTIONS[action] or proposal.status
            if action == "comment" and reviewer and proposal.status == "submitted":
                to_status = "in_review"
        else:
            allowed = ", ".join([*REVIEW_ACTIONS, "withdraw"])
            raise Conflict(f"unknown action {action!r}; expected one of {allowed}")
        _check_version(proposal, expected_version)
        if proposal.status in FINAL:
            raise Conflict(f"proposal {proposal_id} is {proposal.status}; it cannot change now")
        if action in ("request_changes", "reject") and not (comment or "").strip():
            raise Conflict(f"{action.replace('_', ' ')} needs a comment saying why")
        _swap(session, proposal, expected_version, who, action, to_status, comment)
        return _get(session, proposal_id)


def revise(
    store: Store, who: Principal, proposal_id: int, expected_version: int, draft: ProposalDraft
) -> Proposal:
    """The owner's new version of the proposed variable (after changes were asked for)."""
    with store.session() as session:
        proposal = _get(session, proposal_id)
        may_revise(who, proposal.register_id)
        if draft.register_id != proposal.register_id:
            raise Conflict("a revision cannot move the proposal to another register")
        _check_version(proposal, expected_version)
        if proposal.status in FINAL:
            raise Conflict(f"proposal {proposal_id} is {proposal.status}; it cannot change now")
        to_status = "submitted" if proposal.status == "submitted" else "in_review"
        values = {
            "variable_id": draft.variable_id,
            "kind": draft.kind,
            "variable": json.dumps(draft.variable, ensure_ascii=False, sort_keys=True),
            "value_set": json.dumps(draft.value_set, ensure_ascii=False, sort_keys=True)
            if draft.value_set
            else None,
            "reuse": json.dumps(draft.reuse, ensure_ascii=False),
        }
        if draft.rationale is not None:
            values["rationale"] = draft.rationale
        _swap(
            session, proposal, expected_version, who, "revise", to_status, draft.rationale, values
        )
        return _get(session, proposal_id)


def mark_exported(store: Store, proposal_ids: list[int]) -> None:
    if not proposal_ids:
        return
    with store.session() as session:
        session.execute(
            update(Proposal).where(Proposal.id.in_(proposal_ids)).values(exported=now())
        )
        session.commit()


def accepted_unexported(store: Store) -> list[Proposal]:
    with store.session() as session:
        query = (
            select(Proposal)
            .where(Proposal.status == "accepted", Proposal.exported.is_(None))
            .order_by(Proposal.id)
        )
        return list(session.exec(query))
