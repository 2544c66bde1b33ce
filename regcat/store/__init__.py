"""What the API writes: users and their tokens, proposals, reviews of proposals and
candidate mappings, and the history of every change. SQLModel over SQLite (WAL) by
default, PostgreSQL when `REGCAT_DATABASE_URL` says so.

The catalogue itself is never written here: `regcat proposals export` turns accepted
proposals and approved mappings into ordinary catalogue files for review in git.
"""

from regcat.store.db import Store, database_url, open_store
from regcat.store.errors import Conflict, Forbidden, NotFound, PreconditionFailed, StoreError

__all__ = [
    "Conflict",
    "Forbidden",
    "NotFound",
    "PreconditionFailed",
    "Store",
    "StoreError",
    "database_url",
    "open_store",
]
