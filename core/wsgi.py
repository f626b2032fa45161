"""Serving on every core: ``create()``, the app factory for gunicorn's gevent worker.

::

    pip install gunicorn
    gunicorn -k gevent -w "$(nproc)" -b 127.0.0.1:8080 --graceful-timeout 35 \\
        'ccrelay.core.wsgi:create("/etc/ccrelay/config.yaml")'

gunicorn forks the workers, each patches itself with gevent and then calls the factory, so
every worker builds its own registry, config store, relay and config watcher (nothing is
shared but the listening socket and the files: config, token log). What that means for
key cool-downs, breakers and limits is in docs/deploy.md. Per worker, the factory keeps
what ``main.py`` does for the single process:

- **hot reload**: gunicorn's patching breaks watchdog (``core/reload_poll.py``), so the
  worker polls the config instead (about once a second);
- **hang-up detection**: the client socket gunicorn puts in ``environ["gunicorn.socket"]``
  is handed to the app as ``environ["ccrelay.socket"]`` (``core/client.py`` watches it);
- **graceful stop**: on SIGTERM gunicorn stops accepting and waits up to its
  ``--graceful-timeout`` for connections to finish; the factory chains onto that signal to
  wait up to ``server.shutdown_timeout`` for requests in flight and then end the streams
  still running with an error event in their protocol (``Relay.end_streams``), as
  ``main.py`` does, before gunicorn's own deadline would cut them off mid-event.

Don't use ``--preload``: the app must be built in the worker, after gevent's patching
(the factory refuses to run unpatched).
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import gevent
from gevent import monkey

from ccrelay.core.app import SOCKET_KEY, create_app
from ccrelay.core.config import ConfigError
from ccrelay.core.firstrun import log_chain_report
from ccrelay.core.plugins import Registry
from ccrelay.core.relay import Relay
from ccrelay.core.reload import ConfigStore, Watcher
from ccrelay.core.reload_poll import PollingWatcher
from ccrelay.core.server import InFlight

#: the package's root folder (ccrelay/): built-in providers and the shipped example config
PACKAGE = Path(__file__).resolve().parent.parent
#: where gunicorn's workers put the client socket
GUNICORN_SOCKET = "gunicorn.socket"
log = logging.getLogger("ccrelay")

_WSGI = Callable[[dict[str, Any], Any], Iterable[bytes]]


def create(config: str | Path | None = None, providers_dirs: Sequence[str | Path] = ()) -> _WSGI:
    """One worker's WSGI app.

    :param config: the config file (default: ``$CCRELAY_CONFIG``, else ``config/config.yaml``
        of a source checkout, else the shipped example), as for ``ccrelay --config``.
    :param providers_dirs: extra plugin folders, as ``--providers-dir``.
    :raises RuntimeError: outside a gevent-patched process (``-k gevent`` is required).
    :raises ConfigError: for an invalid config (gunicorn then stops: the worker cannot boot).
    """
    if not monkey.is_module_patched("socket"):
        raise RuntimeError(
            "ccrelay.core.wsgi:create needs gunicorn's gevent worker: run gunicorn -k gevent, "
            "without --preload (the app is built in each worker, after gevent's patching)"
        )
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO,
            format="%(asctime)s | %(levelname)s | %(name)s | pid %(process)d | %(message)s",
            datefmt="%Y-%m-%d %H:%M:%S",
        )
    path, example = _config_path(config)
    registry = Registry([PACKAGE / "providers", *(Path(d).absolute() for d in providers_dirs)])
    try:
        # As main.py: the shipped example lives in site-packages, so suggest a .env where
        # gunicorn runs.
        store = ConfigStore(path, registry, env_file_hint=Path.cwd() / ".env" if example else None)
    except ConfigError as exc:
        log.error("bad config: %s", exc)
        raise
    settings = store.current
    logging.getLogger().setLevel(settings.log_level)
    if example:
        log.warning("no config given: serving the shipped example %s", path)
    log_chain_report(settings, set(registry.classes), shipped=example)
    app = create_app(store)
    # gunicorn's worker patches queue too, which breaks watchdog: poll instead.
    patched = monkey.is_module_patched("queue")
    watcher: Watcher | PollingWatcher = PollingWatcher(store) if patched else Watcher(store)
    watcher.start()
    inflight = InFlight(app)
    relay: Relay = app.extensions["ccrelay"]["relay"]
    _chain_sigterm(lambda: _drain(inflight, relay, watcher, store.current.shutdown_timeout))
    log.info(
        "worker %s serving (provider %s, fallbacks %s, config %s)",
        os.getpid(), settings.active, list(settings.fallbacks), store.path,
    )  # fmt: skip
    return _with_socket(inflight)


def _with_socket(app: InFlight) -> _WSGI:
    """The app, with gunicorn's client socket where core/client.py looks for it."""

    def served(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        sock = environ.get(GUNICORN_SOCKET)
        if sock is not None:
            environ[SOCKET_KEY] = sock
        return app(environ, start_response)

    return served


def _drain(
    inflight: InFlight, relay: Relay, watcher: Watcher | PollingWatcher, timeout: float
) -> None:
    """After SIGTERM: let requests in flight finish for ``timeout`` seconds, then end the
    streams still running with an error event (gunicorn waits for their connections)."""
    log.info("worker %s stopping: waiting for requests in flight", os.getpid())
    watcher.stop()
    if not inflight.wait_idle(timeout):
        log.warning("streams still running after %s s: ending them", timeout)
        relay.end_streams()


def _chain_sigterm(then: Callable[[], None]) -> None:
    """Run ``then`` in a greenlet after the server's own SIGTERM handler (gunicorn's marks
    the worker as stopping). Without a server's handler, SIGTERM keeps its default."""
    previous = signal.getsignal(signal.SIGTERM)
    if not callable(previous):
        return
    started: list[bool] = []

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        previous(signum, frame)
        if not started:
            started.append(True)
            gevent.spawn(then)

    signal.signal(signal.SIGTERM, on_sigterm)
    signal.siginterrupt(signal.SIGTERM, False)  # as gunicorn sets it: no EINTR mid-request


def _config_path(given: str | Path | None) -> tuple[Path, bool]:
    """The config to serve, and whether it is the shipped example (as ``main.py`` picks)."""
    if given:
        return Path(given), False
    env = os.environ.get("CCRELAY_CONFIG")
    if env:
        return Path(env), False
    checkout = PACKAGE / "config" / "config.yaml"
    if checkout.is_file():
        return checkout, False
    return PACKAGE / "config" / "example.yaml", True
