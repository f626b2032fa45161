"""Shared fixtures: scripted upstreams and ccrelay itself as a real server process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.fakes.upstream import FakeUpstream

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RelayProcess:
    """ccrelay started with ``python main.py`` on a free port, its config in ``tmp_path``,
    started from ``cwd`` (default: ``tmp_path`` too). A subclass serves it another way by
    overriding ``command`` (and ``environment``, ``name``, ``output_name``, ``start_timeout``)."""

    name = "ccrelay"
    output_name = "relay.out"
    start_timeout = 20.0

    def __init__(
        self,
        tmp: Path,
        config: dict[str, Any],
        extra_args: list[str],
        env: dict[str, str],
        cwd: Path | None = None,
    ) -> None:
        self.dir = tmp
        self.config_path = tmp / "config.yaml"
        self.log_dir = tmp / "logs"
        config.setdefault("logging", {"level": "INFO", "dir": str(self.log_dir)})
        self.write_config(config)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.output = tmp / self.output_name
        self._out = open(self.output, "wb")
        self.proc = subprocess.Popen(
            self.command(extra_args), cwd=cwd or tmp, stdout=self._out,
            stderr=subprocess.STDOUT, env=self.environment(env),
        )  # fmt: skip
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited {self.proc.returncode}: {self.log()}")
            try:
                requests.get(self.url + "/health", timeout=2)
                return
            except (requests.ConnectionError, requests.Timeout):  # listening, not answering yet
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not start: " + self.log())

    def command(self, extra_args: list[str]) -> list[str]:
        return [sys.executable, str(ROOT / "main.py"), "--config", str(self.config_path),
                "--port", str(self.port), *extra_args]  # fmt: skip

    def environment(self, env: dict[str, str]) -> dict[str, str]:
        return env

    def write_config(self, config: dict[str, Any]) -> None:
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(yaml.safe_dump(config, sort_keys=False))
        os.replace(tmp, self.config_path)  # the way editors save: write, then rename

    def log(self) -> str:
        if not self._out.closed:
            self._out.flush()
        return self.output.read_text(errors="replace")

    def token_lines(self, expect: int = 1, timeout: float = 10.0) -> list[str]:
        """The token log's lines, waiting up to ``timeout`` for at least ``expect`` of them
        (a stream's line is written just after its last byte reaches the client)."""
        deadline = time.monotonic() + timeout
        while True:
            lines: list[str] = []
            for f in sorted(self.log_dir.glob("proxy_*.log")):
                lines += f.read_text().splitlines()
            if len(lines) >= expect or time.monotonic() > deadline:
                return lines
            time.sleep(0.02)

    def health(self) -> dict[str, Any]:
        return requests.get(self.url + "/health", timeout=5).json()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment for a relay process: no real keys or proxies leak in from the host."""
    env = {k: v for k, v in os.environ.items()
           if not k.endswith(("_API_KEY", "_TOKEN")) and "proxy" not in k.lower()}  # fmt: skip
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream()
    yield fake
    fake.close()


@pytest.fixture
def upstream2() -> Iterator[FakeUpstream]:
    fake = FakeUpstream()
    yield fake
    fake.close()


@pytest.fixture
def start_relay(tmp_path: Path, clean_env: dict[str, str]) -> Iterator[Any]:
    started: list[RelayProcess] = []

    def start(
        config: dict[str, Any],
        *args: str,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> RelayProcess:
        relay = RelayProcess(tmp_path, config, list(args), {**clean_env, **(env or {})}, cwd)
        started.append(relay)
        return relay

    yield start
    for relay in started:
        relay.stop()


def one_provider(kind: str, url: str, **extra: Any) -> dict[str, Any]:
    """A config with one provider ``up`` of strategy ``kind`` at ``url``."""
    base = url + ("/v1" if kind == "openai" else "")
    return {
        "provider": {"name": "up"},
        "providers": {
            "up": {"type": kind, "base_url": base, "api_key": "sk-test-upstream", **extra}
        },
    }
