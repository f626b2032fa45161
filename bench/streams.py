"""Many concurrent streams from one gevent process; prints one JSON summary line.

Used by ``run.py`` for the 500 ten-second streams (relay and direct). Connections are opened
``--ramp-ms`` apart so the listen backlog never drops a SYN (a dropped SYN costs a 1 s retry and
would be measured as relay time); each stream is timed from its own connect.

    python bench/streams.py --port P --path /v1/messages --body FILE --anthropic \
        --count 500 --chunks 100
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
from gevent.pool import Pool  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clientlib import http_request, stream_once  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", required=True)
    p.add_argument("--body", required=True)
    p.add_argument("--anthropic", action="store_true")
    p.add_argument("--count", type=int, default=500)
    p.add_argument("--chunks", type=int, required=True)
    p.add_argument("--ramp-ms", type=float, default=2.0)
    p.add_argument("--timeout", type=float, default=60.0)
    args = p.parse_args()

    headers = {"Content-Type": "application/json"}
    if args.anthropic:
        headers |= {"x-api-key": "dummy", "anthropic-version": "2023-06-01"}
    else:
        headers["Authorization"] = "Bearer dummy"
    raw = http_request(args.path, Path(args.body).read_bytes(), headers, args.host, args.port)

    def one(_i: int) -> dict:
        return stream_once(
            args.host,
            args.port,
            raw,
            anthropic=args.anthropic,
            expect_chunks=args.chunks,
            timeout=args.timeout,
        )

    pool = Pool(args.count)
    t0 = time.perf_counter()
    greenlets = []
    for i in range(args.count):
        greenlets.append(pool.spawn(one, i))
        gevent.sleep(args.ramp_ms / 1000.0)
    gevent.joinall(greenlets, timeout=args.timeout + args.count * args.ramp_ms / 1000 + 10)
    wall = time.perf_counter() - t0
    results = [g.value for g in greenlets if g.ready() and g.value is not None]
    ok = [r for r in results if r["ok"]]
    errors: dict[str, int] = {}
    for r in results:
        if not r["ok"]:
            errors[r.get("error", "?")] = errors.get(r.get("error", "?"), 0) + 1
    durations = sorted(r["total_s"] for r in ok)
    summary = {
        "count": args.count,
        "completed": len(ok),
        "unfinished": args.count - len(results),
        "errors": errors,
        "median_s": statistics.median(durations) if durations else None,
        "p99_s": durations[int(0.99 * (len(durations) - 1))] if durations else None,
        "max_s": durations[-1] if durations else None,
        "median_connect_ms": (statistics.median(r["connect_s"] for r in ok) * 1000 if ok else None),
        "wall_s": wall,
    }
    print("STREAMSJSON " + json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
