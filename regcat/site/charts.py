"""The overlap page's charts, drawn by plotly (its JavaScript ships with the Python
package, so the site needs no network). Each chart is a figure as JSON inside the page;
site/javascripts/charts.js draws every one it finds."""

from __future__ import annotations

import json
from itertools import combinations

from markupsafe import Markup

# Bokmål labels for the topic ids the reuse report uses.
TOPICS_NB = {
    "administrative": "administrativt",
    "clinical_finding": "kliniske funn",
    "complication": "komplikasjoner",
    "death": "død",
    "demographics": "demografi",
    "diagnosis": "diagnoser",
    "imaging": "bildediagnostikk",
    "laboratory": "laboratorium",
    "lifestyle": "levevaner",
    "medication": "legemidler",
    "procedure": "prosedyrer",
    "prom": "PROM",
}

_LAYOUT = {
    "template": "none",
    "font": {"family": "Roboto, Helvetica, Arial, sans-serif", "size": 13},
    "margin": {"l": 140, "r": 20, "t": 30, "b": 110},
}


def _figure(chart_id: str, data: list[dict], layout: dict, caption: str) -> Markup:
    import plotly.graph_objects as go

    # plotly checks every property name and value against plotly.js's schema.
    figure = go.Figure(data=data, layout={**_LAYOUT, **layout}).to_plotly_json()
    # Inside <script>, "</" would end the element early: escape the characters that
    # could, so hostile labels stay data.
    text = (
        json.dumps(figure, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )
    return Markup(
        '<figure class="rc-chart-figure"><div class="rc-chart" id="{id}" role="img" '
        'aria-label="{caption}"></div><script type="application/json" '
        'data-chart="{id}">{json}</script><figcaption>{caption}</figcaption></figure>'
    ).format(id=chart_id, json=Markup(text), caption=caption)


def register_overlap(concepts: dict, names: dict[str, str]) -> Markup | None:
    """Heat map: how many shared concepts (mapping groups and shared codes) each pair of
    registers has in common."""
    pairs: dict[tuple[str, str], int] = {}
    for group in concepts["concepts"]:
        for a, b in combinations(sorted(set(group["registers"])), 2):
            pairs[(a, b)] = pairs.get((a, b), 0) + 1
    if not pairs:
        return None
    registers = sorted({r for pair in pairs for r in pair})
    z = [
        [pairs.get((a, b), pairs.get((b, a), 0)) if a != b else None for b in registers]
        for a in registers
    ]
    labels = [names.get(r, r) for r in registers]
    data = [
        {
            "type": "heatmap",
            "z": z,
            "x": labels,
            "y": labels,
            "colorscale": "Blues",
            "hoverongaps": False,
            "hovertemplate": "%{y} × %{x}: %{z} felles begreper<extra></extra>",
            "colorbar": {"title": {"text": "begreper"}},
            "texttemplate": "%{z}",
        }
    ]
    size = max(320, 60 + 48 * len(registers))
    layout = {"height": size, "yaxis": {"autorange": "reversed"}}
    return _figure(
        "chart-overlap",
        data,
        layout,
        "Felles begreper per registerpar / shared concepts per pair of registers",
    )


def reuse_by_topic(reuse: dict, names: dict[str, str]) -> Markup | None:
    """Heat map: per quality register and topic, the share of its manually collected
    variables on that topic that a key register holds the topic of."""
    rows = [r for r in reuse["registers"] if r["summary"]["manual"]]
    topics = sorted({t for r in rows for t in r["topics"]})
    if not rows or not topics:
        return None
    # Topics down, registers across: there are a dozen topics and few quality registers.
    z, text, counts = [], [], []
    for topic in topics:
        z_row, text_row, count_row = [], [], []
        for r in rows:
            cell = r["topics"].get(topic)
            if not cell or not cell["manual"]:
                z_row.append(None)
                text_row.append("")
                count_row.append("")
                continue
            share = round(100 * cell["topic_covered"] / cell["manual"], 1)
            z_row.append(share)
            text_row.append(f"{share:.0f} %")
            count_row.append(f"{cell['topic_covered']} av {cell['manual']}")
        z.append(z_row)
        text.append(text_row)
        counts.append(count_row)
    data = [
        {
            "type": "heatmap",
            "z": z,
            "x": [names.get(r["register"], r["register"]) for r in rows],
            "y": [TOPICS_NB.get(t, t) for t in topics],
            "text": text,
            "customdata": counts,
            "texttemplate": "%{text}",
            "zmin": 0,
            "zmax": 100,
            "colorscale": "Greens",
            "hoverongaps": False,
            "hovertemplate": "%{x}, %{y}: %{customdata} manuelle variabler (%{z} %) "
            "har et tema et nøkkelregister har<extra></extra>",
            "colorbar": {"title": {"text": "%"}},
        }
    ]
    layout = {"height": 140 + 34 * len(topics), "yaxis": {"autorange": "reversed"}}
    return _figure(
        "chart-reuse",
        data,
        layout,
        "Andel manuelt innsamlede variabler per tema som et nøkkelregister har / "
        "share of manually collected variables per topic that a key register holds",
    )


def prom_by_register(prom: dict, names: dict[str, str]) -> Markup | None:
    """Stacked bars: PROM forms per register, one colour per instrument."""
    counts: dict[str, dict[str, int]] = {}
    instrument_names = {i["instrument"]: i["name"] for i in prom["instruments"]}
    registers: set[str] = set()
    for pathway in prom["pathways"]:
        for reg in pathway["registers"]:
            for form in reg["prom_forms"]:
                registers.add(reg["register"])
                for instrument in form["instruments"] or ["(ukjent)"]:
                    per = counts.setdefault(instrument, {})
                    per[reg["register"]] = per.get(reg["register"], 0) + 1
    for instrument in prom["instruments"]:
        for reg in instrument["registers"]:
            registers.add(reg)
            counts.setdefault(instrument["instrument"], {}).setdefault(reg, 1)
    if not counts:
        return None
    order = sorted(registers)
    data = [
        {
            "type": "bar",
            "name": instrument_names.get(instrument, instrument),
            "x": [names.get(r, r) for r in order],
            "y": [per.get(r, 0) for r in order],
            "hovertemplate": "%{x}: %{y} skjema<extra>%{fullData.name}</extra>",
        }
        for instrument, per in sorted(counts.items())
    ]
    layout = {
        "barmode": "stack",
        "height": 340,
        "yaxis": {"title": {"text": "PROM-skjema / forms"}, "dtick": 1},
        "legend": {"title": {"text": "instrument"}},
    }
    return _figure(
        "chart-prom",
        data,
        layout,
        "PROM-instrumenter per register / PROM instruments by register",
    )
