"""The auth file: saved tokens, one entry per provider, shared by every ccrelay process.

``~/.config/ccrelay/auth.json`` by default (``$CCRELAY_AUTH_FILE`` or ``--auth-file`` move
it)::

    {"version": 1,
     "providers": {"claude": {"access_token": "...", "refresh_token": "...",
                              "expires_at": 1760000000.0, "obtained_at": 1759971200.0,
                              "scopes": ["user:inference"], "refused": ""}}}

The file is mode 0600 in a 0700 folder and is only ever replaced whole (a temp file in the same
folder, then a rename), so a reader never sees half of it. Changes that read, refresh and write
hold an exclusive ``flock`` on ``auth.json.lock`` beside it, so several worker processes never
race a rotating refresh token. The lock is polled (non-blocking tries with a short sleep): under
gevent a blocking ``flock`` would stall every greenlet of the process.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV_VAR = "CCRELAY_AUTH_FILE"
_VERSION = 1


class AuthFileError(Exception):
    """The auth file cannot be read, written or locked; the message says which and why."""


@dataclass(frozen=True)
class TokenEntry:
    """One provider's tokens. ``repr`` never shows a token.

    :param expires_at: when the access token expires (epoch seconds), None when the server
        did not say (then it is refreshed only after the upstream rejects it).
    :param refused: why the last refresh was refused ("" when it was not): the provider stays
        unusable until the next ``ccrelay login``.
    """

    access_token: str = field(repr=False)
    refresh_token: str = field(default="", repr=False)
    expires_at: float | None = None
    obtained_at: float = 0.0
    scopes: tuple[str, ...] = ()
    refused: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at,
            "obtained_at": self.obtained_at,
            "scopes": list(self.scopes),
            "refused": self.refused,
        }

    @classmethod
    def from_json(cls, raw: Any) -> TokenEntry | None:
        if not isinstance(raw, dict) or not isinstance(raw.get("access_token"), str):
            return None
        expires = raw.get("expires_at")
        scopes = raw.get("scopes")
        return cls(
            access_token=raw["access_token"],
            refresh_token=str(raw.get("refresh_token") or ""),
            expires_at=float(expires) if isinstance(expires, (int, float)) else None,
            obtained_at=float(raw.get("obtained_at") or 0.0),
            scopes=tuple(s for s in scopes if isinstance(s, str))
            if isinstance(scopes, list)
            else (),
            refused=str(raw.get("refused") or ""),
        )


def default_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$CCRELAY_AUTH_FILE``, else ``$XDG_CONFIG_HOME/ccrelay/auth.json``, else
    ``~/.config/ccrelay/auth.json``."""
    env = os.environ if environ is None else environ
    if env.get(ENV_VAR):
        return Path(env[ENV_VAR]).expanduser()
    base = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    return base / "ccrelay" / "auth.json"


class AuthFile:
    """Reads, replaces and locks one auth file."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")

    def signature(self) -> tuple[int, int, int] | None:
        """What changes whenever the file is replaced (inode, mtime, size); None: no file."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise AuthFileError(f"cannot read {self.path}: {exc.strerror}") from None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def read(self) -> dict[str, TokenEntry]:
        """Every provider's entry (none when the file does not exist)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise AuthFileError(f"cannot read {self.path}: {exc.strerror}") from None
        try:
            raw = json.loads(text) if text.strip() else {}
        except ValueError:
            raise AuthFileError(
                f"{self.path} is not valid JSON; delete it and run `ccrelay login` again"
            ) from None
        providers = raw.get("providers") if isinstance(raw, dict) else None
        out: dict[str, TokenEntry] = {}
        if isinstance(providers, dict):
            for name, value in providers.items():
                entry = TokenEntry.from_json(value)
                if entry is not None:
                    out[str(name)] = entry
        return out

    def write(self, entries: Mapping[str, TokenEntry]) -> None:
        """Replace the file with ``entries``: mode 0600, written whole, then renamed."""
        body = {"version": _VERSION, "providers": {n: e.to_json() for n, e in entries.items()}}
        data = json.dumps(body, indent=2, sort_keys=True).encode()
        self._folder()
        try:
            # mkstemp creates the file 0600 in the same folder, so the rename is atomic
            fd, tmp = tempfile.mkstemp(prefix=".auth-", suffix=".tmp", dir=self.path.parent)
        except OSError as exc:
            raise AuthFileError(f"cannot write {self.path}: {exc.strerror}") from None
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise AuthFileError(f"cannot write {self.path}: {exc.strerror}") from None
        _fsync_dir(self.path.parent)

    def _folder(self) -> None:
        folder = self.path.parent
        if not folder.exists():
            try:
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as exc:
                raise AuthFileError(f"cannot create {folder}: {exc.strerror}") from None

    @contextmanager
    def locked(self, timeout: float = 60.0, poll: float = 0.02) -> Iterator[None]:
        """Hold the exclusive lock beside the file (other processes wait for it).

        :raises AuthFileError: when it is still held by someone else after ``timeout`` s.
        """
        self._folder()
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise AuthFileError(f"cannot open {self.lock_path}: {exc.strerror}") from None
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                        raise AuthFileError(
                            f"cannot lock {self.lock_path}: {exc.strerror}"
                        ) from None
                    if time.monotonic() > deadline:
                        raise AuthFileError(
                            f"{self.lock_path} stayed locked by another ccrelay process for "
                            f"{timeout:g} s"
                        ) from None
                    time.sleep(poll)  # cooperative under gevent's monkey patching
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
