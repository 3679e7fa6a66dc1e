"""b7_workers: runner `procrastinate` at 1,000 channels, 1, 2 and 4 workers, against the
single process (runner `single`).

`python -m bench.queue_scale [--channels N] [--skus N] [--steady S] [--rate R]
[--configs single,w1,w2,w4] [--quick] [--no-write] [--json]`

Everything is on loopback: one channel server (bench/queue_server.py) plays every
`type: sandbox` channel under its own path; a fresh migrated PostgreSQL schema per
configuration (OMNISYNC_TEST_POSTGRES_URL); `omnisync run` and `omnisync worker`
processes as an operator starts them. This process is the warehouse: it changes stock
through the ledger's bulk twin (bench/fixtures.change_stock), each change its own
transaction, so the hub's push hook (runner `procrastinate`) or the single runner's outbox
watcher sees it as it sees any other writer.

Each configuration: start, wait out the start-up (the first run of every job), then

- light: Zipf-skewed changes at a rate every configuration keeps up with (LIGHT_RATE per
  second for LIGHT_S), and its drain: change-to-channel when the hub is not saturated;

- burst: every SKU +1 in one transaction, so every channel has a push to make; the time
  until every channel holds every new quantity gives the push throughput at saturation;
- steady: Zipf-skewed changes (+1 to one SKU each) at `--rate` per second for `--steady`
  seconds, then the drain; with 2 or more workers, worker 0 is killed (SIGKILL) halfway.

Each SKU only ever goes up by 1, so a channel holding quantity >= q for a SKU holds the
change that made it q (or a later one): the change-to-channel time of a change is the first
receipt of such a quantity at each channel listing the SKU, after its commit.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlmodel import select

from bench.fixtures import change_stock, database_url, insert_catalogue, insert_listings
from bench.process import percentile, run_child
from omnisync.core.catalog import location_by_code
from omnisync.core.clock import utcnow
from omnisync.core.db import transaction
from omnisync.core.models import Channel
from omnisync.hub.bootstrap import bootstrap
from omnisync.sync.jobs.names import JobName

CHANNELS = 1000
SKUS = 2000
PER_CHANNEL = 20
"""Listings per channel (random SKUs): a SKU is on PER_CHANNEL * CHANNELS / SKUS channels."""
STEADY_S = 45.0
RATE = 6.0
"""Stock changes per second in the steady phase: each is on about 10 channels, so some 60
channel pushes a second are asked, about what 4 workers push on 2 cores (the burst
measures saturation)."""
PHASE_INTERNALS = ("since", "first_change", "end_change", "started_at", "kill")
"""What a phase keeps for the figures, left out of the results."""
LIGHT_S, LIGHT_RATE = 30.0, 3.0
"""The light phase: changes per second well within what every configuration pushes."""
ZIPF_S = 1.1
START_ON_HAND = 100
CONFIGS = ("single", "w1", "w2", "w4")
QUICK_CHANNELS, QUICK_SKUS, QUICK_STEADY_S, QUICK_RATE = 40, 200, 8.0, 10.0
QUICK_LIGHT_S, QUICK_LIGHT_RATE = 4.0, 2.0
QUICK_CONFIGS = ("single", "w2")
WORKER_CONCURRENCY = 4
WORKERS_YAML = "workers: {heartbeat: 1s, stalled_after: 3s, sweep_every: 1s}"
SCHEDULE = "schedule: {orders: 1m, stock: 1h, fulfilments: 1h, listings: 1d, reconcile: 1d}"
SETTLE_S = 120.0
"""At most this long for the start-up, the burst's drain and the steady phase's drain."""
WARM_UP_S = 360.0
"""At most this long for the start-up (the single runner's first run of every job)."""
KEY_VAR = "B7_KEY"


@dataclass
class Layout:
    channels: list[str]
    skus: list[str]
    listed: dict[str, list[str]]
    """channel -> its SKUs."""
    on: dict[str, list[str]] = field(default_factory=dict)
    """SKU -> the channels listing it."""

    @classmethod
    def make(cls, channels: int, skus: int, per_channel: int, seed: int) -> Layout:
        rng = random.Random(seed)  # noqa: S311 - a reproducible layout
        codes = [f"S{n:05d}" for n in range(skus)]
        names = [f"ch{n:04d}" for n in range(channels)]
        listed = {name: sorted(rng.sample(codes, min(per_channel, skus))) for name in names}
        on: dict[str, list[str]] = defaultdict(list)
        for name, codes_of in listed.items():
            for code in codes_of:
                on[code].append(name)
        return cls(names, codes, listed, dict(on))


def _channel_file(name: str, url: str) -> str:
    return textwrap.dedent(
        f"""\
        type: sandbox
        endpoint: {url}/c/{name}
        api_key: ${{{KEY_VAR}}}
        page_size: 100
        timeout_seconds: 5
        requests_per_second: 1000
        burst: 1000
        {SCHEDULE}
        sync: {{lag: 2m, backfill: 1d, item_backoff: 1s}}
        """
    )


def write_config(folder: Path, runner: str, layout: Layout, url: str) -> Path:
    (folder / "channels").mkdir(parents=True, exist_ok=True)
    hub = ["http: {host: 127.0.0.1, port: 0}", "locations:", "  - code: main"]
    if runner == "procrastinate":
        hub += ["runner: procrastinate", WORKERS_YAML]
    (folder / "hub.yaml").write_text("\n".join(hub) + "\n")
    for name in layout.channels:
        (folder / "channels" / f"{name}.yaml").write_text(_channel_file(name, url))
    return folder


class Proc:
    """A child process (`python -m ...`) whose output goes to a log file; CPU from /proc."""

    def __init__(self, args: list[str], log: Path, env: dict[str, str]) -> None:
        self.log = log
        self._out = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", *args], stdout=self._out, stderr=subprocess.STDOUT, env=env
        )

    def cpu_s(self) -> float:
        return _proc_cpu(self.process.pid)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self, timeout: float = 40) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._out.close()


def _proc_cpu(pid: int) -> float:
    """User + system CPU seconds of one process (0.0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_s() -> float:
    """CPU seconds of every `postgres` process this machine shows (server and backends,
    whoever they serve)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
        except OSError:
            continue
        total += _proc_cpu(int(entry.name))
    return total


def busy_cpu_s() -> float:
    """CPU seconds the whole machine spent not idle (all cores), from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class Sampler:
    """Once a second, in a thread: pg_stat_activity's connections to this database, and
    the CPU seconds of the PostgreSQL backends serving this benchmark's processes (found
    by their clients' ports; the server is shared with whatever else runs on the machine).
    A backend's last sample is kept after it exits."""

    def __init__(self, engine: Any, pids: Any) -> None:
        self.engine = engine
        self.pids = pids
        self.counts: list[int] = []
        self.backends: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def backend_cpu_s(self) -> float:
        self._sample_backends()
        return sum(self.backends.values())

    def _loop(self) -> None:
        query = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        while not self._stop.wait(1.0):
            try:
                with self.engine.connect() as connection:
                    self.counts.append(int(connection.execute(query).scalar_one()) - 1)
                self._sample_backends()
            except Exception:  # noqa: S112 - a missed sample is no figure
                continue

    def _sample_backends(self) -> None:
        ports = client_ports(self.pids())
        with self.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT pid, client_port FROM pg_stat_activity "
                    "WHERE datname = current_database()"
                )
            ).all()
        for pid, port in rows:
            if port in ports:
                cpu = _proc_cpu(int(pid))
                if cpu:
                    self.backends[int(pid)] = max(cpu, self.backends.get(int(pid), 0.0))


def client_ports(pids: list[int]) -> set[int]:
    """The local TCP ports of the sockets these processes hold (from /proc)."""
    inodes: set[str] = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    target = os.readlink(fd)
                except OSError:
                    continue
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


@contextmanager
def channel_server(layout: Layout, folder: Path, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    listings = {name: dict.fromkeys(codes, START_ON_HAND) for name, codes in layout.listed.items()}
    (folder / "listings.json").write_text(json.dumps(listings))
    port_file = folder / "port"
    server = Proc(
        [
            "bench.queue_server",
            "--channels",
            str(folder / "listings.json"),
            "--port-file",
            str(port_file),
        ],
        folder / "server.log",
        env,
    )
    try:
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text():
            if time.monotonic() > deadline or server.process.poll() is not None:
                raise RuntimeError(f"the channel server did not start: {server.log}")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port_file.read_text().strip()}", server.process.pid
    finally:
        server.stop()


def stats(url: str) -> dict[str, Any]:
    return dict(httpx.get(f"{url}/_bench/stats", timeout=60).json())


def counts(url: str) -> dict[str, Any]:
    return dict(httpx.get(f"{url}/_bench/counts", timeout=60).json())


def behind(url: str, expected: dict[str, int]) -> int:
    """Listings the channels hold with another quantity than `expected` (sku -> quantity)."""
    return int(httpx.post(f"{url}/_bench/behind", json=expected, timeout=60).json()["behind"])


class Delivery:
    """What the channels hold, from the server's receipts: (channel, sku) -> sorted
    [(quantity, time)] with the running maximum quantity."""

    def __init__(self, receipts: list[list[Any]]) -> None:
        by: dict[tuple[str, str], list[tuple[float, int]]] = defaultdict(list)
        for name, sku, quantity, at in receipts:
            by[(name, sku)].append((at, int(quantity)))
        self.times: dict[tuple[str, str], list[float]] = {}
        self.highest: dict[tuple[str, str], list[int]] = {}
        self.count: dict[tuple[str, str, int], int] = defaultdict(int)
        for key, items in by.items():
            items.sort()
            highest, top = [], 0
            for _at, quantity in items:
                top = max(top, quantity)
                highest.append(top)
                self.count[(*key, quantity)] += 1
            self.times[key] = [at for at, _q in items]
            self.highest[key] = highest

    def first_at_least(self, name: str, sku: str, quantity: int, after: float) -> float | None:
        """When the channel first held `quantity` or more for the SKU (received after
        `after`), or None."""
        times = self.times.get((name, sku))
        if not times:
            return None
        highest = self.highest[(name, sku)]
        for index in range(bisect_left(times, after), len(times)):
            if highest[index] >= quantity:
                return times[index]
        return None

    def duplicates(self) -> tuple[int, list[Any]]:
        """Quantities a channel received more than once (after the warm-up): how many
        repeats, and a few of them (channel, sku, quantity, times received)."""
        repeated = [(*key, count) for key, count in self.count.items() if count > 1]
        return sum(item[-1] - 1 for item in repeated), sorted(repeated)[:3]


class Run:
    """One configuration: its processes, database and channel server."""

    def __init__(self, label: str, layout: Layout, folder: Path, seed: int) -> None:
        self.label = label
        self.layout = layout
        self.folder = folder
        self.rng = random.Random(seed)  # noqa: S311 - a reproducible layout
        self.workers = 0 if label == "single" else int(label[1:])
        self.expected: dict[str, int] = dict.fromkeys(layout.skus, START_ON_HAND)
        self.changes: list[tuple[str, int, float]] = []
        self.procs: list[Proc] = []
        self.notes: list[str] = []
        self.killed_cpu = 0.0

    def measure(
        self, steady_s: float, rate: float, light: tuple[float, float], progress: Any
    ) -> dict[str, Any]:
        """`light`: the light phase's seconds and rate."""
        os.environ.setdefault(KEY_VAR, "bench-key-b7-0001")  # this process bootstraps too
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path.cwd()), env.get("PYTHONPATH")]))
        with ExitStack() as stack:
            db_url = stack.enter_context(database_url("postgresql"))
            url, self.server_pid = stack.enter_context(
                channel_server(self.layout, self.folder, env)
            )
            runner = "single" if self.workers == 0 else "procrastinate"
            config = write_config(self.folder / "config", runner, self.layout, url)
            started = time.monotonic()
            hub = bootstrap(config, database_url=db_url, create=True)
            stack.callback(hub.engine.dispose)
            self._populate(hub.engine)
            if self.workers:
                self._schedule_rows(hub.engine)
            progress(f"{self.label}: set up in {time.monotonic() - started:.1f} s")
            env["OMNISYNC_DATABASE_URL"] = db_url
            stack.callback(self._stop_all)
            cli = ["omnisync.hub.cli", "--config-dir", str(config)]
            self.t0 = time.time()
            self.procs.append(Proc([*cli, "run"], self.folder / "run.log", env))
            for n in range(self.workers):
                args = [*cli, "worker", "--concurrency", str(WORKER_CONCURRENCY)]
                self.procs.append(Proc(args, self.folder / f"worker-{n}.log", env))
            sampler = stack.enter_context(Sampler(hub.engine, self._pids))
            self.sampler = sampler
            warm = self._warm_up(url)
            progress(f"{self.label}: started, start-up runs done in {warm:.1f} s")
            quiet = self._steady(hub.engine, url, *light, progress, kill=False)
            progress(f"{self.label}: light phase done, drained in {quiet['drain_s']} s")
            cpu0 = self._cpu()
            burst = self._burst(hub.engine, url)
            progress(f"{self.label}: burst drained in {burst['drain_s']} s")
            cpu1 = self._cpu()
            steady = self._steady(hub.engine, url, steady_s, rate, progress)
            progress(f"{self.label}: steady phase done, drained in {steady['drain_s']} s")
            cpu2 = self._cpu()
            final = stats(url)
            final["behind"] = behind(url, self.expected)
            (self.folder / "stats.json").write_text(json.dumps(final))
            (self.folder / "changes.json").write_text(json.dumps(self.changes))
        figures = self._figures(final, burst, steady, (cpu0, cpu1, cpu2), sampler.counts, warm)
        return {**figures, "light": self._light(final, quiet)}

    def _populate(self, engine: Any) -> None:
        with transaction(engine) as session:
            location = location_by_code(session, "main")
            assert location.id is not None
            location_id = location.id
            channel_ids = {
                c.name: c.id for c in session.exec(select(Channel)).all() if c.id is not None
            }
        self.location_id = location_id
        self.sku_ids = insert_catalogue(
            engine, dict.fromkeys(self.layout.skus, START_ON_HAND), location_id
        )
        for name, codes in self.layout.listed.items():
            ids = {code: self.sku_ids[code] for code in codes}
            insert_listings(engine, channel_ids[name], ids, lambda _code: START_ON_HAND)
        self.channel_ids = channel_ids

    def _schedule_rows(self, engine: Any) -> None:
        """The queue's schedule as a hub that has run a while has it: orders pulls spread
        over the minute, the other jobs not due during the run (their first run at start
        is a start-up cost, not the steady state this measures)."""
        now = utcnow()
        rows = []
        for channel_id in self.channel_ids.values():
            for job in JobName:
                later = self.rng.uniform(0, 60) if job == JobName.ORDERS else 86400
                rows.append(
                    {
                        "channel_id": channel_id,
                        "job": str(job),
                        "next_run_at": now + timedelta(seconds=later),
                    }
                )
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO job_schedules (channel_id, job, next_run_at, failures) "
                    "VALUES (:channel_id, :job, :next_run_at, 0)"
                ),
                rows,
            )

    def _warm_up(self, url: str) -> float:
        """Until the start-up is over. The single runner runs every job of every channel
        at start: until each channel's listings were pulled and no request but orders
        pulls came for 3 s. Workers (their schedule rows made, nothing due at start): each
        one up."""
        started = time.monotonic()
        quiet_since, seen = time.monotonic(), -1
        while time.monotonic() - started < WARM_UP_S:
            time.sleep(1.0)
            for proc in self.procs:
                if proc.process.poll() is not None:
                    raise RuntimeError(f"{proc.log} exited: {proc.log.read_text()[-2000:]}")
            statuses = counts(url)["statuses"]
            others = sum(v for k, v in statuses.items() if not k.startswith("orders"))
            if others != seen:
                seen, quiet_since = others, time.monotonic()
                continue
            if time.monotonic() - quiet_since < 3.0:
                continue
            if self.workers and self._workers_up():
                break
            if not self.workers and statuses.get("listings 200", 0) >= len(self.layout.channels):
                break
        else:
            self.notes.append(f"start-up not over within {WARM_UP_S:.0f} s")
        return time.monotonic() - started

    def _workers_up(self) -> bool:
        if not self.workers:
            return True
        return all("worker " in proc.log.read_text(errors="replace") for proc in self.procs[1:])

    def _cpu(self) -> dict[str, float]:
        return {
            "at": time.monotonic(),
            "postgres": self.sampler.backend_cpu_s(),
            "postgres_server_all": postgres_cpu_s(),
            "run": self.procs[0].cpu_s(),
            "workers": self.killed_cpu + sum(p.cpu_s() for p in self.procs[1:]),
            "channel_server": _proc_cpu(self.server_pid),
            "this_driver": _proc_cpu(os.getpid()),
            "machine": busy_cpu_s(),
        }

    def _change(self, engine: Any, codes: list[str]) -> None:
        change_stock(engine, [self.sku_ids[code] for code in codes], self.location_id, 1)
        at = time.time()
        for code in codes:
            self.expected[code] += 1
            self.changes.append((code, self.expected[code], at))

    def _drain(self, url: str, phase: str) -> float:
        started = time.monotonic()
        while time.monotonic() - started < SETTLE_S:
            if not behind(url, self.expected):
                return time.monotonic() - started
            time.sleep(0.25)
        self.notes.append(f"{phase}: not drained within {SETTLE_S:.0f} s")
        return time.monotonic() - started

    def _burst(self, engine: Any, url: str) -> dict[str, Any]:
        before = counts(url)
        started_at = time.time()
        started = time.monotonic()
        self._change(engine, self.layout.skus)
        committed = time.monotonic()
        drain = self._drain(url, "burst")
        after = counts(url)
        pushes = _ok_pushes(after) - _ok_pushes(before)
        return {
            "commit_s": round(committed - started, 2),
            "drain_s": round(drain, 2),
            "pushes": pushes,
            "pushes_per_s": round(pushes / drain, 1) if drain else None,
            "channels_per_s": round(len(self.layout.channels) / drain, 1) if drain else None,
            "since": before,
            "started_at": started_at,
        }

    def _steady(
        self,
        engine: Any,
        url: str,
        seconds: float,
        rate: float,
        progress: Any,
        *,
        kill: bool = True,
    ) -> dict[str, Any]:
        """Zipf-skewed changes at `rate` for `seconds`, then the drain; `kill`: worker 0 is
        killed halfway (with 2 or more workers)."""
        weights = [1 / (rank + 1) ** ZIPF_S for rank in range(len(self.layout.skus))]
        hot = self.layout.skus[:]
        self.rng.shuffle(hot)
        first_change = len(self.changes)
        before = counts(url)
        started_at = time.time()
        started = time.monotonic()
        killed: dict[str, Any] | None = None
        count = 0
        while (elapsed := time.monotonic() - started) < seconds:
            if kill and killed is None and self.workers >= 2 and elapsed >= seconds / 2:
                killed = self._kill_one(engine)
                progress(f"{self.label}: worker 0 killed (SIGKILL) at {elapsed:.1f} s")
            code = self.rng.choices(hot, weights)[0]
            self._change(engine, [code])
            count += 1
            wait = started + count / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        offered_s = time.monotonic() - started
        end_change = len(self.changes)
        drain = self._drain(url, "steady" if kill else "light")
        after = counts(url)
        pushes = _ok_pushes(after) - _ok_pushes(before)
        return {
            "changes": count,
            "offered_s": round(offered_s, 1),
            "drain_s": round(drain, 2),
            "pushes": pushes,
            "pushes_per_s": round(pushes / (offered_s + drain), 1),
            "first_change": first_change,
            "end_change": end_change,
            "started_at": started_at,
            "kill": killed,
            "since": before,
        }

    def _kill_one(self, engine: Any) -> dict[str, Any]:
        """SIGKILL worker 0; note the pushes running then (any worker's) to time their
        recovery."""
        with engine.connect() as connection:
            doing = connection.execute(
                text(
                    "SELECT (args->>'channel_id')::int FROM procrastinate_jobs "
                    "WHERE status = 'doing' AND task_name = 'omnisync.push_stock'"
                )
            ).scalars()
            running = sorted(set(doing))
        self.killed_cpu = self.procs[1].cpu_s()
        at = time.time()
        self.procs[1].kill()
        return {"at": at, "running_channel_ids": running}

    def _pids(self) -> list[int]:
        return [os.getpid(), *(p.process.pid for p in self.procs if p.process.poll() is None)]

    def _stop_all(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()

    def _figures(
        self,
        final: dict[str, Any],
        burst: dict[str, Any],
        steady: dict[str, Any],
        cpu: tuple[dict[str, float], ...],
        connections: list[int],
        warm: float,
    ) -> dict[str, Any]:
        start = float(burst["started_at"])
        delivery = Delivery([r for r in final["receipts"] if r[3] >= start])
        duplicates, repeated = delivery.duplicates()
        overlaps = [o for o in final["overlaps"] if o[1] >= start]
        latencies, lost = self._latencies(delivery, steady)
        steady_receipts = final["batches"][steady["since"]["batches"] :]
        result: dict[str, Any] = {
            "workers": self.workers,
            "runner": "single" if not self.workers else "procrastinate",
            "warm_up_s": round(warm, 1),
            "burst": {k: v for k, v in burst.items() if k not in ("since", "started_at")},
            "steady": {k: v for k, v in steady.items() if k not in PHASE_INTERNALS},
            "change_to_channel_s": _spread(latencies),
            "changes_per_push": round(sum(steady_receipts) / max(1, len(steady_receipts)), 2),
            "most_concurrent_pushes_per_channel": max(final["most_pushing"].values(), default=0),
            "overlapping_pushes": {
                "whole_run": len(final["overlaps"]),
                "after_warm_up": len(overlaps),
                "channels": len({name for name, _at in final["overlaps"]}),
                "first_s_after_start": round(min(at for _n, at in final["overlaps"]) - self.t0, 1)
                if final["overlaps"]
                else None,
            },
            "lost_changes": lost,
            "listings_not_final": final["behind"],
            "duplicate_quantities": duplicates,
            "duplicate_examples": repeated,
            "orders_pulls": _pulls(final["pulls"], self._stalled_pulls(steady.get("kill"))),
            "statuses": final["statuses"],
            "cpu_s": _cpu_share(cpu),
            "connections": {
                "max": max(connections, default=0),
                "median": sorted(connections)[len(connections) // 2] if connections else 0,
            },
            "notes": self.notes,
        }
        kill = steady.get("kill")
        if kill:
            result["kill"] = self._recovery(kill, delivery, final)
        return result

    def _latencies(self, delivery: Delivery, phase: dict[str, Any]) -> tuple[list[float], int]:
        """Change-to-channel of each (change, channel listing its SKU) of the phase, in
        seconds, and how many were never delivered."""
        latencies: list[float] = []
        lost = 0
        for code, quantity, at in self.changes[phase["first_change"] : phase["end_change"]]:
            for name in self.layout.on.get(code, []):
                seen = delivery.first_at_least(name, code, quantity, at - 0.05)
                if seen is None:
                    lost += 1
                else:
                    latencies.append(max(0.0, seen - at))
        return latencies, lost

    def _light(self, final: dict[str, Any], light: dict[str, Any]) -> dict[str, Any]:
        """The light phase: its offered rate, pushes and change-to-channel."""
        delivery = Delivery([r for r in final["receipts"] if r[3] >= light["started_at"]])
        latencies, lost = self._latencies(delivery, light)
        return {
            "changes": light["changes"],
            "offered_s": light["offered_s"],
            "pushes_per_s": light["pushes_per_s"],
            "change_to_channel_s": _spread(latencies),
            "lost_changes": lost,
        }

    def _stalled_pulls(self, kill: dict[str, Any] | None) -> dict[str, float]:
        """The channels whose orders pull was found stalled after the kill, and when."""
        if not kill:
            return {}
        names = {channel_id: name for name, channel_id in self.channel_ids.items()}
        run_log = (self.folder / "run.log").read_text(errors="replace")
        return {
            names[channel_id]: when
            for when, task, channel_id in stalled_tasks(run_log, kill.get("at"))
            if task == "pull_orders" and channel_id in names
        }

    def _recovery(
        self, kill: dict[str, Any], delivery: Delivery, final: dict[str, Any]
    ) -> dict[str, Any]:
        names = {channel_id: name for name, channel_id in self.channel_ids.items()}
        return recovery(kill, final, names, (self.folder / "run.log").read_text(errors="replace"))


STALLED = re.compile(
    r"^(\S+) WARNING omnisync\.sync\.queue\.sweeps: task omnisync\.(\w+) "
    r"\{'channel_id': (\d+)\}.* stalled on worker"
)


def stalled_tasks(run_log: str, since: float | None) -> list[tuple[float, str, int]]:
    """(when, task, channel id) of each task `omnisync run` found stalled (its log), at or
    after `since` (None: every one)."""
    found: list[tuple[float, str, int]] = []
    for line in run_log.splitlines():
        match = STALLED.match(line)
        if match:
            when = datetime.fromisoformat(match[1].replace("Z", "+00:00")).timestamp()
            if since is None or when >= since:
                found.append((when, match[2], int(match[3])))
    return found


def recovery(
    kill: dict[str, Any], final: dict[str, Any], names: dict[int, str], run_log: str
) -> dict[str, Any]:
    """After the kill: the tasks `omnisync run` found stalled (its log), when, and when
    each one's channel was served again (the server's next push receipt or orders pull).
    `kill["at"]` None: the kill's time is unknown, times count from the first found."""
    at = kill.get("at")
    found = stalled_tasks(run_log, at)
    served: list[float] = []
    for when, task, channel_id in found:
        name = names.get(channel_id)
        if task == "push_stock":
            times = [r[3] for r in final["receipts"] if r[0] == name and r[3] >= when]
        else:
            times = [p[1] for p in final["pulls"] if p[0] == name and p[1] >= when]
        if times:
            served.append(min(times))
    first_found = min((w for w, _t, _c in found), default=None)
    return {
        "kill_at_known": at is not None,
        "tasks_found_stalled": len(found),
        "found_stalled_after_s": round(first_found - at, 2)
        if at is not None and first_found is not None
        else None,
        "served_again": len(served),
        "served_again_after_found_s": round(max(served) - first_found, 2)
        if served and first_found is not None
        else None,
        "pushes_running_at_kill": len(kill.get("running_channel_ids") or []),
        "stalled_after_s": 3,
    }


def _ok_pushes(snapshot: dict[str, Any]) -> int:
    return int(snapshot["statuses"].get("inventory 200", 0))


def _pulls(pulls: list[list[Any]], stalled: dict[str, float] | None = None) -> dict[str, Any]:
    """Orders pulls (first pages): two successful ones of one channel less than half the
    1-minute period apart are a double run; a retry after a refusal is not, nor is the
    run again of a pull whose worker was killed (`stalled`: channel -> when `omnisync run`
    found its task stalled; the killed run may have been answered before it died)."""
    by: dict[str, list[float]] = defaultdict(list)
    for name, at, status in pulls:
        if status == 200:
            by[name].append(at)
    doubles = reruns = 0
    gaps: list[float] = []
    for name, times in by.items():
        times.sort()
        found = (stalled or {}).get(name)
        for earlier, later in pairwise(times):
            gaps.append(later - earlier)
            if later - earlier >= 30:
                continue
            if found is not None and earlier <= found <= later:
                reruns += 1
                found = None  # one run again per stalled task
            else:
                doubles += 1
    return {
        "ok": sum(len(t) for t in by.values()),
        "refused": sum(1 for _n, _a, status in pulls if status != 200),
        "channels": len(by),
        "double_runs": doubles,
        "stalled_runs_again": reruns,
        "shortest_gap_s": round(min(gaps), 1) if gaps else None,
    }


def _spread(latencies: list[float]) -> dict[str, Any]:
    return {
        "count": len(latencies),
        "p50": round(percentile(latencies, 0.5), 3),
        "p95": round(percentile(latencies, 0.95), 3),
        "p99": round(percentile(latencies, 0.99), 3),
        "max": round(max(latencies, default=0.0), 3),
    }


def _cpu_share(cpu: tuple[dict[str, float], ...]) -> dict[str, Any]:
    """CPU seconds per component over burst + steady, and the machine's busy share."""
    first, last = cpu[0], cpu[-1]
    wall = last["at"] - first["at"]
    spent = {key: round(last[key] - first[key], 1) for key in first if key != "at"}
    ours = sum(
        value for key, value in spent.items() if key not in ("machine", "postgres_server_all")
    )
    spent["outside_the_benchmark"] = round(max(0.0, spent["machine"] - ours), 1)
    cores = os.cpu_count() or 1
    return {
        **spent,
        "wall_s": round(wall, 1),
        "machine_busy_share": round(spent["machine"] / (wall * cores), 2) if wall else None,
    }


def measure(
    channels: int,
    skus: int,
    steady_s: float,
    rate: float,
    configs: list[str],
    progress: Any,
    keep: Path | None = None,
    light: tuple[float, float] = (LIGHT_S, LIGHT_RATE),
) -> dict[str, Any]:
    layout = Layout.make(channels, skus, PER_CHANNEL, seed=21)
    results: dict[str, Any] = {}
    with ExitStack() as stack:
        folder = (
            str(keep)
            if keep
            else stack.enter_context(tempfile.TemporaryDirectory(prefix="omnisync-b7-"))
        )
        for index, label in enumerate(configs):
            where = Path(folder) / label
            where.mkdir(parents=True)
            try:
                results[label] = Run(label, layout, where, seed=100 + index).measure(
                    steady_s, rate, light, progress
                )
            except Exception as error:
                logs = sorted(where.glob("*.log"))
                tails = {p.name: p.read_text(errors="replace")[-1500:] for p in logs}
                results[label] = {"error": f"{type(error).__name__}: {error}"[:500], "logs": tails}
                progress(f"{label}: failed: {str(error)[:500]}")
            progress(f"{label}: {json.dumps(results[label])[:2000]}")
    return {
        "channels": channels,
        "skus": skus,
        "listings_per_channel": PER_CHANNEL,
        "steady_s": steady_s,
        "rate_per_s": rate,
        "light_s": light[0],
        "light_rate_per_s": light[1],
        "zipf_s": ZIPF_S,
        "worker_concurrency": WORKER_CONCURRENCY,
        "cores": os.cpu_count(),
        "configs": results,
    }


def run(quick: bool) -> dict[str, Any]:
    """The measure as `python -m bench` runs it: in a child process of its own."""
    args = ["--json"] + (["--quick"] if quick else [])
    return run_child("bench.queue_scale", *args)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.queue_scale", description=__doc__)
    parser.add_argument("--channels", type=int, default=CHANNELS)
    parser.add_argument("--skus", type=int, default=SKUS)
    parser.add_argument("--steady", type=float, default=STEADY_S, help="seconds of changes")
    parser.add_argument("--rate", type=float, default=RATE, help="changes per second")
    parser.add_argument("--configs", default=",".join(CONFIGS), help="of single,w1,w2,w4")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--keep", type=Path, help="keep logs and server stats in this folder")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    configs = [c for c in args.configs.split(",") if c]
    if any(c != "single" and not (c[:1] == "w" and c[1:].isdigit()) for c in configs):
        parser.error("--configs takes single and wN (N workers)")
    if args.quick:
        args.channels, args.skus = QUICK_CHANNELS, QUICK_SKUS
        args.steady, args.rate = QUICK_STEADY_S, QUICK_RATE
        configs = list(QUICK_CONFIGS)
    light = (QUICK_LIGHT_S, QUICK_LIGHT_RATE) if args.quick else (LIGHT_S, LIGHT_RATE)
    result = measure(
        args.channels,
        args.skus,
        args.steady,
        args.rate,
        configs,
        lambda line: print(line, file=sys.stderr, flush=True),
        args.keep,
        light,
    )
    if args.json:
        print(json.dumps(result))
        return result
    if not args.no_write:
        from bench.report import DOC, write_results

        write_results({"b7_workers": result})
        print(f"written: {DOC}")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
