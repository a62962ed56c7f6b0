"""The baseline server: the exporter's exact /metrics bytes served as a static file.

A minimal asyncio HTTP/1.1 server with keep-alive: it reads a request head, picks the
gzip or the plain copy by Accept-Encoding, and writes a fixed head plus the bytes held
in memory. It does nothing else (no routing, no limits, no auth), which is what a
plain static server does and the fastest a Python server can serve these bytes.

    python -m bench.static_server --port P --body plain.txt --gzip-body metrics.gz
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def response_head(length: int, gzip: bool) -> bytes:
    lines = ["HTTP/1.1 200 OK", f"Content-Type: {CONTENT_TYPE}", f"Content-Length: {length}"]
    if gzip:
        lines.append("Content-Encoding: gzip")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def wants_gzip(head: bytes) -> bool:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"accept-encoding":
            return b"gzip" in value.lower()
    return False


class StaticServer:
    def __init__(self, body: bytes, gzip_body: bytes) -> None:
        self.answers = {
            False: (response_head(len(body), False), body),
            True: (response_head(len(gzip_body), True), gzip_body),
        }

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                response_head_bytes, body = self.answers[wants_gzip(head)]
                writer.write(response_head_bytes)
                writer.write(body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()


async def run(port: int, body: bytes, gzip_body: bytes) -> None:
    server = await asyncio.start_server(StaticServer(body, gzip_body).serve, "127.0.0.1", port, reuse_address=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.static_server", description="Serve fixed bytes on 127.0.0.1.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body", type=Path, required=True, help="file with the plain exposition")
    parser.add_argument("--gzip-body", type=Path, required=True, help="file with its gzip copy")
    args = parser.parse_args(argv)
    asyncio.run(run(args.port, args.body.read_bytes(), args.gzip_body.read_bytes()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
