"""Watching the client's connection, so a request whose client has gone stops at once.

When the user presses Esc, Claude Code closes its connection. ccrelay then closes the
upstream connection too (the model stops generating, and stops billing) instead of holding
it until the answer is complete.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

import gevent
from gevent import select as gselect
from gevent.socket import wait_read

#: seconds a request runs before its client connection is watched (hang-up noticed within
#: this plus the event-loop wake-up)
WATCH_AFTER = 0.25


class ClientGone(BaseException):  # noqa: N818 - a signal, like GreenletExit, not an error
    """Raised in a request's greenlet when its client has closed the connection.

    A ``BaseException`` so no ``except Exception`` on the way (requests, urllib3, Flask)
    swallows it; urllib3 closes the upstream connection as the exception passes through.
    """


class ClientWatch:
    """The client socket of one request."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def alive(self) -> bool:
        """False once the client has closed its end (readable, and a peek reads EOF)."""
        try:
            # A gevent socket's recv waits for data whatever the flags say: peek only
            # once select says there is something (data or EOF) to read.
            readable, _, _ = gselect.select([self.sock], [], [], 0)
            if not readable:
                return True
            return self.sock.recv(1, socket.MSG_PEEK) != b""
        except (OSError, ValueError):
            return False

    @contextmanager
    def guard(self) -> Iterator[None]:
        """While inside, a client hang-up raises ``ClientGone`` in the current greenlet.

        Watching starts only after ``WATCH_AFTER`` seconds: most answers come sooner, and
        then an event-loop timer is all it costs.
        """
        target = gevent.getcurrent()
        watcher: list[gevent.Greenlet] = []

        def watch() -> None:
            try:
                wait_read(self.sock.fileno())
            except OSError:
                pass
            # Readable means EOF (gone) or early bytes of a next request (still there).
            if not self.alive():
                gevent.kill(target, ClientGone)

        timer = gevent.get_hub().loop.timer(WATCH_AFTER)
        timer.start(lambda: watcher.append(gevent.spawn(watch)))
        try:
            yield
        finally:
            timer.stop()
            timer.close()
            if watcher:
                # Wait for the watcher to be gone: a watcher left waiting on this socket's
                # fd after the server closes it would watch a reused fd (libev aborts on it).
                watcher[0].kill(block=True, timeout=1)
