"""Gzip deliveries read within limits: a small file can expand to gigabytes (a compression bomb),
and a gzip trailer can lie about the size it announces.

The stream is inflated a bounded piece at a time and counted as it goes, whatever the trailer
says; it is refused as soon as it passes a limit (``too_large``, ``compression_bomb``), naming the
limit and the setting that changes it. Concatenated gzip members are one stream (``gzip``'s rule);
anything else after the last member is corruption.
"""

from __future__ import annotations

import zlib

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


def gunzip(data: bytes, limits: Limits) -> bytes:
    """The decompressed bytes of a gzip file, refused past ``limits``."""
    out = bytearray()
    view = memoryview(data)
    while True:
        inflater = zlib.decompressobj(wbits=31)
        pos = 0
        try:
            while not inflater.eof:
                if inflater.unconsumed_tail:
                    piece = inflater.decompress(inflater.unconsumed_tail, _OUT)
                elif pos < len(view):
                    piece = inflater.decompress(view[pos:pos + _IN], _OUT)
                    pos += _IN
                else:
                    raise _truncated("the stream ends before its last block")
                out += piece
                _check(len(out), len(data), limits)
        except zlib.error as exc:
            raise _truncated(str(exc)) from None
        rest = bytes(inflater.unused_data) + bytes(view[pos:])
        if not rest.strip(b"\x00"):         # trailing padding, as gzip itself accepts
            return bytes(out)
        if not rest.startswith(GZIP_MAGIC):
            raise _truncated(f"{len(rest)} bytes after the end of the gzip stream")
        view = memoryview(rest)


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
