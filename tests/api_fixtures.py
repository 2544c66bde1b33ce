"""Fixtures for the API and store tests: the bundled catalogue's index (built once per
test process), a fresh database per test on SQLite and, when REGCAT_TEST_POSTGRES
names a server (.ci/run starts one), on PostgreSQL too; a client with a token per role.

Import the fixtures into a test module: `from tests.api_fixtures import *`.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from regcat.index import build_index
from regcat.layout import bundled_catalogue

POSTGRES = os.environ.get("REGCAT_TEST_POSTGRES")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _postgres_database(worker: str) -> str:
    """A database of this test process's own on the CI server (xdist workers run at
    once), emptied for each test."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"regcat_test_{worker}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'regcat.db'}"
    if not POSTGRES:
        if os.environ.get("CI"):
            pytest.fail("CI must set REGCAT_TEST_POSTGRES (see .ci/run)")
        pytest.skip("no PostgreSQL server: set REGCAT_TEST_POSTGRES (.ci/run does)")
    from sqlmodel import SQLModel

    from regcat.store import open_store

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    url = _postgres_database(worker)
    store = open_store(url)
    SQLModel.metadata.drop_all(store.engine)
    store.close()
    return url


@pytest.fixture(scope="session")
def bundled_index(tmp_path_factory) -> Path:
    index = tmp_path_factory.mktemp("bundled") / "index"
    report = build_index(bundled_catalogue(), index)
    assert not report.errors, report.errors[:3]
    return index


@pytest.fixture
def catalogue_copy(tmp_path: Path) -> tuple[Path, Path]:
    """A writable copy of the bundled catalogue and its index (for export tests)."""
    root = tmp_path / "catalogue"
    shutil.copytree(bundled_catalogue(), root, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    index = tmp_path / "index"
    report = build_index(root, index)
    assert not report.errors, report.errors[:3]
    return root, index


@dataclass
class Api:
    client: object
    tokens: dict[str, str] = field(default_factory=dict)
    store: object = None

    def auth(self, who: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}


ROLES = {
    "admin": ("admin", None),
    "coordinator": ("coordinator", None),
    "owner_noric": ("owner", "noric"),
    "owner_npr": ("owner", "npr"),
}


def make_api(index: Path, database_url: str, **settings) -> Api:
    from fastapi.testclient import TestClient

    from regcat.api import create_app
    from regcat.api.settings import Settings
    from regcat.store.users import add_user

    app = create_app(Settings(index_dir=index, database_url=database_url, **settings))
    store = app.state.regcat.store
    tokens = {name: add_user(store, name, role, reg) for name, (role, reg) in ROLES.items()}
    return Api(TestClient(app), tokens, store)


@pytest.fixture
def api(bundled_index: Path, database_url: str):
    made = make_api(bundled_index, database_url)
    with made.client:
        yield made
    made.store.close()


__all__ = ["Api", "api", "bundled_index", "catalogue_copy", "database_url", "make_api"]
