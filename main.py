"""ccrelay entry point: gevent patching first, then config, plugins, app and server."""

from gevent import monkey

# Before any other import. queue=False: watchdog's observer queue breaks under a patched
# queue module (shared/DESIGN.md, "Known traps"); the real one works with gevent threads.
monkey.patch_all(queue=False)

import argparse  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import gevent.event  # noqa: E402

from ccrelay.core.app import create_app  # noqa: E402
from ccrelay.core.config import ConfigError  # noqa: E402
from ccrelay.core.plugins import Registry  # noqa: E402
from ccrelay.core.reload import ConfigStore, Watcher  # noqa: E402
from ccrelay.core.server import graceful_stop, make_server  # noqa: E402

HERE = Path(__file__).resolve().parent
log = logging.getLogger("ccrelay")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="ccrelay",
        description="Relay Claude Code and other LLM clients to any configured backend.",
    )
    parser.add_argument(
        "--config",
        default=os.environ.get("CCRELAY_CONFIG", str(HERE / "config" / "config.yaml")),
        help="config file (default: $CCRELAY_CONFIG or config/config.yaml); edits apply live",
    )
    parser.add_argument("--host", help="listen address (default: server.host, else 127.0.0.1)")
    parser.add_argument("--port", type=int, help="listen port (default: server.port, else 8080)")
    parser.add_argument(
        "--providers-dir",
        action="append",
        default=[],
        help="extra folder of provider plugins (repeatable); ./providers is always scanned",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s | %(levelname)s | %(name)s | %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S",
    )
    registry = Registry([HERE / "providers", *map(Path, args.providers_dir)])
    registry.refresh()
    try:
        store = ConfigStore(Path(args.config), registry)
    except ConfigError as exc:
        print(f"ccrelay: bad config: {exc}", file=sys.stderr)
        return 2
    settings = store.current
    logging.getLogger().setLevel(settings.log_level)
    if settings.plugin_dirs or settings.blocked_plugins:
        registry.configure([*registry.dirs, *settings.plugin_dirs], settings.blocked_plugins)
        registry.refresh()
    for problem in registry.problems:
        log.error("plugin %s not loaded: %s", problem.plugin, problem.reason)

    app = create_app(store)
    host = args.host or settings.host
    port = args.port or settings.port
    server, inflight = make_server(app, host, port)
    watcher = Watcher(store)
    watcher.start()

    stopped = gevent.event.Event()

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

    stopping = gevent.event.Event()

    gevent.signal_handler(signal.SIGTERM, stop)
    gevent.signal_handler(signal.SIGINT, stop)
    gevent.signal_handler(signal.SIGHUP, lambda: gevent.spawn(store.reload, force=True))
    try:
        server.start()
    except OSError as exc:
        print(f"ccrelay: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
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


if __name__ == "__main__":
    sys.exit(main())
