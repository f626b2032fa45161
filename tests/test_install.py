"""The wheel: built from a copy of the tree, installed into a fresh venv, run from elsewhere.

Offline, like every test: the wheel is built without build isolation (the test extra brings
setuptools) and installed without its dependencies, which the fresh venv then finds in the
test venv through a ``.pth`` line (one that adds no editable ccrelay: ``.pth`` files there
are not processed). That the dependencies are declared is checked apart: every module the
shipped code imports must come from a declared requirement.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from collections.abc import Iterator
from email.parser import Parser
from importlib import metadata
from pathlib import Path

import anthropic
import pytest
import requests
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT, free_port
from tests.fakes.upstream import FakeUpstream, Reply
from tests.helpers import MSGS, wait_for

pytestmark = pytest.mark.wheel

OPENAI_ANSWER = {
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "up-model",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "from the wheel"},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
}  # fmt: skip
_NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "logs", "tests", "bench",
    ".*_cache",
)  # fmt: skip


class Installed:
    def __init__(self, wheel: Path, venv_dir: Path) -> None:
        self.wheel = wheel
        self.venv = venv_dir
        self.bin = venv_dir / "bin"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    tmp = tmp_path_factory.mktemp("wheel")
    # A copy, so the build leaves nothing in the work tree (and sees only tracked-like files).
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=_NOT_SOURCE)
    dist = tmp / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    run([*pip, "wheel", "--no-deps", "--no-index", "--no-build-isolation", "-w", str(dist),
         str(src)])  # fmt: skip
    (wheel,) = dist.glob("ccrelay-*.whl")
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=False)  # pip runs from outside (--python): faster
    python = env_dir / "bin" / "python"
    run([*pip, "--python", str(python), "install", "--no-index", "--no-deps", str(wheel)])
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(purelib, "test-venv-dependencies.pth").write_text("\n".join(sorted(deps)) + "\n")
    return Installed(wheel, env_dir)


def run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{cmd}: {proc.stdout}{proc.stderr}"


def test_the_wheel_adds_only_the_ccrelay_package(installed):
    names = zipfile.ZipFile(installed.wheel).namelist()
    dist_info = next(n.split("/")[0] for n in names if ".dist-info/" in n)
    assert {n.split("/")[0] for n in names} == {"ccrelay", dist_info}
    assert "ccrelay/main.py" in names and "ccrelay/config/example.yaml" in names
    assert "ccrelay/core/statuspage.html" in names  # the status page (package data)
    # Every provider folder ships, without a list naming them.
    for folder in (ROOT / "providers").iterdir():
        if (folder / "__init__.py").is_file():
            assert f"ccrelay/providers/{folder.name}/__init__.py" in names
    assert not [n for n in names if n.endswith("setup.py") or "config/config.yaml" in n]
    entry_points = zipfile.ZipFile(installed.wheel).read(f"{dist_info}/entry_points.txt")
    assert b"ccrelay = ccrelay.core.cli:main" in entry_points


def test_every_module_the_shipped_code_imports_is_a_declared_dependency(installed):
    wheel = zipfile.ZipFile(installed.wheel)
    meta = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    declared = [
        Requirement(r)
        for r in Parser().parsestr(wheel.read(meta).decode()).get_all("Requires-Dist")
    ]
    allowed = _closure({canonicalize_name(r.name) for r in declared if not _extra(r)})
    providers_of = metadata.packages_distributions()
    undeclared: dict[str, str] = {}
    for name in wheel.namelist():
        if not name.endswith(".py"):
            continue
        for module in _imports(wheel.read(name).decode()):
            if module in sys.stdlib_module_names or module in ("ccrelay", "__future__"):
                continue
            dists = {canonicalize_name(d) for d in providers_of.get(module, [module])}
            if not dists & allowed:
                undeclared[module] = name
    assert undeclared == {}, "imported but not declared in pyproject.toml's dependencies"


def _extra(req: Requirement) -> bool:
    return req.marker is not None and "extra" in str(req.marker)


def _closure(names: set[str]) -> set[str]:
    """The distributions ``names`` need, transitively (extras left out)."""
    todo, seen = list(names), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        todo += [
            canonicalize_name(Requirement(r).name) for r in requires if not _extra(Requirement(r))
        ]
    return seen


def _imports(source: str) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return out


class Served:
    """An installed ccrelay command started from ``cwd``."""

    def __init__(self, cmd: list[str], cwd: Path, port: int) -> None:
        env = {k: v for k, v in os.environ.items()
               if not k.endswith(("_API_KEY", "_TOKEN")) and "proxy" not in k.lower()
               and k not in ("PYTHONPATH", "CCRELAY_CONFIG", "VIRTUAL_ENV")}  # fmt: skip
        self.out = cwd / "ccrelay.out"
        self.url = f"http://127.0.0.1:{port}"
        with open(self.out, "wb") as out:
            self.proc = subprocess.Popen(
                cmd, cwd=cwd, env={**env, "PYTHONUNBUFFERED": "1"}, stdout=out,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_for(self._up, timeout=60, what="the installed ccrelay answers /health")

    def _up(self) -> bool:
        assert self.proc.poll() is None, self.log()
        try:
            return requests.get(self.url + "/health", timeout=2).ok
        except requests.ConnectionError:
            return False

    def log(self) -> str:
        return self.out.read_text(errors="replace")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(20)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[object]:
    started: list[Served] = []
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def start(*cmd: str) -> Served:
        served = Served(list(cmd), elsewhere, int(cmd[cmd.index("--port") + 1]))
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


def test_the_console_script_serves_a_request_from_an_unrelated_folder(installed, serve, tmp_path):
    upstream = FakeUpstream()
    try:
        upstream.reply(Reply(json=OPENAI_ANSWER))
        config = tmp_path / "conf" / "ccrelay.yaml"
        config.parent.mkdir()
        config.write_text(yaml.safe_dump({
            "provider": {"name": "up"},
            "providers": {"up": {"type": "openai", "base_url": upstream.url + "/v1",
                                 "api_key": "sk-test", "model": "up-model"}},
            "logging": {"dir": str(tmp_path / "logs")},
        }))  # fmt: skip
        served = serve(str(installed.bin / "ccrelay"), "--config", str(config),
                       "--port", str(free_port()))  # fmt: skip
        sdk = anthropic.Anthropic(base_url=served.url, api_key="k", max_retries=0)
        msg = sdk.messages.create(model="claude-x", max_tokens=5, messages=MSGS)
        assert msg.content[0].text == "from the wheel"
        assert upstream.requests[0].path == "/v1/chat/completions"
        assert upstream.requests[0].headers["authorization"] == "Bearer sk-test"
        plugins = {p["name"]: p["source"] for p in requests.get(served.url + "/health").json()[
            "plugins"]}  # fmt: skip
        site = str(installed.venv)
        assert plugins["providers.openai"].startswith(f"folder:{site}")
        assert plugins["providers.anthropic"].startswith(f"folder:{site}")
        page = requests.get(served.url + "/", headers={"accept": "text/html"}, timeout=10)
        assert page.status_code == 200 and "<title>ccrelay status</title>" in page.text
    finally:
        upstream.close()


def test_with_no_config_it_serves_the_shipped_example_and_says_what_to_set(installed, serve):
    served = serve(str(installed.bin / "python"), "-m", "ccrelay.main", "--port", str(free_port()))
    health = requests.get(served.url + "/health", timeout=10).json()
    assert health["config"]["path"].endswith(os.path.join("ccrelay", "config", "example.yaml"))
    assert health["config"]["path"].startswith(str(installed.venv))
    log = served.log()
    assert "no config given: serving the shipped example" in log
    assert "ccrelay cannot answer any request yet" in log
    # The .env to create is where ccrelay was started, not inside site-packages.
    cwd_env = served.out.parent / ".env"
    assert f"add the line DEEPSEEK_API_KEY=<your key> to {cwd_env}" in log
    assert "or copy " in log and "start ccrelay with --config COPY" in log  # not edit in place
