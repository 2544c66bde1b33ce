"""EHR bindings of a register and the coverage measure (EHR-bound / key register /
derived / manual per form), read from the index like the rest of the catalogue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from regcat.api.deps import AppState, state
from regcat.api.http import dumps, error, responses
from regcat.api.routes.catalogue import Ident, _register_row, read

router = APIRouter(responses=responses(304, 400, 404))


@router.get(
    "/registers/{register_id}/ehr-bindings",
    summary="A register's EHR bindings: which FHIR R4 resource and element fill a variable",
)
async def ehr_bindings(request: Request, register_id: Ident, st: AppState = Depends(state)):
    _register_row(st, register_id)
    row = (
        st.reader.db()
        .execute("SELECT data FROM ehr_bindings WHERE register_id = ?", (register_id,))
        .fetchone()
    )
    if row is None:
        raise error(404, f"register {register_id!r} has no EHR bindings")
    return read(request, st, row[0].encode())


@router.get("/coverage", summary="Per form: the share of variables EHR-bound, fetched, or manual")
def coverage(
    request: Request,
    register: Annotated[
        str | None, Query(max_length=300, description="Only this register.")
    ] = None,
    st: AppState = Depends(state),
):
    from regcat.ehr.coverage import coverage as measure
    from regcat.ehr.coverage import totals

    if register is not None:
        _register_row(st, register)

    def make() -> bytes:
        rows = measure(st.reader.catalogue(), register)
        return dumps({"forms": [r.to_dict() for r in rows], "total": totals(rows)})

    return read(request, st, st.reader.derived(f"coverage:{register or ''}", make))
