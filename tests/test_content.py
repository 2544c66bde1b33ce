"""Content quality of the bundled catalogue: one rule per test, parametrised by register
so a failure names it. Known exceptions live in ALLOWED with a reason each; a test
fails if an exception is no longer needed, so the list cannot silently grow stale."""

from __future__ import annotations

import re
import unicodedata

import pytest

from regcat.catalogue import Catalogue, validate_catalogue
from regcat.layout import bundled_catalogue, content_files
from regcat.lint import canonical_text

ROOT = bundled_catalogue()
CATALOGUE = Catalogue.load(ROOT)
REGISTERS = sorted(CATALOGUE.registers)


def test_bundled_catalogue_is_not_empty():
    assert len(REGISTERS) >= 10
    assert len(CATALOGUE.variables) >= 800


def test_bundled_catalogue_validates_clean():
    report = validate_catalogue(ROOT, jobs=1)
    errors = [f.render() for f in report.findings if f.severity == "error"]
    assert report.exit_code == 0, "\n".join(errors[:20])


@pytest.mark.parametrize("file", content_files(ROOT), ids=lambda f: f.rel)
def test_files_are_in_canonical_form(file):
    if file.kind == "mappings":
        pytest.skip("SSSOM files are checked by the mapping tests")
    assert file.path.read_text(encoding="utf-8") == canonical_text(file.path), (
        f"{file.rel} is not in canonical form: run `regcat lint`"
    )


def _norm(ident: str) -> str:
    return unicodedata.normalize("NFKC", ident).casefold()


@pytest.mark.parametrize("register", REGISTERS)
def test_variable_ids_unique_after_normalisation(register):
    seen: dict[str, str] = {}
    clashes = []
    for variable in CATALOGUE.registers[register].variables or []:
        key = _norm(variable.id)
        if key in seen:
            clashes.append(f"{seen[key]} ~ {variable.id}")
        seen[key] = variable.id
    assert not clashes, f"ids that differ only by case/width: {clashes}"


@pytest.mark.parametrize("register", REGISTERS)
def test_labels_present_and_trimmed(register):
    bad = []
    for variable in CATALOGUE.registers[register].variables or []:
        label = variable.label.nb or variable.label.en or ""
        if not label.strip():
            bad.append(f"{variable.id}: empty label")
        for text in (variable.label.nb, variable.label.en):
            if text is not None and text != text.strip():
                bad.append(f"{variable.id}: label {text!r} has surrounding spaces")
    assert not bad, "\n".join(bad[:20])


@pytest.mark.parametrize("register", REGISTERS)
def test_register_facts_are_sourced(register):
    reg = CATALOGUE.registers[register]
    assert reg.name.nb and reg.name.en, "registers are named in bokmål and English"
    assert reg.sources, "every register lists the public sources of its facts"
    assert all(re.match(r"^https?://", s) for s in reg.sources)
    if reg.key_register:
        assert reg.key_register_basis, "a key register says why it is one"


@pytest.mark.parametrize("register", REGISTERS)
def test_patterns_are_anchored(register):
    bad = [
        f"{v.id}: {v.pattern!r}"
        for v in CATALOGUE.registers[register].variables or []
        if v.pattern and not (v.pattern.startswith("^") and v.pattern.endswith("$"))
    ]
    assert not bad, bad


@pytest.mark.parametrize("register", REGISTERS)
def test_value_set_codes_unique_and_labelled(register):
    bad = []
    for vs in CATALOGUE.registers[register].value_sets or []:
        codes = [c.code for c in vs.codes or []]
        if len(codes) != len(set(codes)):
            bad.append(f"{vs.id}: duplicate codes")
        bad += [f"{vs.id}: code {c.code!r} unlabelled" for c in vs.codes or [] if not c.label]
    assert not bad, bad[:20]
