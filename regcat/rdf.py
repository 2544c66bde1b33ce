"""Catalogue content as RDF (N-Triples text, loaded into pyoxigraph and exported as
Turtle). Vocabulary: SKOS and Dublin Core where they fit, the schema's own
namespace (https://w3id.org/regcat/schema/) for the rest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from regcat.generated.model import (
    CodeSystem,
    Instrument,
    LocalizedText,
    MappingSet,
    Register,
    ValueSet,
    Variable,
)

BASE = "https://w3id.org/regcat/"
VOCAB = BASE + "schema/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCT = "http://purl.org/dc/terms/"
XSD = "http://www.w3.org/2001/XMLSchema#"

PREFIXES = {
    "regcat": VOCAB,
    "skos": SKOS,
    "dcterms": DCT,
    "xsd": XSD,
    "register": BASE + "register/",
    "variable": BASE + "variable/",
    "valueset": BASE + "valueset/",
}


def iri(kind: str, ident: str) -> str:
    return f"{BASE}{kind}/{quote(ident.replace(':', '/', 1), safe='/')}"


def _lit(value: str, lang: str | None = None, datatype: str | None = None) -> str:
    # json.dumps escapes quotes, backslashes, newlines and control characters exactly
    # as N-Triples' ECHAR/UCHAR rules allow; other characters stay as UTF-8.
    text = json.dumps(value, ensure_ascii=False)
    if lang:
        return f"{text}@{lang}"
    if datatype:
        return f"{text}^^<{datatype}>"
    return text


class _Triples:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, s: str, p: str, o: str) -> None:
        self.lines.append(f"<{s}> <{p}> {o} .")

    def node(self, s: str, p: str, o: str) -> None:
        self.add(s, p, f"<{o}>")

    def text(self, s: str, p: str, value: LocalizedText | None) -> None:
        if value is None:
            return
        if value.nb:
            self.add(s, p, _lit(value.nb, "nb"))
        if value.en:
            self.add(s, p, _lit(value.en, "en"))

    def plain(self, s: str, p: str, value: object) -> None:
        if value is None or value == "":
            return
        if isinstance(value, bool):
            self.add(s, p, _lit(str(value).lower(), datatype=XSD + "boolean"))
        elif isinstance(value, int):
            self.add(s, p, _lit(str(value), datatype=XSD + "integer"))
        else:
            self.add(s, p, _lit(str(value)))


def _code_iri(systems: dict[str, CodeSystem], system: str, code: str) -> str:
    cs = systems.get(system)
    if cs is not None and cs.uri_prefix:
        return str(cs.uri_prefix) + quote(code, safe="")
    return f"{BASE}code/{quote(system, safe='')}/{quote(code, safe='')}"


def _variable(t: _Triples, v: Variable, register: str, systems: dict[str, CodeSystem]) -> None:
    s = iri("variable", v.id)
    t.node(s, RDF_TYPE, VOCAB + "Variable")
    t.plain(s, DCT + "identifier", v.id)
    t.node(s, VOCAB + "register", iri("register", register))
    t.text(s, SKOS + "prefLabel", v.label)
    t.text(s, SKOS + "definition", v.definition)
    t.text(s, SKOS + "scopeNote", v.help_text)
    for name in ("datatype", "unit", "topic", "status", "collection_mode", "sensitivity", "form"):
        t.plain(s, VOCAB + name, getattr(v, name))
    for name in ("min_value", "max_value", "soft_min", "soft_max", "valid_from", "valid_to"):
        t.plain(s, VOCAB + name, getattr(v, name))
    t.plain(s, VOCAB + "required", v.required)
    if v.value_set:
        t.node(s, VOCAB + "value_set", iri("valueset", v.value_set))
    if v.superseded_by:
        t.node(s, DCT + "isReplacedBy", iri("variable", v.superseded_by))
    for coding in v.codings or []:
        t.node(s, VOCAB + "coding", _code_iri(systems, coding.system, coding.code))
    if v.concept:
        system, _, code = v.concept.partition(":")
        t.node(s, VOCAB + "concept", _code_iri(systems, system, code))


def _value_set(t: _Triples, vs: ValueSet, systems: dict[str, CodeSystem]) -> None:
    s = iri("valueset", vs.id)
    t.node(s, RDF_TYPE, SKOS + "ConceptScheme")
    t.plain(s, DCT + "identifier", vs.id)
    t.text(s, SKOS + "prefLabel", vs.name)
    for pv in vs.codes or []:
        c = f"{s}/{quote(pv.code, safe='')}"
        t.node(c, RDF_TYPE, SKOS + "Concept")
        t.node(c, SKOS + "inScheme", s)
        t.plain(c, SKOS + "notation", pv.code)
        t.text(c, SKOS + "prefLabel", pv.label)
        if pv.meaning:
            system, _, code = pv.meaning.partition(":")
            t.node(c, SKOS + "exactMatch", _code_iri(systems, system, code))


def register_triples(reg: Register, systems: dict[str, CodeSystem]) -> Iterator[str]:
    t = _Triples()
    s = iri("register", reg.id)
    t.node(s, RDF_TYPE, VOCAB + "Register")
    t.plain(s, DCT + "identifier", reg.id)
    t.text(s, DCT + "title", reg.name)
    t.text(s, DCT + "description", reg.description)
    for name in ("kind", "owner", "legal_basis", "consent_basis", "platform"):
        t.plain(s, VOCAB + name, getattr(reg, name))
    t.plain(s, VOCAB + "reporting_frequency", reg.reporting_frequency)
    t.plain(s, VOCAB + "key_register", reg.key_register)
    for form in reg.forms or []:
        f = iri("form", f"{reg.id}:{form.id}")
        t.node(f, RDF_TYPE, VOCAB + "Form")
        t.node(f, VOCAB + "register", s)
        t.text(f, DCT + "title", form.name)
    for variable in reg.variables or []:
        _variable(t, variable, reg.id, systems)
    for vs in reg.value_sets or []:
        _value_set(t, vs, systems)
    return iter(t.lines)


def file_triples(obj: object, systems: dict[str, CodeSystem]) -> list[str]:
    t = _Triples()
    if isinstance(obj, Register):
        return list(register_triples(obj, systems))
    if isinstance(obj, ValueSet):
        _value_set(t, obj, systems)
    elif isinstance(obj, Instrument):
        s = iri("instrument", obj.id)
        t.node(s, RDF_TYPE, VOCAB + "Instrument")
        t.text(s, DCT + "title", obj.name)
    elif isinstance(obj, MappingSet):
        for m in obj.mappings or []:
            subject = _term(m.subject_id, systems)
            obj_iri = _term(m.object_id, systems)
            predicate = SKOS + m.predicate_id.split(":", 1)[1]
            t.node(subject, predicate, obj_iri)
    elif isinstance(obj, list):  # code systems
        for cs in obj:
            s = iri("codesystem", cs.id)
            t.node(s, RDF_TYPE, VOCAB + "CodeSystem")
            t.text(s, DCT + "title", cs.name)
    return t.lines


def _term(curie: str, systems: dict[str, CodeSystem]) -> str:
    prefix, _, local = curie.partition(":")
    if prefix in systems:
        return _code_iri(systems, prefix, local)
    return iri("variable", curie)


def to_turtle(ntriples: str) -> str:
    """One file's graph as Turtle with the catalogue's prefixes."""
    import pyoxigraph as ox

    store = ox.Store()
    if ntriples:
        store.bulk_load(ntriples.encode(), format=ox.RdfFormat.N_TRIPLES)
    data = store.dump(format=ox.RdfFormat.TURTLE, from_graph=ox.DefaultGraph(), prefixes=PREFIXES)
    return data.decode("utf-8") if data else ""


def graph_name(rel: str) -> str:
    """The named graph holding one content file's triples."""
    return f"urn:regcat:file:{quote(rel, safe='/.-_')}"


def open_store(index_dir: Path):
    """An in-memory pyoxigraph store with every file's graph from a built index."""
    import pyoxigraph as ox

    store = ox.Store()
    folder = index_dir / "rdf"
    for path in sorted(folder.rglob("*.nt")) if folder.is_dir() else []:
        rel = path.relative_to(folder).as_posix().removesuffix(".nt")
        raw = path.read_bytes()
        if raw:
            store.bulk_load(
                raw, format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(graph_name(rel))
            )
    return store


def variable_triples(v: Variable, systems: dict[str, CodeSystem]) -> list[str]:
    """One variable's triples (the API's Turtle and JSON-LD for a variable)."""
    t = _Triples()
    _variable(t, v, v.register_id or v.id.split(":", 1)[0], systems)
    return t.lines


RDF_MEDIA_TYPES = {"turtle": "text/turtle", "jsonld": "application/ld+json"}


def serialize(lines: list[str], fmt: str) -> bytes:
    """N-Triples lines as Turtle or JSON-LD (expanded, under an @context of the
    catalogue's prefixes so a client can compact it)."""
    import pyoxigraph as ox

    quads = list(ox.parse("\n".join(lines).encode(), format=ox.RdfFormat.N_TRIPLES))
    if fmt == "turtle":
        return ox.serialize(quads, format=ox.RdfFormat.TURTLE, prefixes=PREFIXES)
    if fmt == "jsonld":
        graph = json.loads(ox.serialize(quads, format=ox.RdfFormat.JSON_LD) or b"[]")
        document = {"@context": PREFIXES, "@graph": graph}
        return json.dumps(document, ensure_ascii=False).encode()
    raise ValueError(f"unknown RDF format {fmt!r}")
