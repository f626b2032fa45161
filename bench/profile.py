"""Profile the relay's hot path under load with py-spy; prints the top functions.

    .venv/bin/python bench/profile.py [--seconds 15] [--py-spy PATH]

Starts the scripted upstream and ONE ccrelay process (core 0) as ``run.py`` does, then for each
scenario runs wrk at c=16 on core 1 while ``py-spy record`` samples the relay (raw collapsed
stacks, 1000 Hz, only the thread holding the GIL, so gevent's idle thread-pool workers
waiting on a lock are not counted). Scenarios: non-streaming 5 KB, non-streaming 80 KB Claude
Code body, streaming 200-chunk burst (5 KB request). Prints, per scenario, the top functions by
self time and by inclusive time, and by file; writes the raw stacks (``*.txt``, loadable in
speedscope) to ``bench/results/profile-<scenario>.txt``.

py-spy is not a project dependency: ``pip install --target /tmp/pyspy py-spy`` and pass
``--py-spy /tmp/pyspy/bin/py-spy`` (or have ``py-spy`` on PATH). Needs ptrace (root here).
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import bodies  # noqa: E402
import run  # noqa: E402
from clientlib import post_json  # noqa: E402

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")


def _short(path: str) -> str:
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def analyse(raw: Path, top: int) -> str:
    self_t: collections.Counter = collections.Counter()
    incl: collections.Counter = collections.Counter()
    by_file: collections.Counter = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = []
        for f in stack.split(";"):
            m = _FRAME.match(f)
            frames.append((m["func"], _short(m["file"])) if m else (f, "?"))
        if not frames:
            continue
        leaf = frames[-1]
        self_t[leaf] += n
        by_file[leaf[1]] += n
        for fr in set(frames):
            incl[fr] += n
    if not total:
        return "no samples\n"
    out = [f"{total} samples (non-idle)", "", "self time:"]
    for (func, file), n in self_t.most_common(top):
        out.append(f"  {n / total:6.1%}  {func}  ({file})")
    out += ["", "inclusive time:"]
    for (func, file), n in incl.most_common(top + 10):
        out.append(f"  {n / total:6.1%}  {func}  ({file})")
    out += ["", "self time by file:"]
    for file, n in by_file.most_common(top):
        out.append(f"  {n / total:6.1%}  {file}")
    return "\n".join(out) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description="profile ccrelay under load with py-spy")
    p.add_argument("--seconds", type=int, default=15)
    p.add_argument("--conns", type=int, default=16)
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--py-spy", default=shutil.which("py-spy") or "/tmp/pyspy/bin/py-spy")
    p.add_argument("--relay-dir", type=Path, default=run.ROOT)
    args = p.parse_args()
    run.Relay.main_dir = args.relay_dir.resolve()
    if not Path(args.py_spy).exists():
        sys.exit("py-spy not found; pip install --target /tmp/pyspy py-spy")
    run.os.sched_setaffinity(0, {run.LOAD_CORE})
    run.signal.signal(run.signal.SIGTERM, run._on_sigterm)
    run.signal.signal(run.signal.SIGINT, run.signal.default_int_handler)
    out_dir = BENCH / "results"
    out_dir.mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="ccrelay-profile-"))
    small = bodies.encode(bodies.small_request())
    scenarios = {
        "nonstream-5k": small,
        "nonstream-80k": bodies.encode(bodies.claude_code_request(stream=False)),
        "stream-burst-200": bodies.encode(
            bodies.small_request(stream=True, marker="[[bench:200:0]]")
        ),
    }
    try:
        upstream = run.Upstream(workdir)
        relay = run.Relay(workdir, upstream.port)
        relay.first_valid_answer(small)
        for name, body in scenarios.items():
            body_file = workdir / f"{name}.json"
            body_file.write_bytes(body)
            post_json(run.HOST, relay.port, "/v1/messages", body, run.ANTHROPIC_HEADERS, 30)
            run.wrk(relay.port, "/v1/messages", body_file, args.conns, 2)  # warm-up
            raw = out_dir / f"profile-{name}.txt"
            spy = run.spawn(
                [
                    args.py_spy,
                    "record",
                    "--pid",
                    str(relay.pid),
                    "--rate",
                    "1000",
                    "--gil",
                    "--format",
                    "raw",
                    "--output",
                    str(raw),
                    "--duration",
                    str(args.seconds + 1),
                ],
                core=run.LOAD_CORE,
                log=workdir / "py-spy.log",
            )
            time.sleep(0.5)
            r = run.wrk(relay.port, "/v1/messages", body_file, args.conns, args.seconds)
            try:
                spy.wait(args.seconds + 30)
            except subprocess.TimeoutExpired:
                pass
            run.stop(spy)
            print(
                f"\n=== {name}: c={args.conns}, {r['rps']:.0f} req/s under py-spy, "
                f"p50 {r['p50_us'] / 1000:.2f} ms, errors {r['errors']} ===",
                flush=True,
            )
            if raw.exists():
                print(analyse(raw, args.top), flush=True)
            else:
                print((workdir / "py-spy.log").read_text(errors="replace"))
    finally:
        run.stop_all()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        run.stop_all()
        sys.exit(130)
