"""The built site as a reader sees it, in a real Chromium (Debian's /usr/bin/chromium,
driven by Playwright).

- The home, a register, a variable and the overlap page render without console errors
  and show what they should (the overlap page's three plotly charts get drawn), served
  by `regcat serve` the way users run it.
- Material's search finds variables by a Norwegian word and by a code.
- Every internal link and asset of every built page resolves, anchors included (read
  from the files: no browser needed).
- Catalogue text holding HTML, markdown and Jinja syntax shows as the text it is, on the
  page, in the title and in search results, and runs nothing.

Screenshots of the pages land in test-artifacts/site/ for a human to look at.
"""

from __future__ import annotations

import fcntl
import functools
import http.server
import os
import posixpath
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import httpx
import pytest
import yaml

from regcat.io import dump_yaml
from regcat.layout import bundled_catalogue
from regcat.site.build import build_site

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts" / "site"
REGCAT = str(Path(sys.executable).with_name("regcat"))
CHROMIUM = Path("/usr/bin/chromium")
# The background-networking flags keep Chromium from calling home on an offline machine.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
SEARCH_TIMEOUT_MS = 30_000  # the first query waits for the worker to load the index

ASA = "noric:DISCHARGE_ASPIRIN_DISCHARGE"
ASA_PAGE = "/variables/noric/DISCHARGE_ASPIRIN_DISCHARGE/"
HOSTILE_LABEL = (
    '</title><script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
    " **bold** {{ 7*7 }} {% raw %}"
)
HOSTILE_DEFINITION = "Definisjon <script>window.__pwned=3</script> _kursiv_ {{ 6*7 }} {% endraw %}"
HOSTILE_HELP = (
    'Hjelp <img src=y onerror="window.__pwned=4"> [lenke](javascript:window.__pwned=5)'
    " <!-- {{ config }} -->"
)


# --- building and serving -------------------------------------------------------------


def _build_once(tmp_path_factory, name: str, make_catalogue) -> Path:
    """Build a site once per test run: the xdist workers share the temp folder's parent
    and take turns on a lock, so the first builds and the others reuse its site."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    root = shared / f"regcat-{name}"
    with open(shared / f"regcat-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "built").exists():
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir()
            report = build_site(
                REPO / "mkdocs.yml",
                site_dir=root / "site",
                catalogue=make_catalogue(root),
                index=root / "index",
                database_url=f"sqlite:///{root / 'build.db'}",
            )
            assert report.pages > 900, report
            (root / "built").touch()
    return root / "site"


def _hostile_catalogue(root: Path) -> Path:
    """A copy of the bundled catalogue whose ASA variable has a label, definition and
    help text made of markup."""
    catalogue = root / "catalogue"
    shutil.copytree(
        bundled_catalogue(), catalogue, ignore=shutil.ignore_patterns("__pycache__", "*.py")
    )
    path = catalogue / "registers" / "noric.yaml"
    register = yaml.safe_load(path.read_text(encoding="utf-8"))
    (variable,) = [v for v in register["variables"] if v["id"] == ASA]
    variable["label"] = {"nb": HOSTILE_LABEL}
    variable["definition"] = {"nb": HOSTILE_DEFINITION}
    variable["help_text"] = {"nb": HOSTILE_HELP}
    path.write_text(dump_yaml(register), encoding="utf-8")
    return catalogue


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    """The bundled catalogue's site."""
    return _build_once(tmp_path_factory, "site", lambda root: bundled_catalogue())


@pytest.fixture(scope="session")
def hostile_site(tmp_path_factory) -> Path:
    """The site of the catalogue from `_hostile_catalogue`."""
    return _build_once(tmp_path_factory, "hostile-site", _hostile_catalogue)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server(site: Path, tmp_path_factory) -> Iterator[str]:
    """`regcat serve` with the built site; yields its base URL."""
    port = _free_port()
    own = tmp_path_factory.mktemp("serve")
    index = shutil.copytree(site.parent / "index", own / "index")  # not shared by workers
    database = own / "db.sqlite"
    process = subprocess.Popen(
        [REGCAT, "--catalogue", str(bundled_catalogue()), "--index", str(index), "serve",
         "--host", "127.0.0.1", "--port", str(port), "--site", str(site), "--workers", "1"],
        env={**os.environ, "REGCAT_DATABASE_URL": f"sqlite:///{database}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(process, f"{base}/api/")
        yield base
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=15)
        process.stderr.close()


def _wait_for(process: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"regcat serve exited: {process.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"regcat serve did not answer {url} within 60 s")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="session")
def hostile_server(hostile_site: Path) -> Iterator[str]:
    """The hostile site served as static files (no API needed); yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(hostile_site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


# --- the browser ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium() -> Path:
    """The browser's executable; asked for first, so a missing one skips before any build."""
    if not CHROMIUM.is_file():
        if os.environ.get("CI"):
            pytest.fail("CI must install chromium: .ci/chromium.sh")
        pytest.skip(f"no Chromium at {CHROMIUM} (the project's setup installs it)")
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium: Path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Tab:
    """A page in a fresh browser context, collecting console errors and uncaught
    exceptions as it goes."""

    page: object
    base: str
    errors: list[str] = field(default_factory=list)

    def open(self, path: str) -> None:
        response = self.page.goto(self.base + path, wait_until="networkidle")
        assert response is not None and response.status == 200, (path, response)

    def assert_no_errors(self) -> None:
        assert not self.errors, "console errors:\n" + "\n".join(self.errors)

    def screenshot(self, name: str, full_page: bool = True) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / name), full_page=full_page)

    def pwned(self) -> bool:
        """Whether any injected script ran (each sets window.__pwned)."""
        return self.page.evaluate("typeof window.__pwned !== 'undefined'")


def _tab(browser, base: str) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    tab = Tab(page, base)
    page.on(
        "console",
        lambda m: (
            tab.errors.append(f"{m.text} ({m.location.get('url')})") if m.type == "error" else None
        ),
    )
    page.on("pageerror", lambda exc: tab.errors.append(f"uncaught: {exc}"))
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture
def tab(chromium, browser, server: str) -> Iterator[Tab]:
    yield from _tab(browser, server)


@pytest.fixture
def hostile_tab(chromium, browser, hostile_server: str) -> Iterator[Tab]:
    yield from _tab(browser, hostile_server)


# --- pages ----------------------------------------------------------------------------


def _digits(text: str) -> int:
    return int("".join(ch for ch in text if ch.isdigit()))


def test_home_page(tab: Tab, site: Path) -> None:
    tab.open("/")
    page = tab.page
    assert "Innhold" in page.locator("h2#innhold").text_content()
    row = page.locator("table.rc-summary tr", has=page.locator("th", has_text="Variabler"))
    count = row.locator("td").text_content()
    variable_pages = list(site.glob("variables/*/*/index.html"))
    assert _digits(count) == len(variable_pages) > 800
    tab.screenshot("home.png")
    tab.assert_no_errors()


def test_register_page(tab: Tab, site: Path) -> None:
    tab.open("/registers/noric/")
    page = tab.page
    assert "NORIC" in page.locator("article h1").text_content()
    assert page.locator("h2#variabler").is_visible()
    rows = page.locator("table.rc-vars tbody tr").count()
    assert rows == len(list(site.glob("variables/noric/*/index.html")))
    assert page.locator(f'table.rc-vars a[href$="{ASA_PAGE}"]').count() == 1
    tab.screenshot("register-noric.png", full_page=False)  # ~900 rows: too tall to capture
    tab.assert_no_errors()


def test_variable_page(tab: Tab) -> None:
    tab.open(ASA_PAGE)
    page = tab.page
    assert page.locator("article h1").text_content().strip() == "ASA"
    assert "ATC:B01AC06" in page.locator("h2#kodinger + table").text_content()
    assert "lmr:atc" in page.locator("h2#nokkelregister + ul").text_content()
    tab.screenshot("variable-asa.png")
    tab.assert_no_errors()


def test_overlap_charts_are_drawn(tab: Tab) -> None:
    charts = ["chart-overlap", "chart-reuse", "chart-prom"]
    tab.open("/overlap/")
    drawn = " && ".join(
        f"document.querySelector('#{c}.rc-chart[data-drawn=\"1\"] svg.main-svg')" for c in charts
    )
    tab.page.wait_for_function(f"() => !!({drawn})", timeout=20_000)
    tab.screenshot("overlap.png")
    tab.assert_no_errors()


# --- search ---------------------------------------------------------------------------

# True when a result links under `path` and (if given) its heading holds `title`.
_RESULT_FOUND = """([path, title]) => [...document.querySelectorAll('.md-search-result__link')]
  .some(a => new URL(a.href).pathname.startsWith(path)
    && (!title || (a.querySelector('h1, h2')?.textContent || '').includes(title)))"""


def _search(tab: Tab, query: str, path: str, title: str | None = None) -> None:
    """Type `query` into the header's search box and wait for a result linking under
    `path`; fail listing what the search showed instead."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box = tab.page.locator("input.md-search__input")
    box.click()
    box.fill(query)
    box.press("End")  # Material reads the query on keyup
    try:
        tab.page.wait_for_function(_RESULT_FOUND, arg=[path, title], timeout=SEARCH_TIMEOUT_MS)
    except PlaywrightTimeout:
        meta = tab.page.locator(".md-search-result__meta").text_content()
        shown = tab.page.eval_on_selector_all(
            ".md-search-result__link", "links => links.map(a => a.getAttribute('href'))"
        )
        pytest.fail(f"search {query!r}: no result under {path} ({meta}): {shown[:10]}")


@pytest.mark.parametrize(
    ("query", "path", "title"),
    [
        ("hjerteinfarkt", "/variables/", "Hjerteinfarkt"),
        ("B01AC06", "/variables/noric/", None),
        ("22298006", "/variables/noric/ANGIOPCICOMP_AVDHJARTINFARKT/", None),
    ],
)
def test_search_finds_variable(tab: Tab, query: str, path: str, title: str | None) -> None:
    tab.open("/")
    _search(tab, query, path, title)
    if query == "hjerteinfarkt":
        tab.screenshot("search-hjerteinfarkt.png", full_page=False)
    tab.assert_no_errors()


# --- links ----------------------------------------------------------------------------

_LINK_ATTRS = {"a": "href", "link": "href", "area": "href", "script": "src", "img": "src",
               "iframe": "src", "source": "src", "video": "src", "audio": "src"}  # fmt: skip
_EXTERNAL = ("http:", "https:", "mailto:", "javascript:", "data:", "tel:")


class _Page(HTMLParser):
    """The ids a page defines and the links it makes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(values["id"])
        if tag == "a" and values.get("name"):
            self.ids.add(values["name"])
        link = values.get(_LINK_ATTRS.get(tag, ""))
        if link is not None:
            self.links.append(link)


def _parse(path: Path) -> _Page:
    parser = _Page()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser


def _target(files: set[str], url_path: str) -> str | None:
    """The site file (relative path) a site-absolute URL path serves, or None."""
    path = posixpath.normpath(unquote(url_path)).lstrip("/")
    candidates = [f"{path}/index.html".lstrip("/")]
    if not url_path.endswith("/"):
        candidates.insert(0, path)
    return next((c for c in candidates if c in files), None)


def _has_anchor(page: _Page, fragment: str) -> bool:
    return not fragment or unquote(fragment) in page.ids


def _broken_links(site: Path) -> list[str]:
    files = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    pages = {rel: _parse(site / rel) for rel in sorted(files) if rel.endswith(".html")}
    broken: list[str] = []
    for rel, parsed in pages.items():
        page_url = "/" + rel
        for link in parsed.links:
            stripped = link.strip()
            if not stripped or stripped.lower().startswith(_EXTERNAL):
                continue
            url = urlsplit(urljoin(page_url, stripped))
            if url.scheme or url.netloc or url.path.startswith("/api/"):
                continue
            target = _target(files, url.path)
            if target is None:
                broken.append(f"{page_url} -> {link} (no such file)")
            elif target in pages and not _has_anchor(pages[target], url.fragment):
                broken.append(f"{page_url} -> {link} (no id {url.fragment!r})")
    return broken


def test_link_checker_reports_broken_links(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "index.html").write_text('<h2 id="x">x</h2>', encoding="utf-8")
    (tmp_path / "style.css").write_text("", encoding="utf-8")
    links = ["a/", "a/#x", "/a/index.html#x", "style.css", "a/#y", "b/", "/api/x", "https://x/"]
    page = "".join(f'<a href="{link}">l</a>' for link in links) + '<img src="nope.png">'
    (tmp_path / "index.html").write_text(page, encoding="utf-8")
    assert _broken_links(tmp_path) == [
        "/index.html -> a/#y (no id 'y')",
        "/index.html -> b/ (no such file)",
        "/index.html -> nope.png (no such file)",
    ]


def test_internal_links_resolve(site: Path) -> None:
    assert len(list(site.rglob("*.html"))) > 900
    broken = _broken_links(site)
    assert not broken, f"{len(broken)} broken link(s):\n" + "\n".join(broken[:200])


# --- hostile text ---------------------------------------------------------------------


def test_hostile_label_shows_as_text_on_variable_page(hostile_tab: Tab) -> None:
    hostile_tab.open(ASA_PAGE)
    page = hostile_tab.page
    assert not hostile_tab.pwned()
    assert page.locator("article h1").text_content().strip() == HOSTILE_LABEL
    assert HOSTILE_LABEL in page.title()
    article = page.locator("article").text_content()
    assert HOSTILE_DEFINITION in article
    assert HOSTILE_HELP in article
    # none of the markup became elements: no injected script, image, emphasis or link
    assert page.locator("article h1 *").count() == 0
    assert page.locator("article img, article script").count() == 0
    assert page.locator("article strong", has_text="bold").count() == 0
    assert page.locator("article em", has_text="kursiv").count() == 0
    assert page.locator('article a[href^="javascript:"]').count() == 0
    hostile_tab.screenshot("hostile-variable.png")
    hostile_tab.assert_no_errors()


def test_hostile_label_shows_as_text_on_register_page(hostile_tab: Tab) -> None:
    hostile_tab.open("/registers/noric/")
    page = hostile_tab.page
    assert not hostile_tab.pwned()
    link = page.locator(f'table.rc-vars a[href$="{ASA_PAGE}"]')
    assert link.text_content() == HOSTILE_LABEL
    assert link.locator("*").count() == 0
    assert page.locator("article img").count() == 0
    hostile_tab.assert_no_errors()


def test_hostile_label_in_search_runs_nothing(hostile_tab: Tab) -> None:
    hostile_tab.open("/")
    _search(hostile_tab, "bold", ASA_PAGE)
    page = hostile_tab.page
    result = page.locator(".md-search-result__link", has=page.locator("h1")).filter(
        has_text="window.__pwned=1"
    )
    assert "<script>window.__pwned=1</script>" in result.first.locator("h1").text_content()
    assert page.locator(".md-search-result img, .md-search-result script").count() == 0
    assert not hostile_tab.pwned()
    hostile_tab.screenshot("search-hostile.png", full_page=False)
    result.first.click()  # opens the page with the search term highlighted
    page.wait_for_load_state("networkidle")
    assert urlsplit(page.url).path == ASA_PAGE
    assert page.locator("article h1").text_content().strip() == HOSTILE_LABEL
    assert not hostile_tab.pwned()
    hostile_tab.assert_no_errors()
