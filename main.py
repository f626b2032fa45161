"""ccrelay's server: gevent patching first, then config, plugins, app and server.

``serve`` does the work. ``python main.py [flags]`` and ``python -m ccrelay.main [flags]``
run the ``ccrelay`` command (``core/cli/``), whose default command is ``serve``; the
``ccrelay`` console script runs the same command without importing this module unless it
serves, and imports it first when it does, so the patch below stays the first thing done.
"""

from gevent import monkey

# Before any other import. queue=False: watchdog's observer queue breaks under a patched
# queue module (shared/DESIGN.md, "Known traps"); the real one works with gevent threads.
monkey.patch_all(queue=False)

import logging  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import gevent.event  # noqa: E402

if __name__ == "__main__":
    # Run as a script (python main.py, python -m ccrelay.main): the CLI's serve command
    # imports ccrelay.main, which must be this module rather than a second copy of it.
    sys.modules.setdefault("ccrelay.main", sys.modules[__name__])

from ccrelay.core.app import create_app  # noqa: E402
from ccrelay.core.cli import main as cli_main  # noqa: E402
from ccrelay.core.cli.paths import CHECKOUT_CONFIG, EXAMPLE_CONFIG  # noqa: E402, F401
from ccrelay.core.cli.paths import ROOT as HERE  # noqa: E402
from ccrelay.core.cli.paths import config_path as _config_path  # noqa: E402
from ccrelay.core.config import ConfigError  # noqa: E402
from ccrelay.core.firstrun import log_chain_report  # noqa: E402
from ccrelay.core.plugins import Registry  # noqa: E402
from ccrelay.core.reload import ConfigStore, Watcher  # noqa: E402
from ccrelay.core.server import graceful_stop, make_server  # noqa: E402

log = logging.getLogger("ccrelay")


def main(argv: Sequence[str] | None = None) -> int:
    """The ``ccrelay`` command (``core/cli/``): serve by default, or any of its commands
    (``python main.py check``); the exit status."""
    return cli_main(argv)


def serve(
    config: str | Path | None = None,
    *,
    host: str | None = None,
    port: int | None = None,
    providers_dirs: Sequence[str | Path] = (),
) -> int:
    """Load the config and its plugins, serve, and stop gracefully on SIGINT/SIGTERM.

    :param config: the config file (None: ``config/config.yaml`` of a source checkout,
        else the shipped example).
    :returns: 0 after a graceful stop, 2 for a bad config or an address in use.
    """
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s | %(levelname)s | %(name)s | %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S",
    )
    path, example = _config_path(config)
    registry = Registry([HERE / "providers", *(Path(d).absolute() for d in providers_dirs)])
    try:
        # The shipped example lives inside the installed package: suggest a .env where
        # ccrelay is started rather than one in site-packages.
        hint = Path.cwd() / ".env" if example else None
        store = ConfigStore(path, registry, env_file_hint=hint)
    except ConfigError as exc:
        print(f"ccrelay: bad config: {exc}", file=sys.stderr)
        return 2
    settings = store.current
    logging.getLogger().setLevel(settings.log_level)
    if example:
        log.warning(
            "no config given: serving the shipped example %s; copy it, edit it and start "
            "ccrelay with --config PATH (or set CCRELAY_CONFIG)",
            path,
        )
    log_chain_report(settings, set(registry.classes), shipped=example)

    app = create_app(store)
    host = host or settings.host
    port = port or settings.port
    server, inflight = make_server(app, host, port)
    watcher = Watcher(store)
    watcher.start()

    stopped = gevent.event.Event()
    stopping = gevent.event.Event()

    def stop() -> None:
        if stopping.is_set():
            return
        stopping.set()
        log.info("stopping: no new connections; waiting for requests in flight")
        watcher.stop()
        drain = store.current.shutdown_timeout
        gevent.spawn(
            graceful_stop, server, inflight, app.extensions["ccrelay"]["relay"], drain
        ).link(lambda _: stopped.set())

    gevent.signal_handler(signal.SIGTERM, stop)
    gevent.signal_handler(signal.SIGINT, stop)
    gevent.signal_handler(signal.SIGHUP, lambda: gevent.spawn(_reload, store, watcher))
    try:
        server.start()
    except OSError as exc:
        print(f"ccrelay: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        watcher.stop()
        return 2
    log.info(
        "ccrelay listening on http://%s:%s (provider %s, fallbacks %s, config %s)",
        host, server.server_port, settings.active, list(settings.fallbacks), store.path,
    )  # fmt: skip
    stopped.wait()
    relay = app.extensions["ccrelay"]["relay"]
    relay.upstream.close()
    relay.tokenlog.close()
    log.info("stopped")
    return 0


def _reload(store: ConfigStore, watcher: Watcher) -> None:
    store.reload(force=True)
    watcher.sync()


if __name__ == "__main__":
    sys.exit(main())
