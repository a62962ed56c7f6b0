"""convoso_exporter/web/cutshort.py: an answer cut short on purpose (the simulator's reset
fault, a replayed reset), written by the HTTP server as part of a body, then a reset."""

from __future__ import annotations

import asyncio

from convoso_exporter.web.cutshort import CutShort, CutShortServer
from convoso_exporter.web.http import Response


# --- an answer cut short -----------------------------------------------------------------------


def test_a_cut_short_answer_sends_part_of_the_body_then_resets_and_others_are_served_as_usual():
    async def handler(request):
        return CutShort(body=b"0123456789", sent=4) if request.path == "/cut" else Response(body=b'{"ok": 1}')

    async def get(port: int, path: str) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET {path} HTTP/1.1\r\nConnection: close\r\n\r\n".encode())
        received = b""
        try:
            while chunk := await reader.read(65536):
                received += chunk
        except ConnectionResetError:
            pass
        writer.close()
        return received

    async def scenario():
        server = CutShortServer(handler)
        await server.start("127.0.0.1", 0)
        try:
            return await get(server.port, "/cut"), await get(server.port, "/whole")
        finally:
            await server.close()

    cut, whole = asyncio.run(asyncio.wait_for(scenario(), timeout=20))
    head, _, body = cut.partition(b"\r\n\r\n")
    assert b"\r\nContent-Length: 10\r\n" in head + b"\r\n"  # the full length is promised...
    assert body == b"0123"  # ...and only `sent` bytes arrive
    assert whole.startswith(b"HTTP/1.1 200 OK\r\n") and whole.endswith(b'{"ok": 1}')
