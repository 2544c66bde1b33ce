"""`regcat build`: one index for the API, the site, the reports and the generators.

The index is a folder: `regcat.sqlite` (tables + FTS5 over folded nb/en labels,
definitions and codes), `rdf/` (one N-Triples graph per content file, which
`regcat.rdf.open_store` loads into a pyoxigraph store for SPARQL) and `turtle/` (the
same graphs as Turtle, for people and other tools).

Why not an on-disk pyoxigraph store: updating one register's graph in RocksDB costs
~1-3 s (remove_graph + load + flush) and the store holds a process-wide lock, so a
server reading it would block `regcat build`. Per-file graphs rebuild in milliseconds
and load into an in-memory store at ~250k triples/s. The build is incremental: a file
whose content hash is unchanged is not parsed again; its symbols and findings are
read back from the index so the cross-file checks still see the whole catalogue.
Nothing is written when the catalogue has errors.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from regcat.errors import Finding, RegcatError
from regcat.generated.model import (
    CodeSystem,
    EhrBindingSet,
    MappingSet,
    Register,
    ValueSet,
    Variable,
)
from regcat.io import digest, read_bytes, write_text_atomic
from regcat.layout import ContentFile, content_files
from regcat.load import FileResult, load_file
from regcat.rdf import file_triples, to_turtle
from regcat.text import fold
from regcat.validate import (
    check_file,
    check_references,
    duplicate_finding,
    reference_finding,
    resolves,
)

INDEX_VERSION = "8"
DB_NAME = "regcat.sqlite"

DDL = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE files (path TEXT PRIMARY KEY, kind TEXT, digest TEXT, findings TEXT);
-- What each file defines and refers to: an incremental build checks the changed
-- files' references against these with indexed look-ups instead of reloading all.
CREATE TABLE defines (kind TEXT, id TEXT, file TEXT);
CREATE INDEX defines_key ON defines (kind, id);
CREATE INDEX defines_file ON defines (file);
CREATE TABLE refers (kind TEXT, id TEXT, entity TEXT, field TEXT, file TEXT);
CREATE INDEX refers_key ON refers (kind, id);
CREATE INDEX refers_file ON refers (file);
CREATE TABLE registers (id TEXT PRIMARY KEY, file TEXT, name_nb TEXT, name_en TEXT,
                        kind TEXT, key_register INTEGER, platform TEXT, data TEXT);
CREATE TABLE forms (register_id TEXT, id TEXT, file TEXT, name_nb TEXT, name_en TEXT,
                    data TEXT, PRIMARY KEY (register_id, id));
CREATE TABLE variables (id TEXT PRIMARY KEY, file TEXT, register_id TEXT, form TEXT,
                        label_nb TEXT, label_en TEXT, datatype TEXT, value_set TEXT,
                        topic TEXT, status TEXT, collection_mode TEXT, sensitivity TEXT,
                        data TEXT);
CREATE INDEX variables_register ON variables (register_id, form);
CREATE INDEX variables_file ON variables (file);
-- Covers what regcat.search loads once per index generation (the facet values in id
-- order): a scan of this index instead of every row's JSON.
CREATE INDEX variables_search ON variables (id, register_id, topic, status, datatype,
                                           collection_mode);
CREATE TABLE value_sets (id TEXT PRIMARY KEY, file TEXT, name_nb TEXT, data TEXT);
CREATE TABLE codes (value_set TEXT, file TEXT, code TEXT, label_nb TEXT, label_en TEXT,
                    meaning TEXT);
CREATE INDEX codes_value_set ON codes (value_set);
CREATE INDEX codes_meaning ON codes (meaning);
CREATE INDEX codes_file ON codes (file);
CREATE INDEX value_sets_file ON value_sets (file);
CREATE TABLE codings (variable_id TEXT, file TEXT, system TEXT, code TEXT, display TEXT);
CREATE INDEX codings_code ON codings (system, code);
CREATE INDEX codings_file ON codings (file);
CREATE TABLE code_systems (id TEXT PRIMARY KEY, file TEXT, data TEXT);
CREATE TABLE instruments (id TEXT PRIMARY KEY, file TEXT, data TEXT);
CREATE TABLE mappings (file TEXT, record_id TEXT, subject_id TEXT, predicate_id TEXT,
                       object_id TEXT, justification TEXT, confidence REAL, data TEXT);
CREATE INDEX mappings_file ON mappings (file);
CREATE TABLE mapping_sets (file TEXT PRIMARY KEY, id TEXT, data TEXT);
CREATE TABLE ehr_bindings (file TEXT PRIMARY KEY, register_id TEXT, data TEXT);
CREATE VIRTUAL TABLE variables_fts USING fts5 (
    id UNINDEXED, file UNINDEXED, label, definition, codes,
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3 4'
);
"""

ENTITY_TABLES = (
    "registers",
    "forms",
    "variables",
    "value_sets",
    "codes",
    "codings",
    "code_systems",
    "instruments",
    "mappings",
    "mapping_sets",
    "ehr_bindings",
    "variables_fts",
)


@dataclass
class BuildReport:
    index: Path
    files: int
    parsed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0
    written: bool = False

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]


def _json(model) -> str:
    return model.model_dump_json(exclude_none=True)


def _text(value) -> tuple[str | None, str | None]:
    return (value.nb, value.en) if value is not None else (None, None)


class _Rows:
    """Rows for every table, gathered before anything is written."""

    def __init__(self) -> None:
        self.tables: dict[str, list[tuple]] = {name: [] for name in ENTITY_TABLES}

    def add_register(self, rel: str, reg: Register) -> None:
        nb, en = _text(reg.name)
        shell = reg.model_copy(update={"variables": None, "value_sets": None})
        self.tables["registers"].append(
            (reg.id, rel, nb, en, reg.kind, int(bool(reg.key_register)), reg.platform, _json(shell))
        )
        for form in reg.forms or []:
            fnb, fen = _text(form.name)
            self.tables["forms"].append((reg.id, form.id, rel, fnb, fen, _json(form)))
        value_sets = {vs.id: vs for vs in reg.value_sets or []}
        for variable in reg.variables or []:
            self.add_variable(rel, reg.id, variable, value_sets.get(variable.value_set or ""))
        for vs in reg.value_sets or []:
            self.add_value_set(rel, vs)

    def add_variable(self, rel: str, reg_id: str, v: Variable, vs: ValueSet | None) -> None:
        nb, en = _text(v.label)
        v_dump = v.model_copy(update={"register_id": reg_id})
        self.tables["variables"].append(
            (v.id, rel, reg_id, v.form, nb, en, v.datatype, v.value_set, v.topic, v.status)
            + (v.collection_mode, v.sensitivity, _json(v_dump))
        )
        codes = []
        for coding in v.codings or []:
            self.tables["codings"].append((v.id, rel, coding.system, coding.code, coding.display))
            codes += [coding.code, f"{coding.system}:{coding.code}"]
        if v.concept:
            codes.append(v.concept)
        if vs is not None:
            for pv in vs.codes or []:
                if pv.meaning:
                    codes.append(pv.meaning)
        dnb, den = _text(v.definition)
        self.tables["variables_fts"].append(
            (
                v.id,
                rel,
                fold(" ".join(filter(None, (nb, en, v.id.split(":", 1)[1])))),
                fold(" ".join(filter(None, (dnb, den)))),
                " ".join(codes),
            )
        )

    def add_value_set(self, rel: str, vs: ValueSet) -> None:
        nb, _ = _text(vs.name)
        self.tables["value_sets"].append((vs.id, rel, nb, _json(vs)))
        for pv in vs.codes or []:
            lnb, len_ = _text(pv.label)
            self.tables["codes"].append((vs.id, rel, pv.code, lnb, len_, pv.meaning))

    def add(self, result: FileResult) -> None:
        rel, obj = result.file.rel, result.obj
        if isinstance(obj, Register):
            self.add_register(rel, obj)
        elif isinstance(obj, ValueSet):
            self.add_value_set(rel, obj)
        elif isinstance(obj, MappingSet):
            shell = obj.model_copy(update={"mappings": None})
            self.tables["mapping_sets"].append((rel, str(obj.mapping_set_id), _json(shell)))
            for m in obj.mappings or []:
                self.tables["mappings"].append(
                    (rel, m.record_id, m.subject_id, m.predicate_id, m.object_id)
                    + (m.mapping_justification, m.confidence, _json(m))
                )
        elif isinstance(obj, list):
            for cs in obj:
                self.tables["code_systems"].append((cs.id, rel, _json(cs)))
        elif isinstance(obj, EhrBindingSet):
            self.tables["ehr_bindings"].append((rel, obj.register_id, _json(obj)))
        elif obj is not None:
            self.tables["instruments"].append((obj.id, rel, _json(obj)))


def _incremental_references(
    db: sqlite3.Connection, parsed: list[FileResult], stale: set[str]
) -> list[Finding]:
    """The cross-file checks of `check_references`, for changed files against the
    unchanged rest of an index that was valid when it was written."""

    def elsewhere(key: tuple[str, str]) -> str | None:
        rows = db.execute("SELECT file FROM defines WHERE kind = ? AND id = ?", key)
        return next((file for (file,) in rows if file not in stale), None)

    fresh: dict[tuple[str, str], str] = {}
    findings: list[Finding] = []
    for result in parsed:
        for key in result.symbols.defines:
            first = fresh.get(key) or elsewhere(key)
            if first is None:
                fresh[key] = result.file.rel
            else:
                findings.append(
                    duplicate_finding(result.file.rel, result.line_of(key[1]), key, first)
                )

    def defined(key: tuple[str, str]) -> bool:
        return key in fresh or elsewhere(key) is not None

    for result in parsed:
        for kind, ident, entity, fieldname in result.symbols.refers:
            if not resolves(kind, ident, defined):
                line = result.line_of(entity)
                findings.append(
                    reference_finding(result.file.rel, line, kind, ident, entity, fieldname)
                )
    # Ids the changed or removed files defined before and no longer do: references to
    # them from unchanged files are now broken.
    marks = ",".join("?" * len(stale))
    before = db.execute(
        f"SELECT DISTINCT kind, id FROM defines WHERE file IN ({marks})", list(stale)
    )
    for kind, ident in [tuple(row) for row in before]:
        if defined((kind, ident)):
            continue
        kinds = ("variable", "term") if kind == "variable" else (kind,)
        for ref_kind in kinds:
            for entity, fieldname, file in db.execute(
                "SELECT entity, field, file FROM refers WHERE kind = ? AND id = ?",
                (ref_kind, ident),
            ):
                if file not in stale and not resolves(ref_kind, ident, defined):
                    findings.append(
                        reference_finding(file, None, ref_kind, ident, entity, fieldname)
                    )
    return findings


def _digest(file: ContentFile) -> str:
    if file.kind == "mappings":  # the TSV and its transformation side file together
        from regcat.sssom import file_digest

        return file_digest(file)
    return digest(read_bytes(file.path))


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def open_index(index_dir: Path) -> sqlite3.Connection:
    """Open a built index for reading."""
    path = index_dir / DB_NAME
    if not path.exists():
        raise RegcatError("no index here; run `regcat build` first", index_dir)
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    return db


def _usable(index_dir: Path) -> bool:
    """An index this version of regcat can update in place."""
    db_path = index_dir / DB_NAME
    if not db_path.is_file():
        return False
    try:
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            version = db.execute("SELECT value FROM meta WHERE key='version'").fetchone()
        finally:
            db.close()
    except sqlite3.DatabaseError:
        return False
    return version is not None and version[0] == INDEX_VERSION


def _open(index_dir: Path) -> tuple[sqlite3.Connection, dict[str, tuple]]:
    db_path = index_dir / DB_NAME
    fresh = not db_path.exists()
    index_dir.mkdir(parents=True, exist_ok=True)
    db = _connect(db_path)
    if fresh:
        db.executescript(DDL)
        db.execute("INSERT INTO meta VALUES ('version', ?)", (INDEX_VERSION,))
    known = {row[0]: row[1:] for row in db.execute("SELECT path, digest, findings FROM files")}
    return db, known


def _findings_json(findings: list[Finding]) -> str:
    return json.dumps([[f.path, f.line, f.entity, f.message, f.rule, f.severity] for f in findings])


def _findings_from_json(text: str) -> list[Finding]:
    return [Finding(*row) for row in json.loads(text)]


def build_index(
    root: Path,
    index_dir: Path,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> BuildReport:
    """Bring the index up to date. A full build (forced, a new or outdated index, or
    changed code systems) is made in a folder beside the index and swapped in only when
    it succeeds, so a failed build never leaves less than there was."""
    if index_dir.exists() and not index_dir.is_dir():
        raise RegcatError("--index expects a directory, this is a file", index_dir)
    if force or not _usable(index_dir):
        return _full_build(root, index_dir, progress)
    report = _build(root, index_dir, progress, incremental=True)
    if report is None:  # the code systems changed: every graph's IRIs may change
        return _full_build(root, index_dir, progress)
    return report


def _full_build(
    root: Path, index_dir: Path, progress: Callable[[int, int], None] | None
) -> BuildReport:
    staging = index_dir.with_name(f".{index_dir.name}.building-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        report = _build(root, staging, progress, incremental=False)
        assert report is not None
        if not report.written:
            return report
        retired = index_dir.with_name(f".{index_dir.name}.old-{os.getpid()}")
        if index_dir.exists():
            os.replace(index_dir, retired)
        os.replace(staging, index_dir)
        shutil.rmtree(retired, ignore_errors=True)
        report.index = index_dir
        return report
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _build(
    root: Path,
    index_dir: Path,
    progress: Callable[[int, int], None] | None,
    incremental: bool,
) -> BuildReport | None:
    started = time.perf_counter()
    files = content_files(root)
    db, known = _open(index_dir)
    report = BuildReport(index_dir, len(files))
    try:
        raws = {f.rel: _digest(f) for f in files}
        codesystems_changed = any(
            f.kind == "codesystems" and known.get(f.rel, (None,))[0] != raws[f.rel] for f in files
        )
        if codesystems_changed and incremental:
            return None
        changed = [f for f in files if known.get(f.rel, (None,))[0] != raws[f.rel]]
        current = {f.rel for f in files}
        report.removed = sorted(set(known) - current)

        parsed: list[FileResult] = []
        for done, file in enumerate(changed, start=1):
            parsed.append(check_file(load_file(file)))
            if progress:
                progress(done, len(changed))
        report.parsed = [r.file.rel for r in parsed]
        fresh = {r.file.rel for r in parsed}
        findings = [f for r in parsed for f in r.findings]
        # Unchanged files keep their own findings (warnings: an index is only written
        # without errors, so none of them had a broken reference either).
        findings += [
            f
            for rel, row in known.items()
            if rel in current and rel not in fresh
            for f in _findings_from_json(row[1])
        ]
        if len(fresh) == len(files):
            findings += check_references(parsed)
        else:
            findings += _incremental_references(db, parsed, fresh | set(report.removed))
        report.findings = sorted(findings, key=Finding.sort_key)
        if report.errors:
            return report
        if not parsed and not report.removed:
            report.seconds = time.perf_counter() - started
            report.written = True
            return report
        _write(db, index_dir, root, parsed, report.removed)
        report.written = True
    finally:
        db.close()
    report.seconds = time.perf_counter() - started
    return report


def _code_systems(db: sqlite3.Connection, parsed: list[FileResult]) -> dict[str, CodeSystem]:
    systems = {
        row[0]: CodeSystem.model_validate_json(row[1])
        for row in db.execute("SELECT id, data FROM code_systems")
    }
    for result in parsed:
        if result.file.kind == "codesystems" and result.obj:
            systems.update({cs.id: cs for cs in result.obj})
    return systems


def _write(
    db: sqlite3.Connection,
    index_dir: Path,
    root: Path,
    parsed: list[FileResult],
    removed: list[str],
) -> None:
    rows = _Rows()
    for result in parsed:
        rows.add(result)
    systems = _code_systems(db, parsed)
    graphs = {r.file.rel: "\n".join(file_triples(r.obj, systems)) for r in parsed}

    # RDF first: each file's graph is written whole (temp file + rename), so if the
    # process dies before the SQL commit below, the next build simply does both again.
    for rel in removed:
        for folder, suffix in (("rdf", ".nt"), ("turtle", ".ttl")):
            (index_dir / folder / f"{rel}{suffix}").unlink(missing_ok=True)
    for rel, text in graphs.items():
        write_text_atomic(index_dir / "rdf" / f"{rel}.nt", text + "\n" if text else "")
        write_text_atomic(index_dir / "turtle" / f"{rel}.ttl", to_turtle(text))

    stale = [*removed, *(r.file.rel for r in parsed)]
    db.execute("BEGIN")
    try:
        # FTS5 cannot index `file`; its rows share the variables' rowids instead, so
        # they are found through the variables table's index, not by a full scan.
        db.executemany(
            "DELETE FROM variables_fts WHERE rowid IN (SELECT rowid FROM variables WHERE file = ?)",
            [(rel,) for rel in stale],
        )
        for table in ENTITY_TABLES:
            if table != "variables_fts":
                db.executemany(f"DELETE FROM {table} WHERE file = ?", [(rel,) for rel in stale])
        db.executemany("DELETE FROM files WHERE path = ?", [(rel,) for rel in stale])
        for table, values in rows.tables.items():
            if values and table != "variables_fts":
                marks = ",".join("?" * len(values[0]))
                db.executemany(f"INSERT INTO {table} VALUES ({marks})", values)
        db.executemany(
            "INSERT INTO variables_fts (rowid, id, file, label, definition, codes) "
            "VALUES ((SELECT rowid FROM variables WHERE id = ?1), ?1, ?2, ?3, ?4, ?5)",
            rows.tables["variables_fts"],
        )
        for table in ("defines", "refers"):
            db.executemany(f"DELETE FROM {table} WHERE file = ?", [(rel,) for rel in stale])
        db.executemany(
            "INSERT INTO files VALUES (?, ?, ?, ?)",
            [(r.file.rel, r.file.kind, r.digest, _findings_json(r.findings)) for r in parsed],
        )
        db.executemany(
            "INSERT INTO defines VALUES (?, ?, ?)",
            [(*key, r.file.rel) for r in parsed for key in r.symbols.defines],
        )
        db.executemany(
            "INSERT INTO refers VALUES (?, ?, ?, ?, ?)",
            [(*ref, r.file.rel) for r in parsed for ref in r.symbols.refers],
        )
        db.execute("INSERT OR REPLACE INTO meta VALUES ('catalogue', ?)", (str(root.resolve()),))
        # Names this state of the index: caches of it (regcat.search) are keyed on it.
        db.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (uuid.uuid4().hex,))
        db.execute(
            "INSERT OR REPLACE INTO meta VALUES ('built', ?)", (time.strftime("%Y-%m-%dT%H:%M:%S"),)
        )
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
