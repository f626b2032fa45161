"""ccrelay benchmark: what the relay adds on top of the upstream, beside the issue's targets.

    .venv/bin/python bench/run.py            # full run, about 6 minutes
    .venv/bin/python bench/run.py --quick    # one short run per figure, about 1.5 minutes

Layout on a 2-core machine: ccrelay is ONE process pinned to core 0 (``taskset -c 0``); this
script, the scripted upstream (``bench/upstream.py``), wrk and the stream clients share core 1.
Every figure is measured for the relay (Anthropic request to ``/v1/messages``) and "direct"
(the OpenAI request the relay itself sent upstream, captured from the upstream, sent straight
to the upstream), as the median of several runs, and printed beside the target with PASS/FAIL.

``--only workers`` (also part of the full run) measures requests per second with ``main.py``,
gunicorn's gevent worker with one worker and with one per core, unpinned (``bench/workers.py``).

The Chat Completions path (rows starting ``chat``) sends that captured OpenAI request to the
relay's ``/v1/chat/completions`` instead: the same upstream, a Chat body of the same size and
content, converted Chat -> canonical -> Chat; its "direct" is what the relay then sent
upstream. It adds rows; the Anthropic rows and their targets mean what they meant before.

Results go to ``bench/results/<UTC time>.json`` and ``bench/results/latest.md`` (git-ignored).
Every child is started in its own process group and killed at the end, also on Ctrl-C/SIGTERM.
Needs ``wrk`` (Debian: ``apt-get install wrk``) and ``taskset``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import bodies  # noqa: E402
import workers  # noqa: E402
from clientlib import (  # noqa: E402
    http_request,
    post_json,
    stream_once,
    valid_anthropic_message,
    valid_chat_completion,
)

HOST = "127.0.0.1"
RELAY_CORE, LOAD_CORE = 0, 1
ANTHROPIC_HEADERS = {
    "Content-Type": "application/json",
    "x-api-key": "dummy",
    "anthropic-version": "2023-06-01",
}
OPENAI_HEADERS = {"Content-Type": "application/json", "Authorization": "Bearer dummy"}
CHAT = "/v1/chat/completions"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# --- child processes --------------------------------------------------------------------

_children: list[subprocess.Popen] = []


def spawn(cmd: list[str], *, core: int | str, log: Path | None = None, **kw) -> subprocess.Popen:
    """Start ``cmd`` pinned to ``core`` (or a taskset list, "0,1") in its own process group;
    remembered for cleanup.

    Output goes to ``log`` (appended), else wherever ``stdout=`` in ``kw`` says, else nowhere.
    """
    if log:
        kw["stdout"] = open(log, "ab")
    kw.setdefault("stdout", subprocess.DEVNULL)
    proc = subprocess.Popen(
        ["taskset", "-c", str(core), *cmd],
        stderr=subprocess.STDOUT,
        start_new_session=True,
        **{"cwd": ROOT, **kw},
    )
    _children.append(proc)
    return proc


def stop(proc: subprocess.Popen, grace: float = 3.0) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(grace)
    if proc in _children:
        _children.remove(proc)


def stop_all() -> None:
    for proc in list(_children):
        stop(proc)


def _on_sigterm(signum, frame):  # noqa: ARG001
    raise SystemExit(128 + signum)


# --- small helpers ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.01)
    raise RuntimeError(f"nothing listens on {port} after {timeout}s")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def log(msg: str) -> None:
    print(msg, flush=True)


# --- the pieces under test --------------------------------------------------------------


class Upstream:
    def __init__(self, workdir: Path):
        self.port = free_port()
        self.proc = spawn(
            [sys.executable, str(BENCH / "upstream.py"), "--port", str(self.port)],
            core=LOAD_CORE,
            log=workdir / "upstream.log",
        )
        wait_port(self.port, self.proc)

    def last_request(self) -> tuple[str, bytes]:
        with socket.create_connection((HOST, self.port), timeout=5) as s:
            s.sendall(b"GET /_last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            buf = b""
            while chunk := s.recv(262144):
                buf += chunk
        head, _, body = buf.partition(b"\r\n\r\n")
        path = next(
            line.split(b":", 1)[1].strip().decode()
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"x-bench-path:")
        )
        return path, body


class Relay:
    """One ccrelay process on core 0, with a config pointing at the scripted upstream."""

    main_dir = ROOT  # --relay-dir: benchmark another checkout (e.g. a worktree of an older commit)
    rules = 0  # --rules: that many `models` rules none of the benchmark's requests match

    def __init__(self, workdir: Path, upstream_port: int, name: str = "relay"):
        self.port = free_port()
        self.dir = workdir / name
        (self.dir / "logs").mkdir(parents=True, exist_ok=True)
        config = self.dir / "config.yaml"
        config.write_text(
            f"server: {{host: {HOST}, port: {self.port}}}\n"
            "provider: {name: up}\n"
            "providers:\n"
            f"  up: {{type: openai, base_url: 'http://{HOST}:{upstream_port}/v1', "
            "api_key: dummy, model: bench-model}\n"
            f"logging: {{level: WARNING, dir: '{self.dir / 'logs'}'}}\n" + _rules_yaml(self.rules)
        )
        self.t_launch = time.perf_counter()
        self.proc = spawn(
            [
                sys.executable,
                "main.py",
                "--config",
                str(config),
                "--host",
                HOST,
                "--port",
                str(self.port),
            ],
            core=RELAY_CORE,
            log=self.dir / "stdout.log",
            cwd=self.main_dir,
        )
        self.pid = self.proc.pid  # taskset execs, so this is the relay's own pid

    def first_valid_answer(self, body: bytes, timeout: float = 30.0) -> float:
        """Poll until the relay gives a valid Anthropic answer; seconds since launch."""
        deadline = self.t_launch + timeout
        last = "no answer"
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"relay exited with {self.proc.returncode}; see {self.dir / 'stdout.log'}"
                )
            try:
                status, payload = post_json(
                    HOST, self.port, "/v1/messages", body, ANTHROPIC_HEADERS, timeout=5
                )
            except OSError as exc:
                last = str(exc)
                time.sleep(0.002)
                continue
            if status == 200 and valid_anthropic_message(payload):
                return time.perf_counter() - self.t_launch
            last = f"{status} {payload[:300]!r}"
            time.sleep(0.05)
        raise RuntimeError(f"relay gave no valid answer within {timeout}s: {last}")


# --- measurements -----------------------------------------------------------------------


def _rules_yaml(n: int) -> str:
    """``n`` routing rules that the benchmark's model (claude-...) never matches, so every
    request is checked against all of them before the default route: routing's worst case."""
    if not n:
        return ""
    rules = "".join(f"  - {{match: 'gpt-{i}*', to: [up/bench-model-{i}]}}\n" for i in range(n))
    return "models:\n" + rules


def wrk(port: int, path: str, body_file: Path, conns: int, seconds: float) -> dict:
    cmd = [
        "taskset",
        "-c",
        str(LOAD_CORE),
        "wrk",
        "-t1",
        f"-c{conns}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(BENCH / "post.lua"),
        f"http://{HOST}:{port}{path}",
    ]
    env = {**os.environ, "BENCH_BODY": str(body_file)}
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        text=True,
    )
    _children.append(proc)
    try:
        out, _ = proc.communicate(timeout=seconds + 30)
    finally:
        stop(proc)
    for line in out.splitlines():
        if line.startswith("BENCHJSON "):
            r = json.loads(line[len("BENCHJSON ") :])
            r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
            r["errors"] = sum(
                r[k]
                for k in (
                    "status_errors",
                    "connect_errors",
                    "read_errors",
                    "write_errors",
                    "timeouts",
                )
            )
            return r
    raise RuntimeError(f"wrk printed no summary:\n{out}")


def nonstreaming(args, relay: Relay, upstream: Upstream, cases: dict) -> dict:
    """``cases``: name -> (relay path, relay body file, direct path, direct body file)."""
    results = {}
    for case, c in [(case, c) for case in cases for c in (1, 16, 64)]:
        relay_path, relay_file, direct_path, direct_file = cases[case]
        wrk(upstream.port, direct_path, direct_file, c, args.warmup)
        wrk(relay.port, relay_path, relay_file, c, args.warmup)
        runs = {"relay": [], "direct": []}
        cpu = {"relay": [], "upstream": []}
        for _ in range(args.runs):
            runs["direct"].append(wrk(upstream.port, direct_path, direct_file, c, args.duration))
            r0, u0, t0 = cpu_seconds(relay.pid), cpu_seconds(upstream.proc.pid), time.monotonic()
            runs["relay"].append(wrk(relay.port, relay_path, relay_file, c, args.duration))
            wall = time.monotonic() - t0
            cpu["relay"].append((cpu_seconds(relay.pid) - r0) / wall)
            cpu["upstream"].append((cpu_seconds(upstream.proc.pid) - u0) / wall)
        row = {}
        for side, rs in runs.items():
            row[side] = {
                "rps": median(r["rps"] for r in rs),
                "p50_ms": median(r["p50_us"] / 1000 for r in rs),
                "p99_ms": median(r["p99_us"] / 1000 for r in rs),
                "errors": sum(r["errors"] for r in rs),
                "runs": rs,
            }
        row["relay_cpu"] = median(cpu["relay"])
        row["upstream_cpu_during_relay"] = max(cpu["upstream"])
        row["rps_ratio"] = row["relay"]["rps"] / row["direct"]["rps"]
        row["added_p50_ms"] = row["relay"]["p50_ms"] - row["direct"]["p50_ms"]
        row["added_p99_ms"] = row["relay"]["p99_ms"] - row["direct"]["p99_ms"]
        results[f"{case} c={c}"] = row
        log(
            f"  {case:12s} c={c:<3d} relay {row['relay']['rps']:8.0f} req/s "
            f"p50 {row['relay']['p50_ms']:7.2f} p99 {row['relay']['p99_ms']:7.2f} ms | "
            f"direct {row['direct']['rps']:8.0f} req/s p50 {row['direct']['p50_ms']:6.2f} "
            f"p99 {row['direct']['p99_ms']:6.2f} ms | ratio {row['rps_ratio']:.3f} "
            f"+p50 {row['added_p50_ms']:.2f} ms | relay cpu {row['relay_cpu']:.0%} upstream cpu "
            f"{row['upstream_cpu_during_relay']:.0%} | errors {row['relay']['errors']}/"
            f"{row['direct']['errors']}"
        )
    return results


def streaming(args, relay: Relay, upstream: Upstream, reqs: dict) -> dict:
    """``reqs``: name -> (chunks, relay request, direct request, runs, relay speaks Anthropic)."""
    results = {}
    for name, (chunks, relay_raw, direct_raw, runs, anthropic) in reqs.items():
        samples = {"relay": [], "direct": []}
        for i in range(runs + 2):  # two warm-up rounds, interleaved relay/direct
            d = stream_once(HOST, upstream.port, direct_raw, anthropic=False, expect_chunks=chunks)
            r = stream_once(HOST, relay.port, relay_raw, anthropic=anthropic, expect_chunks=chunks)
            if i >= 2:
                samples["direct"].append(d)
                samples["relay"].append(r)
        row = {}
        for side, ss in samples.items():
            ok = [s for s in ss if s["ok"]]
            row[side] = {
                "ok": len(ok),
                "runs": len(ss),
                "errors": sorted({s.get("error", "") for s in ss if not s["ok"]}),
                "ttfb_ms": median(s["ttfb_s"] * 1000 for s in ok),
                "ttft_ms": median(s["ttft_s"] * 1000 for s in ok if s["ttft_s"] is not None),
                "ttlb_ms": median(s["ttlb_s"] * 1000 for s in ok),
            }
        if row["relay"]["ok"] and row["direct"]["ok"]:
            row["added_ttfb_ms"] = row["relay"]["ttfb_ms"] - row["direct"]["ttfb_ms"]
            row["added_ttlb_ms"] = row["relay"]["ttlb_ms"] - row["direct"]["ttlb_ms"]
        results[name] = row
        rr, dd = row["relay"], row["direct"]
        log(
            f"  {name:22s} relay ok {rr['ok']}/{rr['runs']} ttfb {rr['ttfb_ms'] or 0:8.2f} "
            f"ttlb {rr['ttlb_ms'] or 0:8.2f} ms | direct ok {dd['ok']}/{dd['runs']} "
            f"ttfb {dd['ttfb_ms'] or 0:7.2f} ttlb {dd['ttlb_ms'] or 0:8.2f} ms"
            + (f" | errors {rr['errors']}" if rr["errors"] else "")
            + (f" | direct errors {dd['errors']}" if dd["errors"] else "")
        )
    return results


def many_streams(
    args,
    port: int,
    path: str,
    body: bytes,
    anthropic: bool,
    workdir: Path,
    sample_pid: int | None = None,
) -> dict:
    body_file = workdir / f"streams_{'relay' if anthropic else 'direct'}.json"
    body_file.write_bytes(body)
    cmd = [
        sys.executable,
        str(BENCH / "streams.py"),
        "--port",
        str(port),
        "--path",
        path,
        "--body",
        str(body_file),
        "--count",
        str(args.streams),
        "--chunks",
        str(args.stream_chunks),
    ]
    if anthropic:
        cmd.append("--anthropic")
    samples: list[int] = []
    done = threading.Event()

    def sampler():
        while not done.is_set() and sample_pid:
            try:
                samples.append(status_kb(sample_pid, "VmRSS"))
            except OSError:
                return
            done.wait(0.05)

    proc = spawn(cmd, core=LOAD_CORE, stdout=subprocess.PIPE, text=True)
    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    try:
        out, _ = proc.communicate(timeout=args.stream_seconds + args.streams * 0.01 + 90)
    finally:
        done.set()
        thread.join()
        stop(proc)
    for line in out.splitlines():
        if line.startswith("STREAMSJSON "):
            summary = json.loads(line[len("STREAMSJSON ") :])
            if samples:
                summary["peak_rss_sampled_kb"] = max(samples)
            return summary
    raise RuntimeError(f"streams.py printed no summary:\n{out}")


# --- targets ----------------------------------------------------------------------------


def evaluate(res: dict) -> list[tuple[str, str, str, bool | None]]:
    """(figure, measured, target, passed) rows."""
    ns, st, mem, cold = res["nonstreaming"], res["streaming"], res["memory"], res["cold_start"]
    rows = []

    def add(figure, measured, target, ok):
        rows.append((figure, measured, target, ok))

    r = ns["small_5k c=16"]["relay"]["rps"]
    add("requests/s, 5 KB, c=16", f"{r:,.0f}", ">= 1,000", r >= 1000)
    a = ns["small_5k c=1"]["added_p50_ms"]
    add("added p50 latency, c=1, 5 KB", f"{a:.2f} ms", "<= 1 ms", a <= 1.0)
    a = ns["claude_code_80k c=1"]["added_p50_ms"]
    add("added p50 latency, c=1, 80 KB Claude Code body", f"{a:.2f} ms", "<= 2 ms", a <= 2.0)
    b = st["burst 200x0ms"]
    if "added_ttlb_ms" in b:
        add(
            "200-chunk burst, TTLB minus direct",
            f"{b['added_ttlb_ms']:.2f} ms",
            "<= 4 ms",
            b["added_ttlb_ms"] <= 4.0,
        )
    else:
        add("200-chunk burst, TTLB minus direct", "streams failed", "<= 4 ms", False)
    idle, peak = mem["idle_rss_mb"], mem["peak_rss_mb"]
    add(
        "idle RSS / peak RSS with 500 streams",
        f"{idle:.0f} / {peak:.0f} MB",
        "<= 60 MB / <= 120 MB",
        idle <= 60 and peak <= 120,
    )
    rs, ds = mem["relay_streams"], mem["direct_streams"]
    if rs["median_s"] and ds["median_s"]:
        pct = (rs["median_s"] / ds["median_s"] - 1) * 100
        add(
            f"{rs['count']} streams of {res['machine']['stream_seconds']:.0f} s: completed, median duration",
            f"{rs['completed']}, {rs['median_s']:.3f} s vs {ds['median_s']:.3f} s ({pct:+.2f}%)",
            f"{rs['count']}, within 2% of direct",
            rs["completed"] == rs["count"] and abs(pct) <= 2.0,
        )
    else:
        add("ten-second streams", f"{rs['completed']} completed", "all, within 2%", False)
    c = cold["median_s"]
    add("cold start to first valid answer", f"{c:.3f} s", "<= 0.5 s", c <= 0.5)
    # The Chat Completions path, held to the same targets.
    if "chat small_5k c=16" in ns:
        r = ns["chat small_5k c=16"]["relay"]["rps"]
        add("chat: requests/s, 5 KB, c=16", f"{r:,.0f}", ">= 1,000", r >= 1000)
        a = ns["chat small_5k c=1"]["added_p50_ms"]
        add("chat: added p50 latency, c=1, 5 KB", f"{a:.2f} ms", "<= 1 ms", a <= 1.0)
        a = ns["chat claude_code_80k c=1"]["added_p50_ms"]
        add("chat: added p50 latency, c=1, 80 KB body", f"{a:.2f} ms", "<= 2 ms", a <= 2.0)
    b = st.get("chat burst 200x0ms", {})
    if "added_ttlb_ms" in b:
        t = b["added_ttlb_ms"]
        add("chat: 200-chunk burst, TTLB minus direct", f"{t:.2f} ms", "<= 4 ms", t <= 4.0)
    return rows


def markdown(res: dict, rows) -> str:
    m = res["machine"]
    out = [
        f"Machine: {m['cpu']}, {m['cores']} cores, Linux {m['kernel']}, Python {m['python']}; "
        f"date {m['date']}; commit {m['commit']}; command `{m['command']}` "
        f"({m['runs']} runs x {m['duration']} s per figure, medians).",
        "",
        "| figure | ccrelay | target | result |",
        "|---|---|---|---|",
    ]
    for fig, val, target, ok in rows:
        out.append(f"| {fig} | {val} | {target} | {'PASS' if ok else 'FAIL'} |")
    out += [
        "",
        "| non-streaming | relay req/s | direct req/s | ratio | relay p50 / p99 ms | "
        "direct p50 / p99 ms | added p50 / p99 ms | relay CPU | upstream CPU |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in res["nonstreaming"].items():
        r, d = row["relay"], row["direct"]
        out.append(
            f"| {name} | {r['rps']:,.0f} | {d['rps']:,.0f} | {row['rps_ratio']:.3f} | "
            f"{r['p50_ms']:.2f} / {r['p99_ms']:.2f} | {d['p50_ms']:.2f} / {d['p99_ms']:.2f} | "
            f"{row['added_p50_ms']:+.2f} / {row['added_p99_ms']:+.2f} | "
            f"{row['relay_cpu']:.0%} | {row['upstream_cpu_during_relay']:.0%} |"
        )
    out += [
        "",
        "| streaming | relay TTFB / first text / TTLB ms | direct TTFB / first text / TTLB ms "
        "| added TTFB / TTLB ms | complete runs relay / direct |",
        "|---|---|---|---|---|",
    ]
    fmt = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
    for name, row in res["streaming"].items():
        r, d = row["relay"], row["direct"]
        out.append(
            f"| {name} | {fmt(r['ttfb_ms'])} / {fmt(r['ttft_ms'])} / {fmt(r['ttlb_ms'])} | "
            f"{fmt(d['ttfb_ms'])} / {fmt(d['ttft_ms'])} / {fmt(d['ttlb_ms'])} | "
            f"{fmt(row.get('added_ttfb_ms'))} / {fmt(row.get('added_ttlb_ms'))} | "
            f"{r['ok']}/{r['runs']} / {d['ok']}/{d['runs']} |"
        )
    mem = res["memory"]
    rs, ds = mem["relay_streams"], mem["direct_streams"]
    out += [
        "",
        f"Memory: idle RSS {mem['idle_rss_mb']:.1f} MB, peak {mem['peak_rss_mb']:.1f} MB "
        f"(VmHWM) with {rs['count']} concurrent streams of {res['machine']['stream_chunks']} "
        f"chunks over {res['machine']['stream_seconds']:.0f} s. Relay: {rs['completed']} "
        f"complete, median {fmt(rs['median_s'])} s, p99 {fmt(rs['p99_s'])} s, errors "
        f"{rs['errors'] or 'none'}; direct: {ds['completed']} complete, median "
        f"{fmt(ds['median_s'])} s, p99 {fmt(ds['p99_s'])} s.",
        f"Cold start (launch to first valid answer): median {res['cold_start']['median_s']:.3f} s "
        f"of {[round(x, 3) for x in res['cold_start']['runs']]}.",
    ]
    return "\n".join(out) + "\n"


# --- main -------------------------------------------------------------------------------


def machine_info(args) -> dict:
    cpu = "unknown"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                cpu = line.split(":", 1)[1].strip()
    except OSError:
        pass
    commit = (
        subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        or "uncommitted"
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "command": ".venv/bin/python bench/run.py" + (" --quick" if args.quick else ""),
        "runs": args.runs,
        "duration": args.duration,
        "stream_chunks": args.stream_chunks,
        "stream_seconds": args.stream_seconds,
    }


def main() -> int:
    p = argparse.ArgumentParser(description="ccrelay benchmark (see module docstring)")
    p.add_argument("--quick", action="store_true", help="one short run per figure")
    p.add_argument("--runs", type=int, help="wrk runs per figure (default 3, quick 1)")
    p.add_argument("--duration", type=int, help="seconds per wrk run (default 5, quick 2)")
    p.add_argument("--streams", type=int, default=500, help="concurrent long streams")
    p.add_argument("--stream-seconds", type=float, default=10.0)
    p.add_argument("--stream-chunks", type=int, default=100)
    p.add_argument(
        "--only",
        choices=["nonstreaming", "streaming", "memory", "cold", "workers"],
        action="append",
        help="run only these parts (repeatable)",
    )
    p.add_argument(
        "--rules", type=int, default=0, help="add N models rules that never match (routing cost)"
    )
    p.add_argument(
        "--relay-dir",
        type=Path,
        default=ROOT,
        help="directory holding the main.py to benchmark (default: this checkout)",
    )
    args = p.parse_args()
    Relay.main_dir = args.relay_dir.resolve()
    Relay.rules = args.rules
    args.runs = args.runs or (1 if args.quick else 3)
    args.duration = args.duration or (2 if args.quick else 5)
    args.warmup = 1
    burst_runs, drip_runs, cold_runs = (10, 2, 3) if args.quick else (30, 5, 5)
    parts = set(args.only or ["nonstreaming", "streaming", "memory", "cold", "workers"])

    for tool in ("wrk", "taskset"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found (Debian: apt-get install -y {tool})")
    if (os.cpu_count() or 1) < 2:
        sys.exit("needs 2 cores: the relay on core 0, everything else on core 1")
    os.sched_setaffinity(0, {LOAD_CORE})  # this script and its clients stay off the relay's core
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGHUP, _on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with it ignored

    out_dir = BENCH / "results"
    out_dir.mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="ccrelay-bench-"))
    res: dict = {"machine": machine_info(args)}
    log(f"ccrelay benchmark; work dir {workdir}")
    try:
        upstream = Upstream(workdir)
        relay = Relay(workdir, upstream.port)
        small = bodies.encode(bodies.small_request())
        relay.first_valid_answer(small)
        log(
            f"relay pid {relay.pid} on core {RELAY_CORE}, upstream pid {upstream.proc.pid} "
            f"and load on core {LOAD_CORE}"
        )

        def capture(body: bytes) -> tuple[str, bytes]:
            """The OpenAI request the relay sends upstream for ``body``."""
            status, payload = post_json(HOST, relay.port, "/v1/messages", body, ANTHROPIC_HEADERS)
            if status != 200:
                raise RuntimeError(f"relay answered {status}: {payload[:500]!r}")
            return upstream.last_request()

        def save(name: str, data: bytes) -> Path:
            path = workdir / name
            path.write_bytes(data)
            return path

        cc = bodies.encode(bodies.claude_code_request(stream=False))
        cases = {}
        for case, body in [("small_5k", small), ("claude_code_80k", cc)]:
            status, payload = post_json(HOST, relay.port, "/v1/messages", body, ANTHROPIC_HEADERS)
            if status != 200 or not valid_anthropic_message(payload):
                raise RuntimeError(f"{case}: relay answered {status}: {payload[:500]!r}")
            direct_path, direct_body = upstream.last_request()
            cases[case] = (
                "/v1/messages",
                save(f"{case}.relay.json", body),
                direct_path,
                save(f"{case}.direct.json", direct_body),
            )
            log(
                f"  {case}: {len(body):,} B Anthropic -> {len(direct_body):,} B OpenAI "
                f"({direct_path})"
            )
        # The Chat path: the OpenAI body the relay made above, sent to /v1/chat/completions
        # (skipped for an older relay, --relay-dir, that does not serve it).
        chat = post_json(HOST, relay.port, CHAT, cases["small_5k"][3].read_bytes(),
                         OPENAI_HEADERS)[0] != 404  # fmt: skip
        if not chat:
            log("  this relay does not serve /v1/chat/completions: the chat rows are skipped")
        for case in list(cases) if chat else ():
            chat_body = cases[case][3].read_bytes()
            status, payload = post_json(HOST, relay.port, CHAT, chat_body, OPENAI_HEADERS)
            if status != 200 or not valid_chat_completion(payload):
                raise RuntimeError(f"chat {case}: relay answered {status}: {payload[:500]!r}")
            direct_path, direct_body = upstream.last_request()
            cases[f"chat {case}"] = (
                CHAT,
                save(f"chat_{case}.relay.json", chat_body),
                direct_path,
                save(f"chat_{case}.direct.json", direct_body),
            )
            log(f"  chat {case}: {len(chat_body):,} B Chat -> {len(direct_body):,} B OpenAI")

        if "nonstreaming" in parts:
            log("non-streaming (wrk, one thread, core 1):")
            res["nonstreaming"] = nonstreaming(args, relay, upstream, cases)

        stream_reqs = {}
        for name, n, d, runs in [
            ("burst 200x0ms", 200, 0, burst_runs),
            ("paced 200x5ms", 200, 5, drip_runs),
        ]:
            body = bodies.encode(bodies.small_request(stream=True, marker=f"[[bench:{n}:{d}]]"))
            post_json(HOST, relay.port, "/v1/messages", body, ANTHROPIC_HEADERS, timeout=30)
            direct_path, direct_body = upstream.last_request()
            stream_reqs[name] = (
                n,
                http_request("/v1/messages", body, ANTHROPIC_HEADERS, HOST, relay.port),
                http_request(direct_path, direct_body, OPENAI_HEADERS, HOST, upstream.port),
                runs,
                True,
            )
            # The same stream asked in Chat Completions words (the body the relay made).
            if not chat:
                continue
            post_json(HOST, relay.port, CHAT, direct_body, OPENAI_HEADERS, timeout=30)
            chat_path, chat_direct = upstream.last_request()
            stream_reqs[f"chat {name}"] = (
                n,
                http_request(CHAT, direct_body, OPENAI_HEADERS, HOST, relay.port),
                http_request(chat_path, chat_direct, OPENAI_HEADERS, HOST, upstream.port),
                runs,
                False,
            )
        if "streaming" in parts:
            log("streaming, one stream at a time (TTFB = first response byte):")
            res["streaming"] = streaming(args, relay, upstream, stream_reqs)
        stop(relay.proc)

        if "memory" in parts:
            log(
                f"memory: fresh relay, then {args.streams} concurrent streams of "
                f"{args.stream_chunks} chunks over {args.stream_seconds:.0f} s:"
            )
            relay = Relay(workdir, upstream.port, name="relay-mem")
            relay.first_valid_answer(small)
            post_json(HOST, relay.port, "/v1/messages", cc, ANTHROPIC_HEADERS)
            n, delay_ms = args.stream_chunks, args.stream_seconds * 1000 / args.stream_chunks
            body = bodies.encode(
                bodies.small_request(stream=True, marker=f"[[bench:{n}:{delay_ms:.0f}]]")
            )
            stream_once(
                HOST,
                relay.port,
                http_request("/v1/messages", body, ANTHROPIC_HEADERS, HOST, relay.port),
                anthropic=True,
                expect_chunks=n,
            )
            direct_path, direct_body = upstream.last_request()
            time.sleep(1.0)
            idle = status_kb(relay.pid, "VmRSS")
            rs = many_streams(
                args, relay.port, "/v1/messages", body, True, workdir, sample_pid=relay.pid
            )
            peak = max(status_kb(relay.pid, "VmHWM"), rs.get("peak_rss_sampled_kb", 0))
            after = status_kb(relay.pid, "VmRSS")
            log(f"  relay: {rs}")
            ds = many_streams(args, upstream.port, direct_path, direct_body, False, workdir)
            log(f"  direct: {ds}")
            res["memory"] = {
                "idle_rss_mb": idle / 1024,
                "peak_rss_mb": peak / 1024,
                "rss_after_mb": after / 1024,
                "relay_streams": rs,
                "direct_streams": ds,
            }
            log(
                f"  RSS idle {idle / 1024:.1f} MB, peak {peak / 1024:.1f} MB, "
                f"after {after / 1024:.1f} MB"
            )
            stop(relay.proc)

        if "cold" in parts:
            runs = []
            for i in range(cold_runs):
                relay = Relay(workdir, upstream.port, name=f"relay-cold{i}")
                runs.append(relay.first_valid_answer(small))
                stop(relay.proc)
            res["cold_start"] = {"median_s": median(runs), "runs": runs}
            log(f"cold start: median {median(runs):.3f} s of {[round(r, 3) for r in runs]}")

        if "workers" in parts:
            log(f"on every core: main.py, gunicorn -w 1, gunicorn -w {os.cpu_count()} (unpinned):")
            res["workers"] = workers.measure(
                sys.modules[__name__], args, workdir, upstream.port, small
            )
    finally:
        stop_all()

    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    (out_dir / f"{stamp}.json").write_text(json.dumps(res, indent=1, default=str))
    if {"nonstreaming", "streaming", "memory", "cold"} <= parts:
        rows = evaluate(res)
        log("\n| figure | ccrelay | target | result |")
        for fig, val, target, ok in rows:
            log(f"| {fig} | {val} | {target} | {'PASS' if ok else 'FAIL'} |")
        md = markdown(res, rows)
        if "workers" in res:
            md += "\n".join(workers.markdown(res["workers"])) + "\n"
        (out_dir / "latest.md").write_text(md)
        log(f"\nwrote {out_dir / (stamp + '.json')} and {out_dir / 'latest.md'}")
        shutil.rmtree(workdir, ignore_errors=True)
        return 0 if all(ok for *_, ok in rows) else 1
    log(f"\nwrote {out_dir / (stamp + '.json')}; work dir kept: {workdir}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        stop_all()
        sys.exit(130)
