"""``ccrelay stats``: usage from the token logs (``core/stats.py`` reads and sums them), as a
table for people, or JSON / CSV for scripts.

The log folder is the config's ``logging.dir`` (relative to the folder ccrelay is started
from, as the server reads it) unless ``--log-dir`` names one; prices come from its
``pricing`` section. The config is read, not validated as a whole: stats of an old config's
logs are still wanted when a provider's key is unset.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import click

from ccrelay.core.cli.common import Failure, chosen, config_option, example, quiet_logging
from ccrelay.core.cli.paths import config_path
from ccrelay.core.stats import BY, COLUMNS

_HELP = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
_RELATIVE = re.compile(r"^(\d+)([dw])$")


@click.command(
    context_settings=_HELP,
    epilog=example(
        "ccrelay stats                            # everything, by day",
        "ccrelay stats --since 7d --by model      # the last 7 days (today included)",
        "ccrelay stats --since 2026-11-01 --by provider --json",
        "ccrelay stats --by client --csv > usage.csv",
    ),
)
@click.option("--since", default="", metavar="7d|2w|YYYY-MM-DD",
              help="Only requests from this day on: N days (today counts as one), N weeks, "
              "or a date.")  # fmt: skip
@click.option("--by", type=click.Choice(BY), default="day", show_default=True,
              help="Group the totals by this (client = the client's protocol, key = the "
              "access key's name).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="One JSON object: rows, total, counts.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV, one line per key (no total line).")
@click.option("--log-dir", type=click.Path(file_okay=False, path_type=Path),
              help="The token log folder (default: the config's logging.dir).")  # fmt: skip
@config_option
def stats(
    since: str, by: str, as_json: bool, as_csv: bool, log_dir: Path | None, config: str | None
) -> None:
    """Requests, errors, fallbacks, tokens, durations and cost from the token logs.

    Reads logs/proxy_*.log, gzip-rotated files (.gz) included: per key, requests (fallback
    attempts apart), errors, input / output / cache-read / cache-write tokens, median and
    p95 duration, and the cost when the config's `pricing` gives prices per million tokens
    per model. A line that does not parse is counted and skipped.
    """
    from ccrelay.core.stats import log_files, read_lines, summarize, table

    if as_json and as_csv:
        raise Failure("choose --json or --csv, not both")
    start = parse_since(since)
    given, _ = chosen(config)
    folder, pricing = _from_config(given)
    folder = log_dir or folder
    if not folder.is_dir():
        raise Failure(
            f"no log folder {folder.absolute()}: ccrelay writes its token logs to the "
            "config's logging.dir, relative to where it is started; run this there or pass "
            "--log-dir"
        )
    files = log_files(folder, start)
    report = summarize(read_lines(files), by=by, since=start, pricing=pricing)
    if as_json:
        rows = [{by: key, **row.as_dict()} for key, row in sorted(report.rows.items())]
        out = {
            "by": by,
            "since": start or None,
            "log_dir": str(folder.absolute()),
            "files": len(files),
            "lines": report.lines,
            "malformed": report.malformed,
            "priced": report.priced,
            "rows": rows,
            "total": report.total.as_dict(),
        }
        click.echo(json.dumps(out, indent=2))
    elif as_csv:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow([by, *COLUMNS])
        for key, row in sorted(report.rows.items()):
            d = row.as_dict()
            writer.writerow([key, *(d[c] for c in COLUMNS)])
        click.echo(buf.getvalue(), nl=False)
    elif not report.rows:
        click.echo(f"no requests in {folder}" + (f" since {start}" if start else ""))
    else:
        click.echo(table(report))
    if report.malformed and (as_json or as_csv):
        click.echo(f"ccrelay: {report.malformed} malformed lines skipped", err=True)


def parse_since(text: str, today: date | None = None) -> str:
    """``--since`` as the first day to count (``YYYY-MM-DD``; "" for everything)."""
    if not text:
        return ""
    today = today or date.today()
    m = _RELATIVE.match(text.strip().lower())
    if m:
        n = int(m.group(1)) * (7 if m.group(2) == "w" else 1)
        if n < 1:
            raise Failure(f"--since {text}: count at least one day")
        return (today - timedelta(days=n - 1)).isoformat()
    try:
        return date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise Failure(
            f"--since {text!r}: expected N days (7d), N weeks (2w) or a date (2026-11-01)"
        ) from None


def _from_config(given: str | None) -> tuple[Path, Mapping[str, Mapping[str, float]]]:
    """The config's ``logging.dir`` and checked ``pricing`` (defaults without a config)."""
    from ccrelay.core.config import ConfigError, parse_pricing, read_config

    quiet_logging()
    path, _ = config_path(given)
    try:
        raw = read_config(path)
        logging_section: Any = raw.data.get("logging") or {}
        folder = logging_section.get("dir", "./logs") if isinstance(logging_section, dict) else None
        if not isinstance(folder, str):
            raise ConfigError("logging.dir: expected a string")
        return Path(folder), parse_pricing(raw.data.get("pricing"))
    except ConfigError as exc:
        raise Failure(f"bad config: {exc}") from None
