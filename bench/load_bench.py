"""Load benchmark: gunicorn with 2 workers on the district data set, 8 concurrent clients for a bounded
time (60 s at district scale), first reading only, then a mix of 80 % page reads and 20 % writes
sent as a browser sends them (form POSTs with the CSRF token of the page they came from).

Clients are procurement staff, the largest organization's manager and social workers, and the
auditor, each a separate login with its own cookies, on 127.0.0.1 only. Prints requests per second,
errors, and p50/p95/p99 per kind of request; goals: no error, p95 ≤ 200 ms mixed and ≤ 100 ms
reading only. Usage:

    BENCH_SCALE=small|district .venv/bin/python bench/load_bench.py [--seconds N] [--clients 8]
"""
from __future__ import annotations

import argparse
import random
import re
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import pages_bench  # noqa: E402
import writes_bench  # noqa: E402

GOAL_MIXED_P95_MS = 200
GOAL_READ_P95_MS = 100
# A write is a form page (read) and its POST: the three writing people of every four writing on a
# little over half of their turns makes the POSTs about a fifth of all requests (a write is two or
# three requests, and explaining stops once the contract's flags are explained).
WRITE_TURNS = 0.55


class Run:
    """Latencies and errors of one load run, per kind of request."""

    def __init__(self):
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = {}
        self.errors: list[str] = []

    def add(self, kind: str, seconds: float, error: str | None = None) -> None:
        with self.lock:
            self.times.setdefault(kind, []).append(seconds)
            if error:
                self.errors.append(f"{kind}: {error}")


class Visitor(threading.Thread):
    """One person in a browser: logs in, then reads pages (and writes, in the mix) until time is up."""

    def __init__(self, port: int, url: str, login: str, reads: list[tuple[str, str, bool]], world: dict, run: Run,
                 deadline: float, mixed: bool, seed: int):
        super().__init__(daemon=True)
        self.url = url
        self.client = common.Client(port)
        self.login, self.reads, self.world, self.run_ = login, reads, world, run
        self.deadline, self.mixed = deadline, mixed
        self.rng = random.Random(seed)
        self.recorded: list[int] = []
        self.n = seed * 1000

    def run(self) -> None:
        self.client.login(self.login)
        while time.monotonic() < self.deadline:
            # Auditors change nothing: they only read.
            if self.mixed and self.login != "bench-auditor" and self.rng.random() < WRITE_TURNS:
                self.write()
            else:
                label, path, htmx = self.rng.choice(self.reads)
                self.timed(f"read: {label}", lambda: self.client.get(path, htmx=htmx), ok=(200,))

    def timed(self, kind: str, action, ok=(200, 303)):
        started = time.perf_counter()
        try:
            response = action()
            error = None if response.status in ok else f"HTTP {response.status}"
        except OSError as exc:
            response, error = None, f"{type(exc).__name__}: {exc}"
            self.client = common.Client(self.client.port)
            self.client.login(self.login)
        self.run_.add(kind, time.perf_counter() - started, error)
        return response

    def write(self) -> None:
        """What this person writes: social workers record and correct entries, the manager records
        and deletes one, procurement staff and the auditor's colleague explain a red flag."""
        w, c = self.world, self.world["contract"]
        self.n += 1
        today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
        day = today - timedelta(days=1 + self.n % 25)
        if self.login == "bench-procurement":
            flag = w["flags"].pop() if w["flags"] else None
            if flag is None:
                return
            self.timed("read: a contract's red flags", lambda: self.client.get(f"/contracts/{c}/red-flags"))
            self.timed("write: explain a red flag", lambda: self.client.post(
                f"/red-flags/{flag}/explain", {"note": "已核实：两项服务内容不同，不属重复。"}))
            return
        if self.recorded and self.rng.random() < 0.3:
            entry = self.recorded.pop()
            if self.login == "bench-manager":
                self.timed("read: delete form", lambda: self.client.get(f"/services/{entry}/delete"))
                self.timed("write: delete an entry", lambda: self.client.post(
                    f"/services/{entry}/delete", {"reason": "重复录入。"}))
                return
            page = self.timed("read: correction form", lambda: self.client.get(f"/services/{entry}/edit"))
            version = page and re.search(r'name="version"[^>]*value="(\d+)"', page.text)
            form = writes_bench._entry_form(w, self.n, day) + [("reason", "补录成果。"),
                                                              ("version", version.group(1) if version else "1")]
            self.timed("write: correct an entry", lambda: self.client.post(f"/services/{entry}/edit", form))
            return
        self.timed("read: record form", lambda: self.client.get(f"/contracts/{c}/services/new"))
        form = writes_bench._entry_form(w, self.n, day)
        response = self.timed("write: record an entry", lambda: self.client.post(f"/contracts/{c}/services/new", form))
        if response is not None and response.status == 303:
            self.timed("read: services", lambda: self.client.get(f"/contracts/{c}/services", htmx=True))
            entry = writes_bench.entry_recorded(self.url, c, writes_bench.place_of(self.n))
            if entry:
                self.recorded.append(entry)


def load(port: int, url: str, plan: dict, world: dict, seconds: float, clients: int, mixed: bool,
         seed: int) -> tuple[Run, float]:
    run = Run()
    # Eight people at once: the manager, two social workers' sessions, procurement staff and the auditor.
    people = ["bench-worker", "bench-manager", "bench-procurement", "bench-auditor", "bench-worker",
              "bench-procurement", "bench-manager", "bench-auditor"]
    deadline = time.monotonic() + seconds
    visitors = []
    for i in range(clients):
        login = people[i % len(people)]
        # Pages that do real work on every request; the audit verification runs as a job.
        reads = [p for p in plan[login] if "verify" not in p[1]]
        visitors.append(Visitor(port, url, login, reads, world, run, deadline, mixed, seed + i))
    started = time.monotonic()
    for v in visitors:
        v.start()
    for v in visitors:
        v.join(seconds + 180)
    return run, time.monotonic() - started


def report(figures: common.Figures, name: str, run: Run, elapsed: float, goal_ms: float) -> None:
    every = [t for times in run.times.values() for t in times]
    figures.add(f"{name}: requests per second", len(every) / elapsed, "/s")
    figures.add(f"{name}: errors", len(run.errors), "", at_most=0,
                note="; ".join(run.errors[:3]) if run.errors else "")
    figures.add(f"{name}: p50", common.percentile(every, 50) * 1000, " ms")
    figures.add(f"{name}: p95", common.percentile(every, 95) * 1000, " ms", at_most=goal_ms)
    figures.add(f"{name}: p99", common.percentile(every, 99) * 1000, " ms")
    for kind, times in sorted(run.times.items()):
        figures.note(f"  {kind:<46} n={len(times):<5} p50 {common.percentile(times, 50) * 1000:7.1f} ms  "
                     f"p95 {common.percentile(times, 95) * 1000:7.1f} ms  p99 {common.percentile(times, 99) * 1000:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60 if common.SCALE == "district" else 20)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    url = common.district_as_generated()
    ids = pages_bench._ids(url)
    plan = pages_bench.pages(ids)
    world = writes_bench._world(url)
    world["flags"] = list(reversed(world["flags"]))
    figures = common.Figures("load", database=url.split(":", 1)[0], seconds=args.seconds, clients=args.clients,
                             workers=2)
    with common.server(url) as port:
        warm = common.Client(port)
        warm.get("/healthz")
        run, elapsed = load(port, url, plan, world, args.seconds, args.clients, mixed=False, seed=1)
        report(figures, "reading only", run, elapsed, GOAL_READ_P95_MS)
        run, elapsed = load(port, url, plan, world, args.seconds, args.clients, mixed=True, seed=100)
        writes = sum(len(t) for k, t in run.times.items() if k.startswith("write"))
        figures.note(f"writes: {writes / max(1, sum(len(t) for t in run.times.values())):.0%} of the requests")
        report(figures, "80 % reads, 20 % writes", run, elapsed, GOAL_MIXED_P95_MS)
    figures.save()


if __name__ == "__main__":
    main()
