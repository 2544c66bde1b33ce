"""Read access to the built index for the API: one read-only SQLite connection per
thread, and the things derived from the whole catalogue (the loaded catalogue, the
reuse checker, overlap reports) computed once per index generation.

A rebuild is noticed without restarting: a full build swaps in a new file (another
inode) and an incremental build commits to the same one (PRAGMA data_version moves).
The generation (a digest of every content file's digest) is the basis of ETags.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from regcat.errors import RegcatError
from regcat.index import DB_NAME, open_index

_CHECK_EVERY = 0.5  # seconds between looks at the index file


class IndexReader:
    def __init__(self, index_dir: Path, *, check: bool = True) -> None:
        self.index_dir = index_dir
        self._local = threading.local()
        self._lock = threading.Lock()
        self._generation: str | None = None
        self._built: str | None = None
        self._derived: dict[str, tuple[str, Any]] = {}
        self._derived_locks: dict[str, threading.Lock] = {}
        if check:
            self.db()  # fail at start-up, not on the first request, when there is no index

    # -- connections -------------------------------------------------------------

    def _stat(self) -> tuple[int, int]:
        st = os.stat(self.index_dir / DB_NAME)
        return st.st_ino, st.st_mtime_ns

    def db(self) -> sqlite3.Connection:
        """This thread's connection, reopened when the index was rebuilt."""
        local = self._local
        now = time.monotonic()
        db = getattr(local, "db", None)
        if db is not None and now - local.checked < _CHECK_EVERY:
            return db
        try:
            stat = self._stat()
        except FileNotFoundError:
            if db is not None:  # between the two renames of a full build's swap
                return db
            raise RegcatError("no index here; run `regcat build` first", self.index_dir) from None
        if db is None or local.stat[0] != stat[0]:
            if db is not None:
                db.close()
            db = open_index(self.index_dir)
            db.execute("PRAGMA query_only=ON")
            local.db, local.stat, local.version = db, stat, None
        local.checked = now
        version = db.execute("PRAGMA data_version").fetchone()[0]
        if version != local.version:
            local.version = version
            self._refresh(db)
        return db

    def _refresh(self, db: sqlite3.Connection) -> None:
        digests = db.execute("SELECT path || ' ' || digest FROM files ORDER BY path").fetchall()
        generation = hashlib.sha256("\n".join(r[0] for r in digests).encode()).hexdigest()[:20]
        built = db.execute("SELECT value FROM meta WHERE key='built'").fetchone()
        with self._lock:
            self._generation = generation
            self._built = built[0] if built else None

    @property
    def generation(self) -> str:
        self.db()
        assert self._generation is not None
        return self._generation

    @property
    def built(self) -> str | None:
        self.db()
        return self._built

    # -- derived, once per generation --------------------------------------------

    def derived(self, name: str, make: Callable[[], Any]) -> Any:
        """`make()` once per index generation (a catalogue, a checker, a report)."""
        generation = self.generation
        cached = self._derived.get(name)
        if cached is not None and cached[0] == generation:
            return cached[1]
        with self._lock:
            lock = self._derived_locks.setdefault(name, threading.Lock())
        with lock:
            cached = self._derived.get(name)
            if cached is not None and cached[0] == generation:
                return cached[1]
            value = make()
            self._derived[name] = (generation, value)
            return value

    def catalogue_root(self) -> Path:
        """The catalogue folder the index was built from."""
        row = self.db().execute("SELECT value FROM meta WHERE key='catalogue'").fetchone()
        if row is None:
            raise RegcatError(
                "the index does not say which catalogue it was built from", self.index_dir
            )
        return Path(row[0])

    def catalogue(self):
        from regcat.catalogue import Catalogue

        return self.derived("catalogue", lambda: Catalogue.from_index(self.index_dir))
