"""Usage statistics from the token logs: what ``ccrelay stats`` prints.

Reads ``proxy_YYYY-MM-DD.log`` files (and their rotations: ``.gz``, ``.1``, ``.1.gz``) in the
log folder, keeps the lines since a date, and sums per day, provider, model, client model,
client (its protocol), access key or group:
requests, errors, fallbacks, input / output / cache tokens, median and p95 duration (of
requests: a fallback attempt's time is part of its request's line), and cost when
``pricing`` gives per-million-token prices per model::

    pricing:
      deepseek-chat: {input: 0.27, output: 1.10, cache_read: 0.07}
      "gpt-5*": {input: 1.25, output: 10.0}          # globs, first match wins

Cache writes are not a field of their own in the log: they are ``total_tokens`` minus the
input, output and cache-read counts, priced at ``cache_write`` (else ``input``).

A line that does not parse is counted as malformed and skipped. One compiled regex reads each
line (the fields' order is fixed, newer fields are optional) and costs are computed once per
key and model, not per line, so a month of logs, a million lines, takes a few seconds.
"""

from __future__ import annotations

import fnmatch
import gzip
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: what ``--by`` can group on; ``client`` is the client's protocol (``anthropic``,
#: ``openai_chat`` ...), ``key`` the access key's name
BY = ("day", "provider", "model", "client_model", "client", "key", "group")

_LINE = re.compile(
    r"^(?P<day>\d{4}-\d\d-\d\d) [\d:]+ \| \w+ \| REQUEST \| request_id=[^ |]* \| "
    r"provider=(?P<provider>[^ |]*) \| model=(?P<model>[^ |]*) \| client_model=(?P<client_model>[^|]*) \| "
    r"stream=\w+ \| input_tokens=(?P<input>\d+) \| output_tokens=(?P<output>\d+) \| "
    r"cache_read_tokens=(?P<cache>\d+) \| total_tokens=(?P<total>\d+) \| duration_ms=(?P<ms>\d+) \| "
    r"status=(?P<status>\w+)"
    # later fields are optional (older lines lack them); their values have no spaces
    r"(?: \| dialect=(?P<client>[^ |]*))?(?: \| route=[^ |]*)?(?: \| group=(?P<group>[^ |]*))?"
    r"(?: \| access_key=(?P<key>[^ |\n]*))?"
)
# positions in _LINE.groups(): day, provider, model, client_model, input, output, cache,
# total, ms, status, client, group, key
_GROUP_INDEX = {"day": 0, "provider": 1, "model": 2, "client_model": 3, "client": 10,
                "group": 11, "key": 12}  # fmt: skip
#: a day's file, and what rotation makes of it (logrotate: ``.1``, ``.1.gz``; gzip: ``.gz``)
_FILE = re.compile(r"^proxy_(\d{4}-\d\d-\d\d)\.log(?:\.\d+)?(\.gz)?$")


@dataclass
class Row:
    """Totals for one key (a day, a provider, ...)."""

    requests: int = 0
    errors: int = 0
    fallbacks: int = 0
    cancelled: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost: float = 0.0
    durations: list[int] = field(default_factory=list)
    #: (input, output, cache read, cache write) tokens per model, priced at the end
    by_model: dict[str, list[int]] = field(default_factory=dict, repr=False)

    def as_dict(self) -> dict[str, Any]:
        d = sorted(self.durations)
        return {
            "requests": self.requests,
            "errors": self.errors,
            "fallbacks": self.fallbacks,
            "cancelled": self.cancelled,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "median_ms": _percentile(d, 0.5),
            "p95_ms": _percentile(d, 0.95),
            "cost": round(self.cost, 6),
        }


#: the columns of a row, in the order JSON, CSV and the table give them
COLUMNS = ("requests", "errors", "fallbacks", "cancelled", "input_tokens", "output_tokens",
           "cache_read_tokens", "cache_write_tokens", "median_ms", "p95_ms", "cost")  # fmt: skip


@dataclass
class Report:
    by: str
    rows: dict[str, Row]
    total: Row
    lines: int = 0
    malformed: int = 0
    priced: bool = False


def log_files(directory: Path, since: str) -> list[Path]:
    """The token logs in ``directory`` from ``since`` (``YYYY-MM-DD``) on, oldest first."""
    found = []
    for path in Path(directory).iterdir():
        m = _FILE.match(path.name)
        if m and m.group(1) >= since:
            found.append((m.group(1), path))
    return [p for _, p in sorted(found)]


def read_lines(paths: Iterable[Path]) -> Iterator[str]:
    for path in paths:
        opener: Any = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8", errors="replace") as f:
            yield from f


def summarize(
    lines: Iterable[str],
    by: str = "day",
    since: str = "",
    pricing: Mapping[str, Mapping[str, float]] | None = None,
) -> Report:
    """Totals per ``by`` key over the lines on or after ``since``."""
    if by not in BY:
        raise ValueError(f"--by must be one of {', '.join(BY)}")
    price_of = _Pricing(pricing or {})
    rows: dict[str, Row] = {}
    report = Report(by, rows, Row(), priced=bool(pricing))
    match = _LINE.match
    index = _GROUP_INDEX[by]
    n = malformed = 0
    for line in lines:
        n += 1
        m = match(line)
        if m is None:
            if line.strip():
                malformed += 1
            continue
        g = m.groups()
        if g[0] < since:
            continue
        key = g[index] or "-"
        row = rows.get(key)
        if row is None:
            row = rows[key] = Row()
        status = g[9]
        if status == "fallback":
            # An attempt that failed over: its time is part of the request's own line.
            row.fallbacks += 1
        else:
            row.requests += 1
            row.durations.append(int(g[8]))
            if status == "error":
                row.errors += 1
            elif status == "cancelled":
                row.cancelled += 1
        inp, out, cache = int(g[4]), int(g[5]), int(g[6])
        write = int(g[7]) - inp - out - cache
        if write < 0:  # a total that does not add up: count what the line says
            write = 0
        row.input_tokens += inp
        row.output_tokens += out
        row.cache_read_tokens += cache
        row.cache_write_tokens += write
        if pricing:
            tokens = row.by_model.get(g[2])
            if tokens is None:
                tokens = row.by_model[g[2]] = [0, 0, 0, 0]
            tokens[0] += inp
            tokens[1] += out
            tokens[2] += cache
            tokens[3] += write
    report.lines, report.malformed = n, malformed
    total = report.total
    for row in rows.values():
        row.cost = sum(price_of(model, *tokens) for model, tokens in row.by_model.items())
        for name in ("requests", "errors", "fallbacks", "cancelled", "input_tokens",
                     "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost"):  # fmt: skip
            setattr(total, name, getattr(total, name) + getattr(row, name))
        total.durations += row.durations
    return report


class _Pricing:
    """Per-million-token prices by model (exact names first, then globs in order)."""

    def __init__(self, table: Mapping[str, Mapping[str, float]]) -> None:
        self.exact = {k: v for k, v in table.items() if not any(c in k for c in "*?[")}
        self.globs = [(re.compile(fnmatch.translate(k)), v) for k, v in table.items()
                      if k not in self.exact]  # fmt: skip
        self.cache: dict[str, Mapping[str, float] | None] = {}

    def __call__(self, model: str, inp: int, out: int, cache: int, write: int = 0) -> float:
        if model in self.cache:
            price = self.cache[model]
        else:
            price = self.exact.get(model)
            if price is None:
                price = next((v for rx, v in self.globs if rx.match(model)), None)
            self.cache[model] = price
        if not price:
            return 0.0
        cost: float = (
            inp * price.get("input", 0.0)
            + out * price.get("output", 0.0)
            + cache * price.get("cache_read", price.get("input", 0.0))
            + write * price.get("cache_write", price.get("input", 0.0))
        )
        return cost / 1_000_000


def _percentile(sorted_values: list[int], q: float) -> int:
    if not sorted_values:
        return 0
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def table(report: Report) -> str:
    """A plain-text table for people."""
    cols = [c for c in COLUMNS if c != "cancelled" and (c != "cost" or report.priced)]
    head = [report.by, *cols]
    rows = [(k, r.as_dict()) for k, r in sorted(report.rows.items())]  # as_dict sorts: once
    rows.append(("total", report.total.as_dict()))
    body = [[k, *(_fmt(d[c]) for c in cols)] for k, d in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=False)]
    lines = ["  ".join(str(x).rjust(w) if i else str(x).ljust(w)
                       for i, (x, w) in enumerate(zip(row, widths, strict=False)))
             for row in [head, *body]]  # fmt: skip
    if report.malformed:
        lines.append(f"({report.malformed} malformed lines skipped)")
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4f}"
    return f"{value:,}"
