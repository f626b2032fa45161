"""ccrelay entry point: gevent patching first, then config, plugins, app and server.

``python main.py``, ``python -m ccrelay.main`` and the ``ccrelay`` console script all run
``main``; ``parse_args`` holds the whole command line and ``serve`` does the work, so a
command group can wrap either.
"""

from gevent import monkey

# Before any other import. queue=False: watchdog's observer queue breaks under a patched
# queue module (shared/DESIGN.md, "Known traps"); the real one works with gevent threads.
monkey.patch_all(queue=False)

import argparse  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import gevent.event  # noqa: E402

from ccrelay.core.app import create_app  # noqa: E402
from ccrelay.core.config import ConfigError  # noqa: E402
from ccrelay.core.firstrun import log_chain_report  # noqa: E402
from ccrelay.core.plugins import Registry  # noqa: E402
from ccrelay.core.reload import ConfigStore, Watcher  # noqa: E402
from ccrelay.core.server import graceful_stop, make_server  # noqa: E402

HERE = Path(__file__).resolve().parent
#: the live config of a source checkout (not shipped in the wheel)
CHECKOUT_CONFIG = HERE / "config" / "config.yaml"
#: the documented example shipped with ccrelay, served when no config is given or found
EXAMPLE_CONFIG = HERE / "config" / "example.yaml"
log = logging.getLogger("ccrelay")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line: ``ccrelay [--config PATH] [--host H] [--port N] [--providers-dir D]``."""
    parser = argparse.ArgumentParser(
        prog="ccrelay",
        description="Relay Claude Code and other LLM clients to any configured backend.",
    )
    parser.add_argument(
        "--config",
        default=os.environ.get("CCRELAY_CONFIG"),
        help="config file; edits apply live (default: $CCRELAY_CONFIG, else config/config.yaml "
        "of a source checkout, else the shipped example config/example.yaml)",
    )
    parser.add_argument("--host", help="listen address (default: server.host, else 127.0.0.1)")
    parser.add_argument("--port", type=int, help="listen port (default: server.port, else 8080)")
    parser.add_argument(
        "--providers-dir",
        action="append",
        default=[],
        help="extra folder of provider plugins (repeatable); ccrelay's providers/ is always "
        "scanned, and so are the config's plugins.dirs",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and serve until SIGINT/SIGTERM; the exit status."""
    args = parse_args(argv)
    return serve(args.config, host=args.host, port=args.port, providers_dirs=args.providers_dir)


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


def _config_path(given: str | Path | None) -> tuple[Path, bool]:
    """The config to serve, and whether it is the shipped example."""
    if given:
        return Path(given), False
    if CHECKOUT_CONFIG.is_file():
        return CHECKOUT_CONFIG, False
    return EXAMPLE_CONFIG, True


def _reload(store: ConfigStore, watcher: Watcher) -> None:
    store.reload(force=True)
    watcher.sync()


if __name__ == "__main__":
    sys.exit(main())
