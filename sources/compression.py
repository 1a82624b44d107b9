"""Gzip deliveries read within limits: a small file can expand to gigabytes (a compression bomb),
and a gzip trailer can lie about the size it announces.

The stream is inflated a bounded piece at a time and counted as it goes, whatever the trailer
says; it is refused as soon as it passes a limit (``too_large``, ``compression_bomb``), naming the
limit and the setting that changes it. Concatenated gzip members are one stream (``gzip``'s rule);
anything else after the last member is corruption.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from territoire_hub.problems import DeliveryRejected, Problem
from territoire_hub.settings import Limits

GZIP_MAGIC = b"\x1f\x8b"
_IN = 1 << 16          # compressed bytes fed at a time
_OUT = 1 << 20         # decompressed bytes produced at a time
_RATIO_FROM = 16 << 20  # the expansion ratio is judged once this much has come out


def mib(n: int) -> str:
    """A size as people read it: bytes below a MiB, MiB above."""
    return f"{n:,} bytes" if n < 1 << 20 else f"{n / (1 << 20):,.0f} MiB"


def _truncated(detail: str) -> DeliveryRejected:
    return DeliveryRejected([Problem(
        "truncated_gzip",
        f"gzip stream is truncated or corrupt ({detail}); the file was probably cut during transfer, "
        "please deliver it again")])


def inflate(pieces: Iterable[bytes], compressed_size: int, limits: Limits) -> Iterator[bytes]:
    """The decompressed bytes of a gzip stream delivered in ``pieces``, a bounded piece at a time,
    refused as soon as they pass ``limits`` (``compressed_size``: the file's size, for the ratio)."""
    pieces = iter(pieces)
    expanded = 0
    pending = b""                       # compressed bytes not yet fed to an inflater
    while True:
        inflater = zlib.decompressobj(wbits=31)
        try:
            while not inflater.eof:
                if inflater.unconsumed_tail:
                    piece = inflater.decompress(inflater.unconsumed_tail, _OUT)
                else:
                    if not pending:
                        pending = next(pieces, b"")
                        if not pending:
                            raise _truncated("the stream ends before its last block")
                    piece = inflater.decompress(pending, _OUT)
                    pending = b""
                expanded += len(piece)
                _check(expanded, compressed_size, limits)
                if piece:
                    yield piece
        except zlib.error as exc:
            raise _truncated(str(exc)) from None
        rest = inflater.unused_data + pending
        while len(rest) < len(GZIP_MAGIC) and (more := next(pieces, b"")):
            rest += more
        if not rest.strip(b"\x00"):
            tail = b"".join(_bounded(pieces, 1 << 16))
            if not tail.strip(b"\x00"):    # trailing padding, as gzip itself accepts
                return
            rest = tail
        if not rest.startswith(GZIP_MAGIC):
            size = len(rest) + sum(len(p) for p in pieces)
            raise _truncated(f"{size} bytes after the end of the gzip stream")
        pending = rest


def _bounded(pieces: Iterator[bytes], limit: int) -> Iterator[bytes]:
    taken = 0
    for piece in pieces:
        yield piece
        taken += len(piece)
        if taken >= limit:
            return


def file_pieces(path: Path, size: int = _IN) -> Iterator[bytes]:
    """A file's bytes, ``size`` at a time."""
    with open(path, "rb") as stream:
        while piece := stream.read(size):
            yield piece


def gunzip(data: bytes, limits: Limits) -> bytes:
    """The decompressed bytes of a gzip file held in memory (small files: a sniffed head, a test)."""
    view = memoryview(data)
    return b"".join(inflate((bytes(view[i:i + _IN]) for i in range(0, len(view), _IN)), len(data), limits))


def _check(expanded: int, compressed: int, limits: Limits) -> None:
    if expanded > limits.max_expanded_bytes:
        raise DeliveryRejected([Problem(
            "too_large",
            f"the file expands to more than {mib(limits.max_expanded_bytes)} once decompressed (limit "
            f"HUB_MAX_EXPANDED_BYTES); deliver it split by period")])
    if expanded > _RATIO_FROM and expanded > compressed * limits.max_expansion_ratio:
        raise DeliveryRejected([Problem(
            "compression_bomb",
            f"{mib(compressed)} of gzip expand to more than {limits.max_expansion_ratio}× their size "
            f"(limit HUB_MAX_EXPANSION_RATIO): refused as a compression bomb")])
