"""Names from outside: one form to match them, one form to print them."""

from __future__ import annotations

import unicodedata

import pytest

from territoire_hub.names import matching_form, printable


@pytest.mark.parametrize("name, expected", [
    ("tickets_pannes_202403.CSV", "tickets_pannes_202403.csv"),
    ("comptages_routiers_20240301.CSV.GZ", "comptages_routiers_20240301.csv.gz"),
    ("Relevés_2024.Csv", "Relevés_2024.csv"),                     # only the extension changes case
    (unicodedata.normalize("NFD", "relevés_2024.csv"), "relevés_2024.csv"),   # é typed as e + ◌́
    ("points.csv.bak", "points.csv.bak"),                          # not a delivery extension: left as is
])
def test_matching_form(name, expected):
    assert matching_form(name) == expected


@pytest.mark.parametrize("name, expected", [
    ("notes\n2026-12-04 INFO all deliveries accepted", "notes\\n2026-12-04 INFO all deliveries accepted"),
    ("a\rb\tc", "a\\rb\\tc"),
    ("bell\x07\x1b[31m.txt", "bell\\x07\\x1b[31m.txt"),
    ("rapport_\u202ecsv.exe", "rapport_\\u202ecsv.exe"),          # right-to-left override: shown, not obeyed
    ("x\u2066y\u200fz\ufeff", "x\\u2066y\\u200fz\\ufeff"),
    ("caf\udce9.csv", "caf\\xe9.csv"),                              # a Latin-1 byte in a UTF-8 file system
    ("back\\slash", "back\\\\slash"),                               # an escape cannot be forged either
    ("Relevés été 2024.csv", "Relevés été 2024.csv"),               # ordinary text unchanged
])
def test_printable(name, expected):
    shown = printable(name)
    assert shown == expected
    assert shown.isprintable()
