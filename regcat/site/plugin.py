"""The mkdocs plugin (`plugins: [regcat]`): brings the index up to date, adds a page per
register, variable and mapping set plus the overview, overlap and proposal pages, and
renders them from templates instead of markdown.

Generated pages carry an empty markdown body: rendering thousands of pages through
Python-Markdown would cost most of the build and would read catalogue text as markup.
Their HTML is put in at `on_page_content`, with the table of contents it implies.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from markupsafe import escape
from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.structure.toc import get_toc

from regcat.errors import RegcatError
from regcat.site import charts, urls
from regcat.site.content import SiteContent, load_content
from regcat.site.render import nb, render

SUMMARY_MARKER = "<!-- regcat:summary -->"
CHARTS_JS = "javascripts/charts.js"  # hand-written, in docs_dir
REGISTERS_NAV = "registers/index.md"


class RegcatConfig(base.Config):
    catalogue = c.Optional(c.Type(str))  # default: $REGCAT_CATALOGUE, else the bundled one
    index = c.Optional(c.Type(str))  # default: $REGCAT_INDEX, else .regcat
    database_url = c.Optional(c.Type(str))  # proposals; default: $REGCAT_DATABASE_URL, …
    build_index = c.Type(bool, default=True)  # bring the index up to date first


@dataclass(frozen=True)
class _Page:
    kind: str
    key: str  # the id or file the page is about ("" for overview pages)
    title: str  # plain text; escaped when handed to mkdocs


class RegcatPlugin(BasePlugin[RegcatConfig]):
    content: SiteContent
    pages: dict[str, _Page]

    # -- configuration -------------------------------------------------------------

    def on_config(self, config):
        from regcat.layout import resolve_catalogue

        index = Path(self.config.index or os.environ.get("REGCAT_INDEX", ".regcat"))
        try:
            if self.config.build_index:
                from regcat.index import build_index

                root = resolve_catalogue(
                    Path(self.config.catalogue) if self.config.catalogue else None
                )
                report = build_index(root, index)
                if report.errors:
                    first = report.errors[0].render()
                    raise PluginError(
                        f"regcat: the catalogue has {len(report.errors)} error(s); "
                        f"first: {first} (run `regcat validate`)"
                    )
            self.content = load_content(index, self.config.database_url)
        except RegcatError as exc:
            raise PluginError(f"regcat: {exc.render()}") from None
        # Theme overrides that keep page titles escaped in <title> (see theme/main.html).
        config.theme.dirs.insert(0, str(resources.files("regcat.site") / "theme"))
        self.pages = self._plan()
        config.nav = self._expand_nav(config.nav)
        return config

    def _plan(self) -> dict[str, _Page]:
        cat = self.content.cat
        pages: dict[str, _Page] = {
            urls.REGISTERS_INDEX: _Page("registers", "", "Registre"),
            urls.MAPPINGS_INDEX: _Page("mappings", "", "Kartlegginger"),
            urls.OVERLAP: _Page("overlap", "", "Overlapp og gjenbruk"),
            urls.PROPOSALS: _Page("proposals", "", "Forslag"),
        }
        for reg in cat.registers.values():
            title = reg.short_name or nb(reg.name) or reg.id
            pages[urls.register_src(reg.id)] = _Page("register", reg.id, title)
        for v in cat.variables.values():
            pages[urls.variable_src(v.id)] = _Page("variable", v.id, nb(v.label) or v.id)
        for file, ms in cat.mapping_sets.items():
            pages[urls.mapping_set_src(file)] = _Page(
                "mapping_set", file, ms.mapping_set_title or file
            )
        return pages

    def _expand_nav(self, nav):
        """The nav entry for registers/index.md becomes a section listing every register."""
        if not nav:
            return nav
        registers = [
            {str(escape(self.pages[src].title)): src}
            for src in sorted(
                (urls.register_src(r) for r in self.content.cat.registers),
                key=lambda s: self.pages[s].title.lower(),
            )
        ]
        out = []
        for item in nav:
            if isinstance(item, dict) and len(item) == 1:
                ((title, target),) = item.items()
                if target == REGISTERS_NAV:
                    out.append({title: [REGISTERS_NAV, *registers]})
                    continue
            out.append(item)
        return out

    # -- files and pages -------------------------------------------------------------

    def on_files(self, files: Files, config) -> Files:
        from plotly.offline import get_plotlyjs

        for src, page in self.pages.items():
            if files.get_file_from_path(src) is not None:
                raise PluginError(f"regcat: {src} is generated; remove it from the docs folder")
            inclusion = (
                InclusionLevel.UNDEFINED
                if page.kind in ("register", "registers", "mappings", "overlap", "proposals")
                else InclusionLevel.NOT_IN_NAV
            )
            files.append(File.generated(config, src, content="", inclusion=inclusion))
        files.append(File.generated(config, urls.PLOTLY_JS, content=get_plotlyjs()))
        return files

    def on_page_markdown(self, markdown: str, page, config, files) -> str:
        planned = self.pages.get(page.file.src_uri)
        if planned is None:
            return markdown
        # mkdocs puts titles into HTML as they are: give it escaped text.
        page.meta["title"] = str(escape(planned.title))
        return ""

    def on_page_content(self, html: str, page, config, files) -> str:
        src = page.file.src_uri
        planned = self.pages.get(src)
        if planned is None:
            if SUMMARY_MARKER in html:
                summary, tokens = self._summary(src)
                html = html.replace(SUMMARY_MARKER, summary, 1)
                self._merge_toc(page, tokens)
            return html
        html, tokens = getattr(self, f"_render_{planned.kind}")(src, planned.key)
        page.toc = get_toc(tokens)
        return html

    @staticmethod
    def _merge_toc(page, tokens: list[dict]) -> None:
        links = list(get_toc(tokens))
        for link in links:
            link.active = False
        items = page.toc.items
        if items and items[0].level == 1:
            items[0].children[:0] = links
        else:
            items[:0] = links

    # -- renderers, one per page kind -----------------------------------------------

    def _summary(self, src: str):
        stats = self.content.cat.stats()
        variables = self.content.cat.variables.values()
        coded = sum(1 for v in variables if v.codings)
        by_system: dict[str, int] = {}
        for v in variables:
            for system in sorted({cd.system for cd in v.codings or []}):
                by_system[system] = by_system.get(system, 0) + 1
        total = stats["totals"]["variables"]
        return render(
            "summary.html",
            src,
            self.content,
            totals=stats["totals"],
            coded=coded,
            coded_pct=100 * coded / total if total else None,
            by_system=sorted(by_system.items()),
            built=self.content.built,
        )

    def _render_registers(self, src: str, _key: str):
        return render(
            "registers.html", src, self.content, registers=self.content.cat.stats()["registers"]
        )

    def _render_register(self, src: str, register_id: str):
        content = self.content
        reg = content.cat.registers[register_id]
        variables = list(reg.variables or [])
        per_form: dict[str, list] = {}
        for v in variables:
            per_form.setdefault(v.form or "", []).append(v)
        groups = []
        for i, form in enumerate(reg.forms or [], start=1):
            if form.id in per_form:
                title = f"{nb(form.name) or form.id} ({len(per_form[form.id])})"
                groups.append({"anchor": i, "title": title, "variables": per_form[form.id]})
        known = {f.id for f in reg.forms or []}
        rest = [v for v in variables if (v.form or "") not in known]
        if rest:
            title = f"Uten skjema / no form ({len(rest)})" if groups else None
            groups.append({"anchor": 0, "title": title, "variables": rest})
        return render(
            "register.html",
            src,
            content,
            reg=reg,
            variables=variables,
            groups=groups,
            per_form=per_form,
            coverage={
                form: row
                for (reg_id, form), row in content.coverage.items()
                if reg_id == register_id
            },
        )

    def _render_variable(self, src: str, variable_id: str):
        content = self.content
        v = content.cat.variables[variable_id]
        return render(
            "variable.html",
            src,
            content,
            v=v,
            vs=content.cat.value_sets.get(v.value_set) if v.value_set else None,
            mappings=content.mappings_of.get(v.id, []),
            also=content.also_collected.get(v.id, []),
            equivalents=content.equivalents.get(v.id, []),
            superseding=content.supersedes.get(v.id, []),
            binding=content.bindings.get(v.id),
            anchor_of=content.anchors.get(v.id, []),
        )

    def _render_mappings(self, src: str, _key: str):
        return render(
            "mappings.html", src, self.content, sets=sorted(self.content.cat.mapping_sets.items())
        )

    def _render_mapping_set(self, src: str, file: str):
        return render(
            "mapping_set.html", src, self.content, file=file, ms=self.content.cat.mapping_sets[file]
        )

    def _render_overlap(self, src: str, _key: str):
        reports = self.content.reports
        names = {
            r.id: r.short_name or nb(r.name) or r.id for r in self.content.cat.registers.values()
        }
        return render(
            "overlap.html",
            src,
            self.content,
            concepts=reports["concepts"],
            reuse=reports["reuse"],
            prom=reports["prom"],
            overlap_chart=charts.register_overlap(reports["concepts"], names),
            reuse_chart=charts.reuse_by_topic(reports["reuse"], names),
            prom_chart=charts.prom_by_register(reports["prom"], names),
            plotly_js=urls.PLOTLY_JS,
            charts_js=CHARTS_JS,
        )

    def _render_proposals(self, src: str, _key: str):
        return render(
            "proposals.html",
            src,
            self.content,
            proposals=self.content.proposals,
            api_proposals="api/proposals",
        )
