"""The installed package must contain every subpackage: pyproject lists them by hand
(the bundled catalogue is mapped in from the top-level catalogue/ folder)."""

import tomllib

from .conftest import REPO


def test_every_subpackage_is_listed_in_pyproject():
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(REPO).parts)
        for init in (REPO / "regcat").rglob("__init__.py")
    }
    assert found, "no packages found"
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert "regcat.bundled" in listed
