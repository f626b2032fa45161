"""All upstream HTTP: one pooled ``requests.Session``, timeouts, and byte streaming.

Strategies build an ``UpstreamRequest``; this module sends it with the provider's key and
headers. The session's adapter owns the connection pools (sized for a gevent server's
concurrency); requests are sent straight through the adapter's urllib3 pool for the host,
because ``Session.post``'s per-call preparation (settings merge, cookies, hooks, URL
re-parsing) was half of ccrelay's CPU per request (bench/PROFILE.md) and a relay needs none of
it. Connection failures and timeouts become retryable ``RelayError``s so the caller can move on
to the next provider; a connection lost while reading becomes a 502 ``RelayError`` too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from ccrelay.core.config import DEFAULT_MAX_RESPONSE, ProviderConfig
from ccrelay.core.errors import ErrorKind, InvalidRequest, RelayError
from ccrelay.core.jsonutil import JSONEncodeError, dumps
from ccrelay.core.provider import Provider, UpstreamRequest

# A gevent server runs one greenlet per connection; 1,000 covers a busy team relay and the
# 500-stream benchmark without opening a new TCP connection per request.
POOL_SIZE = 1000
_ACCEPT = {
    "sse": "text/event-stream",
    "ndjson": "application/x-ndjson",
    "json_array": "application/json",
}
_BASE_HEADERS = {
    "content-type": "application/json",
    "accept-encoding": "gzip, deflate",
    "user-agent": "ccrelay/0.1",
}


class UpstreamResponse:
    """An upstream answer: status, headers, and the body read whole or as it arrives, never
    more than ``limit`` bytes of it (an upstream that never stops is cut, memory stays flat)."""

    __slots__ = ("_raw", "status", "headers", "_done", "_where", "_limit")

    def __init__(self, raw: urllib3.BaseHTTPResponse, where: str, limit: int) -> None:
        self._raw = raw
        self.status: int = raw.status
        self.headers: Mapping[str, str] = raw.headers
        self._done = False
        self._where = where
        self._limit = limit

    def read(self) -> bytes:
        """The whole body; a connection lost on the way is a retryable 502."""
        try:
            data = self._raw.read(self._limit + 1, decode_content=True)
        except (HTTPError, OSError) as exc:
            raise RelayError(
                502, f"{self._where}: answer cut off ({_reason(exc)})", retryable=True
            ) from None
        if len(data) > self._limit:
            raise self._too_big()
        self._done = True
        return data

    def iter_bytes(self) -> Iterator[bytes]:
        """Body bytes as they arrive, never waiting to fill a buffer."""
        raw = self._raw
        left = self._limit
        try:
            chunks = raw.read_chunked(decode_content=True) if raw.chunked else self._reads()
            for data in chunks:
                left -= len(data)
                if left < 0:
                    raise self._too_big()
                yield data
        except (HTTPError, OSError) as exc:
            raise RelayError(
                502, f"{self._where}: connection lost mid-answer ({_reason(exc)})"
            ) from None
        self._done = True

    def _reads(self) -> Iterator[bytes]:
        while True:
            data = self._raw.read1(65536, decode_content=True)
            if not data:
                return
            yield data

    def _too_big(self) -> RelayError:
        return RelayError(
            502,
            f"{self._where}: the answer exceeded {self._limit} bytes and was cut "
            "(limits.max_response_bytes; raise it if such answers are expected)",
            retryable=True,
        )

    def close(self) -> None:
        """Return the connection to the pool when the body was read to its end; otherwise
        close it, which is how an abandoned upstream generation is stopped."""
        raw = self._raw
        if not self._done:
            raw.close()
        raw.release_conn()


class Upstream:
    """Sends upstream requests through the connection pools of one ``requests.Session``."""

    def __init__(self, pool_size: int = POOL_SIZE) -> None:
        self.session = requests.Session()
        self._adapter = HTTPAdapter(pool_connections=64, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", self._adapter)
        self.session.mount("https://", self._adapter)
        self._pools: dict[str, tuple[Any, str]] = {}
        self._timeouts: dict[tuple[float, float], urllib3.Timeout] = {}

    def _pool(self, base_url: str) -> tuple[Any, str]:
        """The urllib3 pool for ``base_url``'s host and the URL's path prefix (cached)."""
        cached = self._pools.get(base_url)
        if cached is None:
            parts = urlsplit(base_url)
            pool = self._adapter.poolmanager.connection_from_url(base_url)
            cached = (pool, parts.path.rstrip("/"))
            if len(self._pools) < 1024:
                self._pools[base_url] = cached
        return cached

    def send(
        self,
        provider: ProviderConfig,
        strategy: Provider,
        req: UpstreamRequest,
        limit: int = DEFAULT_MAX_RESPONSE,
    ) -> UpstreamResponse:
        """Send ``req`` to ``provider``; the caller closes the response.

        :raises RelayError: retryable, for connection errors and timeouts.
        """
        headers = dict(_BASE_HEADERS)
        headers.update(strategy.auth_headers(provider))
        headers.update(provider.headers)
        headers.update(req.headers)
        if req.stream:
            headers["accept"] = _ACCEPT[strategy.stream_framing]
        pool, prefix = self._pool(provider.base_url)
        url = prefix + req.path
        if req.query:
            url += ("&" if "?" in url else "?") + urlencode(req.query)
        key = (provider.connect_timeout, provider.timeout)
        timeout = self._timeouts.get(key)
        if timeout is None:
            timeout = self._timeouts[key] = urllib3.Timeout(connect=key[0], read=key[1])
        where = f"provider {provider.name}"
        try:
            payload = dumps(req.body) if req.body is not None else None
        except JSONEncodeError as exc:  # orjson encodes at most 255 levels of nesting
            raise InvalidRequest(
                f"the request cannot be forwarded: {exc}; its JSON nests too deep (a tool "
                "schema, say): flatten it below 255 levels"
            ) from None
        try:
            raw = pool.urlopen(
                req.method,
                url,
                body=payload,
                headers=headers,
                retries=False,
                redirect=False,
                assert_same_host=False,
                timeout=timeout,
                preload_content=False,
                decode_content=True,
            )
        except (ConnectTimeoutError, ReadTimeoutError) as exc:
            if isinstance(exc, NewConnectionError):
                raise _cannot_connect(provider, exc) from None
            if isinstance(exc, ConnectTimeoutError):
                raise RelayError(
                    504,
                    f"{where}: could not connect to {_host(provider.base_url)} within "
                    f"{provider.connect_timeout:g}s (providers.{provider.name}.connect_timeout)",
                    kind=ErrorKind.TIMEOUT,
                    retryable=True,
                ) from None
            raise RelayError(
                504,
                f"{where}: no answer from {_host(provider.base_url)} within "
                f"{provider.timeout:g}s (raise providers.{provider.name}.timeout if the model "
                "is slow)",
                kind=ErrorKind.TIMEOUT,
                retryable=True,
            ) from None
        except ProtocolError as exc:
            # Connected, then the upstream closed or reset the connection before an answer.
            raise RelayError(
                502,
                f"{where}: {_host(provider.base_url)} closed the connection before answering "
                f"({_reason(exc)})",
                kind=ErrorKind.UPSTREAM,
                retryable=True,
            ) from None
        except (HTTPError, OSError) as exc:
            raise _cannot_connect(provider, exc) from None
        return UpstreamResponse(raw, where, limit)

    def close(self) -> None:
        self.session.close()


def _cannot_connect(provider: ProviderConfig, exc: BaseException) -> RelayError:
    return RelayError(
        502,
        f"provider {provider.name}: cannot connect to {_host(provider.base_url)} "
        f"({_reason(exc)}); check providers.{provider.name}.base_url",
        kind=ErrorKind.UPSTREAM,
        retryable=True,
    )


def _host(url: str) -> str:
    # The scheme and host only: never a query string, which some vendors use for keys.
    parts = url.split("/", 3)
    return "/".join(parts[:3])


def _reason(exc: BaseException) -> str:
    """The root cause in a few words (``Connection reset by peer``), not urllib3's wrappers."""
    root = exc
    for _ in range(5):
        inner = getattr(root, "reason", None)
        if not isinstance(inner, BaseException):
            inner = next((a for a in root.args if isinstance(a, BaseException)), None)
        if inner is None:
            break
        root = inner
    if isinstance(root, OSError) and root.strerror:
        return root.strerror
    text = str(root)
    # urllib3 messages repeat the whole pool repr; keep the root cause.
    if "Caused by" in text:
        text = text.split("Caused by", 1)[1].strip(" ()'\"")
    if ": " in text and text.startswith("<"):
        text = text.split(": ", 1)[1]
    return text[:300]
