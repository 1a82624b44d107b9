"""The clean demo scene the quality tests break, generated once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from territoire_hub.sources.demo import generate_demo
from tests.expectations.scenes import SCALE


@pytest.fixture(scope="session")
def pristine(tmp_path_factory, registry) -> Path:
    out = tmp_path_factory.mktemp("clean")
    generate_demo(out, registry, seed=7, scale=SCALE)
    return out
