"""`regcat export healthdcat`: the registers as DCAT-AP / HealthDCAT-AP datasets. The
bundled catalogue's export conforms to regcat's SHACL shapes, the shapes catch a broken
graph, Turtle and JSON-LD carry the same graph, and the output is byte-stable."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import RDF, BNode, Graph, Literal, URIRef
from rdflib.compare import isomorphic

from regcat.catalogue import Catalogue
from regcat.cli import app
from regcat.interop import healthdcat as hd
from regcat.interop.healthdcat import DCAT, DCT, EU_FREQUENCY, EU_THEME
from tests.api_fixtures import bundled_index  # noqa: F401

from .conftest import tiny_register, write_catalogue

ALPHA = URIRef("https://w3id.org/regcat/register/alpha")


def register(**overrides) -> dict:
    fields = {
        "description": {"nb": "Et lite register.", "en": "A small register."},
        "owner": "Helse Alfa HF",
        "legal_basis": "Helseregisterloven (LOV-2014-06-20-43) § 11; "
        "Alfaforskriften (FOR-2011-12-16-1250)",
        "reporting_frequency": "Monthly data from all units",
        "established": "2012",
        "url": "https://example.org/alpha",
    }
    return tiny_register(**(fields | overrides))


def tiny_graph(tmp_path: Path, *registers: dict) -> Graph:
    cat = Catalogue.load(write_catalogue(tmp_path / "cat", list(registers) or [register()]))
    return hd.build_graph(cat, hd.select_registers(cat, None))


def run(runner, tmp_path: Path, root: Path, *args: str):
    return runner.invoke(
        app,
        ["--catalogue", str(root), "--index", str(tmp_path / "idx"), "export", "healthdcat", *args],
    )


# --- the bundled catalogue -----------------------------------------------------------


def test_bundled_export_conforms(bundled_index: Path) -> None:  # noqa: F811
    cat = Catalogue.from_index(bundled_index)
    graph = hd.build_graph(cat, hd.select_registers(cat, None))
    findings = hd.validate(graph)
    assert hd.conforms(findings), [f.render() for f in findings if f.severity == "violation"]
    # Warnings only for the two properties the catalogue holds for some registers.
    assert {f.path for f in findings} <= {"dct:publisher", "dcatap:applicableLegislation"}
    datasets = set(graph.subjects(RDF.type, DCAT.Dataset))
    # every register but the data model (the OMOP CDM is a mapping target, not a dataset)
    registers = [r for r in cat.registers.values() if r.kind != "data_model"]
    assert len(registers) == len(cat.registers) - 1
    assert len(datasets) == len(registers) == hd.dataset_count(graph)
    assert URIRef("https://w3id.org/regcat/register/omop") not in datasets
    assert all((d, DCAT.theme, EU_THEME.HEAL) in graph for d in datasets)
    npr = URIRef("https://w3id.org/regcat/register/npr")  # the IRI regcat.rdf uses
    assert (npr, DCT.title, Literal("Norsk pasientregister", lang="nb")) in graph
    assert (npr, DCT.accrualPeriodicity, EU_FREQUENCY.ANNUAL_3) in graph  # "tertialvis"


def test_bundled_cli_writes_every_register(bundled_index: Path, runner, tmp_path) -> None:  # noqa: F811
    from regcat.layout import bundled_catalogue

    out = tmp_path / "catalogue.jsonld"
    result = runner.invoke(
        app,
        ["--catalogue", str(bundled_catalogue()), "--index", str(bundled_index)]
        + ["export", "healthdcat", "--format", "jsonld", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    registers = Catalogue.from_index(bundled_index).registers.values()
    count = sum(1 for r in registers if r.kind != "data_model")
    assert f"wrote {out}: {count} dataset(s), JSON-LD (conforms" in result.stderr
    assert hd.dataset_count(Graph().parse(out, format="json-ld")) == count


# --- the shapes can fail -------------------------------------------------------------


def test_broken_graph_does_not_conform(tmp_path: Path) -> None:
    graph = tiny_graph(tmp_path)
    assert hd.conforms(hd.validate(graph))
    graph.remove((ALPHA, DCT.title, None))
    graph.set((ALPHA, DCT.accrualPeriodicity, Literal("monthly")))
    graph.add((ALPHA, DCT.issued, Literal("in 2012")))
    graph.remove((ALPHA, DCAT.theme, None))
    findings = [f for f in hd.validate(graph) if f.severity == "violation"]
    assert not hd.conforms(findings)
    where = {(f.focus, f.path) for f in findings}
    assert {
        ("register:alpha", "dct:title"),
        ("register:alpha", "dct:accrualPeriodicity"),
        ("register:alpha", "dct:issued"),
        ("register:alpha", "dcat:theme"),
    } <= where
    frequency = next(f for f in findings if f.path == "dct:accrualPeriodicity")
    assert frequency.value == '"monthly"'
    assert frequency.render().startswith("violation: register:alpha: dct:accrualPeriodicity: ")


def test_untagged_title_and_unknown_frequency_iri_fail(tmp_path: Path) -> None:
    graph = tiny_graph(tmp_path)
    graph.add((ALPHA, DCT.title, Literal("no language tag")))
    graph.set((ALPHA, DCT.accrualPeriodicity, URIRef("https://example.org/often")))
    paths = {f.path for f in hd.validate(graph) if f.severity == "violation"}
    assert {"dct:title", "dct:accrualPeriodicity"} <= paths


def test_missing_owner_and_legislation_are_warnings(tmp_path: Path) -> None:
    graph = tiny_graph(tmp_path, register(owner=None, legal_basis="Helseregisterloven § 11"))
    findings = hd.validate(graph)
    assert hd.conforms(findings)
    assert {(f.severity, f.path) for f in findings} == {
        ("warning", "dct:publisher"),
        ("warning", "dcatap:applicableLegislation"),
    }


# --- mapping rules -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Monthly data from all pharmacies (since 1 January 2004)", "MONTHLY"),
        ("Somatikk: tertialvis (every four months)", "ANNUAL_3"),
        ("Annual: «Data innhentes hvert år fra hver enkelt avdeling»", "ANNUAL"),
        ("semi-annual", "ANNUAL_2"),
        ("daily", "DAILY"),
        ("continuous", "CONT"),
        # two frequencies, or none named: left out, never guessed
        ("KPR-KUHR: fortløpende (continuous); KPR-helse og omsorg: årlig (annual)", None),
        ("Per case: reporting duty within two months after cancer is documented", None),
        ("", None),
        (None, None),
    ],
)
def test_frequency(text: str | None, code: str | None) -> None:
    assert hd.frequency(text) == (EU_FREQUENCY[code] if code else None)


def test_legislation_reads_lovdata_identifiers() -> None:
    text = "Loven (LOV-2014-06-20-43) § 11; forskrift (FOR-2007-12-07-1389); LOV-2014-06-20-43"
    assert hd.legislation(text) == [
        ("LOV-2014-06-20-43", URIRef("https://lovdata.no/dokument/NL/lov/2014-06-20-43")),
        ("FOR-2007-12-07-1389", URIRef("https://lovdata.no/dokument/SF/forskrift/2007-12-07-1389")),
    ]
    assert hd.legislation("Helseregisterloven § 9 b") == []


# --- serialisation -------------------------------------------------------------------


def test_turtle_and_jsonld_parse_back_to_the_same_graph(tmp_path: Path) -> None:
    graph = tiny_graph(tmp_path)
    turtle = Graph().parse(data=hd.to_turtle(graph), format="turtle")
    jsonld = Graph().parse(data=hd.to_jsonld(graph), format="json-ld")
    assert isomorphic(turtle, graph)
    assert isomorphic(jsonld, graph)
    assert not any(isinstance(node, BNode) for node in graph.all_nodes())
    assert '"@context"' in hd.to_jsonld(graph)


def test_output_is_deterministic(tmp_path: Path) -> None:
    registers = [
        register(),
        register(id="beta", name={"nb": "Beta"}, variables=[], forms=[], value_sets=[]),
    ]
    root = write_catalogue(tmp_path / "cat", registers)
    first, second = Catalogue.load(root), Catalogue.load(root)
    one = hd.build_graph(first, hd.select_registers(first, None))
    # Built in the other order: the output must not depend on it.
    two = hd.build_graph(second, list(reversed(hd.select_registers(second, None))))
    assert hd.to_turtle(one) == hd.to_turtle(two)
    assert hd.to_jsonld(one) == hd.to_jsonld(two)
    assert "_:" not in hd.to_turtle(one)  # no blank nodes, whose ids would vary


# --- the command ---------------------------------------------------------------------


def test_cli_writes_atomically_and_counts(runner, tmp_path: Path, monkeypatch) -> None:
    import regcat.io

    root = write_catalogue(tmp_path / "cat", [register()])
    out = tmp_path / "out" / "alpha.ttl"
    calls = []
    real = regcat.io.write_text_atomic
    monkeypatch.setattr(regcat.io, "write_text_atomic", lambda p, t: (calls.append(p), real(p, t)))
    result = run(runner, tmp_path, root, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert calls == [out]
    assert "1 dataset(s), Turtle (conforms, 0 warning(s))" in result.stderr
    assert result.stdout == ""
    assert sorted(p.name for p in out.parent.iterdir()) == ["alpha.ttl"]  # no temp file left
    graph = Graph().parse(out, format="turtle")
    assert (
        ALPHA,
        DCT.publisher,
        URIRef("https://w3id.org/regcat/agent/Helse%20Alfa%20HF"),
    ) in graph


def test_cli_stdout_and_register_filter(runner, tmp_path: Path) -> None:
    beta = register(id="beta", name={"nb": "Betaregisteret"}, variables=[], forms=[], value_sets=[])
    root = write_catalogue(tmp_path / "cat", [register(), beta])
    result = run(runner, tmp_path, root, "--register", "beta", "--format", "jsonld")
    assert result.exit_code == 0, result.output
    graph = Graph().parse(data=result.stdout, format="json-ld")
    assert set(graph.subjects(RDF.type, DCAT.Dataset)) == {
        URIRef("https://w3id.org/regcat/register/beta")
    }
    assert "1 dataset(s), JSON-LD" in result.stderr


def test_cli_unknown_register_exits_2(runner, tmp_path: Path) -> None:
    root = write_catalogue(tmp_path / "cat", [register()])
    result = run(runner, tmp_path, root, "--register", "nope", "--out", str(tmp_path / "x.ttl"))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: unknown register 'nope' (known: alpha)")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.ttl").exists()


def test_cli_violation_exits_1_and_writes_nothing(runner, tmp_path: Path) -> None:
    root = write_catalogue(tmp_path / "cat", [register(description=None)])
    out = tmp_path / "alpha.ttl"
    out.write_text("old\n", encoding="utf-8")
    result = run(runner, tmp_path, root, "--out", str(out))
    assert result.exit_code == 1
    assert "violation: register:alpha: dct:description: " in result.stderr
    assert "not written: 1 SHACL violation(s)" in result.stderr
    assert out.read_text(encoding="utf-8") == "old\n"
    unchecked = run(runner, tmp_path, root, "--no-check", "--out", str(out))
    assert unchecked.exit_code == 0 and "(not checked)" in unchecked.stderr


def test_hostile_text_stays_literal(runner, tmp_path: Path) -> None:
    name = '<script>alert("x")</script>\n"quoted" \'single\' \\ > <'
    owner = 'Evil "Owner" <b>\nHF'
    hostile = register(
        name={"nb": name, "en": "x\r\ny"},
        owner=owner,
        short_name="<img src=x onerror=alert(1)>",
        url="javascript:alert(1)",
        reporting_frequency="monthly\n<script>",
    )
    root = write_catalogue(tmp_path / "cat", [hostile])
    for fmt, parser in (("ttl", "turtle"), ("jsonld", "json-ld")):
        result = run(runner, tmp_path, root, "--format", fmt)
        assert result.exit_code == 0, result.output
        graph = Graph().parse(data=result.stdout, format=parser)
        assert (ALPHA, DCT.title, Literal(name, lang="nb")) in graph
        assert (ALPHA, DCT.title, Literal("x\r\ny", lang="en")) in graph
        assert (None, URIRef("http://xmlns.com/foaf/0.1/name"), Literal(owner)) in graph
        assert (ALPHA, DCAT.landingPage, None) not in graph  # not an http(s) URL
        iris = {str(n) for n in graph.all_nodes() if isinstance(n, URIRef)}
        assert not any(c in iri for iri in iris for c in '<>"\n ')
