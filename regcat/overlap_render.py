"""The overlap reports as tables: CSV (one table per report) and Markdown (for the
site and for pasting into a review). The numbers come from `regcat.overlap`."""

from __future__ import annotations

import csv
import io


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "|".join(str(v) for v in value)
    return str(value)


def tables(name: str, data: dict) -> tuple[list[str], list[list]]:
    """One flat table per report: (header, rows)."""
    if name == "concepts":
        header = ["concept", "kind", "registers", "register_count", "variables", "conflicts"]
        rows = [
            [
                r["concept"],
                r["kind"],
                r["registers"],
                len(r["registers"]),
                [f"{v['id']} ({v['via']})" for v in r["variables"]],
                r["conflicts"],
            ]
            for r in data["concepts"]
        ]
        return header, rows
    if name == "reuse":
        header = ["register", "topic", "manual", "share_pct", "equivalent", "topic_covered"]
        header += ["key_registers"]
        rows = []
        for reg in data["registers"]:
            s = reg["summary"]
            rows.append(
                [reg["register"], "(all)", s["manual"], 100.0 if s["manual"] else None]
                + [s["equivalent"], s["topic_covered"], []]
            )
            for topic, t in reg["topics"].items():
                rows.append(
                    [reg["register"], topic, t["manual"], t["share_pct"], t["equivalent"]]
                    + [t["topic_covered"], t["key_registers"]]
                )
        o = data["overall"]
        for topic, t in o["topics"].items():
            rows.append(
                ["(all quality registers)", topic, t.get("manual", 0), t["share_pct"]]
                + [t.get("equivalent", 0), t.get("topic_covered", 0)]
                + [data["key_register_topics"].get(topic, [])]
            )
        return header, rows
    header = ["pathway", "register", "in_catalogue", "form", "name", "instruments", "shared_with"]
    rows = []
    for p in data["pathways"]:
        for member in p["registers"]:
            if not member["prom_forms"]:
                rows.append([p["pathway"], member["register"], member["in_catalogue"]] + [""] * 4)
            for form in member["prom_forms"]:
                shared = sorted(
                    {
                        r
                        for i in form["instruments"]
                        for r in p["shared_instruments"].get(i, ())
                        if r != member["register"]
                    }
                )
                rows.append(
                    [p["pathway"], member["register"], True, form["form"], form["name"]]
                    + [form["instruments"], shared]
                )
    for i in data["shared_instruments"]:
        rows.append(["(catalogue)", i["registers"], True, "", i["name"], [i["instrument"]], ""])
    return header, rows


def render_csv(name: str, data: dict) -> str:
    header, rows = tables(name, data)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[_cell(c) for c in row] for row in rows])
    return buffer.getvalue()


def _md_table(header: list[str], rows: list[list]) -> list[str]:
    def esc(value) -> str:
        text = _cell(value).replace("|", ", ") if isinstance(value, list) else _cell(value)
        return text.replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return out


def _pct_text(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} %"


def render_markdown(name: str, data: dict) -> str:
    lines: list[str] = []
    if name == "concepts":
        s = data["summary"]
        lines += ["## Concepts collected by several registers", ""]
        lines += [
            f"{s['concepts']} concepts: {s['mapping_groups']} groups of mapped variables, "
            f"{s['shared_codes']} shared codes; {s['conflicts']} value-map conflicts.",
            "",
        ]
        header, rows = tables(name, data)
        lines += _md_table(header, rows) if rows else ["(none)"]
        if data["conflicts"]:
            lines += ["", "### Value-map conflicts", ""] + [f"- {c}" for c in data["conflicts"]]
    elif name == "reuse":
        o = data["overall"]
        lines += ["## Manual collection a key register already holds", ""]
        lines += [
            f"Key registers: {', '.join(data['key_registers']) or '(none)'}. "
            f"Across {o['quality_registers']} quality registers, {o['manual']} manually "
            f"collected variables: {o['equivalent']} ({_pct_text(o['equivalent_pct'])}) have "
            f"an equivalent in a key register, {o['topic_covered']} more "
            f"({_pct_text(o['topic_covered_pct'])}) concern a topic a key register holds; "
            f"medication: {o['medication']} ({_pct_text(o['medication_pct'])}).",
            "",
        ]
        header = ["register", "manual", "equivalent", "topic covered", "medication"]
        header += ["unclassified"]
        rows = [
            [
                r["register"],
                r["summary"]["manual"],
                f"{r['summary']['equivalent']} ({_pct_text(r['summary']['equivalent_pct'])})",
                f"{r['summary']['topic_covered']} ({_pct_text(r['summary']['topic_covered_pct'])})",
                f"{r['summary']['medication']} ({_pct_text(r['summary']['medication_pct'])})",
                r["summary"]["unclassified"],
            ]
            for r in data["registers"]
        ]
        lines += _md_table(header, rows)
        lines += ["", "### By topic", ""]
        header, rows = tables(name, data)
        lines += _md_table(header, rows)
    else:
        lines += ["## PROM instruments sent by several registers", ""]
        shared = data["shared_instruments"]
        lines += [
            f"{len(data['instruments'])} instruments administered; {len(shared)} by more "
            f"than one register; {len(data['shared_items'])} items answered in more than "
            "one register.",
            "",
        ]
        for p in data["pathways"]:
            lines += [f"### Pathway {p['pathway']}: {p['name']}", ""]
            if p["note"]:
                lines += [f"_{p['note']}_", ""]
            lines += [
                f"{p['prom_forms']} PROM forms; instruments sent by more than one register: "
                + (
                    ", ".join(f"{i} ({', '.join(rs)})" for i, rs in p["shared_instruments"].items())
                    or "none"
                ),
                "",
            ]
        header, rows = tables(name, data)
        lines += _md_table(header, rows)
    return "\n".join(lines) + "\n"
