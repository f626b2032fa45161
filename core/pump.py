"""Pumping one upstream stream to its client: a reader greenlet, keep-alives, hang-ups, shutdown.

The pump yields protocol-neutral items; the client's dialect turns them into bytes
(``core/dialect.py``, ``StreamRenderer``):

- a list of canonical events (everything that arrived since the last write, sent in one go),
- ``KEEPALIVE`` after ``limits.ping_interval`` seconds of upstream silence,
- ``END`` once the upstream finished, or a ``RelayError`` when it failed after the first
  byte (the stream ends there; another model is never spliced in).

When the client hangs up the pump stops at once and the upstream connection is closed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import gevent
from gevent.queue import Empty, Queue

from ccrelay.core.accounting import Accounting, secrets_of
from ccrelay.core.client import ClientWatch
from ccrelay.core.errors import ErrorKind, RelayError, scrub
from ccrelay.core.types import CanonicalEvent
from ccrelay.core.upstream import UpstreamResponse

log = logging.getLogger("ccrelay.relay")

#: how often a waiting stream checks whether its client is still there
CLIENT_CHECK_INTERVAL = 0.5


class _Marker:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


KEEPALIVE = _Marker("KEEPALIVE")
END = _Marker("END")
StreamItem = list[CanonicalEvent] | _Marker | RelayError


def pump(
    first: CanonicalEvent,
    events: Iterator[CanonicalEvent],
    resp: UpstreamResponse,
    acct: Accounting,
    client: ClientWatch | None,
    ending: Callable[[], bool],
) -> Iterator[StreamItem]:
    """Relay ``events`` (after ``first``) from a reader greenlet, with keep-alives.

    :param ending: true once the server is shutting down: the stream then ends with an
        overloaded error ("send the request again") instead of a cut connection.
    """
    queue: Queue[Any] = Queue()

    def reader() -> None:
        try:
            for ev in events:
                queue.put(ev)
            queue.put(END)
        except RelayError as err:
            queue.put(err)
        except OSError as exc:
            queue.put(RelayError(502, f"upstream connection lost mid-stream: {exc}"))
        except gevent.GreenletExit:
            raise
        except Exception as exc:  # noqa: BLE001 - a strategy bug must still end the stream
            log.exception("strategy failed mid-stream (request %s)", acct.request_id)
            queue.put(RelayError(500, f"ccrelay failed converting the stream: {exc!r}"))

    glet = gevent.spawn(reader)
    status = "error"
    done = False
    error: RelayError | None = None
    ping_interval = acct.settings.ping_interval
    take = acct.take_event
    try:
        take(first)
        yield [first]
        silent = 0.0
        while True:
            if ending():
                item: Any = RelayError(
                    503, "ccrelay is shutting down; send the request again",
                    kind=ErrorKind.OVERLOADED,
                )  # fmt: skip
            else:
                try:
                    item = queue.get(timeout=CLIENT_CHECK_INTERVAL)
                except Empty:
                    silent += CLIENT_CHECK_INTERVAL
                    if client is not None and not client.alive():
                        status = "cancelled"
                        return
                    if silent >= ping_interval:
                        silent = 0.0
                        yield KEEPALIVE
                    continue
            silent = 0.0
            # Send everything already waiting in one write.
            batch: list[CanonicalEvent] = []
            while type(item) is dict:
                take(item)
                batch.append(item)
                if queue.empty():
                    item = None
                    break
                item = queue.get_nowait()
            if batch:
                yield batch
            if item is END:
                status, done = "success", True
                yield END
                return
            if isinstance(item, RelayError):
                error = item.evolve(message=scrub(item.message, secrets_of(acct.settings)))
                done = True
                yield error
                return
    except GeneratorExit:
        if not done:  # closed after END or an error is a finished stream
            status = "cancelled"
        raise
    finally:
        glet.kill(block=True, timeout=1)
        resp.close()
        acct.write(status, error)
