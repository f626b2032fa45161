"""Headless Chromium driven over the DevTools protocol, for tests that look at a real page.

Chromium comes from the system packages (Debian: ``apt-get install -y chromium``);
``find_chromium`` installs it when it is missing and the test runs as root with apt, and
says why not otherwise, so a test can skip with that reason.

The protocol runs over a pipe (``--remote-debugging-pipe``: commands on the browser's fd 3,
answers and events on its fd 4, each message JSON ended by a NUL byte), so no port, no
websocket library and no driver binary are needed: about a hundred lines of stdlib. The
browser is started with every background service off (this network reaches nothing but
package mirrors, and a status page must not need more).
"""

from __future__ import annotations

import base64
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
    "--disable-default-apps", "--metrics-recording-only", "--mute-audio", "--hide-scrollbars",
    "--remote-debugging-pipe",
]  # fmt: skip


def find_chromium() -> tuple[str | None, str]:
    """The Chromium binary, installing Debian's package when it is missing and allowed to;
    else ``(None, reason)``."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path, ""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None, "chromium is not installed (apt-get install -y chromium, as root)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "chromium"]  # with its fonts (recommended)
    out = ""
    for step in ([install], [["apt-get", "update", "-q"], install]):
        for cmd in step:
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
            out = proc.stdout[-500:] + proc.stderr[-500:]
        path = shutil.which("chromium")
        if path:
            return path, ""
    return None, f"apt-get could not install chromium: {out}"


class Browser:
    """One headless Chromium with one page; ``send`` runs a command on that page."""

    def __init__(self, binary: str, width: int = 1280, height: int = 900) -> None:
        self.profile = tempfile.mkdtemp(prefix="ccrelay-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def fds() -> None:  # the browser reads commands on fd 3 and writes on fd 4
            os.dup2(to_browser_r, 3)
            os.dup2(from_browser_w, 4)

        self.proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={self.profile}",
             f"--window-size={width},{height}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(3, 4), preexec_fn=fds,
        )  # fmt: skip
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._next = 0
        self._answers: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        #: every event of the page, in order: {"method": ..., "params": ...}
        self.events: list[dict[str, Any]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        attached = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        self.session = attached["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")

    def _read(self) -> None:
        buf = b""
        while True:
            try:
                data = os.read(self._from_browser, 65536)
            except OSError:
                return
            if not data:
                return
            buf += data
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "id" in msg:
                    with self._lock:
                        box = self._answers.get(msg["id"])
                    if box is not None:
                        box.put(msg)
                else:
                    self.events.append(msg)

    def call(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        """Run one protocol command (on the browser, or on ``session``); its result."""
        with self._lock:
            self._next += 1
            ident = self._next
            box: queue.Queue[dict[str, Any]] = queue.Queue()
            self._answers[ident] = box
        msg: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_browser, json.dumps(msg).encode() + b"\0")
        try:
            answer = box.get(timeout=30)
        except queue.Empty:
            raise TimeoutError(f"chromium did not answer {method}") from None
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer.get("result", {})  # type: ignore[no-any-return]

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run one protocol command on the page."""
        return self.call(method, params, self.session)

    def goto(self, url: str) -> None:
        """Load ``url`` and wait for its load event."""
        seen = len(self.events)
        self.send("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired", after=seen)

    def wait_event(self, method: str, after: int = 0, timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events[after:]:
                if event.get("method") == method:
                    return event
            time.sleep(0.02)
        raise TimeoutError(f"no {method} within {timeout} s")

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression in the page (promises awaited)."""
        out = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in out:
            raise RuntimeError(f"page script failed: {out['exceptionDetails']}")
        return out["result"].get("value")

    def viewport(self, width: int, height: int, mobile: bool = False, scale: float = 1) -> None:
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": scale, "mobile": mobile},
        )

    def screenshot(self, path: Path, full_page: bool = True) -> Path:
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": full_page}
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", params)["data"]))
        return path

    def problems(self) -> list[str]:
        """Console errors, uncaught exceptions and failed loads the page has had."""
        out = []
        for event in list(self.events):
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                out.append(f"console.{params['type']}: {params.get('args')}")
            elif method == "Runtime.exceptionThrown":
                out.append(f"exception: {params.get('exceptionDetails')}")
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                out.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}")
            elif method == "Network.loadingFailed" and not params.get("canceled"):
                out.append(f"load failed: {params.get('errorText')}")
        return out

    def requested_urls(self) -> list[str]:
        return [
            e["params"]["request"]["url"]
            for e in list(self.events)
            if e.get("method") == "Network.requestWillBeSent"
        ]

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (OSError, TimeoutError, RuntimeError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)
