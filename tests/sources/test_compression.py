"""Deliveries that would cost too much: bombs, lying trailers, huge files and headers are refused
naming the limit, and nothing else of the run changes."""

from __future__ import annotations

import gzip
import zlib
from functools import lru_cache

import pytest

from territoire_hub.orchestration.ingestion import ingest_dataset
from territoire_hub.problems import DeliveryRejected
from territoire_hub.settings import Limits, Settings
from territoire_hub.sources.compression import gunzip
from tests.conftest import drop
from tests.sources.test_loading import GOOD_DAY, TRAFFIC, issues, raw, status_of, traffic_file


@lru_cache
def bomb(expanded: int, head: bytes = b"") -> bytes:
    """A gzip stream of ``head`` then zeros, ``expanded`` bytes in all, built a piece at a time."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [packer.compress(head)]
    zeros = b"0" * (1 << 20)
    for _ in range((expanded - len(head)) // len(zeros)):
        out.append(packer.compress(zeros))
    return b"".join(out) + packer.flush()


def lying_trailer(data: bytes, size: int) -> bytes:
    """The same stream whose trailer announces ``size`` bytes."""
    return data[:-4] + (size & 0xFFFFFFFF).to_bytes(4, "little")


def test_gunzip_reads_members_and_refuses_what_passes_a_limit():
    text = traffic_file(GOOD_DAY).encode()
    assert gunzip(gzip.compress(text), Limits()) == text
    assert gunzip(gzip.compress(text[:100]) + gzip.compress(text[100:]), Limits()) == text   # two members
    assert gunzip(gzip.compress(text) + b"\x00" * 8, Limits()) == text                       # padding
    with pytest.raises(DeliveryRejected, match="bytes after the end of the gzip stream") as garbage:
        gunzip(gzip.compress(text) + b"<html>", Limits())
    assert garbage.value.problems[0].code == "truncated_gzip"
    with pytest.raises(DeliveryRejected, match="ends before its last block"):
        gunzip(gzip.compress(text)[:-40], Limits())

    one_gb = bomb(1 << 30)                          # ~1 MiB that expands to 1 GiB
    assert len(one_gb) < 2 << 20
    for data in (one_gb, lying_trailer(one_gb, 1000)):
        with pytest.raises(DeliveryRejected) as refused:
            gunzip(data, Limits())
        (problem,) = refused.value.problems
        assert problem.code == "compression_bomb"
        assert "expand to more than 100× their size (limit HUB_MAX_EXPANSION_RATIO)" in problem.message
    with pytest.raises(DeliveryRejected) as refused:
        gunzip(bomb(40 << 20), Limits(max_expanded_bytes=32 << 20, max_expansion_ratio=10 ** 6))
    assert refused.value.problems[0].code == "too_large"
    assert "more than 32 MiB once decompressed (limit HUB_MAX_EXPANDED_BYTES)" in refused.value.problems[0].message


def test_limits_come_from_the_environment():
    limits = Settings.from_env({"HUB_MAX_EXPANSION_RATIO": "20", "HUB_MAX_COLUMNS": "50",
                                "HUB_MAX_FIELD_BYTES": "1000"}).limits
    assert (limits.max_expansion_ratio, limits.max_columns, limits.max_delivery_bytes, limits.max_field_bytes) == \
        (20, 50, 2 << 30, 1000)


def wide_file() -> str:
    header, *rows = traffic_file("2024-06-13").lstrip("\ufeff").splitlines()
    return "\n".join([header + "".join(f";extra_{i}" for i in range(9_995))] + [r + ";x" * 9_995 for r in rows[:2]])


def huge_cell(repeat: int = 74_899) -> str:
    """Line 4 carries a street name of ``7 × repeat`` bytes (512 KiB by default)."""
    lines = traffic_file("2024-06-13").splitlines()
    lines[3] = lines[3].replace(";Av. test;", ";" + "Avenue " * repeat + ";", 1)
    return "\n".join(lines) + "\n"


CASES = {
    "bomb": (lambda: bomb(1 << 30, head=traffic_file("2024-06-13").encode()), ".csv.gz", "compression_bomb",
             "expand to more than 100× their size"),
    "lying trailer": (lambda: lying_trailer(bomb(1 << 30), 2_000), ".csv.gz", "compression_bomb", "compression bomb"),
    "nested gzip": (lambda: gzip.compress(gzip.compress(traffic_file("2024-06-13").encode())), ".csv.gz",
                    "not_a_csv", "gzip file inside a gzip file"),
    "9,995 unknown columns": (wide_file, ".csv", "too_many_columns",
                              "the header has 10,010 columns, more than 500 (limit HUB_MAX_COLUMNS)"),
    "512 KiB value": (huge_cell, ".csv", "field_too_large",
                      "a value of 524,293 bytes in this column, more than 65,536 bytes (limit HUB_MAX_FIELD_BYTES)"),
    "2 MiB line": (lambda: huge_cell(300_000), ".csv", "line_too_long",
                   "line 4 is longer than 1 MiB (limit HUB_MAX_LINE_BYTES)"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_costly_delivery_is_quarantined_naming_the_limit_and_the_rest_loads(settings, registry, warehouse, case):
    build, suffix, code, fragment = CASES[case]
    content = build()
    bad = f"comptages_routiers_20240613{suffix}"
    drop(settings, "montpellier-metropole", bad, content)
    drop(settings, "montpellier-metropole", "comptages_routiers_20240612.csv", traffic_file(GOOD_DAY))
    report = ingest_dataset(warehouse, settings, registry.dataset(TRAFFIC))
    assert (report.loaded, len(report.quarantined)) == (1, 1)
    assert status_of(warehouse, bad) == "quarantined"
    (found,) = issues(warehouse, bad)
    assert found[0] == code and fragment in found[3], found
    if case == "512 KiB value":
        assert found[1:3] == (4, "Libelle")
    if case == "2 MiB line":
        assert found[1] == 4
    assert warehouse.execute(f"SELECT count(*) FROM {raw(warehouse, TRAFFIC)}").fetchone() == (24,)


def test_a_delivered_file_over_the_size_limit_is_never_read(tmp_path, registry, warehouse):
    settings = Settings.from_env({"HUB_HOME": str(tmp_path), "HUB_MAX_DELIVERY_BYTES": "1000"})
    drop(settings, "montpellier-metropole", "comptages_routiers_20240612.csv", traffic_file(GOOD_DAY))
    ingest_dataset(warehouse, settings, registry.dataset(TRAFFIC))
    (found,) = issues(warehouse, "comptages_routiers_20240612.csv")
    assert found[0] == "too_large" and "more than 1,000 bytes (limit HUB_MAX_DELIVERY_BYTES)" in found[3]
