"""Decisions on candidate mappings (from `regcat suggest --write`). The candidate lives
in the index; the decision, its version and its history live here until
`regcat proposals export` writes approved mappings into the catalogue."""

from __future__ import annotations

import hashlib

from sqlalchemy import update
from sqlmodel import select

from regcat.store.db import Store
from regcat.store.errors import Conflict, Forbidden, PreconditionFailed
from regcat.store.tables import Event, MappingDecision, now
from regcat.store.users import Principal

ACTIONS = {"comment": None, "approve": "approved", "reject": "rejected"}


def candidate_key(source_file: str, subject: str, predicate: str, obj: str) -> str:
    """A stable id for a candidate that has no record_id: the same row in the same set
    keeps its id across rebuilds."""
    text = "\t".join((source_file, subject, predicate, obj))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def etag(key: str, version: int) -> str:
    return f'"mapping-{key}-v{version}"'


def decisions(store: Store, keys: list[str] | None = None) -> dict[str, MappingDecision]:
    with store.session() as session:
        query = select(MappingDecision)
        if keys is not None:
            query = query.where(MappingDecision.key.in_(keys))
        return {d.key: d for d in session.exec(query)}


def history(store: Store, key: str) -> list[Event]:
    with store.session() as session:
        decision = session.exec(select(MappingDecision).where(MappingDecision.key == key)).first()
        if decision is None:
            return []
        query = (
            select(Event)
            .where(Event.target == "mapping", Event.target_id == decision.id)
            .order_by(Event.id)
        )
        return list(session.exec(query))


def may_review(who: Principal) -> None:
    if who.role not in ("coordinator", "admin"):
        raise Forbidden("only coordinators can review candidate mappings")


def act(
    store: Store,
    who: Principal,
    candidate: dict,
    action: str,
    expected_version: int,
    comment: str | None = None,
) -> MappingDecision:
    """Approve, reject or comment on a candidate (coordinators and admins).
    `candidate`: key, file, subject_id, predicate_id, object_id as the index has them."""
    may_review(who)
    if action not in ACTIONS:
        raise Conflict(f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
    if action == "reject" and not (comment or "").strip():
        raise Conflict("reject needs a comment saying why")
    key = candidate["key"]
    with store.session() as session:
        decision = session.exec(select(MappingDecision).where(MappingDecision.key == key)).first()
        current = decision.version if decision is not None else 0
        status = decision.status if decision is not None else "candidate"
        if current != expected_version:
            raise PreconditionFailed(
                f"candidate {key} is at version {current}, not {expected_version}: someone "
                "reviewed it since you read it; read it again and retry"
            )
        if status != "candidate":
            raise Conflict(f"candidate {key} is {status} already")
        to_status = ACTIONS[action] or status
        if decision is None:
            # The first decision inserts the row; the unique key makes a concurrent
            # first decision fail instead of both winning.
            decision = MappingDecision(
                key=key,
                subject_id=candidate["subject_id"],
                predicate_id=candidate["predicate_id"],
                object_id=candidate["object_id"],
                source_file=candidate["file"],
                status=to_status,
                reviewer=who.name,
                comment=comment,
            )
            session.add(decision)
            try:
                session.flush()
            except Exception:
                session.rollback()
                raise PreconditionFailed(
                    f"candidate {key} was reviewed by someone else at the same time; retry"
                ) from None
        else:
            result = session.execute(
                update(MappingDecision)
                .where(MappingDecision.id == decision.id, MappingDecision.version == current)
                .values(
                    version=current + 1,
                    status=to_status,
                    reviewer=who.name,
                    comment=comment,
                    updated=now(),
                )
            )
            if result.rowcount != 1:
                session.rollback()
                raise PreconditionFailed(f"candidate {key} changed while you acted; retry")
        session.add(
            Event(
                target="mapping",
                target_id=decision.id,
                version=current + 1,
                actor=who.name,
                action=action,
                from_status=status,
                to_status=to_status,
                comment=comment,
            )
        )
        session.commit()
        return session.exec(select(MappingDecision).where(MappingDecision.key == key)).one()


def decided_unexported(store: Store) -> list[MappingDecision]:
    with store.session() as session:
        query = (
            select(MappingDecision)
            .where(MappingDecision.status != "candidate", MappingDecision.exported.is_(None))
            .order_by(MappingDecision.id)
        )
        return list(session.exec(query))


def mark_exported(store: Store, ids: list[int]) -> None:
    if not ids:
        return
    with store.session() as session:
        session.execute(
            update(MappingDecision).where(MappingDecision.id.in_(ids)).values(exported=now())
        )
        session.commit()
