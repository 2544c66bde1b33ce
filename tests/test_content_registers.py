"""The bundled catalogue's register files: each is a valid Register in canonical form,
named after its id, with bilingual names and sourced key-register claims.

One rule per test, parametrised by register id, so a failure names the register."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from regcat.generated.model import Register
from regcat.io import dump_yaml, read_yaml

REGISTERS_DIR = Path(__file__).resolve().parent.parent / "catalogue" / "registers"
REGISTER_FILES = sorted(
    path for path in REGISTERS_DIR.glob("*.yaml") if not path.name.startswith(".")
)
URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$")

by_id = pytest.mark.parametrize("path", REGISTER_FILES, ids=[p.stem for p in REGISTER_FILES])


def _data(path: Path) -> dict:
    data = read_yaml(path).data
    assert isinstance(data, dict), f"{path.name}: the top level must be a mapping (a Register)"
    return data


def _register(path: Path) -> Register:
    return Register.model_validate(_data(path))


def test_registers_folder_is_not_empty() -> None:
    assert REGISTER_FILES, f"no register files in {REGISTERS_DIR}"


@by_id
def test_register_file_validates(path: Path) -> None:
    _register(path)


@by_id
def test_file_name_is_register_id(path: Path) -> None:
    assert _data(path).get("id") == path.stem, f"{path.name}: id must equal the file name"


@by_id
def test_key_register_has_basis(path: Path) -> None:
    register = _register(path)
    if register.key_register:
        assert register.key_register_basis and register.key_register_basis.strip(), (
            f"{path.name}: a key register needs key_register_basis"
        )


@by_id
def test_key_register_has_source(path: Path) -> None:
    register = _register(path)
    if register.key_register:
        assert register.sources, f"{path.name}: a key register needs at least one source"


@by_id
def test_sources_are_http_urls(path: Path) -> None:
    bad = [s for s in _register(path).sources or [] if not URL.match(s)]
    assert not bad, f"{path.name}: sources must be http(s) URLs, got {bad}"


@by_id
def test_name_has_nb_and_en(path: Path) -> None:
    name = _register(path).name
    assert name.nb and name.nb.strip(), f"{path.name}: name.nb is missing"
    assert name.en and name.en.strip(), f"{path.name}: name.en is missing"


@by_id
def test_file_is_canonical(path: Path) -> None:
    document = read_yaml(path)
    assert dump_yaml(document.data) == document.text, (
        f"{path.name} is not in canonical form: run `regcat lint`"
    )
