"""The exposition as bytes, rendered once per change, with a gzip copy stitched from
cached pieces.

`MetricsRenderer.render()` is called after polls finish, possibly with 100k+ series,
so each target's share is rendered once per published state and cached: keyed by the
state object itself (states are immutable and replaced whole) and whether its data is
still fresh, holding per family the rendered sample lines and their deflate-compressed
copy. A render rebuilds only targets whose state changed, then joins the cached pieces
family by family (one HELP/TYPE per family, all its samples together) in catalogue
order. The gzip body is assembled from the cached compressed pieces too, so neither
the text nor its compression is redone for unchanged targets.

Each target's piece is rendered in isolation: if one target's families cannot be
rendered (a value no sample can hold, a bug), that target is published with its health
series only and an error is logged once, until it renders again; every other target,
and the exposition as a whole, goes on. Before, one such value made every render fail
and /metrics froze at old data for every target.
"""

from __future__ import annotations

import gzip
import logging
import struct
import threading
import zlib
from collections.abc import Iterable
from typing import NamedTuple

from prometheus_client import ProcessCollector, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

from convoso_exporter.api.stats import ApiStats
from convoso_exporter.expose.catalog import INDEX, SPECS, Source, Spec
from convoso_exporter.expose.exporter import ExporterInfo, exporter_families
from convoso_exporter.expose.exposition import EOF_LINE, Family, both_formats, encode, headers, om_header
from convoso_exporter.expose.families import FamilyOptions, health_families, target_families
from convoso_exporter.poll.state import TargetState

log = logging.getLogger(__name__)

# Longest exception text quoted in the log line of a failed render.
_MAX_REASON = 200


class Parts(NamedTuple):
    """An exposition not yet joined: per body (text, its gzip, OpenMetrics, its gzip)
    the pieces it is made of, in order."""

    series: int
    bodies: tuple[list[bytes], list[bytes], list[bytes], list[bytes]]

    def joined(self) -> Exposition:
        body, gzip_body, om_body, om_gzip_body = map(b"".join, self.bodies)
        return Exposition(body, gzip_body, self.series, om_body, om_gzip_body)


class Exposition(NamedTuple):
    """The exposition in text 0.0.4 and in OpenMetrics 1.0.0, each with its gzip copy:
    bytes, or (as served) web.http.Pieces. Without OpenMetrics bodies, an empty one."""

    body: bytes
    gzip_body: bytes
    series: int
    om_body: bytes = EOF_LINE.encode()
    om_gzip_body: bytes = gzip.compress(EOF_LINE.encode(), mtime=0)


# A rendered family share: per block of text 0.0.4 (see exposition.sections), and its one
# OpenMetrics block, each (bytes, deflated bytes); the same objects where the two agree.
_Packed = tuple[bytes, bytes]
_Block = tuple[tuple[_Packed, ...], _Packed]


class _Piece(NamedTuple):
    """One target's rendered share of every family (None: no samples)."""

    state: TargetState  # the published state it was rendered from (compared by identity)
    fresh: bool
    blocks: tuple[_Block | None, ...]
    series: int


class MetricsRenderer:
    """Renders the exposition from the published states, reusing each unchanged
    target's cached piece. Safe to call from a worker thread."""

    def __init__(
        self,
        *,
        agent_metrics: bool,
        max_agents_per_target: int,
        agent_names: bool = True,
        process_metrics: bool = True,
    ) -> None:
        self.options = FamilyOptions(
            agent_metrics=agent_metrics, agent_names=agent_names, max_agents_per_target=max_agents_per_target
        )
        self._process = ProcessCollector(registry=None) if process_metrics else None
        self._cache: dict[str, _Piece] = {}
        self._failing: set[str] = set()  # targets published with their health only
        # The app renders in a worker thread; never let two renders share the cache.
        self._lock = threading.Lock()
        self._headers = tuple(_packed_headers(spec) for spec in SPECS)
        self._om_headers = tuple(_pack(encode(om_header(spec.family()))) for spec in SPECS)

    def render(self, states: Iterable[TargetState], stats: ApiStats, now: float, info: ExporterInfo) -> Exposition:
        """The whole exposition: cached per-target pieces, exporter and process metrics."""
        return self.render_parts(states, stats, now, info).joined()

    def render_parts(self, states: Iterable[TargetState], stats: ApiStats, now: float, info: ExporterInfo) -> Parts:
        """The exposition as the pieces it is made of, not joined: served as they are
        (publisher.py, web/http.py Pieces), never held as a joined copy."""
        with self._lock:
            pieces = self._pieces(states, now)
        exporter = {INDEX[f.name]: f for f in exporter_families(stats, info)}
        raw: list[bytes] = []
        packed: list[bytes] = []
        om_raw: list[bytes] = []
        om_packed: list[bytes] = []
        series = sum(p.series for p in pieces)
        for index, spec in enumerate(SPECS):
            if spec.source == Source.EXPORTER:
                family = exporter.get(index)
                blocks = [_render_block(family)] if family is not None and family.metrics else []
                series += family.series() if blocks else 0
            else:
                blocks = [p.blocks[index] for p in pieces if p.blocks[index] is not None]
            if blocks:
                _join_family(self._headers[index], [block[0] for block in blocks], raw, packed)
                _append(self._om_headers[index], om_raw, om_packed)
                for block in blocks:
                    _append(block[1], om_raw, om_packed)
        if self._process is not None:
            text = generate_latest(self._process)
            raw.append(text)
            packed.append(_deflate(text))
            om_text = generate_openmetrics(self._process).removesuffix(EOF_LINE.encode())
            om_raw.append(om_text)
            om_packed.append(_deflate(om_text))
            series += sum(1 for line in text.splitlines() if line and not line.startswith(b"#"))
        om_raw.append(_EOF[0])
        om_packed.append(_EOF[1])
        return Parts(series, (raw, _gzip_parts(raw, packed), om_raw, _gzip_parts(om_raw, om_packed)))

    def _pieces(self, states: Iterable[TargetState], now: float) -> list[_Piece]:
        """Every target's piece, from the cache where its key is unchanged. The new cache
        holds only the targets passed in, so removed targets are evicted."""
        cache: dict[str, _Piece] = {}
        pieces = []
        for state in states:
            name = state.target.name
            fresh = state.fresh(now)
            piece = self._cache.get(name)
            if piece is None or piece.state is not state or piece.fresh != fresh:
                piece = self._render_isolated(state, now, fresh)
            cache[name] = piece
            pieces.append(piece)
        self._cache = cache
        self._failing &= cache.keys()
        return pieces

    def _render_isolated(self, state: TargetState, now: float, fresh: bool) -> _Piece:
        """The target's piece; its health alone if the rest cannot be rendered."""
        name = state.target.name
        try:
            piece = _render_target(state, fresh, target_families(state, now, self.options))
        except Exception as exc:
            if name not in self._failing:
                self._failing.add(name)
                reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:_MAX_REASON]
                log.error("target %s: its metrics cannot be rendered, publishing its health only: %s", name, reason,
                          extra={"target": name})
            try:
                return _render_target(state, fresh, health_families(state))
            except Exception:
                return _Piece(state, fresh, (None,) * len(SPECS), 0)
        if name in self._failing:
            self._failing.discard(name)
            log.info("target %s: its metrics render again", name, extra={"target": name})
        return piece


def _render_target(state: TargetState, fresh: bool, families: list[Family]) -> _Piece:
    blocks: list[_Block | None] = [None] * len(SPECS)
    series = 0
    for family in families:
        blocks[INDEX[family.name]] = _render_block(family)
        series += family.series()
    return _Piece(state, fresh, tuple(blocks), series)


def _render_block(family: Family) -> _Block:
    """Both formats of one target's share of `family`, each compressed once: the
    OpenMetrics block is the text block itself where their lines agree (gauges)."""
    texts, om_text = both_formats(family)
    text_blocks = tuple(_pack(encode(text)) for text in texts)
    if om_text is texts[0]:
        return text_blocks, text_blocks[0]
    return text_blocks, _pack(encode(om_text))


def _pack(data: bytes) -> _Packed:
    return data, _deflate(data) if data else b""


def _packed_headers(spec: Spec) -> tuple[_Packed, ...]:
    return tuple(_pack(data) for data in map(encode, headers(spec.family())))


def _append(piece: _Packed, raw: list[bytes], packed: list[bytes]) -> None:
    if piece[0]:
        raw.append(piece[0])
        packed.append(piece[1])


def _join_family(
    family_headers: tuple[_Packed, ...],
    blocks: list[tuple[_Packed, ...]],
    raw: list[bytes],
    packed: list[bytes],
) -> None:
    """Append one family: each block's header, then that block of every target."""
    for section, (header, header_packed) in enumerate(family_headers):
        parts = [block[section] for block in blocks if block[section][0]]
        # Only a gauge histogram's _gcount/_gsum blocks can be empty: when it has no
        # samples at all, and then generate_latest writes no header for them either.
        if section and not parts:
            continue
        raw.append(header)
        packed.append(header_packed)
        for data, data_packed in parts:
            raw.append(data)
            packed.append(data_packed)


# gzip member header: magic, deflate, no flags, mtime 0, "fastest" flag, unknown OS.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x04\xff"
# An empty final deflate block, ending the stream.
_FINAL_BLOCK = zlib.compressobj(1, zlib.DEFLATED, -15).flush()


def _deflate(data: bytes) -> bytes:
    """Raw deflate blocks for `data`, byte-aligned and not final, with no references
    outside `data`: such pieces concatenate into one valid deflate stream, so cached
    pieces need no recompression. Level 1: speed over size."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)


_EOF = (EOF_LINE.encode(), _deflate(EOF_LINE.encode()))


def _gzip_parts(raw: list[bytes], packed: list[bytes]) -> list[bytes]:
    """A gzip stream of the body `raw` makes up, from the deflated pieces of it, in order."""
    crc = 0
    for piece in raw:
        crc = zlib.crc32(piece, crc)
    trailer = struct.pack("<II", crc, sum(map(len, raw)) & 0xFFFFFFFF)
    return [_GZIP_HEADER, *packed, _FINAL_BLOCK, trailer]
