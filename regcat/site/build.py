"""`regcat site build`: mkdocs' own build with mkdocs.yml, so it gives what `mkdocs
build` gives. The catalogue, index and database travel to the plugin by environment,
as they would for `mkdocs build`. The site is built beside the target folder and swapped
in only when the build succeeds: a failed build leaves the last good site being served."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from regcat.errors import RegcatError

# mkdocs prints a banner about its next major version on every build unless told not to.
os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")


@dataclass
class SiteReport:
    site_dir: Path
    pages: int
    seconds: float
    warnings: list[str] = field(default_factory=list)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _environment(values: dict[str, str | None]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    try:
        for key, value in values.items():
            if value is not None:
                os.environ[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _swap(built: Path, target: Path) -> None:
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        target.rename(old)
    built.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def build_site(
    config_file: Path = Path("mkdocs.yml"),
    *,
    site_dir: Path | None = None,
    catalogue: Path | None = None,
    index: Path | None = None,
    database_url: str | None = None,
) -> SiteReport:
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    if not config_file.is_file():
        raise RegcatError(
            "no mkdocs.yml here; run from the regcat checkout or pass --config", config_file
        )
    started = time.perf_counter()
    env = {
        "REGCAT_CATALOGUE": str(catalogue) if catalogue else None,
        "REGCAT_INDEX": str(index) if index else None,
        "REGCAT_DATABASE_URL": database_url,
    }
    collect = _Collect()
    mkdocs_log = logging.getLogger("mkdocs")
    mkdocs_log.addHandler(collect)
    try:
        with _environment(env):
            try:
                config = load_config(str(config_file))
            except MkDocsException as exc:
                raise RegcatError(f"mkdocs configuration: {exc}", config_file) from None
            target = Path(site_dir) if site_dir else Path(config.site_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
            config.site_dir = str(scratch)
            try:
                config.plugins.on_startup(command="build", dirty=False)
                try:
                    build(config)
                finally:
                    config.plugins.on_shutdown()
                _swap(scratch, target)
            except MkDocsException as exc:
                shutil.rmtree(scratch, ignore_errors=True)
                # mkdocs logs the cause and raises a generic "Aborted"; report the cause.
                cause = collect.messages[-1] if collect.messages else str(exc)
                raise RegcatError(f"site not built: {cause}", config_file) from None
            except BaseException:
                shutil.rmtree(scratch, ignore_errors=True)
                raise
    finally:
        mkdocs_log.removeHandler(collect)
    pages = sum(1 for _ in target.rglob("index.html"))
    return SiteReport(target, pages, time.perf_counter() - started, collect.messages)
