#!/usr/bin/env python3
"""Benchmark: the HTTP API under load, on loopback, with wrk.

    python bench/bench_api_load.py [--size 100000] [--workers 1,2] [--duration 20]
                                   [--connections 50] [--threads 2] [--mix 80]
                                   [--phases entity,search,mixed] [--no-bundled]
                                   [--profile] [--regenerate]

For the synthetic catalogue of --size variables (bench/gen_catalogue.py, kept in
bench/out/api-load/cat-N/ and reused while size and seed match) and, as a baseline,
the bundled catalogue, it builds the index (`regcat --catalogue DIR --index IDX
build`), then for each --workers count starts the server as a user would:

    regcat --catalogue DIR --index IDX serve --port P --workers W --database-url sqlite:///…

waits until `GET /api/` answers and then until the server processes are idle (after it
answers, `regcat serve` still prepares the search index, the SPARQL store and the
reuse checker in the background: at 100k variables ~20 s of CPU per worker, which
must not overlap the measurements), and drives it with

    wrk -t2 -c50 -d20s --latency --timeout 10s -s bench/wrk/paths.lua URL -- PATHS SEED

where PATHS is a file of request paths the Lua script picks from at random. The paths
are real: ids, labels and codes are read from the index (`IDX/regcat.sqlite`).

* entity: /api/variables/{id}, /api/value-sets/{id}, /api/registers/{id},
  /api/variables?register=…[&form=…|&offset=…|&status=…] (a page of 50);
* search: /api/search?q=… with a label word, two words, a prefix, a word with one
  typo, or a code (I21.4, I21, SCTID:…, C07AB02, FNG…), 40 % of them with one or two
  facet filters (register, topic, status, datatype, collection_mode, code_system),
  plus browsing by facets alone;
* mixed: --mix % entity, the rest search.

The search paths are distinct (--search-paths of them, as far as the catalogue's
vocabulary allows), but the synthetic catalogue has a small vocabulary (~370 label
words, 76 codes): after the warm-up most full-text match sets are in regcat.search's
caches, while rankings and facet counts per query and filters mostly are not.

Before the phases, one client requests a separate sample of every kind in turn (the
latency of one request on an idle server, and a check that every kind answers 200),
then wrk warms the server up for --warmup seconds. For each phase it reports
requests/s, latency p50/p90/p99/max, responses that are not 2xx/3xx, socket errors,
and the CPU seconds used by the server processes (and per request, and how much of it
in the kernel), by wrk and by everything else on the machine (wrk runs on the same
cores as the server: that is part of the figures), and the machine's context switches
per second.

wrk is a closed loop: each of the 50 connections has one request in flight, so the
mean latency is connections / throughput (Little's law). A p99 under 50 ms with 50
connections needs well over 1,000 requests/s.

--profile: afterwards, each phase runs again for --profile-seconds under
`py-spy record` (pip install py-spy); the collapsed stacks go to
bench/out/api-load/profile-<catalogue>-w<W>-<phase>.txt and the functions with the
most samples are printed. Profiled runs are not the reported figures.

Figures are printed and written to bench/out/api_load.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import quote, urlencode

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = BENCH / "out"
WORK = OUT / "api-load"
LUA = BENCH / "wrk" / "paths.lua"
RESULTS = OUT / "api_load.json"
sys.path.insert(0, str(BENCH))

TARGET_P99_MS = 50.0
PREFLIGHT_PER_KIND = 100
PAGE = 50  # /api/variables default page size
SEARCH_PAGE = 20

STOPWORDS = {
    "ved", "etter", "under", "eller", "ikke", "siste", "from", "with", "after", "before",
    "during", "this", "that", "than", "other", "andre", "annen", "antall", "number",
}  # fmt: skip
WORD = re.compile(r"[^\W\d_]{4,}")


def say(text: str = "") -> None:
    print(text, flush=True)


# -- catalogue and index ---------------------------------------------------------------


def regcat_exe() -> str:
    local = Path(sys.executable).parent / "regcat"
    found = str(local) if local.is_file() else shutil.which("regcat")
    if not found:
        sys.exit("regcat is not installed in this environment: run `make setup` first")
    return found


def server_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("REGCAT_CATALOGUE", "REGCAT_INDEX", "REGCAT_SITE", "REGCAT_DATABASE_URL"):
        env.pop(name, None)
    return env


def synthetic_catalogue(n: int, seed: int, regenerate: bool) -> Path:
    """bench/out/api-load/cat-N, generated unless a matching one is there already."""
    path = WORK / f"cat-{n}"
    from gen_catalogue import generate_catalogue, is_generated

    if not regenerate and is_generated(path, n, seed):
        return path

    started = time.perf_counter()
    generate_catalogue(n, path, seed)
    say(f"generated {path.relative_to(REPO)} in {time.perf_counter() - started:.1f} s")
    return path


def build_index(catalogue: Path | None, index: Path) -> float:
    """`regcat build` (incremental: quick when the index is up to date)."""
    cmd = [regcat_exe()]
    if catalogue is not None:
        cmd += ["--catalogue", str(catalogue)]
    cmd += ["--index", str(index), "build"]
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, env=server_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stdout}{done.stderr}")
    say(f"  {done.stderr.strip() or done.stdout.strip()} ({seconds:.1f} s)")
    return seconds


# -- request paths ---------------------------------------------------------------------


def _typo(word: str, rng: random.Random) -> str:
    """One edit (swap, drop or double a letter), never in the first two letters."""
    i = rng.randrange(2, len(word) - 1)
    kind = rng.choice(("swap", "drop", "double"))
    if kind == "swap" and word[i] != word[i + 1]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "double":
        return word[: i + 1] + word[i] + word[i + 1 :]
    return word[:i] + word[i + 1 :]


def _code_query(system: str, code: str, rng: random.Random) -> str:
    if system == "ICD10":
        return rng.choice((code, code.split(".")[0]))
    if system == "SCTID":
        return f"SCTID:{code}"
    if system == "ATC":
        return rng.choice((code, code[:3], code[:5]))
    if system == "NCSP":
        return rng.choice((code, code[:3]))
    return code


def request_paths(
    index: Path, n_entity: int, n_search: int, seed: int
) -> dict[str, list[tuple[str, str]]]:
    """Paths by phase: lists of (kind, path), drawn from what the index holds."""
    rng = random.Random(seed)
    db = sqlite3.connect(f"file:{index / 'regcat.sqlite'}?mode=ro", uri=True)
    try:
        variables = [r[0] for r in db.execute("SELECT id FROM variables ORDER BY id")]
        registers = [r[0] for r in db.execute("SELECT id FROM registers ORDER BY id")]
        value_sets = [r[0] for r in db.execute("SELECT id FROM value_sets ORDER BY id")]
        forms = db.execute("SELECT register_id, id FROM forms ORDER BY register_id, id").fetchall()
        sizes = dict(db.execute("SELECT register_id, count(*) FROM variables GROUP BY 1"))
        labels = db.execute("SELECT label_nb, label_en FROM variables ORDER BY id").fetchall()
        codings = db.execute("SELECT DISTINCT system, code FROM codings ORDER BY 1, 2").fetchall()
        facet_values = {
            facet: [r[0] for r in db.execute(
                f"SELECT DISTINCT {column} FROM variables WHERE {column} IS NOT NULL ORDER BY 1"
            )]
            for facet, column in (
                ("register", "register_id"), ("topic", "topic"), ("status", "status"),
                ("datatype", "datatype"), ("collection_mode", "collection_mode"),
            )
        }  # fmt: skip
        facet_values["code_system"] = sorted({s for s, _ in codings})
    finally:
        db.close()
    if not variables:
        sys.exit(f"{index}: the index holds no variables")
    forms_of = defaultdict(list)
    for register_id, form in forms:
        forms_of[register_id].append(form)

    def q(value: str) -> str:
        return quote(value, safe=":")

    def entity(kind: str) -> str:
        if kind == "variable":
            return f"/api/variables/{q(rng.choice(variables))}"
        if kind == "value-set" and value_sets:
            return f"/api/value-sets/{q(rng.choice(value_sets))}"
        if kind == "register" or not value_sets:
            return f"/api/registers/{q(rng.choice(registers))}"
        register = rng.choice(registers)
        params = [("register", register)]
        extra = rng.random()
        if extra < 0.3 and forms_of[register]:
            params.append(("form", rng.choice(forms_of[register])))
        elif extra < 0.6 and sizes.get(register, 0) > PAGE:
            params.append(("offset", str(rng.randrange(0, sizes[register] - PAGE))))
        elif extra < 0.7:
            params.append(("status", "accepted"))
        return "/api/variables?" + urlencode(params)

    entity_kinds = (("variable", 55), ("value-set", 20), ("register", 10), ("variable-list", 15))

    def words_of(i: int) -> list[str]:
        nb, en = labels[i]
        text = rng.choice([t for t in (nb, en) if t] or [""])
        return [w for w in WORD.findall(text) if w.lower() not in STOPWORDS]

    def some_words(count: int, min_len: int = 4) -> list[str]:
        for _ in range(1000):
            words = [w for w in words_of(rng.randrange(len(labels))) if len(w) >= min_len]
            if len(words) >= count:
                start = rng.randrange(len(words) - count + 1)
                return words[start : start + count]
        return ["hjerteinfarkt"] * count

    def facets() -> list[tuple[str, str]]:
        chosen = rng.sample(sorted(facet_values), rng.choice((1, 1, 2)))
        return [(f, rng.choice(facet_values[f])) for f in chosen if facet_values[f]]

    def search(kind: str) -> str:
        if kind == "word":
            text = some_words(1)[0]
        elif kind == "two-words":
            text = " ".join(some_words(2))
        elif kind == "prefix":
            word = some_words(1, 6)[0]
            text = word[: rng.randint(3, 5)]
        elif kind == "typo":
            text = _typo(some_words(1, 7)[0].lower(), rng)
        elif kind == "code" and codings:
            text = _code_query(*rng.choice(codings), rng)
        else:  # browse: facets only
            return "/api/search?" + urlencode(facets())
        params = [("q", text)]
        if rng.random() < 0.4:
            params += facets()
        return "/api/search?" + urlencode(params)

    search_kinds = (
        ("word", 25),
        ("two-words", 15),
        ("prefix", 15),
        ("typo", 10),
        ("code", 25),
        ("browse", 10),
    )

    def draw(kinds, make, count: int, unique: bool = False) -> list[tuple[str, str]]:
        """`count` paths of the weighted kinds; `unique`: no path twice (as far as the
        catalogue's vocabulary allows: 20 tries per path)."""
        names = [k for k, _ in kinds]
        weights = [w for _, w in kinds]
        if not unique:
            return [(k, make(k)) for k in rng.choices(names, weights, k=count)]
        out, seen = [], set()
        for k in rng.choices(names, weights, k=20 * count):
            path = make(k)
            if path not in seen:
                seen.add(path)
                out.append((k, path))
                if len(out) == count:
                    break
        return out

    preflight = [(k, entity(k)) for k, _ in entity_kinds for _ in range(PREFLIGHT_PER_KIND)]
    preflight += [(k, search(k)) for k, _ in search_kinds for _ in range(PREFLIGHT_PER_KIND)]
    return {
        "preflight": preflight,
        "entity": draw(entity_kinds, entity, n_entity),
        "search": draw(search_kinds, search, n_search, unique=True),
    }


def mixed(
    paths: dict[str, list[tuple[str, str]]], entity_percent: int, seed: int
) -> list[tuple[str, str]]:
    """A list whose composition is the mix: wrk picks uniformly from it."""
    rng = random.Random(seed + 1)
    total = 10_000
    n_entity = round(total * entity_percent / 100)
    out = [rng.choice(paths["entity"]) for _ in range(n_entity)]
    out += [rng.choice(paths["search"]) for _ in range(total - n_entity)]
    rng.shuffle(out)
    return out


# -- the server ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`regcat serve` in a subprocess, stopped by its own pid."""

    def __init__(self, catalogue: Path | None, index: Path, workers: int, label: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        db = WORK / f"regcat-data-{label}.db"
        self.cmd = [regcat_exe()]
        if catalogue is not None:
            self.cmd += ["--catalogue", str(catalogue)]
        self.cmd += [
            "--index", str(index), "serve", "--port", str(self.port),
            "--workers", str(workers), "--database-url", f"sqlite:///{db}",
        ]  # fmt: skip
        self.log_path = WORK / f"serve-{label}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 300.0) -> float:
        log = self.log_path.open("w")
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            self.cmd, cwd=REPO, env=server_env(), stdout=log, stderr=subprocess.STDOUT
        )
        while time.perf_counter() - started < timeout:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                status, _, _ = get(self.url, "/api/", timeout=5)
                if status == 200:
                    return time.perf_counter() - started
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit(
            f"the server did not answer GET /api/ within {timeout:.0f} s:\n{self.log_tail()}"
        )

    def settle(self, timeout: float = 600.0, quiet: float = 2.0) -> float:
        """Wait until the server processes use no CPU for `quiet` seconds: `regcat serve`
        prepares things in the background after it answers (each worker loads the
        catalogue for the reuse check), which must not overlap the measurements."""
        started = time.perf_counter()
        last, calm_since = self.cpu_seconds(), time.perf_counter()
        while time.perf_counter() - started < timeout:
            time.sleep(0.25)
            now = self.cpu_seconds()
            if now - last > 0.25 * 0.05:  # more than 5 % of a core
                calm_since = time.perf_counter()
            last = now
            if time.perf_counter() - calm_since >= quiet:
                return calm_since - started
        say(f"  WARNING: the server was still busy after {timeout:.0f} s")
        return time.perf_counter() - started

    def rss_mb(self) -> dict[int, float]:
        out = {}
        for pid in self.pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            kb = next((int(x.split()[1]) for x in status.splitlines() if x.startswith("VmRSS:")), 0)
            out[pid] = round(kb / 1024, 1)
        return out

    def log_tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])

    def pids(self) -> list[int]:
        """The server process and its descendants (uvicorn's worker processes)."""
        if self.proc is None:
            return []
        parents: dict[int, list[int]] = defaultdict(list)
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                parents[ppid].append(int(entry.name))
        out, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            out.append(pid)
            todo.extend(parents.get(pid, []))
        return out

    def cpu_seconds(self) -> float:
        return sum(sum(process_cpu(pid)) for pid in self.pids())

    def cpu_split(self) -> tuple[float, float]:
        """(user, system) CPU seconds of the server processes so far."""
        times = [process_cpu(pid) for pid in self.pids()]
        return sum(t[0] for t in times), sum(t[1] for t in times)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGINT, 20), (signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            self.proc.send_signal(sig)
            try:
                self.proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue


def process_cpu(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of one process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def context_switches() -> int:
    """Context switches of the whole machine so far."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("ctxt "):
            return int(line.split()[1])
    return 0


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # without guest time, already counted in user
    tick = os.sysconf("SC_CLK_TCK")
    return (total - idle) / tick, total / tick


def get(base: str, path: str, timeout: float = 30) -> tuple[int, bytes, float]:
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        started = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        return response.status, body, time.perf_counter() - started
    finally:
        conn.close()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * len(values) + 0.5) - 1))
    return values[k]


def preflight(server: Server, sample: list[tuple[str, str]]) -> dict:
    """One client, one request at a time, on one kept-alive connection: the latency of
    each kind on an idle server, and a check that every kind answers 2xx."""
    host, port = server.url.removeprefix("http://").split(":")
    first_search = None
    status, _, seconds = get(server.url, "/api/search?q=hjerteinfarkt")
    if status == 200:
        first_search = round(seconds * 1000, 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    by_kind: dict[str, list[float]] = defaultdict(list)
    bad: dict[str, Counter] = defaultdict(Counter)
    examples: dict[str, list[str]] = defaultdict(list)
    sizes: dict[str, list[int]] = defaultdict(list)
    try:
        for kind, path in sample:
            started = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            by_kind[kind].append((time.perf_counter() - started) * 1000)
            sizes[kind].append(len(body))
            if not 200 <= response.status < 300:
                bad[kind][response.status] += 1
                if len(examples[kind]) < 3:
                    examples[kind].append(f"{response.status} {path} {body[:200]!r}")
    finally:
        conn.close()
    kinds = {
        kind: {
            "requests": len(ms),
            "p50_ms": round(percentile(ms, 50), 2),
            "p99_ms": round(percentile(ms, 99), 2),
            "max_ms": round(max(ms), 2),
            "mean_bytes": round(sum(sizes[kind]) / len(sizes[kind])),
            "non_2xx": dict(bad[kind]),
        }
        for kind, ms in by_kind.items()
    }
    for kind, lines in examples.items():
        say(f"  WARNING: {kind} requests that failed, e.g.:")
        for line in lines:
            say(f"    {line}")
    return {"first_search_ms": first_search, "kinds": kinds}


# -- wrk -------------------------------------------------------------------------------


def wrk_exe() -> str:
    found = shutil.which("wrk")
    if not found:
        sys.exit(
            "wrk is not installed: `apt-get install -y wrk` (Debian/Ubuntu) or build it "
            "from https://github.com/wg/wrk, then run this again"
        )
    return found


def run_wrk(url: str, paths_file: Path, args, duration: float, seed: int) -> dict:
    cmd = [
        wrk_exe(), f"-t{args.threads}", f"-c{args.connections}", f"-d{max(1, round(duration))}s",
        "--latency", "--timeout", "10s", "-s", str(LUA), url, "--", str(paths_file), str(seed),
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if line is None:
        sys.exit(f"wrk printed no summary:\n{done.stdout}{done.stderr}")
    data = json.loads(line.removeprefix("WRKJSON "))
    data["command"] = " ".join(cmd)
    data["output"] = "\n".join(x for x in done.stdout.splitlines() if not x.startswith("WRKJSON"))
    return data


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(server: Server, paths_file: Path, args, seed: int) -> dict:
    load_before = os.getloadavg()
    user_before, sys_before = server.cpu_split()
    wrk_before = children_cpu()
    busy_before, total_before = machine_cpu()
    switches_before = context_switches()
    data = run_wrk(server.url, paths_file, args, args.duration, seed)
    switches = context_switches() - switches_before
    user_after, sys_after = server.cpu_split()
    server_sys = sys_after - sys_before
    server_cpu = user_after - user_before + server_sys
    wrk_cpu = children_cpu() - wrk_before
    busy_after, total_after = machine_cpu()
    busy, total = busy_after - busy_before, total_after - total_before
    seconds = data["duration_us"] / 1e6
    lat = data["latency_us"]
    pct = lat["percentiles"]
    errors = data["errors"]
    return {
        "requests": data["requests"],
        "seconds": round(seconds, 2),
        "rps": round(data["requests"] / seconds, 1),
        "mb_per_s": round(data["bytes"] / seconds / 1e6, 2),
        "latency_ms": {
            "p50": pct["50"] / 1000,
            "p75": pct["75"] / 1000,
            "p90": pct["90"] / 1000,
            "p99": pct["99"] / 1000,
            "p99.9": pct["99.9"] / 1000,
            "max": lat["max"] / 1000,
            "mean": round(lat["mean"] / 1000, 2),
        },  # fmt: skip
        "non_2xx_3xx": errors["status"],
        "socket_errors": {k: v for k, v in errors.items() if k != "status"},
        "server_cpu_ms_per_request": round(1000 * server_cpu / max(1, data["requests"]), 2),
        "context_switches_per_s": round(switches / seconds),
        "cpu_seconds": {
            "server": round(server_cpu, 1),
            "server_system": round(server_sys, 1),
            "wrk": round(wrk_cpu, 1),
            "other": round(max(0.0, busy - server_cpu - wrk_cpu), 1),
            "idle": round(max(0.0, total - busy), 1),
        },
        "loadavg_before": [round(x, 2) for x in load_before],
        "wrk_command": data["command"],
        "wrk_output": data["output"],
    }


# -- profiling -------------------------------------------------------------------------


def py_spy_exe() -> str | None:
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.is_file() else shutil.which("py-spy")


def profile(server: Server, paths_file: Path, args, label: str, seed: int) -> dict | None:
    spy = py_spy_exe()
    if spy is None:
        say("  --profile: py-spy is not installed (pip install py-spy); skipped")
        return None
    out = WORK / f"profile-{label}.txt"
    cmd = [
        spy, "record", "--pid", str(server.proc.pid), "--subprocesses", "--nonblocking",
        "--rate", "200", "--format", "raw", "--duration", str(args.profile_seconds), "-o", str(out),
    ]  # fmt: skip
    spy_proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)  # let py-spy attach
    run_wrk(server.url, paths_file, args, args.profile_seconds - 2, seed)
    _, err = spy_proc.communicate(timeout=args.profile_seconds + 60)
    if not out.is_file():
        say(f"  py-spy failed: {err.strip()[-500:]}")
        return None
    summary = summarise_profile(out)
    (WORK / f"profile-{label}-summary.txt").write_text(summary["text"], encoding="utf-8")
    say(f"  py-spy: {out.relative_to(REPO)} ({summary['samples']} samples); top functions:")
    for line in summary["text"].splitlines()[:32]:
        say(f"    {line}")
    return {
        "file": str(out.relative_to(REPO)),
        "samples": summary["samples"],
        "top": summary["top"],
    }


_SHORT = re.compile(
    r"^(.*) \((?:.*/site-packages/|.*/lib/python3\.\d+/|.*?/(?=regcat/))?(.*?)(?::\d+)?\)$"
)


def _frame(frame: str) -> str:
    m = _SHORT.match(frame)
    return f"{m.group(1)} ({m.group(2)})" if m else frame


def summarise_profile(path: Path) -> dict:
    """Inclusive and own samples per function, from py-spy's collapsed stacks."""
    inclusive: Counter = Counter()
    own: Counter = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [
            _frame(f) for f in stack.split(";") if f and not f.startswith(("process ", "thread "))
        ]
        if not frames:
            continue
        total += n
        for f in set(frames):
            inclusive[f] += n
        own[frames[-1]] += n
    lines = [f"{total} samples (all threads, all server processes)", "", "inclusive:"]
    top = []
    for f, n in inclusive.most_common(40):
        lines.append(f"{100 * n / total:5.1f} %  {f}")
        top.append({"function": f, "inclusive_pct": round(100 * n / total, 1)})
    lines += ["", "own (leaf) time:"]
    for f, n in own.most_common(25):
        lines.append(f"{100 * n / total:5.1f} %  {f}")
    return {"samples": total, "top": top, "text": "\n".join(lines) + "\n"}


# -- the run ---------------------------------------------------------------------------


def write_paths(label: str, phase: str, paths: list[tuple[str, str]]) -> Path:
    out = WORK / f"paths-{label}-{phase}.txt"
    out.write_text("".join(p + "\n" for _, p in paths), encoding="utf-8")
    return out


def run_catalogue(name: str, catalogue: Path | None, index: Path, args) -> list[dict]:
    say(f"\n== {name}: index {index.relative_to(REPO)}")
    build_seconds = build_index(catalogue, index)
    paths = request_paths(index, args.entity_paths, args.search_paths, args.seed)
    phase_paths = {
        "entity": paths["entity"],
        "search": paths["search"],
        "mixed": mixed(paths, args.mix, args.seed),
    }
    files = {phase: write_paths(name, phase, phase_paths[phase]) for phase in phase_paths}
    with sqlite3.connect(f"file:{index / 'regcat.sqlite'}?mode=ro", uri=True) as db:
        n_variables = db.execute("SELECT count(*) FROM variables").fetchone()[0]
    runs = []
    for workers in args.workers:
        label = f"{name}-w{workers}"
        server = Server(catalogue, index, workers, label)
        say(f"-- {label}: {' '.join(server.cmd)}")
        start_seconds = server.start()
        try:
            say(f"  answering after {start_seconds:.1f} s; pids {server.pids()}")
            settle_seconds = server.settle()
            start_cpu = server.cpu_seconds()
            rss = server.rss_mb()
            say(
                f"  idle {settle_seconds:.1f} s after that (CPU used so far {start_cpu:.1f} s); "
                f"RSS MB per process {list(rss.values())}"
            )
            checked = preflight(server, paths["preflight"])
            say(f"  first search request: {checked['first_search_ms']} ms")
            for kind, row in checked["kinds"].items():
                say(
                    f"  1 client  {kind:<14} p50 {row['p50_ms']:7.2f} ms  "
                    f"p99 {row['p99_ms']:7.2f} ms  {row['mean_bytes']:>6} B  "
                    f"non-2xx {sum(row['non_2xx'].values())}"
                )
            run_wrk(server.url, files["mixed"], args, args.warmup, args.seed + 99)
            phases = {}
            for phase in args.phases:
                result = measure(server, files[phase], args, args.seed)
                phases[phase] = result
                lat = result["latency_ms"]
                say(
                    f"  {phase:<7} {result['rps']:8.1f} req/s  p50 {lat['p50']:6.1f}  "
                    f"p90 {lat['p90']:6.1f}  p99 {lat['p99']:6.1f}  max {lat['max']:7.1f} ms  "
                    f"non-2xx {result['non_2xx_3xx']}\n"
                    f"          CPU s server/wrk/other {result['cpu_seconds']['server']}/"
                    f"{result['cpu_seconds']['wrk']}/{result['cpu_seconds']['other']}; server "
                    f"{result['server_cpu_ms_per_request']} ms/request, "
                    f"{result['cpu_seconds']['server_system']} s in the kernel; "
                    f"{result['context_switches_per_s']:,} context switches/s; "
                    f"load {result['loadavg_before'][0]}"
                )
            profiles = {}
            if args.profile:
                for phase in args.phases:
                    profiles[phase] = profile(
                        server, files[phase], args, f"{label}-{phase}", args.seed + 7
                    )
            rss_end = list(server.rss_mb().values())
        finally:
            server.stop()
        runs.append(
            {
                "catalogue": name,
                "variables": n_variables,
                "workers": workers,
                "build_seconds": round(build_seconds, 2),
                "server_command": " ".join(server.cmd),
                "start_seconds": round(start_seconds, 2),
                "settle_seconds": round(settle_seconds, 2),
                "start_cpu_seconds": round(start_cpu, 1),
                "rss_mb_after_start": list(rss.values()),
                "rss_mb_at_end": rss_end,
                "preflight": checked,
                "distinct_paths": {p: len(set(x for _, x in v)) for p, v in phase_paths.items()},
                "kinds": {p: dict(Counter(k for k, _ in v)) for p, v in phase_paths.items()},
                "phases": phases,
                "profiles": profiles,
            }
        )
    return runs


def table(runs: list[dict]) -> str:
    head = (
        "| catalogue | workers | phase | req/s | p50 ms | p90 ms | p99 ms | max ms | non-2xx "
        "| server CPU ms/req | CPU s server / wrk / other | p99 < 50 ms |"
    )
    lines = [head, "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for run in runs:
        for phase, r in run["phases"].items():
            lat, cpu = r["latency_ms"], r["cpu_seconds"]
            socket_errors = sum(r["socket_errors"].values())
            failed = str(r["non_2xx_3xx"]) + (
                f" (+{socket_errors} socket)" if socket_errors else ""
            )
            ok = lat["p99"] < TARGET_P99_MS and not r["non_2xx_3xx"] and not socket_errors
            lines.append(
                f"| {run['catalogue']} | {run['workers']} | {phase} | {r['rps']:,.0f} "
                f"| {lat['p50']:.1f} | {lat['p90']:.1f} | {lat['p99']:.1f} | {lat['max']:.0f} "
                f"| {failed} | {r['server_cpu_ms_per_request']:.2f} "
                f"| {cpu['server']} / {cpu['wrk']} / {cpu['other']} "
                f"| {'**met**' if ok else 'missed'} |"
            )
    return "\n".join(lines)


def machine() -> dict:
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    mem = next(
        (int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
         if line.startswith("MemTotal")),
        0,
    )  # fmt: skip
    versions = {}
    for package in ("fastapi", "starlette", "uvicorn", "uvloop", "httptools", "orjson", "pydantic"):
        try:
            from importlib.metadata import version

            versions[package] = version(package)
        except Exception:
            versions[package] = None
    wrk_version = subprocess.run([wrk_exe(), "-v"], capture_output=True, text=True).stdout.split(
        "\n"
    )[0]
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True
    )
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(mem / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "wrk": wrk_version.strip(),
        "packages": versions,
        "commit": commit.stdout.strip()
        + (" (with uncommitted changes)" if dirty.stdout.strip() else ""),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--size", type=int, default=100_000, help="synthetic catalogue variables (0: none)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--duration", type=int, default=20, help="seconds per phase")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of wrk before the phases")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--mix", type=int, default=80, help="entity %% in the mixed phase")
    parser.add_argument("--phases", default="entity,search,mixed")
    parser.add_argument("--entity-paths", type=int, default=20_000, help="entity paths to draw")
    parser.add_argument(
        "--search-paths", type=int, default=20_000, help="distinct search paths to draw"
    )
    parser.add_argument("--no-bundled", action="store_true", help="skip the bundled catalogue")
    parser.add_argument("--profile", action="store_true", help="run each phase again under py-spy")
    parser.add_argument("--profile-seconds", type=int, default=15)
    parser.add_argument("--regenerate", action="store_true", help="write the catalogue again")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    args.workers = [int(w) for w in args.workers.split(",") if w]
    args.phases = [p for p in args.phases.split(",") if p]
    unknown = set(args.phases) - {"entity", "search", "mixed"}
    if unknown:
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
    wrk_exe()
    WORK.mkdir(parents=True, exist_ok=True)
    info = machine()
    say(
        f"{info['cpus']} cores ({info['cpu_model']}), Python {info['python']}, {info['wrk']}, "
        f"load average {info['loadavg_at_start']}"
    )
    say(
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s per phase; "
        f"mixed = {args.mix} % entity / {100 - args.mix} % search"
    )
    runs = []
    if args.size:
        catalogue = synthetic_catalogue(args.size, args.seed, args.regenerate)
        runs += run_catalogue(
            f"synthetic-{args.size}", catalogue, WORK / f"index-{args.size}", args
        )
    if not args.no_bundled:
        runs += run_catalogue("bundled", None, WORK / "index-bundled", args)
    say("")
    say(table(runs))
    results = {
        "date": dt.date.today().isoformat(),
        "machine": info,
        "settings": {
            "wrk": f"-t{args.threads} -c{args.connections} -d{args.duration}s --latency "
            "--timeout 10s",
            "warmup_seconds": args.warmup,
            "mix_entity_percent": args.mix,
            "seed": args.seed,
            "target_p99_ms": TARGET_P99_MS,
        },
        "runs": runs,
        "verdict": {
            f"{r['catalogue']}-w{r['workers']}-{phase}": p["latency_ms"]["p99"] < TARGET_P99_MS
            and p["non_2xx_3xx"] == 0
            for r in runs
            for phase, p in r["phases"].items()
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    say(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
