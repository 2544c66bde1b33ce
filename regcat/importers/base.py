"""What every importer returns. Importers read a source file and return model
objects; they never write. The CLI merges the result into the catalogue."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from regcat.errors import RegcatError
from regcat.generated.model import Form, ValueSet, Variable

_REGISTER_ID = re.compile(r"^[a-z][a-z0-9_]*$")


def check_register_id(register_id: str | None) -> str:
    """The register id an import goes into, or RegcatError: it becomes the file name and
    the prefix of every variable id, so it must fit the schema's id pattern."""
    if not _REGISTER_ID.match(register_id or ""):
        raise RegcatError(
            f"register id {register_id!r} must be lower case letters, digits and '_' "
            "(starting with a letter)",
            field="register",
        )
    return register_id


@dataclass
class ImportResult:
    """Forms, variables and value sets read from one source file of one register.

    `warnings` are one-line messages naming file, row and field, for things the
    importer kept but a curator should look at (also recorded on the variable as
    `import_flags`)."""

    register_id: str
    source: str
    # The codebook kind (klokebok, mrs, ssb, …), written to each variable's
    # `imported_from`. When `complete`, the file lists every variable of that kind in
    # the register, so a re-import retires those it no longer lists; a partial source
    # (one SSB variable per file) only adds and updates.
    scope: str = ""
    complete: bool = True
    forms: list[Form] = field(default_factory=list)
    variables: list[Variable] = field(default_factory=list)
    value_sets: list[ValueSet] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
