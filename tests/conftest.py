"""Shared fixtures: a tiny catalogue written fresh for each test, and the path to the
real third-party data in ../shared/data (tests using it skip when it is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from regcat.io import dump_yaml

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

CODESYSTEMS = {
    "code_systems": [
        {"id": "ICD10", "name": {"nb": "ICD-10", "en": "ICD-10"}},
        {"id": "SCTID", "name": {"nb": "SNOMED CT", "en": "SNOMED CT"}},
        {"id": "NCSP", "name": {"nb": "NCSP", "en": "NCSP"}},
        {"id": "ATC", "name": {"nb": "ATC", "en": "ATC"}},
    ]
}


def tiny_register(**overrides) -> dict:
    register = {
        "id": "alpha",
        "name": {"nb": "Alfaregisteret", "en": "The Alpha Register"},
        "kind": "national_medical_quality_register",
        "forms": [{"id": "basis", "name": {"nb": "Basisskjema"}}],
        "variables": [
            {
                "id": "alpha:DIAG",
                "form": "basis",
                "label": {"nb": "Hoveddiagnose", "en": "Main diagnosis"},
                "datatype": "coded",
                "value_set": "alpha:DIAG",
                "codings": [{"system": "ICD10", "code": "I21.4"}],
                "topic": "diagnosis",
                "status": "accepted",
            },
            {
                "id": "alpha:INFARKT",
                "form": "basis",
                "label": {"nb": "Hjerteinfarkt", "en": "Myocardial infarction"},
                "datatype": "boolean",
                "codings": [{"system": "SCTID", "code": "22298006"}],
                "valid_from": "2020-01-01",
            },
        ],
        "value_sets": [
            {
                "id": "alpha:DIAG",
                "codes": [
                    {"code": "1", "label": {"nb": "STEMI"}, "meaning": "ICD10:I21.3"},
                    {"code": "2", "label": {"nb": "NSTEMI"}, "meaning": "ICD10:I21.4"},
                ],
            }
        ],
    }
    register.update(overrides)
    return register


def write_catalogue(root: Path, registers: list[dict] | None = None) -> Path:
    (root / "registers").mkdir(parents=True, exist_ok=True)
    (root / "codesystems.yaml").write_text(dump_yaml(CODESYSTEMS), encoding="utf-8")
    for register in registers if registers is not None else [tiny_register()]:
        path = root / "registers" / f"{register['id']}.yaml"
        path.write_text(dump_yaml(register), encoding="utf-8")
    return root


@pytest.fixture
def catalogue(tmp_path: Path) -> Path:
    return write_catalogue(tmp_path / "cat")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"third-party data folder {SHARED_DATA} is absent")
    return SHARED_DATA


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under root with its bytes: to prove a failed command changed nothing."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
