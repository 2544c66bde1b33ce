"""Where each generated page lives. URLs are derived from ids alone, so they stay
stable across builds: /registers/noric/, /variables/noric/AVDHJARTINFARKT/,
/mappings/key-register-reuse/."""

from __future__ import annotations

import posixpath

from regcat.errors import RegcatError


def _segment(text: str) -> str:
    # Ids allow dots (schema pattern [A-Za-z0-9_.-]); a leading dot would make "." or
    # ".." path segments or hidden files.
    return "_" + text if text.startswith(".") else text


def register_src(register_id: str) -> str:
    return f"registers/{_segment(register_id)}.md"


def variable_src(variable_id: str) -> str:
    register_id, _, local = variable_id.partition(":")
    return f"variables/{_segment(register_id)}/{_segment(local)}.md"


def mapping_set_src(file: str) -> str:
    name = posixpath.basename(file)
    for suffix in (".sssom.tsv", ".tsv"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return f"mappings/{_segment(name)}.md"


REGISTERS_INDEX = "registers/index.md"
MAPPINGS_INDEX = "mappings/index.md"
OVERLAP = "overlap/index.md"
PROPOSALS = "proposals/index.md"
PLOTLY_JS = "assets/javascripts/plotly.min.js"


def page_url(src: str) -> str:
    """The URL mkdocs gives a page with use_directory_urls (the default)."""
    if src.endswith("index.md"):
        return src[: -len("index.md")]
    return src[: -len(".md")] + "/"


def relative(from_src: str, to: str) -> str:
    """A link from the page built from `from_src` to `to` (a page source or an asset)."""
    target = page_url(to) if to.endswith(".md") else to
    base = page_url(from_src)
    rel = posixpath.relpath(target or ".", base or ".")
    if to.endswith(".md"):
        return "./" if rel == "." else rel + "/"
    return rel


def check_unique(sources: dict[str, str]) -> None:
    """`sources` maps an id → its page source; two ids must not share a page (ids
    differing only in a leading dot or underscore, say)."""
    seen: dict[str, str] = {}
    for what, src in sources.items():
        if src in seen:
            raise RegcatError(f"{what} and {seen[src]} would share the page {src}; rename one")
        seen[src] = what
