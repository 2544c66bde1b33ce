"""The catalogue facade: load a catalogue directory once, validate it, and serve its
content to the index, the reports and the CLI."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from regcat.errors import Finding, RegcatError
from regcat.generated.model import (
    CodeSystem,
    EhrBindingSet,
    Form,
    Instrument,
    Mapping,
    MappingSet,
    Register,
    ValueSet,
    Variable,
)
from regcat.io import YamlDocument
from regcat.layout import ContentFile, content_files
from regcat.load import FileResult, Symbols, load_file, read_document
from regcat.validate import check_file, check_references

# Below this much content, starting worker processes costs more than it saves.
_PARALLEL_BYTES = 4_000_000


@dataclass
class FileSummary:
    """What validation needs to keep of a file: no model objects, so it pickles cheaply."""

    file: ContentFile
    digest: str
    findings: list[Finding]
    symbols: Symbols
    error: str | None = None  # the file could not be read or parsed at all
    _doc: YamlDocument | None = field(default=None, repr=False)

    def line_of(self, key: str | None) -> int | None:
        if key is None or self.file.kind == "mappings":
            return None
        if self._doc is None:
            try:
                self._doc = read_document(self.file)
            except RegcatError:
                return None
        return self._doc.line_of(key)


def _summarise(file: ContentFile) -> FileSummary:
    # Parsing builds millions of small objects that all stay alive until the file is
    # checked; the cyclic collector only burns time on them (~15 % of validation).
    enabled = gc.isenabled()
    gc.disable()
    try:
        result = check_file(load_file(file))
    except RegcatError as exc:
        return FileSummary(file, "", [], Symbols(), error=exc.render())
    finally:
        if enabled:
            gc.enable()
    return FileSummary(file, result.digest, result.findings, result.symbols)


@dataclass
class ValidationReport:
    files: int
    findings: list[Finding]
    errors: list[str]  # unusable files

    @property
    def exit_code(self) -> int:
        if self.errors:
            return 2
        return 1 if any(f.severity == "error" for f in self.findings) else 0

    def to_json(self) -> dict:
        return {
            "files": self.files,
            "errors": len([f for f in self.findings if f.severity == "error"]),
            "warnings": len([f for f in self.findings if f.severity == "warning"]),
            "unusable": self.errors,
            "findings": [f.to_json() for f in self.findings],
        }


def _map(function, files: list[ContentFile], jobs: int | None) -> Iterator:
    size = sum(f.path.stat().st_size for f in files)
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    if workers <= 1 or size < _PARALLEL_BYTES or len(files) < 2:
        return map(function, files)
    # Largest files first, so one big register does not finish last on its own.
    ordered = sorted(files, key=lambda f: -f.path.stat().st_size)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        done = dict(zip(ordered, pool.map(function, ordered, chunksize=1), strict=True))
    return iter(done[f] for f in files)


def validate_catalogue(root: Path, jobs: int | None = None) -> ValidationReport:
    """Load every file, check it, resolve references across files."""
    files = content_files(root)
    summaries = list(_map(_summarise, files, jobs))
    usable = [s for s in summaries if s.error is None]
    findings = [f for s in usable for f in s.findings]
    findings += check_references(usable)  # type: ignore[arg-type]
    findings.sort(key=Finding.sort_key)
    return ValidationReport(len(files), findings, [s.error for s in summaries if s.error])


@dataclass
class Catalogue:
    """All content, indexed by id. Build it with `Catalogue.load`."""

    root: Path
    registers: dict[str, Register] = field(default_factory=dict)
    variables: dict[str, Variable] = field(default_factory=dict)
    value_sets: dict[str, ValueSet] = field(default_factory=dict)
    code_systems: dict[str, CodeSystem] = field(default_factory=dict)
    instruments: dict[str, Instrument] = field(default_factory=dict)
    mapping_sets: dict[str, MappingSet] = field(default_factory=dict)
    ehr_bindings: dict[str, EhrBindingSet] = field(default_factory=dict)  # by register
    sources: dict[str, str] = field(default_factory=dict)  # entity id -> file (relative)

    @classmethod
    def from_results(cls, root: Path, results: Iterable[FileResult]) -> Catalogue:
        cat = cls(root)
        for result in results:
            cat._add(result)
        return cat

    @classmethod
    def load(cls, root: Path) -> Catalogue:
        """Load without validation beyond the schema (use validate_catalogue for that).
        Raises RegcatError on a file that cannot be parsed."""
        return cls.from_results(root, (load_file(f) for f in content_files(root)))

    @classmethod
    def from_index(cls, index_dir: Path) -> Catalogue:
        """The catalogue as the last successful `regcat build` indexed it: what the
        reports and generators read, so nothing parses the YAML twice."""
        from regcat.index import open_index

        db = open_index(index_dir)
        try:
            root = db.execute("SELECT value FROM meta WHERE key='catalogue'").fetchone()
            cat = cls(Path(root[0]) if root else index_dir)
            value_sets: dict[str, list[ValueSet]] = {}
            for row in db.execute("SELECT file, data FROM value_sets"):
                vs = ValueSet.model_validate_json(row["data"])
                cat.value_sets[vs.id] = vs
                value_sets.setdefault(row["file"], []).append(vs)
            variables: dict[str, list[Variable]] = {}
            for row in db.execute("SELECT register_id, data FROM variables ORDER BY rowid"):
                variable = Variable.model_validate_json(row["data"])
                cat.variables[variable.id] = variable
                variables.setdefault(row["register_id"], []).append(variable)
            for row in db.execute("SELECT id, file, data FROM registers ORDER BY id"):
                reg = Register.model_validate_json(row["data"])
                reg.variables = variables.get(reg.id, [])
                reg.value_sets = value_sets.get(row["file"], [])
                cat.registers[reg.id] = reg
                cat.sources[reg.id] = row["file"]
            for row in db.execute("SELECT data FROM code_systems ORDER BY id"):
                cs = CodeSystem.model_validate_json(row["data"])
                cat.code_systems[cs.id] = cs
            for row in db.execute("SELECT data FROM instruments ORDER BY id"):
                instrument = Instrument.model_validate_json(row["data"])
                cat.instruments[instrument.id] = instrument
            mappings: dict[str, list[Mapping]] = {}
            for row in db.execute("SELECT file, data FROM mappings ORDER BY rowid"):
                mapping = Mapping.model_validate_json(row["data"])
                mappings.setdefault(row["file"], []).append(mapping)
            for row in db.execute("SELECT file, data FROM mapping_sets ORDER BY file"):
                ms = MappingSet.model_validate_json(row["data"])
                ms.mappings = mappings.get(row["file"], [])
                cat.mapping_sets[row["file"]] = ms
            for row in db.execute("SELECT register_id, file, data FROM ehr_bindings ORDER BY file"):
                cat.ehr_bindings[row["register_id"]] = EhrBindingSet.model_validate_json(
                    row["data"]
                )
                cat.sources[f"ehr:{row['register_id']}"] = row["file"]
        finally:
            db.close()
        return cat

    def _add(self, result: FileResult) -> None:
        obj, rel = result.obj, result.file.rel
        if obj is None:
            return
        kind = result.file.kind
        if kind == "register":
            self.registers[obj.id] = obj
            self.sources[obj.id] = rel
            for variable in obj.variables or []:
                self.variables.setdefault(variable.id, variable)
            for value_set in obj.value_sets or []:
                self.value_sets.setdefault(value_set.id, value_set)
        elif kind == "valueset":
            self.value_sets.setdefault(obj.id, obj)
            self.sources[obj.id] = rel
        elif kind == "codesystems":
            for system in obj:
                self.code_systems.setdefault(system.id, system)
        elif kind == "instrument":
            self.instruments.setdefault(obj.id, obj)
            self.sources[obj.id] = rel
        elif kind == "mappings":
            self.mapping_sets[rel] = obj
        elif kind == "ehr":
            self.ehr_bindings.setdefault(obj.register_id, obj)
            self.sources[f"ehr:{obj.register_id}"] = rel

    def forms(self, register_id: str) -> list[Form]:
        return list(self.registers[register_id].forms or [])

    def stats(self) -> dict:
        registers = []
        for reg in sorted(self.registers.values(), key=lambda r: r.id):
            variables = reg.variables or []
            registers.append(
                {
                    "id": reg.id,
                    "name": reg.name.nb if reg.name else None,
                    "key_register": bool(reg.key_register),
                    "forms": len(reg.forms or []),
                    "variables": len(variables),
                    "value_sets": len(reg.value_sets or []),
                    "codings": sum(len(v.codings or []) for v in variables),
                }
            )
        mappings = sum(len(ms.mappings or []) for ms in self.mapping_sets.values())
        totals = {
            "registers": len(self.registers),
            "key_registers": sum(1 for r in self.registers.values() if r.key_register),
            "forms": sum(r["forms"] for r in registers),
            "variables": len(self.variables),
            "value_sets": len(self.value_sets),
            "codes": sum(len(vs.codes or []) for vs in self.value_sets.values()),
            "codings": sum(r["codings"] for r in registers),
            "code_systems": len(self.code_systems),
            "instruments": len(self.instruments),
            "mapping_sets": len(self.mapping_sets),
            "mappings": mappings,
        }
        return {"totals": totals, "registers": registers}
