"""Server settings, from the environment (what `regcat serve` sets from its options)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


@dataclass
class Settings:
    index_dir: Path = field(default_factory=lambda: Path(os.environ.get("REGCAT_INDEX", ".regcat")))
    database_url: str | None = field(default_factory=lambda: os.environ.get("REGCAT_DATABASE_URL"))
    # The built site to serve at `/` (the site issue); absent → a small landing page.
    site_dir: Path | None = field(
        default_factory=lambda: Path(p) if (p := os.environ.get("REGCAT_SITE")) else None
    )
    max_body_bytes: int = field(default_factory=lambda: _int("REGCAT_MAX_BODY", 1_000_000))
    max_json_depth: int = field(default_factory=lambda: _int("REGCAT_MAX_JSON_DEPTH", 32))
    sparql_timeout: float = field(default_factory=lambda: _float("REGCAT_SPARQL_TIMEOUT", 10.0))
    sparql_max_rows: int = field(default_factory=lambda: _int("REGCAT_SPARQL_MAX_ROWS", 10_000))
    sparql_workers: int = field(default_factory=lambda: _int("REGCAT_SPARQL_WORKERS", 1))
    # Prepare the reuse check at start-up rather than on the first proposal (seconds
    # on a large catalogue); `regcat serve` turns it on.
    warm: bool = field(default_factory=lambda: os.environ.get("REGCAT_WARM") == "1")
