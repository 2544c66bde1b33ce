"""HTML for the generated pages, from Jinja templates with autoescaping on: a label
holding `<script>`, markdown or Jinja syntax is shown as the text it is. The pages skip
markdown entirely (it would read catalogue text as markup, and it is most of the build
time), so each render also returns the page's table of contents."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from regcat.site import urls

# Headings are bokmål first, English beside; the id is the anchor (stable, ASCII).
HEADINGS: dict[str, tuple[str, str]] = {
    "definisjon": ("Definisjon", "Definition"),
    "egenskaper": ("Egenskaper", "Properties"),
    "verdisett": ("Verdisett", "Value set"),
    "kodinger": ("Kodinger", "Codings"),
    "historikk": ("Historikk", "History"),
    "kartlegginger": ("Kartlegginger", "Mappings"),
    "ogsa-samlet-inn": ("Også samlet inn av", "Also collected by"),
    "nokkelregister": ("Nøkkelregistre", "Key-register equivalents"),
    "pasientjournal": ("Fra pasientjournalen", "From the EHR (FHIR R4)"),
    "datafangst": ("Datafangst", "How the data comes in"),
    "om-registeret": ("Om registeret", "About the register"),
    "skjema": ("Skjema", "Forms"),
    "variabler": ("Variabler", "Variables"),
    "innhold": ("Innhold", "What the catalogue holds"),
    "kodingsdekning": ("Kodingsdekning", "Codings coverage"),
    "kartleggingssett": ("Kartleggingssett", "Mapping sets"),
    "felles-begreper": ("Felles begreper", "Shared concepts"),
    "overlapp-kart": ("Overlapp mellom registre", "Overlap between registers"),
    "gjenbruk": ("Gjenbruk av nøkkelregistre", "Reuse of key registers"),
    "prom": ("PROM-instrumenter", "PROM instruments"),
    "forslag": ("Åpne forslag", "Open proposals"),
}


@dataclass
class Toc:
    """Collects the headings a template writes, for mkdocs' table of contents."""

    tokens: list[dict] = field(default_factory=list)

    def heading(self, anchor: str, level: int = 2, count: int | None = None) -> Markup:
        html, name = _heading(anchor, level, count)
        self.tokens.append({"level": level, "id": anchor, "name": name, "children": []})
        return html

    def nested(self) -> list[dict]:
        """mkdocs wants h3s as children of the h2 before them."""
        out: list[dict] = []
        for token in self.tokens:
            if token["level"] > 2 and out:
                out[-1]["children"].append(token)
            else:
                out.append(token)
        return out


@cache
def _heading(anchor: str, level: int, count: int | None) -> tuple[Markup, str]:
    # Cached: the same few headings appear on every one of thousands of pages.
    nb, en = HEADINGS[anchor]
    suffix = f" ({count})" if count is not None else ""
    html = Markup(
        '<h{l} id="{a}">{nb}{s} <small class="rc-en" lang="en">{en}</small>'
        '<a class="headerlink" href="#{a}" title="Permanent link">&para;</a></h{l}>'
    ).format(l=level, a=anchor, nb=nb, s=suffix, en=en)
    return html, str(escape(nb + suffix))


def safe_url(url: str | None) -> str | None:
    """Only http(s) and mailto links are made clickable; `javascript:` and friends stay text."""
    if not url:
        return None
    scheme = urlsplit(url.strip()).scheme.lower()
    return url.strip() if scheme in ("http", "https", "mailto") else None


def nb(text) -> str:
    if text is None:
        return ""
    if isinstance(text, str):
        return text
    if isinstance(text, dict):  # a proposal, as JSON
        return str(text.get("nb") or text.get("en") or "")
    return text.nb or text.en or ""


def en(text) -> str:
    if text is None or isinstance(text, str):
        return ""
    if isinstance(text, dict):
        return str(text.get("en") or "")
    return text.en or ""


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("regcat.site", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["nb"] = nb
    env.filters["en"] = en
    env.filters["safe_url"] = safe_url
    env.filters["pct"] = lambda v: "–" if v is None else f"{v:.1f} %".replace(".", ",")
    env.filters["num"] = lambda v: f"{v:,}".replace(",", "\u00a0")
    return env


def render(template: str, src: str, content, **context) -> tuple[str, list[dict]]:
    """(HTML, table-of-contents tokens) for the page built from `src`."""
    toc = Toc()

    def link(target: str) -> str:
        """A relative link to an entity's page (by id) or to a page or asset source."""
        page = content.page_of(target)
        return urls.relative(src, page or target)

    html = (
        environment()
        .get_template(template)
        .render(
            c=content,
            cat=content.cat,
            h=toc.heading,
            link=link,
            src=src,
            **context,
        )
    )
    return html, toc.nested()
