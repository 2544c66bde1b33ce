"""The HTTP API (FastAPI): the catalogue read API, search, SPARQL, proposals and
reviews, under /api with its docs at /api/docs; the built site (or a landing page) at /.

`create_app()` builds an app from Settings; `regcat serve` runs it with uvicorn.
"""

from regcat.api.app import create_app

__all__ = ["create_app"]
