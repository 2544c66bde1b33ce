"""Registers as datasets in DCAT-AP 3 / HealthDCAT-AP: one dcat:Catalog (regcat) and
one dcat:Dataset per register, as Turtle or JSON-LD, checked with the SHACL shapes in
shapes/healthdcat-ap.shacl.ttl.

Only what the catalogue states goes in. HealthDCAT-AP properties the catalogue has no
field for (access rights, health category, health data access body, distributions,
purpose, …) are left out; the shapes file lists them and says why.

Every node is an IRI (no blank nodes) and the output is written from sorted triples, so
two runs over the same catalogue give the same bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from urllib.parse import quote

from rdflib import RDF, RDFS, SKOS, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, FOAF, SH
from rdflib.namespace import DCTERMS as DCT
from rdflib.term import Node

from regcat.catalogue import Catalogue
from regcat.errors import RegcatError
from regcat.generated.model import LocalizedText, Register
from regcat.rdf import BASE, VOCAB, iri

DCATAP = Namespace("http://data.europa.eu/r5r/")
HEALTHDCATAP = Namespace("http://healthdataportal.eu/ns/health#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")  # rdflib has none
DPV = Namespace("https://w3id.org/dpv#")
PD = Namespace("https://w3id.org/dpv/pd#")
ELI = Namespace("http://data.europa.eu/eli/ontology#")
EU_THEME = Namespace("http://publications.europa.eu/resource/authority/data-theme/")
EU_FREQUENCY = Namespace("http://publications.europa.eu/resource/authority/frequency/")
EU_LANGUAGE = Namespace("http://publications.europa.eu/resource/authority/language/")
# HealthDCAT-AP release 8's coding-system vocabulary.
CODING_SYSTEM = Namespace(
    "https://hdeu-dcat.data.health.europa.eu/resource/authority/coding-system/"
)

PREFIXES: dict[str, Namespace] = {
    "dcat": DCAT,
    "dct": DCT,
    "dcatap": DCATAP,
    "healthdcatap": HEALTHDCATAP,
    "foaf": FOAF,
    "vcard": VCARD,
    "dpv": DPV,
    "pd": PD,
    "eli": ELI,
    "skos": Namespace(str(SKOS)),
    "rdf": Namespace(str(RDF)),
    "rdfs": Namespace(str(RDFS)),
    "xsd": Namespace(str(XSD)),
    "register": Namespace(BASE + "register/"),
    "regcat": Namespace(VOCAB),
}

CATALOGUE_IRI = URIRef(BASE + "catalogue")
# The catalogue's publisher is regcat itself: the registers' owners publish the
# registers, not this description of them.
REGCAT_AGENT = URIRef(BASE + "agent/regcat")
CATALOGUE_TITLE = {
    "nb": "regcat — katalog over variabler i norske helseregistre",
    "en": "regcat — catalogue of Norwegian health-register variables",
}
CATALOGUE_DESCRIPTION = {
    "nb": "Norske helseregistre som datasett: navn, dataansvarlig, rettslig grunnlag, "
    "rapporteringsfrekvens og variabler, fra regcat-katalogen.",
    "en": "Norwegian health registers as datasets: name, data controller, legal basis, "
    "reporting frequency and variables, from the regcat catalogue.",
}

KIND_LABELS = {
    "central_health_register": ("Sentralt helseregister", "Central health register"),
    "national_medical_quality_register": (
        "Nasjonalt medisinsk kvalitetsregister",
        "National medical quality register",
    ),
    "other": ("Annet register", "Other register"),
}

# Free-text reporting frequency -> EU frequency code. Tried in order; a match is cut out
# of the text before the next rule, so "semi-annual" is not also "annual". Text that
# names no frequency, or more than one, gets none: we never guess.
FREQUENCY_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (code, re.compile(pattern, re.IGNORECASE))
    for code, pattern in (
        ("ANNUAL_2", r"\bsemi-?annual(ly)?\b|\btwice a year\b|\bhalvårlig"),
        (
            "ANNUAL_3",
            r"\btertialvis\b|\bevery four months\b|\bthree times a year\b|\btre ganger i året\b",
        ),
        ("QUARTERLY", r"\bquarterly\b|\bkvartalsvis\b"),
        ("MONTHLY", r"\bmonthly\b|\bmånedlig|\bmånedsvis\b"),
        ("WEEKLY", r"\bweekly\b|\bukentlig"),
        ("DAILY", r"\bdaily\b|\bdaglig\b"),
        ("ANNUAL", r"\bannual(ly)?\b|\byearly\b|\bårlig\b|\bhvert år\b"),
        ("CONT", r"\bcontinuous(ly)?\b|\bfortløpende\b|\breal[- ]time\b|\bsanntid\b"),
        ("IRREG", r"\birregular(ly)?\b|\buregelmessig"),
    )
)

# Norwegian statute (LOV-…) and regulation (FOR-…) identifiers, as Lovdata gives them;
# Lovdata's document address for each is stable.
_LOVDATA_ID = re.compile(r"\b(LOV|FOR)-(\d{4}-\d{2}-\d{2}-\d+)\b")
_LOVDATA_PATH = {"LOV": "NL/lov", "FOR": "SF/forskrift"}

# regcat code-system id -> HealthDCAT-AP coding-system concept (only exact matches).
CODING_SYSTEMS = {
    "ICD10": "ICD-10",
    "SCTID": "SNOMED-CT",
    "ATC": "ATC",
    "LOINC": "LOINC",
    "ICPC2": "ICPC-2",
    "UCUM": "UCUM",
}

_SAFE_URL = re.compile(r"https?://[^\s<>\"{}|\\^`]+")
_YEAR = re.compile(r"\d{4}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def frequency(text: str | None) -> URIRef | None:
    """The EU frequency IRI a reporting-frequency text names, or None when it names
    none or several (e.g. "continuous" for one part and "annual" for another)."""
    if not text:
        return None
    rest = text
    found: set[str] = set()
    for code, pattern in FREQUENCY_RULES:
        if pattern.search(rest):
            found.add(code)
            rest = pattern.sub(" ", rest)
    return EU_FREQUENCY[found.pop()] if len(found) == 1 else None


def legislation(text: str | None) -> list[tuple[str, URIRef]]:
    """(Lovdata identifier, Lovdata IRI) for each statute or regulation the legal-basis
    text cites by identifier, in order of first mention."""
    seen: dict[str, URIRef] = {}
    for kind, number in _LOVDATA_ID.findall(text or ""):
        ident = f"{kind}-{number}"
        seen.setdefault(
            ident, URIRef(f"https://lovdata.no/dokument/{_LOVDATA_PATH[kind]}/{number}")
        )
    return list(seen.items())


def agent_iri(name: str) -> URIRef:
    return URIRef(BASE + "agent/" + quote(name, safe=""))


def select_registers(cat: Catalogue, ids: Sequence[str] | None) -> list[Register]:
    """The registers to export, in id order; RegcatError on an unknown id. Data models
    (the OMOP CDM) are not datasets of their own and are left out unless named."""
    if not ids:
        return [
            cat.registers[key]
            for key in sorted(cat.registers)
            if cat.registers[key].kind != "data_model"
        ]
    unknown = [i for i in ids if i not in cat.registers]
    if unknown:
        known = ", ".join(sorted(cat.registers)) or "none"
        raise RegcatError(f"unknown register {unknown[0]!r} (known: {known})")
    return [cat.registers[key] for key in sorted(set(ids))]


def _value(x: object) -> str:
    return str(getattr(x, "value", x))


def _text(g: Graph, s: URIRef, p: URIRef, value: LocalizedText | dict | None) -> None:
    if value is None:
        return
    pairs = value.items() if isinstance(value, dict) else (("nb", value.nb), ("en", value.en))
    for lang, text in pairs:
        if text:
            g.add((s, p, Literal(text, lang=lang)))


def _url(value: str | None) -> URIRef | None:
    # A URL that would not be a valid IRI is left out rather than written broken.
    return URIRef(value) if value and _SAFE_URL.fullmatch(value) else None


def _agent(g: Graph, name: str) -> URIRef:
    node = agent_iri(name)
    g.add((node, RDF.type, FOAF.Agent))
    g.add((node, FOAF.name, Literal(name)))
    return node


def _dataset(g: Graph, cat: Catalogue, reg: Register) -> URIRef:
    s = URIRef(iri("register", reg.id))
    g.add((s, RDF.type, DCAT.Dataset))
    g.add((s, DCT.identifier, Literal(reg.id)))
    _text(g, s, DCT.title, reg.name)
    _text(g, s, DCT.description, reg.description)
    if reg.short_name:
        g.add((s, DCT.alternative, Literal(reg.short_name)))
    g.add((s, DCAT.theme, EU_THEME.HEAL))
    if reg.kind:
        kind = _value(reg.kind)
        concept = URIRef(f"{VOCAB}RegisterKind/{kind}")
        g.add((s, DCT.type, concept))
        g.add((concept, RDF.type, SKOS.Concept))
        nb, en = KIND_LABELS.get(kind, (kind, kind))
        _text(g, concept, SKOS.prefLabel, {"nb": nb, "en": en})
    if reg.owner:
        g.add((s, DCT.publisher, _agent(g, reg.owner)))
    for ident, law in legislation(reg.legal_basis):
        g.add((s, DCATAP.applicableLegislation, law))
        g.add((law, RDF.type, ELI.LegalResource))
        g.add((law, DCT.identifier, Literal(ident)))
    if reg.legal_basis:
        basis = URIRef(f"{s}/legal-basis")
        g.add((s, DPV.hasLegalBasis, basis))
        g.add((basis, RDF.type, DPV.LegalBasis))
        g.add((basis, DCT.description, Literal(reg.legal_basis)))
    freq = frequency(reg.reporting_frequency)
    if freq is not None:
        g.add((s, DCT.accrualPeriodicity, freq))
    if reg.established and _YEAR.fullmatch(reg.established):
        g.add((s, DCT.issued, Literal(reg.established, datatype=XSD.gYear)))
    elif reg.established and _DATE.fullmatch(reg.established):
        g.add((s, DCT.issued, Literal(reg.established, datatype=XSD.date)))
    url = _url(reg.url)
    if url is not None:
        g.add((s, DCAT.landingPage, url))
        contact = URIRef(f"{s}/contact-point")
        g.add((s, DCAT.contactPoint, contact))
        g.add((contact, RDF.type, VCARD.Kind))
        g.add((contact, VCARD.hasURL, url))
        if reg.owner:
            g.add((contact, VCARD.fn, Literal(reg.owner)))
    variables = reg.variables or []
    for topic in sorted({_value(v.topic) for v in variables if v.topic} - {"other"}):
        g.add((s, DCAT.keyword, Literal(topic.replace("_", " "), lang="en")))
    if any(
        _value(v.sensitivity) in ("direct_identifier", "indirect_identifier") for v in variables
    ):
        g.add((s, DPV.hasPersonalData, PD.Identifying))
    for system in _coding_systems(cat, reg):
        g.add((s, HEALTHDCATAP.hasCodingSystem, CODING_SYSTEM[system]))
    return s


def _coding_systems(cat: Catalogue, reg: Register) -> set[str]:
    """Coding systems whose codes are values of the register's variables: those its
    variables' value sets draw from (a variable's own codings describe what it means,
    not how its values are coded)."""
    local = {vs.id: vs for vs in reg.value_sets or []}
    found = set()
    for v in reg.variables or []:
        vs = local.get(v.value_set or "") or cat.value_sets.get(v.value_set or "")
        if vs is not None and vs.code_system in CODING_SYSTEMS:
            found.add(CODING_SYSTEMS[vs.code_system])
    return found


def build_graph(cat: Catalogue, registers: Iterable[Register]) -> Graph:
    g = Graph(bind_namespaces="none")
    for prefix, namespace in PREFIXES.items():
        g.bind(prefix, namespace)
    g.add((CATALOGUE_IRI, RDF.type, DCAT.Catalog))
    _text(g, CATALOGUE_IRI, DCT.title, CATALOGUE_TITLE)
    _text(g, CATALOGUE_IRI, DCT.description, CATALOGUE_DESCRIPTION)
    g.add((CATALOGUE_IRI, DCT.publisher, _agent(g, "regcat")))
    g.add((CATALOGUE_IRI, DCT.language, EU_LANGUAGE.NOB))
    g.add((CATALOGUE_IRI, DCT.language, EU_LANGUAGE.ENG))
    for reg in registers:
        g.add((CATALOGUE_IRI, DCAT.dataset, _dataset(g, cat, reg)))
    return g


def dataset_count(g: Graph) -> int:
    return len(set(g.subjects(RDF.type, DCAT.Dataset)))


def _canonical(g: Graph) -> Graph:
    # rdflib writes in store order in places; a graph filled from sorted triples makes
    # the output independent of the order the exporter added them in.
    out = Graph(bind_namespaces="none")
    for prefix, namespace in g.namespaces():
        out.bind(prefix, namespace)
    for triple in sorted(g):
        out.add(triple)
    return out


def to_turtle(g: Graph) -> str:
    return _canonical(g).serialize(format="turtle")


def jsonld_context(g: Graph) -> dict[str, str]:
    return {prefix: str(ns) for prefix, ns in sorted(g.namespaces())}


def to_jsonld(g: Graph) -> str:
    data = json.loads(
        _canonical(g).serialize(format="json-ld", context=jsonld_context(g), auto_compact=True)
    )
    if "@graph" in data:
        data["@graph"].sort(key=lambda node: node.get("@id", ""))
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def serialize(g: Graph, fmt: str) -> str:
    return to_jsonld(g) if fmt == "jsonld" else to_turtle(g)


# --- SHACL -------------------------------------------------------------------------


def load_shapes() -> Graph:
    text = resources.files("regcat.interop").joinpath("shapes/healthdcat-ap.shacl.ttl")
    return Graph().parse(data=text.read_text(encoding="utf-8"), format="turtle")


@dataclass(frozen=True, order=True)
class ShaclFinding:
    """One SHACL validation result, in words a user can act on."""

    severity: str  # "violation", "warning" or "info"
    focus: str
    path: str
    message: str
    value: str = ""

    def render(self) -> str:
        value = f" (value: {self.value})" if self.value else ""
        return f"{self.severity}: {self.focus}: {self.path}: {self.message}{value}"


def _short(node: Node | None) -> str:
    if node is None:
        return ""
    if isinstance(node, URIRef):
        for prefix, namespace in PREFIXES.items():
            local = node.removeprefix(str(namespace))
            if local != node and local and not set(local) & set("/#?"):
                return f"{prefix}:{local}"
        return str(node)
    # Quoted, so a value with newlines or markup stays on one line as data.
    return json.dumps(str(node), ensure_ascii=False)[:120]


def validate(g: Graph, shapes: Graph | None = None) -> list[ShaclFinding]:
    """Every SHACL result for the graph, violations first; the graph conforms when no
    finding is a violation (warnings are for mandatory HealthDCAT-AP properties the
    catalogue holds for some registers only)."""
    from pyshacl import validate as shacl_validate

    _, report, _ = shacl_validate(
        g, shacl_graph=shapes if shapes is not None else load_shapes(), inference="none"
    )
    findings = []
    for result in report.subjects(RDF.type, SH.ValidationResult):
        severity = report.value(result, SH.resultSeverity)
        findings.append(
            ShaclFinding(
                severity=str(severity).rsplit("#", 1)[-1].lower(),
                focus=_short(report.value(result, SH.focusNode)),
                path=_short(report.value(result, SH.resultPath)),
                message=str(report.value(result, SH.resultMessage) or ""),
                value=_short(report.value(result, SH.value)),
            )
        )
    rank = {"violation": 0, "warning": 1, "info": 2}
    return sorted(findings, key=lambda f: (rank.get(f.severity, 3), f))


def conforms(findings: Iterable[ShaclFinding]) -> bool:
    return not any(f.severity == "violation" for f in findings)
