"""What every importer returns. Importers read a source file and return model
objects; they never write. The CLI merges the result into the catalogue."""

from __future__ import annotations

from dataclasses import dataclass, field

from regcat.generated.model import Form, ValueSet, Variable


@dataclass
class ImportResult:
    """Forms, variables and value sets read from one source file of one register.

    `warnings` are one-line messages naming file, row and field, for things the
    importer kept but a curator should look at (also recorded on the variable as
    `import_flags`)."""

    register_id: str
    source: str
    forms: list[Form] = field(default_factory=list)
    variables: list[Variable] = field(default_factory=list)
    value_sets: list[ValueSet] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
