"""The documentation site, built as users build it (`regcat site build`, `mkdocs build`):
the pages the catalogue implies, stable URLs, escaping of catalogue text, the proposals
page, and clear errors that leave the last good site alone. What a browser sees is in
test_site_browser.py."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from regcat.cli import app
from regcat.io import dump_yaml
from regcat.site import urls
from tests.api_fixtures import bundled_index  # noqa: F401
from tests.conftest import REPO, snapshot, tiny_register, write_catalogue

CONFIG = REPO / "mkdocs.yml"
REGCAT = Path(sys.executable).with_name("regcat")
MKDOCS = Path(sys.executable).with_name("mkdocs")

HOSTILE = (
    "</title><script>window.__pwned=1</script> **fet** {{ 7*7 }} {% raw %} [x](javascript:alert(1))"
)


def _env(tmp: Path, catalogue: Path, index: Path) -> dict[str, str]:
    return dict(
        os.environ,
        REGCAT_CATALOGUE=str(catalogue),
        REGCAT_INDEX=str(index),
        REGCAT_DATABASE_URL=f"sqlite:///{tmp / 'proposals.db'}",
        NO_MKDOCS_2_WARNING="1",
    )


def _build(runner, catalogue: Path, index: Path, site: Path, *extra: str):
    return runner.invoke(
        app,
        [
            "--catalogue",
            str(catalogue),
            "--index",
            str(index),
            "site",
            "build",
            "--config",
            str(CONFIG),
            "--site-dir",
            str(site),
            *extra,
        ],
    )


def _hostile_catalogue(root: Path) -> Path:
    register = tiny_register(short_name=HOSTILE, url="javascript:alert(1)")
    register["variables"][1]["label"] = {"nb": HOSTILE, "en": "<b>en</b>"}
    register["variables"][1]["definition"] = {"nb": "# Overskrift\n\n<img src=x onerror=alert(1)>"}
    register["value_sets"][0]["codes"][0]["label"] = {"nb": "<script>alert(2)</script>"}
    return write_catalogue(root, [register])


@pytest.fixture(scope="module")
def tiny_site(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("tiny-site")
    catalogue = write_catalogue(tmp / "cat")
    from regcat.site.build import build_site

    build_site(
        CONFIG,
        site_dir=tmp / "site",
        catalogue=catalogue,
        index=tmp / "index",
        database_url=f"sqlite:///{tmp / 'p.db'}",
    )
    return tmp / "site"


def test_a_page_per_register_variable_and_overview(tiny_site: Path) -> None:
    for page in (
        "index.html",
        "registers/index.html",
        "registers/alpha/index.html",
        "variables/alpha/DIAG/index.html",
        "variables/alpha/INFARKT/index.html",
        "mappings/index.html",
        "overlap/index.html",
        "proposals/index.html",
        "about/index.html",
        "assets/javascripts/plotly.min.js",
        "search/search_index.json",
    ):
        assert (tiny_site / page).is_file(), page
    register = (tiny_site / "registers/alpha/index.html").read_text(encoding="utf-8")
    assert "Alfaregisteret" in register and "The Alpha Register" in register
    assert 'href="../../variables/alpha/DIAG/"' in register
    variable = (tiny_site / "variables/alpha/DIAG/index.html").read_text(encoding="utf-8")
    assert "<h1>Hoveddiagnose</h1>" in variable
    assert "ICD10:I21.4" in variable and "NSTEMI" in variable
    assert 'href="../../../registers/alpha/"' in variable
    home = (tiny_site / "index.html").read_text(encoding="utf-8")
    assert "<!-- regcat:summary -->" not in home and 'id="innhold"' in home


def test_search_index_has_variables_by_label_and_code(tiny_site: Path) -> None:
    docs = json.loads((tiny_site / "search/search_index.json").read_text(encoding="utf-8"))["docs"]
    infarct = [d for d in docs if d["location"].startswith("variables/alpha/INFARKT/")]
    assert any(d["title"] == "Hjerteinfarkt" for d in infarct)
    assert any("SCTID:22298006" in d["text"] for d in infarct)
    # The register's long variable table is left to the variable pages.
    assert not any("22298006" in d["text"] for d in docs if d["location"].startswith("registers/"))


def test_register_nav_lists_every_register(tiny_site: Path) -> None:
    # navigation.prune leaves the section folded on other pages; inside it, it is listed.
    listing = (tiny_site / "registers/index.html").read_text(encoding="utf-8")
    link = r'<a href="alpha/" class="md-nav__link">\s*<span class="md-ellipsis">\s*Alfaregisteret'
    assert re.search(link, listing)


def test_site_build_equals_mkdocs_build(tmp_path: Path, bundled_index: Path) -> None:  # noqa: F811
    """The two ways to build give byte-identical sites (the bundled catalogue)."""
    from regcat.layout import bundled_catalogue

    env = _env(tmp_path, bundled_catalogue(), bundled_index)
    a, b = tmp_path / "a", tmp_path / "b"
    subprocess.run(
        [str(MKDOCS), "build", "-q", "-f", str(CONFIG), "-d", str(a)],
        env=env,
        check=True,
        cwd=tmp_path,
        capture_output=True,
    )
    done = subprocess.run(
        [str(REGCAT), "site", "build", "-f", str(CONFIG), "-d", str(b)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert re.search(r"site .*: \d+ pages, [\d.]+ s", done.stderr)
    assert snapshot(a) == snapshot(b)
    pages = {p.relative_to(a).as_posix() for p in a.rglob("index.html")}
    assert "variables/noric/DISCHARGE_ASPIRIN_DISCHARGE/index.html" in pages
    assert "registers/npr/index.html" in pages and "mappings/key-register-reuse/index.html" in pages
    assert sum(1 for p in pages if p.startswith("variables/")) == 1341


def test_catalogue_text_is_escaped_everywhere(tmp_path: Path, runner) -> None:
    catalogue = _hostile_catalogue(tmp_path / "cat")
    result = _build(runner, catalogue, tmp_path / "index", tmp_path / "site")
    assert result.exit_code == 0, result.output
    site = tmp_path / "site"
    for path in site.rglob("*.html"):
        html = path.read_text(encoding="utf-8")
        assert "<script>window.__pwned" not in html, path
        assert "<script>alert(2)" not in html, path
        assert "<img src=x" not in html, path
        assert 'href="javascript:' not in html, path
    page = (site / "variables/alpha/INFARKT/index.html").read_text(encoding="utf-8")
    escaped = (
        "&lt;/title&gt;&lt;script&gt;window.__pwned=1&lt;/script&gt; **fet** {{ 7*7 }} {% raw %}"
    )
    assert f"<h1>{escaped}" in page
    assert f"<title>{escaped}" in page  # Material's <title> would have unescaped it
    assert "<strong>fet</strong>" not in page and "# Overskrift" in page
    register = (site / "registers/alpha/index.html").read_text(encoding="utf-8")
    assert "javascript:alert(1)</td>" in register  # shown, not linked
    # The nav lists the register by its hostile short name, escaped.
    listing = (site / "registers/index.html").read_text(encoding="utf-8")
    assert '<a href="alpha/" class="md-nav__link">' in listing
    assert "&lt;/title&gt;&lt;script&gt;" in listing and "<script>window" not in listing
    index = (site / "search/search_index.json").read_text(encoding="utf-8")
    assert "<script>window.__pwned" not in index


def test_overlap_charts_are_plotly_figures_safe_inside_script(tmp_path: Path) -> None:
    from regcat.site import charts

    concepts = {"concepts": [{"registers": ["a", "b"]}, {"registers": ["a", "b", "c"]}]}
    html = str(charts.register_overlap(concepts, {"a": "</script><b>A</b>", "b": "B", "c": "C"}))
    assert html.count("</script>") == 1  # only the element's own end tag
    payload = re.search(r'data-chart="chart-overlap">(.*)</script>', html, re.S).group(1)
    figure = json.loads(payload)
    heat = figure["data"][0]
    assert heat["type"] == "heatmap" and heat["x"][0] == "</script><b>A</b>"
    assert heat["z"][0] == [None, 2, 1]
    assert charts.register_overlap({"concepts": []}, {}) is None


def test_proposals_page_lists_open_proposals(tmp_path: Path, runner) -> None:
    from regcat.store import open_store
    from regcat.store import proposals as P
    from regcat.store.users import Principal

    url = f"sqlite:///{tmp_path / 'p.db'}"
    store = open_store(url)
    owner = Principal("kari", "owner", "alpha")
    coordinator = Principal("ola", "coordinator")
    variable = {"id": "alpha:NY", "label": {"nb": "Ny <variabel>"}}
    reuse = {"similar": [{"variable_id": "alpha:DIAG", "score": 0.9}], "key_register": []}
    open_one = P.create(
        store, owner, P.ProposalDraft("alpha", "alpha:NY", "new", variable, None, "fordi", reuse)
    )
    closed = P.create(
        store,
        owner,
        P.ProposalDraft("alpha", "alpha:GAMMEL", "new", {"id": "alpha:GAMMEL"}, None, "x", {}),
    )
    P.act(store, coordinator, closed.id, "reject", closed.version, "nei")
    store.close()
    catalogue = write_catalogue(tmp_path / "cat")
    result = _build(runner, catalogue, tmp_path / "index", tmp_path / "site", "--database-url", url)
    assert result.exit_code == 0, result.output
    page = (tmp_path / "site/proposals/index.html").read_text(encoding="utf-8")
    assert "Ny &lt;variabel&gt;" in page and "alpha:NY" in page and "kari" in page
    assert "alpha:GAMMEL" not in page
    assert 'href="../variables/alpha/DIAG/"' in page
    assert open_one.id is not None


def test_no_database_means_no_proposals_and_none_created(
    tmp_path: Path, runner, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REGCAT_DATABASE_URL", raising=False)
    catalogue = write_catalogue(tmp_path / "cat")
    result = _build(runner, catalogue, tmp_path / "index", tmp_path / "site")
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "regcat-data").exists()
    page = (tmp_path / "site/proposals/index.html").read_text(encoding="utf-8")
    assert "no proposal database yet" in page


def test_failed_build_keeps_the_last_site(tmp_path: Path, runner) -> None:
    catalogue = write_catalogue(tmp_path / "cat")
    site = tmp_path / "site"
    assert _build(runner, catalogue, tmp_path / "index", site).exit_code == 0
    before = snapshot(site)
    broken = tiny_register()
    broken["variables"][0]["value_set"] = "alpha:MISSING"
    (catalogue / "registers/alpha.yaml").write_text(dump_yaml(broken), encoding="utf-8")
    result = _build(runner, catalogue, tmp_path / "index", site)
    assert result.exit_code == 2
    assert "error: " in result.output and "alpha.yaml" in result.output
    assert "Traceback" not in result.output
    assert snapshot(site) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".site")] == []


def test_missing_config_is_a_clear_error(tmp_path: Path, runner) -> None:
    result = runner.invoke(app, ["site", "build", "--config", str(tmp_path / "nope.yml")])
    assert result.exit_code == 2
    assert "no mkdocs.yml here" in result.output


def test_generated_page_may_not_be_hand_written(tmp_path: Path, runner) -> None:
    docs = tmp_path / "docs"
    (docs / "registers").mkdir(parents=True)
    (docs / "index.md").write_text("# Hjem\n", encoding="utf-8")
    (docs / "registers/alpha.md").write_text("# hand-made\n", encoding="utf-8")
    config = tmp_path / "mkdocs.yml"
    config.write_text("site_name: t\ndocs_dir: docs\nplugins: [regcat]\n", encoding="utf-8")
    catalogue = write_catalogue(tmp_path / "cat")
    result = runner.invoke(
        app,
        [
            "--catalogue",
            str(catalogue),
            "--index",
            str(tmp_path / "index"),
            "site",
            "build",
            "--config",
            str(config),
            "--site-dir",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 2
    assert "registers/alpha.md is generated" in result.output
    assert not (tmp_path / "out").exists()


def test_page_urls_are_stable_and_safe() -> None:
    assert urls.variable_src("noric:ANGIO.PCI") == "variables/noric/ANGIO.PCI.md"
    assert urls.variable_src("noric:..") == "variables/noric/_...md"
    assert urls.page_url("variables/noric/X.md") == "variables/noric/X/"
    assert (
        urls.mapping_set_src("mappings/key-register-reuse.sssom.tsv")
        == "mappings/key-register-reuse.md"
    )
    assert (
        urls.relative("variables/noric/X.md", "registers/noric.md") == "../../../registers/noric/"
    )
    assert urls.relative("index.md", "registers/index.md") == "registers/"
    assert (
        urls.relative("overlap/index.md", urls.PLOTLY_JS) == "../assets/javascripts/plotly.min.js"
    )
    from regcat.errors import RegcatError

    with pytest.raises(RegcatError, match="would share the page"):
        urls.check_unique(
            {"noric:_.x": urls.variable_src("noric:_.x"), "noric:.x": urls.variable_src("noric:.x")}
        )


def test_history_links_both_ways(tmp_path: Path, runner) -> None:
    """A retired variable names its successor, and the successor names what it replaced."""
    register = tiny_register()
    register["variables"].append(
        {
            "id": "alpha:DIAG_GAMMEL",
            "form": "basis",
            "label": {"nb": "Gammel diagnose"},
            "datatype": "string",
            "status": "retired",
            "valid_from": "2010-01-01",
            "valid_to": "2019-12-31",
            "superseded_by": "alpha:DIAG",
        }
    )
    catalogue = write_catalogue(tmp_path / "cat", [register])
    result = _build(runner, catalogue, tmp_path / "index", tmp_path / "site")
    assert result.exit_code == 0, result.output
    old = (tmp_path / "site/variables/alpha/DIAG_GAMMEL/index.html").read_text(encoding="utf-8")
    new = (tmp_path / "site/variables/alpha/DIAG/index.html").read_text(encoding="utf-8")
    assert re.search(r'Erstattet av / superseded by: <a href="\.\./DIAG/">Hoveddiagnose', old)
    assert re.search(r'Erstatter / supersedes: <a href="\.\./DIAG_GAMMEL/">Gammel diagnose', new)
    assert "Erstatter / supersedes" not in old


def test_ehr_binding_and_coverage_are_shown_escaped(tmp_path: Path, runner) -> None:
    """A bound variable's page says where in the EHR it comes from; the register page
    shows how each form's data comes in. Catalogue text stays text."""
    register = tiny_register()
    register["variables"][1]["datatype"] = "date"  # alpha:INFARKT, as a dated event here
    catalogue = write_catalogue(tmp_path / "cat", [register])
    (catalogue / "ehr").mkdir()
    (catalogue / "ehr" / "alpha.yaml").write_text(
        dump_yaml(
            {
                "register_id": "alpha",
                "fhir_version": "R4",
                "bindings": [
                    {
                        "variable": "alpha:INFARKT",
                        "resource": "Condition",
                        "element": "Condition.recordedDate",
                        "code_filter": {
                            "element": "Condition.code",
                            "system": "ICD10",
                            "codes": ["I21*"],
                        },
                        "pick": "first",
                        "note": HOSTILE,
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    result = _build(runner, catalogue, tmp_path / "index", tmp_path / "site")
    assert result.exit_code == 0, result.output
    page = (tmp_path / "site/variables/alpha/INFARKT/index.html").read_text(encoding="utf-8")
    assert 'id="pasientjournal"' in page
    assert "<code>Condition.recordedDate</code>" in page and "<code>I21*</code>" in page
    assert "<script>window.__pwned" not in page and "&lt;/title&gt;&lt;script&gt;" in page
    unbound = (tmp_path / "site/variables/alpha/DIAG/index.html").read_text(encoding="utf-8")
    assert 'id="pasientjournal"' not in unbound
    reg = (tmp_path / "site/registers/alpha/index.html").read_text(encoding="utf-8")
    assert 'id="datafangst"' in reg
    assert re.search(r"<td><code>basis</code></td><td>2</td><td>1 \(50&nbsp;%\)</td>", reg)
    assert re.search(r'href="\.\./\.\./variables/alpha/INFARKT/#pasientjournal">EHR</a>', reg)
