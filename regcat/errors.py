"""Errors and findings that users see: one line naming file, row/line and field."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2


def _where(path: str | Path | None, line: int | None, fieldname: str | None) -> str:
    parts = []
    if path is not None:
        parts.append(str(path) + (f":{line}" if line is not None else ""))
    if fieldname:
        parts.append(f"field '{fieldname}'")
    return ": ".join(parts)


class RegcatError(Exception):
    """Input regcat cannot use (exit 2). The message is meant for the user as it is."""

    def __init__(
        self,
        message: str,
        path: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        super().__init__(self.render())

    def render(self) -> str:
        where = _where(self.path, self.line, self.field)
        return f"{where}: {self.message}" if where else self.message


@dataclass(frozen=True)
class Finding:
    """A problem in catalogue content, found by validation (exit 1)."""

    path: str
    line: int | None
    entity: str
    message: str
    rule: str = field(default="", compare=False)
    severity: str = field(default="error", compare=False)

    def sort_key(self) -> tuple:
        # Findings without a line (cross-file references) sort first within their file.
        return (self.path, self.line or 0, self.entity, self.message)

    def render(self) -> str:
        loc = f"{self.path}:{self.line}" if self.line else self.path
        return f"{loc}: {self.entity}: {self.message}"

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "line": self.line,
            "id": self.entity,
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
        }
