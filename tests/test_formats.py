"""The packaged formats: the README's table of supported layouts is theirs."""

from __future__ import annotations

import re
from pathlib import Path

from territoire_hub.formats import all_formats, markdown_table

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_table_of_supported_layouts_is_in_sync_with_the_formats():
    text = README.read_text(encoding="utf-8")
    found = re.search(r"<!-- formats:begin -->\n(.*?)<!-- formats:end -->", text, re.S)
    assert found, "README.md has no <!-- formats:begin --> … <!-- formats:end --> table"
    assert found.group(1) == markdown_table(all_formats()), (
        "README's table of supported layouts is out of date: paste `hub formats list --markdown`")


def test_every_packaged_format_names_a_family_a_producer_and_a_real_file_name():
    for spec in all_formats().values():
        assert spec.family and spec.producer and spec.example_filename, spec.id
        assert "." in spec.example_filename, spec.id
