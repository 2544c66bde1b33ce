"""`regcat serve` as a user runs it: a real uvicorn process on loopback. A server
killed (SIGKILL) during a burst of proposals loses none it acknowledged."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.api_fixtures import bundled_index, catalogue_copy, database_url  # noqa: F401

REGCAT = str(Path(sys.executable).with_name("regcat"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(index: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [REGCAT, "--index", str(index), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def _start(index: Path, url: str, port: int, cwd: Path | None = None) -> subprocess.Popen:
    process = subprocess.Popen(
        [REGCAT, "--index", str(index), "serve", "--port", str(port), "--database-url", url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        cwd=cwd,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited: {process.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError("server did not answer within 60 s")


def _stop(process: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        process.wait(timeout=30)
    if process.stderr:
        process.stderr.close()


def _body(n: int) -> dict:
    return {
        "variable": {
            "id": f"noric:BURST_{n}",
            "label": {"nb": f"Testvariabel {n}"},
            "datatype": "integer",
            "min_value": "0",
        },
        "rationale": f"burst {n}",
    }


@pytest.mark.slow
def test_killed_server_loses_no_acknowledged_proposal(bundled_index, database_url, tmp_path):  # noqa: F811
    made = _cli(
        bundled_index,
        "users",
        "add",
        "burst",
        "--role",
        "owner",
        "--register",
        "noric",
        "--database-url",
        database_url,
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    port = _free_port()
    server = _start(bundled_index, database_url, port)
    acked: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()
    counter = iter(range(10**6))

    def writer() -> None:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        ) as client:
            while not stop.is_set():
                with lock:
                    n = next(counter)
                try:
                    r = client.post("/api/proposals", json=_body(n))
                except httpx.HTTPError:
                    return  # the server is gone
                if r.status_code == 201:
                    with lock:
                        acked.append(r.json()["id"])

    threads = [threading.Thread(target=writer) for _ in range(6)]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while len(acked) < 40 and time.monotonic() < deadline:
            time.sleep(0.01)
        _stop(server, signal.SIGKILL)  # mid-burst: writers are still sending
        stop.set()
        for t in threads:
            t.join(timeout=30)
    finally:
        stop.set()
        _stop(server, signal.SIGKILL)
    assert len(acked) >= 40, "the burst did not get going"

    server = _start(bundled_index, database_url, _free_port())
    try:
        port2 = int(server.args[server.args.index("--port") + 1])
        listing = httpx.get(
            f"http://127.0.0.1:{port2}/api/proposals", params={"limit": 500}, timeout=10
        ).json()
        stored = {p["id"] for p in listing["items"]}
        while listing["total"] > len(stored):
            listing = httpx.get(
                f"http://127.0.0.1:{port2}/api/proposals",
                params={"limit": 500, "offset": len(stored)},
                timeout=10,
            ).json()
            stored |= {p["id"] for p in listing["items"]}
        assert set(acked) <= stored, f"lost {sorted(set(acked) - stored)[:10]}"
        # every stored proposal is whole: its history starts with the submission
        some = httpx.get(f"http://127.0.0.1:{port2}/api/proposals/{max(acked)}", timeout=10).json()
        assert some["history"][0]["action"] == "submit"
    finally:
        _stop(server)


def test_serve_answers_api_docs_and_landing_page(bundled_index, tmp_path):  # noqa: F811
    port = _free_port()
    server = _start(bundled_index, f"sqlite:///{tmp_path / 'db.sqlite'}", port, cwd=tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/api/docs").status_code == 200
        assert "regcat site build" in httpx.get(f"{base}/").text  # no site yet: the landing page
        hit = httpx.get(f"{base}/api/variables/noric:PATIENT_ID")
        assert hit.status_code == 200 and hit.json()["id"] == "noric:PATIENT_ID"
    finally:
        _stop(server)


def test_serve_finds_the_built_site_by_default(bundled_index, tmp_path):  # noqa: F811
    """`regcat site build` writes build/site; `regcat serve` then serves it at / unasked."""
    page = tmp_path / "build" / "site" / "registers" / "index.html"
    page.parent.mkdir(parents=True)
    (tmp_path / "build" / "site" / "index.html").write_text("<h1>nettstedet</h1>")
    page.write_text("<h1>registre</h1>")
    port = _free_port()
    server = _start(bundled_index, f"sqlite:///{tmp_path / 'db.sqlite'}", port, cwd=tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/").text == "<h1>nettstedet</h1>"
        assert httpx.get(f"{base}/registers/").text == "<h1>registre</h1>"
        assert httpx.get(f"{base}/api/registers/noric").status_code == 200
    finally:
        _stop(server)


def test_users_cli_add_list_revoke(bundled_index, tmp_path):  # noqa: F811
    url = f"sqlite:///{tmp_path / 'users.db'}"
    added = _cli(
        bundled_index, "users", "add", "kari", "--role", "coordinator", "--database-url", url
    )
    assert added.returncode == 0 and added.stdout.strip().startswith("rct_")
    dup = _cli(bundled_index, "users", "add", "kari", "--role", "admin", "--database-url", url)
    assert dup.returncode == 2 and "exists already" in dup.stderr
    owner = _cli(bundled_index, "users", "add", "ola", "--role", "owner", "--database-url", url)
    assert owner.returncode == 2 and "--register" in owner.stderr
    listed = _cli(bundled_index, "users", "list", "--format", "json", "--database-url", url)
    rows = __import__("json").loads(listed.stdout)
    assert [r["name"] for r in rows] == ["kari"] and "token" not in listed.stdout
    assert _cli(bundled_index, "users", "revoke", "kari", "--database-url", url).returncode == 0
    again = _cli(bundled_index, "users", "revoke", "kari", "--database-url", url)
    assert again.returncode == 2 and "no active user" in again.stderr
    bad = _cli(bundled_index, "users", "list", "--database-url", "mysql://x/y")
    assert bad.returncode == 2 and "unsupported database" in bad.stderr


def test_proposals_export_cli_writes_a_reviewable_diff(catalogue_copy, tmp_path):  # noqa: F811
    from tests.api_fixtures import make_api
    from tests.test_api_write import PROPOSED, propose, review

    root, index = catalogue_copy
    url = f"sqlite:///{tmp_path / 'export.db'}"
    api = make_api(index, url)
    with api.client:
        p = propose(api).json()
        review(api, p["id"], "accept", "coordinator", f'"proposal-{p["id"]}-v1"')
    api.store.close()
    before = (root / "registers" / "noric.yaml").read_text()
    args = ["-c", str(root), "proposals", "export", "--database-url", url]
    dry = _cli(index, *args, "--dry-run")
    assert dry.returncode == 0 and "noric.yaml" in dry.stdout
    assert (root / "registers" / "noric.yaml").read_text() == before
    done = _cli(index, *args)
    assert done.returncode == 0, done.stderr
    after = (root / "registers" / "noric.yaml").read_text()
    added = [line for line in after.splitlines() if line not in before.splitlines()]
    assert f"- id: {PROPOSED['variable']['id']}" in added
    assert "status: accepted" in after.split(PROPOSED["variable"]["id"])[1]
    assert _cli(index, "-c", str(root), "validate").returncode == 0
    again = _cli(index, *args)
    assert again.returncode == 0 and "nothing to export" in again.stdout


def test_committed_openapi_is_current():
    check = subprocess.run(
        [REGCAT, "api", "openapi", "--check"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        timeout=120,
    )
    assert check.returncode == 0, check.stderr + " (run `regcat api openapi`)"
