"""The documentation site: an mkdocs plugin that generates the register, variable,
mapping, overlap and proposal pages from the index at build time.

- content.py  what the pages show, gathered once from the index (and the store)
- urls.py     where each page lives (stable URLs) and links between pages
- render.py   Jinja templates with autoescaping: catalogue text is always text
- charts.py   the overlap charts (plotly)
- plugin.py   the mkdocs plugin (`plugins: [regcat]` in mkdocs.yml)
- build.py    `regcat site build`: the same build as `mkdocs build`
"""
