"""Opening the database: SQLite in WAL mode with full sync by default, PostgreSQL
(psycopg 3) when the URL says so. Tables are created on first use."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import Session, SQLModel, create_engine

from regcat.errors import RegcatError
from regcat.store import tables  # noqa: F401  (registers the tables on SQLModel.metadata)

DEFAULT_PATH = Path("regcat-data") / "regcat.db"


def database_url(url: str | None = None) -> str:
    """The URL to use: the argument, else $REGCAT_DATABASE_URL, else a SQLite file
    beside the working directory (not inside the index, which a rebuild replaces)."""
    url = url or os.environ.get("REGCAT_DATABASE_URL")
    if not url:
        return f"sqlite:///{DEFAULT_PATH}"
    # `postgresql://` is what people copy from psql; SQLAlchemy would pick psycopg2.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    # WAL: readers never block the writer. synchronous=FULL: an acknowledged write
    # survives a crash of the machine, not only of the process.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Store:
    """The engine and a session factory; the operations live in users, proposals and
    mappings."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()


def open_store(url: str | None = None) -> Store:
    """Open (and create if needed) the database at `url` (see database_url)."""
    url = database_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise RegcatError(
            "REGCAT_DATABASE_URL: not a database URL; expected sqlite:///PATH or "
            "postgresql://USER@HOST/DB"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
    elif parsed.get_backend_name() == "postgresql":
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    else:
        raise RegcatError(
            f"REGCAT_DATABASE_URL: unsupported database {parsed.get_backend_name()!r}; "
            "use sqlite or postgresql"
        )
    try:
        SQLModel.metadata.create_all(engine)
    except Exception as exc:  # the server is down, the password is wrong, …
        first = (str(exc).strip().splitlines() or [""])[0]
        raise RegcatError(
            f"cannot open the database {parsed.render_as_string()}: {first}"
        ) from None
    return Store(engine)
