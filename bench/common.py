"""What the benchmarks share: the scale they run at, the district database, figures printed next to
their goals and written to JSON, interleaved timing, a gunicorn server and a plain HTTP client.

Scale: BENCH_SCALE=small (the default, a few minutes for `make bench`) or district (the size of one
real district after a few years: 2,000 contracts, a million service entries). The database:
BENCH_DATABASE_URL, else PostgreSQL on 127.0.0.1:5432 (database svcproc_bench_<scale>) when it
answers, else SQLite under instance/bench/. `svcproc bench-data` fills it the first time.
Figures go to bench/results/<benchmark>.json (BENCH_RESULTS names another folder).
"""
from __future__ import annotations

import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Callable
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SCALE = os.environ.get("BENCH_SCALE", "small")
RESULTS = Path(os.environ.get("BENCH_RESULTS") or ROOT / "bench" / "results")
BENCH_PASSWORD = "bench-Password-2026"
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"


# --- figures and goals --------------------------------------------------------------------------


class Figures:
    """Figures of one benchmark: each printed next to its goal as it is added, all saved as JSON."""

    def __init__(self, benchmark: str, **context):
        self.benchmark = benchmark
        self.context = {"scale": SCALE, **context}
        self.rows: list[dict] = []
        self.started = datetime.now(timezone.utc)
        print(f"== {benchmark} ({', '.join(f'{k}={v}' for k, v in self.context.items())})", flush=True)

    def add(self, name: str, value: float, unit: str = "", *, at_most: float | None = None,
            at_least: float | None = None, note: str = "") -> bool | None:
        ok = None
        goal = ""
        if at_most is not None:
            ok, goal = value <= at_most, f"≤ {_fmt(at_most)}{unit}"
        elif at_least is not None:
            ok, goal = value >= at_least, f"≥ {_fmt(at_least)}{unit}"
        verdict = "" if ok is None else ("ok" if ok else "MISSED")
        line = f"  {name:<58} {_fmt(value):>10}{unit:<6}"
        if goal:
            line += f" goal {goal:<12} {verdict}"
        if note:
            line += f"  ({note})"
        print(line, flush=True)
        self.rows.append({"name": name, "value": value, "unit": unit, "goal": goal or None, "ok": ok,
                          "note": note or None})
        return ok

    def note(self, text: str) -> None:
        print(f"  {text}", flush=True)

    @property
    def missed(self) -> list[str]:
        return [r["name"] for r in self.rows if r["ok"] is False]

    def save(self) -> Path:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{self.benchmark}.json"
        path.write_text(json.dumps({
            "benchmark": self.benchmark, **self.context,
            "started": self.started.isoformat(), "finished": datetime.now(timezone.utc).isoformat(),
            "figures": self.rows, "missed": self.missed,
        }, ensure_ascii=False, indent=2))
        print(f"  -> {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}"
              + (f"; goals missed: {len(self.missed)}" if self.missed else "; every goal met"), flush=True)
        return path


def _fmt(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer() and abs(value) >= 100:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation, as numpy's default."""
    data = sorted(values)
    if not data:
        return float("nan")
    k = (len(data) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


def interleave(steps: dict[str, Callable[[], object]], rounds: int, warmup: int = 2) -> dict[str, list[float]]:
    """Run each step once per round, in turn, so slow moments of the machine fall on all of them
    alike; returns the seconds each step took in each round (warm-up rounds dropped)."""
    times: dict[str, list[float]] = {name: [] for name in steps}
    for n in range(warmup + rounds):
        for name, step in steps.items():
            started = time.perf_counter()
            step()
            if n >= warmup:
                times[name].append(time.perf_counter() - started)
    return times


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# --- the district database ----------------------------------------------------------------------


def _postgres_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def database_url(scale: str = SCALE) -> str:
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        return url
    if _postgres_answers():
        return f"{PG_SERVER}/svcproc_bench_{scale}"
    folder = ROOT / "instance" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / f'district-{scale}.db'}"


def instance_dir(scale: str = SCALE) -> Path:
    """Where the benchmark app keeps its keys and files (the same for every run on one database)."""
    folder = ROOT / "instance" / "bench" / f"instance-{scale}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def bench_env(url: str, scale: str = SCALE) -> dict:
    env = dict(os.environ)
    env.update(DATABASE_URL=url, SVCPROC_INSTANCE=str(instance_dir(scale)), SECRET_KEY="bench-secret-key",
               HTMX_CDN_URL="", PYTHONPATH=str(ROOT))
    env.pop("REDIS_URL", None)
    return env


def svcproc_command() -> list[str]:
    exe = Path(sys.executable).with_name("svcproc")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "svcproc.cli"]


def _server_and_name(url: str) -> tuple[str, str]:
    server, name = url.rsplit("/", 1)
    return server.replace("postgresql+psycopg://", "postgresql://"), name


def create_database(url: str) -> bool:
    """Create the PostgreSQL database a URL names, when it does not exist yet (True: created now)."""
    import psycopg

    server, name = _server_and_name(url)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            return True
    return False


def ensure_district(scale: str = SCALE, url: str | None = None) -> str:
    """The URL of a database holding the district at this scale, generated the first time."""
    url = url or database_url(scale)
    if url.startswith("postgresql"):
        new = create_database(url)
    else:
        new = not Path(url.split("///", 1)[1]).exists()
    if new:
        _forget_as_generated(url)   # a copy of an earlier district would stand for this one
    subprocess.run([*svcproc_command(), "bench-data", "--scale", scale, "--if-missing"], env=bench_env(url, scale),
                   check=True, cwd=ROOT)
    return url


# --- the district as generated, for the benchmarks that write ------------------------------------
# Recording, correcting and deleting entries leaves red flags, audit events and revisions behind:
# run after run, the district would drift from the one generated (a contract of the write benchmark
# once gathered 30,000 flags, and its flags page measured three times slower for it). The benchmarks
# that write start from the district as generated: the first of them keeps a copy of it (a database
# made from it as a template, or a copy of the SQLite file), each later one puts the copy back.


def _as_generated(url: str) -> str:
    if url.startswith("postgresql"):
        return _server_and_name(url)[1] + "__as_generated"
    return url.split("///", 1)[1] + ".as-generated"


def _forget_as_generated(url: str) -> None:
    kept = _as_generated(url)
    if url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(f"{_server_and_name(url)[0]}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{kept}"')
    else:
        Path(kept).unlink(missing_ok=True)


def district_as_generated(scale: str = SCALE) -> str:
    """The URL of the district, as it was when generated (see above) with the schema of the code
    that runs; BENCH_KEEP_DISTRICT=1 measures it as it stands instead. No one else may be connected
    to it."""
    url = ensure_district(scale)
    if os.environ.get("BENCH_KEEP_DISTRICT") == "1":
        return url
    kept = _as_generated(url)
    if url.startswith("postgresql"):
        import psycopg

        server, name = _server_and_name(url)
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (kept,)).fetchone():
                conn.execute(f'DROP DATABASE "{name}"')
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{kept}"')
            else:
                conn.execute(f'CREATE DATABASE "{kept}" TEMPLATE "{name}"')
    else:
        import shutil

        path = url.split("///", 1)[1]
        if Path(kept).exists():
            for journal in ("-wal", "-shm", "-journal"):   # of the district as it stood: not to be applied
                Path(path + journal).unlink(missing_ok=True)
            shutil.copyfile(kept, path)
        else:
            shutil.copyfile(path, kept)
    # The copy holds the schema of the day it was kept: migrations added since are applied again.
    subprocess.run([*svcproc_command(), "db", "upgrade"], env=bench_env(url, scale), check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return url


def app_for(url: str, scale: str = SCALE, **overrides):
    """The application on the benchmark database, configured as the server runs it."""
    for key, value in bench_env(url, scale).items():
        if key in ("DATABASE_URL", "SVCPROC_INSTANCE", "SECRET_KEY", "HTMX_CDN_URL"):
            os.environ[key] = value
    from svcproc import create_app

    return create_app(overrides or None)


# --- a server and a client ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(url: str, scale: str = SCALE, workers: int = 2, extra_env: dict | None = None):
    """gunicorn with `workers` sync workers on 127.0.0.1, serving the app on this database."""
    port = free_port()
    env = {**bench_env(url, scale), **(extra_env or {})}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)
    proc = subprocess.Popen([str(gunicorn), "-w", str(workers), "-b", f"127.0.0.1:{port}", "--timeout", "120",
                             "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                Client(port).get("/healthz")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start; see {log.name}") from None
                time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


class Response:
    def __init__(self, status: int, headers: dict, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Client:
    """One browser: a kept-alive connection, its cookies, and the CSRF token of the last page."""

    def __init__(self, port: int, locale: str = "zh_CN"):
        self.port = port
        self.cookies: dict[str, str] = {"svcproc_lang": locale}
        self.csrf = ""
        self.conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        return self.conn

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> Response:
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, path, body=body, headers=headers)
                raw = conn.getresponse()
                data = raw.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn = None  # the worker closed a kept-alive connection: once more on a new one
                if attempt == 2:
                    raise
        for header, value in raw.getheaders():
            if header.lower() == "set-cookie":
                for name, morsel in SimpleCookie(value).items():
                    self.cookies[name] = morsel.value
        response = Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, data)
        match = re.search(rb'<meta name="csrf-token" content="([^"]+)"', data)
        if match:
            self.csrf = match.group(1).decode()
        return response

    def get(self, path: str, htmx: bool = False) -> Response:
        return self.request("GET", path, headers={"HX-Request": "true"} if htmx else None)

    def post(self, path: str, form: dict | list, htmx: bool = False) -> Response:
        pairs = list(form.items()) if isinstance(form, dict) else list(form)
        if self.csrf and not any(k == "csrf_token" for k, _v in pairs):
            pairs.append(("csrf_token", self.csrf))
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if htmx:
            headers.update({"HX-Request": "true", "X-CSRFToken": self.csrf})
        return self.request("POST", path, body=urlencode(pairs, doseq=True).encode(), headers=headers)

    def login(self, username: str, password: str = BENCH_PASSWORD) -> None:
        self.get("/login")
        response = self.post("/login", {"username": username, "password": password})
        if response.status != 303:
            raise RuntimeError(f"login as {username} answered {response.status}")
