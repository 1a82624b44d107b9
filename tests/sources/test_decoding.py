"""Decoding a piece at a time: where records start and how long lines are must not depend on
where the pieces break (a CRLF, a quote or a multi-byte accent cut in two)."""

from __future__ import annotations

import csv
import io
import itertools
import random

import numpy as np
import pytest

from territoire_hub.formats import load_format
from territoire_hub.problems import DeliveryRejected
from territoire_hub.settings import Limits
from territoire_hub.sources import decoding
from territoire_hub.sources.decoding import RecordLines, decode_delivery
from tests.sources.test_loading import TRAFFIC_HEADER

TEXTS = [
    # quoted LF, CRLF and CR in values; blank lines; doubled quotes; a last line without break
    'a;b\n1;"x\ny"\n\n2;"he said ""hi"""\r\n3;"p\r\nq";z\r\r\n4;"lone\rcr"\n5;end',
    'h\r\n\r\n"1\r\n2"\r\n3\r\n',
    'h\r"a\rb"\r\rc\r',
    '\n\nh;i\n"";""\n  \n',
    # whole pieces inside a quoted value, line breaks and no quote in them
    'h;i\n1;"first\nsecond line\r\nthird line\rfourth"\n2;x\n',
]


def expected_starts(text: str) -> list[int]:
    """Where Python's CSV reader sees each non-empty record start."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";")
    starts, start = [], 1
    for row in reader:
        if row:
            starts.append(start)
        start = reader.line_num + 1
    return starts


def fed(data: bytes, size: int, max_line_bytes: int = 1 << 20) -> list[int]:
    out = io.BytesIO()
    records = RecordLines(out, max_line_bytes)
    for at in range(0, len(data), size):
        records.feed(data[at:at + size])
    records.feed(b"\n" if records.pending_cr else b"")
    found = np.frombuffer(out.getvalue(), dtype=np.int64).tolist()
    assert records.records == len(found)
    return found


@pytest.mark.parametrize("text", TEXTS)
def test_record_starts_do_not_depend_on_where_the_pieces_break(text):
    data = text.encode()
    expected = expected_starts(text)
    for size in itertools.chain(range(1, 9), [len(data)]):
        assert fed(data, size) == expected, size


def test_a_long_line_is_refused_naming_it_across_pieces():
    data = b"h\n" + b"short\n" * 3 + b"x" * 40 + b"\nshort\n"
    for size in (1, 3, 7, len(data)):
        with pytest.raises(DeliveryRejected) as refused:
            fed(data, size, max_line_bytes=30)
        (problem,) = refused.value.problems
        assert (problem.code, problem.line) == ("line_too_long", 5)
    assert fed(data, 5, max_line_bytes=40) == [1, 2, 3, 4, 5, 6]       # 40 bytes: at the limit, kept


def test_decoding_in_small_pieces_keeps_accents_and_names_the_bad_byte_line(tmp_path, monkeypatch):
    """Pieces of 7 bytes cut 'é' (2 bytes in UTF-8) and CRLFs in two; a byte that is neither UTF-8
    nor cp1252 is named with its line whichever piece it falls in."""
    monkeypatch.setattr(decoding, "PIECE", 7)
    spec = load_format("comptage_routier_horaire")
    row = "101;Avenue de l'Écusson;2024-06-13T0{h}:00:00+02:00;412;12,5;Fluide;1;Pérols;2;Lattes;Ouvert;;;43.6,3.87;"
    text = "\ufeff" + TRAFFIC_HEADER + "\r\n" + "\r\n".join(row.format(h=h) for h in range(3)) + "\r\n"
    path = tmp_path / "in.csv"
    path.write_bytes(text.encode())
    work = tmp_path / "work"
    work.mkdir()
    decoded = decode_delivery(path, work, spec=spec, encodings=["utf-8"], separators=[";"])
    assert decoded.path.read_bytes() == text.removeprefix("\ufeff").encode()
    assert np.fromfile(decoded.lines, dtype=np.int64).tolist() == [1, 2, 3, 4]
    assert decoded.header[:3] == ["Identifiant arc", "Libelle", "Date et heure de comptage"]

    path.write_bytes(text.encode().replace(b"Lattes", b"Lat\x81tes", 1))        # line 2
    with pytest.raises(DeliveryRejected) as refused:
        decode_delivery(path, work, spec=spec, encodings=["utf-8", "cp1252"], separators=[";"])
    (problem,) = refused.value.problems
    assert (problem.code, problem.line) == ("wrong_encoding", 2)
    assert "byte 0x81 at line 2 is not valid utf-8/cp1252" in problem.message


def test_a_file_declared_cp1252_but_written_in_utf8_is_refused_whatever_the_pieces(tmp_path, monkeypatch):
    monkeypatch.setattr(decoding, "PIECE", 5)
    spec = load_format("comptage_routier_horaire")
    row = "101;Av. test;2024-06-13T0{h}:00:00+02:00;412;12,5;Fluide;1;A;2;{name};Ouvert;;;43.6,3.87;"
    text = TRAFFIC_HEADER + "\n" + "\n".join(row.format(h=h, name="Pérols" if h == 2 else "B") for h in range(3)) + "\n"
    path = tmp_path / "in.csv"
    path.write_text(text, encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(DeliveryRejected) as refused:
        decode_delivery(path, work, spec=spec, encodings=["cp1252"], separators=[";"], limits=Limits())
    (problem,) = refused.value.problems
    assert (problem.code, problem.line) == ("wrong_encoding", 1)              # the header's 'Débit'
    assert "file is UTF-8 (accents from line 1 on are UTF-8 sequences)" in problem.message
    path.write_text(text, encoding="cp1252")                                   # the same, as declared
    assert decode_delivery(path, work, spec=spec, encodings=["cp1252"], separators=[";"]).path.read_text(
        encoding="utf-8") == text


def test_a_text_parsed_in_parts_loads_the_same_rows_and_lines(warehouse, tmp_path, monkeypatch):
    """Large files are parsed in parts of whole records (32 MiB); with parts of 64 bytes, cut
    between records whose values hold quoted line breaks, every record and its line survive."""
    from tests.sources.samples import load_file, plain_entry
    from tests.sources.test_loading import TICKETS_HEADER

    monkeypatch.setattr(decoding, "PART_BYTES", 64)
    monkeypatch.setattr(decoding, "PIECE", 16)
    entry = plain_entry("eclairage_tickets")
    records = [f'T{i};34172;PL-{i};02/03/2024 08:{i:02d};;"lampe éteinte\r\nmât {i}";web' for i in range(12)]
    path = tmp_path / "tickets.csv"
    path.write_bytes(("\r\n".join([TICKETS_HEADER, *records]) + "\r\n").encode())
    delivery, rows = load_file(warehouse, entry, path)
    assert rows == 12
    assert warehouse.execute(f"SELECT _source_line, numero_ticket, type_panne FROM {entry.raw_relation} "
                             "WHERE _delivery_id = ? ORDER BY 1", [delivery]).fetchall() == [
        (2 + 2 * i, f"T{i}", f"lampe éteinte\r\nmât {i}") for i in range(12)]


def _random_csv(rnd: random.Random) -> str:
    """Records of plain and quoted fields (quoted ones holding separators, doubled quotes, CR, LF,
    CRLF), ended by LF, CRLF or CR, with blank lines between some."""
    def field() -> str:
        if rnd.random() < 0.4:
            return '"' + "".join(rnd.choice(['a', ';', '""', '\r', '\n', '\r\n', ' ']) for _ in range(rnd.randint(0, 6))) + '"'
        return "".join(rnd.choice("ab ") for _ in range(rnd.randint(0, 4)))
    records = [";".join(field() for _ in range(rnd.randint(1, 3))) for _ in range(rnd.randint(1, 6))]
    return "".join(r + rnd.choice(["\n", "\r\n", "\r", "\n\n", "\r\n\r\n"]) for r in records)


def test_record_starts_match_pythons_csv_reader_on_random_texts():
    """Records whose quoted values hold separators, quotes and line breaks, fed in pieces of any
    size: the starts found from the break and quote positions are those Python's CSV reader sees
    (a record of one empty field is no record for either)."""
    rnd = random.Random(7)
    for _ in range(3000):
        text = _random_csv(rnd)
        size = rnd.randint(1, 40)
        assert fed(text.encode(), size) == expected_starts(text), (text, size)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_utf8_text_is_written_as_delivered_whatever_the_pieces(tmp_path, monkeypatch, encoding):
    """Past the header, UTF-8 pieces are written as delivered (decoding only checks them): a
    character cut between the header's last piece and the next, a BOM, a cut sequence — the text
    is the delivered bytes without the BOM, and a bad byte is named on its line."""
    spec = load_format("comptage_routier_horaire")
    row = "101;Avenue de l'Écusson é€;2024-06-13T0{h}:00:00+02:00;412;12,5;Fluide;1;Pérols;2;Lattes;Ouvert;;;43.6,3.87;"
    work = tmp_path / "work"
    work.mkdir()
    path = tmp_path / "in.csv"
    for bom in ("", "\ufeff"):
        text = bom + TRAFFIC_HEADER + "\r\n" + "\r\n".join(row.format(h=h) for h in range(4)) + "\r\n"
        bad = text.encode().replace(b"Lattes", b"Lattes", 2).replace(b"Lattes", b"Lat\xc3tes", 1)
        for size in range(1, 260, 3):
            monkeypatch.setattr(decoding, "PIECE", size)
            path.write_bytes(text.encode())
            decoded = decode_delivery(path, work, spec=spec, encodings=[encoding], separators=[";"])
            assert decoded.path.read_bytes() == text.removeprefix("\ufeff").encode(), size
            path.write_bytes(bad)
            with pytest.raises(DeliveryRejected) as refused:
                decode_delivery(path, work, spec=spec, encodings=[encoding], separators=[";"])
            assert refused.value.problems[0].line == 2 and "byte 0xc3 at line 2" in refused.value.problems[0].message
