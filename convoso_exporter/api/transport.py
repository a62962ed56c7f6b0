"""The client's HTTP transport: httpx's own, on connections that are never reused in doubt.

A response belongs to its request. httpcore reads a socket 64 KiB at a time and h11
keeps whatever it read past the end of a response in its buffer; when the connection
goes back to the pool, that buffer goes with it, and the next request on the connection
is answered from it: a server that writes a second, unrequested response in the same
write makes the next target polled on that connection publish it as its own answer.
httpcore's own guard only looks at the socket (`is_readable` before reusing an idle
connection), never at bytes it has already read.

So every connection's byte stream is watched by a second, private h11 parser fed the
same bytes (`_FramingWatch`): at the end of each response it knows whether anything was
left over, or whether the framing was in doubt (a response h11 cannot parse). Such a
connection then reports itself readable, which is exactly what makes httpcore's pool
close an idle connection instead of reusing it. Everything goes through public interfaces: httpcore's
network backend and connection pool, and httpx's transport base class (`WatchedTransport`
does what `httpx.AsyncHTTPTransport` does with its pool: it was given one built with that
backend by setting its private `_pool`).
"""

from __future__ import annotations

import contextlib
import ssl
import typing
import urllib.parse
import urllib.request

import h11
import httpcore
import httpx

# httpcore's limit for a response head; the watch's parser agrees with the real one.
_MAX_HEAD = 100 * 1024


class _FramingWatch:
    """Follows one connection's request/response cycles; `doubt` once one left bytes over."""

    def __init__(self) -> None:
        self.doubt = False
        self._parser: h11.Connection | None = None  # None between cycles

    def sent(self, data: bytes) -> None:
        """Bytes the client wrote; the first write after a finished response opens a cycle."""
        if self._parser is not None or self.doubt:
            return  # the rest of a request already announced (its body, say)
        method = bytes(data[:16]).split(b" ", 1)[0] or b"GET"
        parser = h11.Connection(our_role=h11.CLIENT, max_incomplete_event_size=_MAX_HEAD)
        try:
            parser.send(h11.Request(method=method, target="/", headers=[("Host", "x"), ("Content-Length", "0")]))
            parser.send(h11.EndOfMessage())
        except h11.LocalProtocolError:
            self.doubt = True
            return
        self._parser = parser

    def received(self, data: bytes) -> None:
        """Bytes the client read for the current cycle."""
        parser = self._parser
        if parser is None:
            # Read with no request outstanding: the server spoke out of turn.
            self.doubt = self.doubt or bool(data)
            return
        parser.receive_data(data)
        try:
            while True:
                event = parser.next_event()
                if event is h11.NEED_DATA or event is h11.PAUSED:
                    return
                if type(event) is h11.EndOfMessage:
                    self.doubt = self.doubt or bool(parser.trailing_data[0])
                    self._parser = None
                    return
                if type(event) is h11.ConnectionClosed:
                    self._parser = None
                    return
        except h11.RemoteProtocolError:
            self.doubt = True
            self._parser = None


class _WatchedStream(httpcore.AsyncNetworkStream):
    """A network stream whose bytes a `_FramingWatch` follows; readable (so never
    reused) once the watch is in doubt."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._watch = _FramingWatch()

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data = await self._inner.read(max_bytes, timeout)
        self._watch.received(data)
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._watch.sent(buffer)
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        return _WatchedStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "is_readable" and self._watch.doubt:
            return True  # httpcore's pool closes an idle connection that is readable
        return self._inner.get_extra_info(info)


class _WatchedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: typing.Iterable[typing.Any] | None = None) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _WatchedStream(stream)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: typing.Iterable[typing.Any] | None = None
                                  ) -> httpcore.AsyncNetworkStream:
        return _WatchedStream(await self._inner.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def environment_proxy(url: str) -> str | None:
    """The proxy the environment names for `url` (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, with
    NO_PROXY honoured), as httpx would use it without a custom transport; None for none."""
    parts = urllib.parse.urlsplit(url)
    if parts.hostname is None or urllib.request.proxy_bypass(parts.hostname):
        return None
    proxies = urllib.request.getproxies()
    return proxies.get(parts.scheme) or proxies.get("all")


def client_transport(base_url: str, limits: httpx.Limits) -> httpx.AsyncBaseTransport:
    """Watched connections to the API, or, where the environment routes the API through a
    proxy, httpx's own proxy transport: the tunnel's first answer is the proxy's, which the
    framing watch cannot follow, so the leftover-bytes guard does not apply there."""
    proxy = environment_proxy(base_url)
    if proxy is not None:
        return httpx.AsyncHTTPTransport(proxy=proxy, limits=limits)
    return WatchedTransport(limits)


# httpcore's exceptions and the httpx ones a transport raises for them (httpx's own
# mapping, most specific first): the client and api/failures.py read httpx's classes and,
# through `__cause__`, what httpcore wrapped.
_MAPPED: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextlib.contextmanager
def _as_httpx() -> typing.Iterator[None]:
    try:
        yield
    except Exception as exc:
        mapped = next((to for kind, to in _MAPPED if isinstance(exc, kind)), None)
        if mapped is None:
            raise
        raise mapped(str(exc)) from exc


class _Body(httpx.AsyncByteStream):
    """httpcore's response stream, its errors as httpx's."""

    def __init__(self, stream: typing.AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> typing.AsyncIterator[bytes]:
        with _as_httpx():
            async for part in self._stream:
                yield part

    async def aclose(self) -> None:
        if hasattr(self._stream, "aclose"):
            with _as_httpx():
                await self._stream.aclose()


class WatchedTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 to the API through an httpcore pool of watched connections."""

    def __init__(self, limits: httpx.Limits) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=_WatchedBackend(httpcore.AnyIOBackend()),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        forwarded = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _as_httpx():
            response = await self._pool.handle_async_request(forwarded)
        return httpx.Response(response.status, headers=response.headers, stream=_Body(response.stream),
                              extensions=response.extensions)

    async def aclose(self) -> None:
        await self._pool.aclose()

