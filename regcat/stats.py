"""Catalogue counts, read from the index."""

from __future__ import annotations

from pathlib import Path

from regcat.index import open_index


def index_stats(index_dir: Path) -> dict:
    db = open_index(index_dir)
    try:
        one = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
        registers = []
        for row in db.execute(
            """
            SELECT r.id, r.name_nb, r.key_register,
              (SELECT count(*) FROM forms f WHERE f.register_id = r.id) AS forms,
              (SELECT count(*) FROM variables v WHERE v.register_id = r.id) AS variables,
              (SELECT count(*) FROM value_sets s WHERE s.file = r.file) AS value_sets,
              (SELECT count(*) FROM codings c JOIN variables v ON v.id = c.variable_id
                 WHERE v.register_id = r.id) AS codings
            FROM registers r ORDER BY r.id
            """
        ):
            registers.append(
                {
                    "id": row["id"],
                    "name": row["name_nb"],
                    "key_register": bool(row["key_register"]),
                    "forms": row["forms"],
                    "variables": row["variables"],
                    "value_sets": row["value_sets"],
                    "codings": row["codings"],
                }
            )
        totals = {
            "registers": len(registers),
            "key_registers": sum(r["key_register"] for r in registers),
            "forms": one("SELECT count(*) FROM forms"),
            "variables": one("SELECT count(*) FROM variables"),
            "value_sets": one("SELECT count(*) FROM value_sets"),
            "codes": one("SELECT count(*) FROM codes"),
            "codings": one("SELECT count(*) FROM codings"),
            "code_systems": one("SELECT count(*) FROM code_systems"),
            "instruments": one("SELECT count(*) FROM instruments"),
            "mapping_sets": one("SELECT count(*) FROM mapping_sets"),
            "mappings": one("SELECT count(*) FROM mappings"),
        }
        return {"totals": totals, "registers": registers}
    finally:
        db.close()
