"""All upstream HTTP: one pooled ``requests.Session``, timeouts, and byte streaming.

Strategies build an ``UpstreamRequest``; this module sends it with the provider's key and
headers and hands back the ``requests.Response``. Connection failures and timeouts become
``RelayError``s marked retryable, so the caller can move on to the next provider.
"""

from __future__ import annotations

from collections.abc import Iterator

import requests
from requests.adapters import HTTPAdapter

from core.config import ProviderConfig
from core.errors import RelayError
from core.jsonutil import dumps
from core.provider import Provider, UpstreamRequest

# A gevent server runs one greenlet per connection; 1,000 covers a busy team relay and the
# 500-stream benchmark without opening a new TCP connection per request.
POOL_SIZE = 1000
# Hop-by-hop and client-identity headers never forwarded upstream.
_BASE_HEADERS = {"content-type": "application/json", "accept-encoding": "gzip, deflate"}


class Upstream:
    """Sends upstream requests through one connection pool shared by every provider."""

    def __init__(self, pool_size: int = POOL_SIZE) -> None:
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=64, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        # Never pick up proxies or .netrc credentials from the environment per request:
        # that is a filesystem walk on the hot path and a surprise for a local relay.
        self.session.trust_env = False

    def send(
        self, provider: ProviderConfig, strategy: Provider, req: UpstreamRequest
    ) -> requests.Response:
        """POST ``req`` to ``provider``; the caller closes the response.

        :raises RelayError: retryable, for connection errors and timeouts.
        """
        headers = dict(_BASE_HEADERS)
        headers.update(strategy.auth_headers(provider))
        headers.update(provider.headers)
        headers.update(req.headers)
        if req.stream:
            headers["accept"] = "text/event-stream"
        url = provider.base_url + req.path
        try:
            return self.session.post(
                url,
                data=dumps(req.body),
                headers=headers,
                stream=True,
                timeout=(provider.connect_timeout, provider.timeout),
            )
        except requests.Timeout:
            raise RelayError(
                504,
                f"provider {provider.name}: no answer from {_host(url)} within "
                f"{provider.timeout:g}s (raise providers.{provider.name}.timeout if the model "
                "is slow)",
                error_type="timeout_error",
                retryable=True,
            ) from None
        except requests.ConnectionError as exc:
            raise RelayError(
                502,
                f"provider {provider.name}: cannot connect to {_host(url)} "
                f"({_reason(exc)}); check providers.{provider.name}.base_url",
                error_type="api_error",
                retryable=True,
            ) from None
        except requests.RequestException as exc:
            raise RelayError(
                502, f"provider {provider.name}: request failed ({_reason(exc)})", retryable=True
            ) from None

    def close(self) -> None:
        self.session.close()


def iter_bytes(resp: requests.Response) -> Iterator[bytes]:
    """Yield body bytes as they arrive (never waiting to fill a buffer)."""
    raw = resp.raw
    if raw.chunked:
        # Each HTTP chunk as soon as it is complete.
        yield from raw.read_chunked(decode_content=True)
        return
    while True:
        data = raw.read1(65536, decode_content=True)
        if not data:
            return
        yield data


def _host(url: str) -> str:
    # The scheme and host only: never a query string, which some vendors use for keys.
    parts = url.split("/", 3)
    return "/".join(parts[:3])


def _reason(exc: BaseException) -> str:
    text = str(exc)
    # urllib3 messages repeat the whole pool repr; keep the root cause.
    if "Caused by" in text:
        text = text.split("Caused by", 1)[1].strip(" ()'\"")
    return text[:300]
