"""Content-Encoding layers undone incrementally, every layer's output held to a cap.

`BodyDecoder` undoes the Content-Encoding layers itself, as the raw bytes arrive: each
layer inflates at most `CHUNK` bytes per step (`zlib`'s `max_length`) into the next, and
the bytes every layer has produced are held to the size cap, so a `gzip, gzip` bomb (2 KB
that inflate to over 1 GiB in one call of an ordinary decoder) is refused after at most
the cap plus one chunk per layer. httpx's own decoders inflate a whole network read in
one call, which is why the client reads the raw stream. Stacked encodings are decoded,
not refused (the bound does not depend on their number), up to MAX_LAYERS compression
layers: no server has a reason to compress more often, and each layer holds a zlib window.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

from convoso_exporter.api.errors import ProtocolError, ResponseTooLarge

# Bytes a layer inflates per step: also the most a layer holds beyond the cap.
CHUNK = 64 * 1024
MAX_LAYERS = 2
# Codings the client asks for (Accept-Encoding) and decodes.
ACCEPT_ENCODING = "gzip, deflate"
_GZIP = ("gzip", "x-gzip")
_DEFLATE = ("deflate",)


def codings(header_values: Iterable[str]) -> list[str]:
    """The Content-Encoding codings in the order they were applied (identity left out),
    or ProtocolError for one the client does not decode or too many of them."""
    found = []
    for value in header_values:
        for item in value.split(","):
            coding = item.strip().lower()
            if coding and coding != "identity":
                found.append(coding)
    unknown = [c for c in found if c not in _GZIP + _DEFLATE]
    if unknown:
        raise ProtocolError(f"unsupported Content-Encoding {unknown[0][:40]!r} (the client asks for {ACCEPT_ENCODING})")
    if len(found) > MAX_LAYERS:
        raise ProtocolError(f"Content-Encoding stacks {len(found)} compressions; at most {MAX_LAYERS} are decoded")
    return found


class _Layer:
    """One compression layer, inflated at most CHUNK bytes per step."""

    def __init__(self, coding: str, limit: int) -> None:
        self.coding = "gzip" if coding in _GZIP else "deflate"
        self.limit = limit
        self.produced = 0
        self._started = False  # a deflate stream is tried as zlib first, then raw
        self._inflater = self._new()

    def _new(self, raw_deflate: bool = False):
        if self.coding == "gzip":
            return zlib.decompressobj(zlib.MAX_WBITS | 16)
        return zlib.decompressobj(-zlib.MAX_WBITS if raw_deflate else zlib.MAX_WBITS)

    def inflate(self, data: bytes) -> Iterable[bytes]:
        """The decoded pieces of `data` (each at most CHUNK bytes), lazily."""
        while True:
            try:
                out = self._inflater.decompress(data, CHUNK)
            except zlib.error:
                if self.coding == "deflate" and not self._started:
                    self._started = True  # servers that send raw deflate as "deflate"
                    self._inflater = self._new(raw_deflate=True)
                    continue
                raise ProtocolError(f"body does not match its Content-Encoding ({self.coding})") from None
            self._started = True
            data = self._inflater.unconsumed_tail
            if out:
                self.produced += len(out)
                if self.produced > self.limit:
                    raise ResponseTooLarge(
                        f"decoded body ({self.coding} layer) exceeds max_response_bytes {self.limit}; stopped decoding"
                    )
                yield out
            if self._inflater.eof:
                rest = self._inflater.unused_data
                if not rest or self.coding != "gzip":
                    return  # what follows a deflate stream is ignored, as httpx does
                self._inflater = self._new()  # another gzip member
                data = rest
                continue
            if not data and len(out) < CHUNK:
                return

    def finish(self) -> None:
        if self._started and not self._inflater.eof:
            raise ProtocolError(f"compressed body ({self.coding}) is truncated")


class BodyDecoder:
    """Undoes `codings` (as applied, outermost last) incrementally, holding every layer's
    output to `limit` bytes. `feed` returns the decoded bytes of a raw piece."""

    def __init__(self, applied: list[str], limit: int) -> None:
        self._layers = [_Layer(coding, limit) for coding in reversed(applied)]

    def feed(self, raw: bytes) -> list[bytes]:
        if not self._layers:
            return [raw]
        out: list[bytes] = []
        self._through(0, raw, out)
        return out

    def _through(self, index: int, data: bytes, out: list[bytes]) -> None:
        for piece in self._layers[index].inflate(data):
            if index + 1 < len(self._layers):
                self._through(index + 1, piece, out)
            else:
                out.append(piece)

    def finish(self) -> None:
        """At the end of the raw body: each layer must have seen its stream's end."""
        for layer in self._layers:
            layer.finish()
