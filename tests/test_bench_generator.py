"""The benchmark's catalogue generator (bench/gen_catalogue.py) writes catalogues that
validate clean, and injected errors are exactly what validation reports."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path

import pytest

from regcat import codes
from regcat.catalogue import validate_catalogue
from regcat.io import dump_yaml
from regcat.lint import lint_catalogue

from .conftest import CODESYSTEMS

GENERATOR = Path(__file__).resolve().parents[1] / "bench" / "gen_catalogue.py"
N = 300


@pytest.fixture(scope="module")
def gen():
    spec = importlib.util.spec_from_file_location("gen_catalogue", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_catalogue", module)
    spec.loader.exec_module(module)
    return module


def test_codesystems_are_the_test_fixtures(gen):
    assert gen.CODESYSTEMS == CODESYSTEMS


def test_every_code_the_generator_can_write_is_valid(gen):
    pool = gen.all_codings()
    assert len(pool) > 40
    problems = {f"{s}:{c}": codes.check(s, c) for s, c in pool if codes.check(s, c)}
    assert problems == {}


def test_clean_catalogue_validates_clean(gen, tmp_path):
    report = gen.generate_catalogue(N, tmp_path / "cat", seed=3)
    assert report["variables"] == N
    assert report["registers"] >= 2
    assert report["errors"] == []
    result = validate_catalogue(tmp_path / "cat", jobs=1)
    assert result.errors == []
    assert [f.render() for f in result.findings] == []
    assert result.files == report["registers"] + 1  # + codesystems.yaml


def test_fast_writer_writes_what_dump_yaml_writes(gen, tmp_path):
    registers = gen.build(N, seed=4)
    gen.inject(registers, 3, 3, seed=4)
    for register in registers:
        data = {k: v for k, v in register.items() if not k.startswith("_")}
        assert gen.render(data) == dump_yaml(data), register["id"]
    gen.generate_catalogue(N, tmp_path / "cat", seed=4)
    assert lint_catalogue(tmp_path / "cat", write=False) == []  # canonical form


def test_same_seed_same_bytes(gen, tmp_path):
    gen.generate_catalogue(N, tmp_path / "a", seed=5, schema_errors=2, ref_errors=2)
    gen.generate_catalogue(N, tmp_path / "b", seed=5, schema_errors=2, ref_errors=2)
    files = sorted(
        p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file()
    )
    assert files
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def test_injected_errors_are_exactly_the_findings(gen, tmp_path):
    root = tmp_path / "cat"
    gen.main([str(N), str(root), "--seed", "11", "--schema-errors", "4", "--ref-errors", "5"])
    expected = json.loads((root / "expected-errors.json").read_text(encoding="utf-8"))["errors"]
    assert len(expected) == 9
    kinds = Counter(e["kind"] for e in expected)
    assert set(kinds) == set(gen.SCHEMA_ERROR_KINDS) | set(gen.REF_ERROR_KINDS)
    assert len({e["id"] for e in expected}) == 9  # nine different variables
    report = validate_catalogue(root, jobs=1)
    got = Counter((f.path, f.entity, f.rule, f.severity) for f in report.findings)
    want = Counter((e["file"], e["id"], e["rule"], "error") for e in expected)
    assert got == want
    for finding in report.findings:  # each names the field the generator broke
        entry = next(e for e in expected if e["id"] == finding.entity)
        assert f"field '{entry['field']}'" in finding.message
