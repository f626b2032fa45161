"""Requests per second on every core: ``main.py``, gunicorn with one worker, and gunicorn with
one worker per core, side by side (``bench/run.py --only workers``; part of the full run).

The layout differs from the rest of ``run.py`` on purpose: the servers measured here are
**not** pinned (one worker per core needs every core), while wrk and the scripted upstream
stay pinned to the load core as before. On a 2-core machine one of the relay's cores is
therefore shared with wrk and the upstream, so the "one per core" figure is a floor, not
what two free cores give. Each layout answers the same 5 KB Anthropic request
(non-streaming) at c=16 and c=64; the figure is the median of ``--runs`` wrk runs, with the
CPU all the server's processes used (master and workers) over the wall time.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from pathlib import Path
from types import ModuleType


def _tree_cpu_seconds(bench: ModuleType, pid: int) -> float:
    """CPU seconds of ``pid`` and its children (gunicorn's workers)."""
    total = bench.cpu_seconds(pid)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat[1]) == pid:  # the parent pid
            try:
                total += bench.cpu_seconds(int(entry))
            except OSError:
                pass
    return total


class Server:
    """One layout: ``workers`` None is ``python main.py``, else gunicorn with that many."""

    def __init__(self, bench: ModuleType, workdir: Path, upstream_port: int, workers: int | None):
        self.port = bench.free_port()
        name = "main" if workers is None else f"gunicorn-w{workers}"
        self.dir = workdir / name
        (self.dir / "logs").mkdir(parents=True, exist_ok=True)
        config = self.dir / "config.yaml"
        config.write_text(
            f"server: {{host: {bench.HOST}, port: {self.port}}}\n"
            "provider: {name: up}\n"
            "providers:\n"
            f"  up: {{type: openai, base_url: 'http://{bench.HOST}:{upstream_port}/v1', "
            "api_key: dummy, model: bench-model}\n"
            f"logging: {{level: WARNING, dir: '{self.dir / 'logs'}'}}\n"
        )
        if workers is None:
            cmd = [sys.executable, "main.py", "--config", str(config), "--port", str(self.port)]
            self.label = "main.py (one process)"
        else:
            cmd = [
                sys.executable, "-m", "gunicorn", "-k", "gevent", "-w", str(workers),
                "-b", f"{bench.HOST}:{self.port}", "--worker-connections", "2000",
                f"ccrelay.core.wsgi:create({str(config)!r})",
            ]  # fmt: skip
            self.label = f"gunicorn -k gevent -w {workers}"
        cores = ",".join(str(c) for c in range(os.cpu_count() or 1))
        env = {**os.environ, "HOME": str(self.dir)}  # gunicorn's control socket goes there
        self.proc = bench.spawn(cmd, core=cores, log=self.dir / "stdout.log", env=env)
        self.pid = self.proc.pid  # taskset execs: the server's (master's) own pid

    def wait_ready(self, bench: ModuleType, body: bytes, workers: int) -> None:
        """Until every worker has answered a valid message (fresh connections each)."""
        deadline = time.monotonic() + 60
        pids: set[int] = set()
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.label} exited; see {self.dir / 'stdout.log'}")
            try:
                status, payload = bench.post_json(
                    bench.HOST, self.port, "/v1/messages", body, bench.ANTHROPIC_HEADERS, timeout=5
                )
                if status == 200 and bench.valid_anthropic_message(payload):
                    url = f"http://{bench.HOST}:{self.port}/health"  # a new connection each
                    with urllib.request.urlopen(url, timeout=5) as resp:
                        pids.add(int(json.loads(resp.read())["pid"]))
                    if len(pids) >= workers:
                        return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"{self.label}: {len(pids)} of {workers} workers answered in 60 s")


def measure(bench: ModuleType, args, workdir: Path, upstream_port: int, body: bytes) -> dict:
    """Requests per second for each layout; ``bench`` is ``run.py``'s module (its helpers)."""
    body_file = workdir / "workers_small.json"
    body_file.write_bytes(body)
    cores = os.cpu_count() or 1
    results: dict = {}
    for workers in (None, 1, cores):
        server = Server(bench, workdir, upstream_port, workers)
        try:
            server.wait_ready(bench, body, workers or 1)
            for conns in (16, 64):
                bench.wrk(server.port, "/v1/messages", body_file, conns, args.warmup)
                runs, cpu = [], []
                for _ in range(args.runs):
                    c0, t0 = _tree_cpu_seconds(bench, server.pid), time.monotonic()
                    runs.append(bench.wrk(server.port, "/v1/messages", body_file, conns,
                                          args.duration))  # fmt: skip
                    cpu.append(
                        (_tree_cpu_seconds(bench, server.pid) - c0) / (time.monotonic() - t0)
                    )
                row = {
                    "layout": server.label,
                    "conns": conns,
                    "rps": bench.median(r["rps"] for r in runs),
                    "p50_ms": bench.median(r["p50_us"] / 1000 for r in runs),
                    "p99_ms": bench.median(r["p99_us"] / 1000 for r in runs),
                    "errors": sum(r["errors"] for r in runs),
                    "server_cpu": bench.median(cpu),
                }
                results[f"{server.label} c={conns}"] = row
                bench.log(
                    f"  {server.label:26s} c={conns:<3d} {row['rps']:8.0f} req/s "
                    f"p50 {row['p50_ms']:7.2f} p99 {row['p99_ms']:7.2f} ms | server cpu "
                    f"{row['server_cpu']:.0%} | errors {row['errors']}"
                )
        finally:
            bench.stop(server.proc, grace=25.0)
    return results


def markdown(results: dict) -> list[str]:
    out = [
        "",
        "| on every core (not pinned; wrk and upstream on the load core) | req/s | p50 / p99 ms "
        "| server CPU | errors |",
        "|---|---|---|---|---|",
    ]
    for name, row in results.items():
        out.append(
            f"| {name} | {row['rps']:,.0f} | {row['p50_ms']:.2f} / {row['p99_ms']:.2f} | "
            f"{row['server_cpu']:.0%} | {row['errors']} |"
        )
    return out
